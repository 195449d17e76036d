using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLExtensions.Studies;

/// <summary>
/// Wide sparse ordinal data as hashed text features give them: every row sets a fixed number of binary slots out of
/// many. A few slots are informative (each present in about a third of the rows), the others noise; the classes
/// follow a cumulative-logit model whose slopes differ between boundaries for two informative slots, plus an
/// optional known offset. Rows come as sparse <see cref="VBuffer{T}"/>s.
/// </summary>
public sealed class SparseOrdinalSimulation
{
    private readonly SparseRow[] _rows;

    private SparseOrdinalSimulation(SparseRow[] rows, int slots, int classCount)
    {
        _rows = rows;
        Slots = slots;
        ClassCount = classCount;
    }

    /// <summary>The number of feature slots (the vector's length).</summary>
    public int Slots { get; }

    /// <summary>K.</summary>
    public int ClassCount { get; }

    /// <summary>The number of rows.</summary>
    public int Rows => _rows.Length;

    /// <summary>The informative slots: 0 to <see cref="InformativeSlots"/> − 1.</summary>
    public const int InformativeSlots = 6;

    /// <summary>Draws the rows.</summary>
    /// <param name="rows">n.</param>
    /// <param name="slots">p (at least <see cref="InformativeSlots"/> + <paramref name="nonZerosPerRow"/>).</param>
    /// <param name="nonZerosPerRow">Slots set per row.</param>
    /// <param name="classCount">K, from 3 to 6.</param>
    /// <param name="seed">Seeds every draw.</param>
    /// <param name="offsetScale">Offsets are uniform on ±this and enter every cumulative logit; 0 for none (the column is then 0).</param>
    public static SparseOrdinalSimulation Generate(int rows, int slots, int nonZerosPerRow, int classCount, int seed, double offsetScale = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(nonZerosPerRow, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(slots, InformativeSlots + nonZerosPerRow);
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 3);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(classCount, 6);
        var random = new Random(seed);
        // Proportional slopes, and boundary-specific shifts on slots 0 and 1 small beside the intercepts' spacing (1.5),
        // so no row's boundaries cross.
        double[] slope = [1.2, -1.0, 0.8, -0.7, 0.6, -0.5];
        double[] drift = [0.3, -0.3];
        var alpha = Enumerable.Range(0, classCount - 1).Select(k => -1.5 + 1.5 * k).ToArray();
        var data = new SparseRow[rows];
        var chosen = new SortedSet<int>();
        var eta = new double[classCount - 1];
        for (int i = 0; i < rows; i++)
        {
            chosen.Clear();
            for (int j = 0; j < InformativeSlots && chosen.Count < nonZerosPerRow; j++)
                if (random.NextDouble() < 1.0 / 3) chosen.Add(j);
            while (chosen.Count < nonZerosPerRow) chosen.Add(InformativeSlots + random.Next(slots - InformativeSlots));
            double offset = offsetScale * (2 * random.NextDouble() - 1);
            for (int k = 0; k < eta.Length; k++)
            {
                eta[k] = alpha[k] + offset;
                foreach (int j in chosen.TakeWhile(j => j < InformativeSlots))
                    eta[k] += slope[j] + (j < drift.Length ? drift[j] * k : 0);
            }
            double u = random.NextDouble();
            int label = 0;
            while (label < eta.Length && u > 1 / (1 + Math.Exp(-eta[label]))) label++;
            data[i] = new SparseRow
            {
                Features = new VBuffer<float>(slots, chosen.Count, Enumerable.Repeat(1f, chosen.Count).ToArray(), chosen.ToArray()),
                Label = (uint)label, // LoadFromEnumerable stores key fields zero-based
                Offset = (float)offset,
            };
        }
        return new SparseOrdinalSimulation(data, slots, classCount);
    }

    /// <summary>
    /// The rows as an <see cref="IDataView"/>: <c>Features</c> (sparse vector of <see cref="Slots"/> floats),
    /// <c>Label</c> (key of K classes, class k is key k + 1) and <c>Offset</c>.
    /// </summary>
    /// <param name="mlContext">The context.</param>
    /// <param name="dense">Store each row's vector dense (the same values) instead of sparse.</param>
    public IDataView ToDataView(MLContext mlContext, bool dense = false)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        var rows = dense ? _rows.Select(r => new SparseRow { Features = Densify(r.Features), Label = r.Label, Offset = r.Offset }).ToArray() : _rows;
        var schema = SchemaDefinition.Create(typeof(SparseRow));
        schema[nameof(SparseRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, Slots);
        schema[nameof(SparseRow.Label)].ColumnType = new KeyDataViewType(typeof(uint), ClassCount);
        return mlContext.Data.LoadFromEnumerable(rows, schema);
    }

    private static VBuffer<float> Densify(VBuffer<float> sparse)
    {
        var values = new float[sparse.Length];
        sparse.CopyTo(values);
        return new VBuffer<float>(values.Length, values);
    }

    private sealed class SparseRow
    {
        public VBuffer<float> Features { get; set; }
        public uint Label { get; set; }
        public float Offset { get; set; }
    }
}
