using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLExtensions.Training;

/// <summary>A block of rows as flat arrays, ready to become tensors.</summary>
/// <param name="Features">Row-major features, <c>Count × FeatureCount</c>.</param>
/// <param name="Labels">One label per row: the target (regression), 0/1 (binary) or the zero-based class index (key).</param>
/// <param name="Weights">One weight per row, or null when the data has no weight column.</param>
/// <param name="Count">The number of rows.</param>
internal sealed record TabularBatch(float[] Features, float[] Labels, float[]? Weights, int Count)
{
    /// <summary>Each row's value of the group column read along (see <see cref="TabularData.ReadBlocks"/>), or null.</summary>
    public string[]? Groups { get; init; }
}

/// <summary>
/// Rows read as their features' non-zeros (compressed sparse rows): row i's are entries [RowStarts[i], RowStarts[i + 1])
/// of <see cref="Indices"/> (ascending slots) and <see cref="Values"/>, with labels and weights as <see cref="TabularBatch"/> holds them.
/// </summary>
internal sealed record NonZeroRows(int[] RowStarts, int[] Indices, double[] Values, float[] Labels, float[]? Weights)
{
    public int Rows => Labels.Length;
}

/// <summary>
/// Streams (features, label, weight) rows from any <see cref="IDataView"/> through a row cursor, in mini-batches,
/// without materialising the data: the shared input path of every MLExtensions trainer.
/// </summary>
/// <remarks>
/// Every value is checked as it is read: NaN or infinite features and labels, missing keys, negative weights and
/// vectors of the wrong length raise an <see cref="InvalidDataException"/> that names the column and the row.
/// </remarks>
internal sealed class TabularData
{
    private readonly IDataView _data;
    private readonly DataViewSchema.Column _features;
    private readonly DataViewSchema.Column _label;
    private readonly DataViewSchema.Column? _weight;

    /// <summary>Resolves and checks the columns named in <paramref name="options"/> for a label of <paramref name="labelKind"/>.</summary>
    public TabularData(IDataView data, TorchTrainerOptions options, LabelKind labelKind)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        _data = data;
        _features = ColumnChecks.Require(data.Schema, options.FeatureColumnName, "feature");
        _label = ColumnChecks.Require(data.Schema, options.LabelColumnName, "label");
        FeatureCount = ColumnChecks.FeatureCount(_features);
        LabelKind = labelKind;
        RefuseEmptyBeforeClasses(data, _label, labelKind);
        ClassCount = ColumnChecks.CheckLabel(_label, labelKind);
        if (options.ExampleWeightColumnName is { } weightName)
        {
            _weight = ColumnChecks.Require(data.Schema, weightName, "example weight");
            ColumnChecks.CheckWeight(_weight.Value);
        }
    }

    /// <summary>
    /// The largest magnitude a feature or real label may have: standardising and scoring compute differences and small
    /// multiples of the values (e.g. the export check's inputs a few deviations around the mean) in float32, which stays
    /// finite below 1/64 of <see cref="float.MaxValue"/> (about 5.3e36).
    /// </summary>
    public const float MaximumMagnitude = float.MaxValue / 64;

    /// <summary>Refuses an empty <paramref name="data"/> first: it also leaves a key label with too few known values, a misleading complaint.</summary>
    private static void RefuseEmptyBeforeClasses(IDataView data, DataViewSchema.Column label, LabelKind kind)
    {
        if (kind == LabelKind.Key && label.Type is KeyDataViewType { Count: < 2 } && IsEmpty(data))
            throw new InvalidDataException("The training data has no rows.");
    }

    private static bool IsEmpty(IDataView data)
    {
        if (data.GetRowCount() is long rows) return rows == 0;
        using var cursor = data.GetRowCursor([]);
        return !cursor.MoveNext();
    }

    /// <summary>The number of features per row.</summary>
    public int FeatureCount { get; }

    /// <summary>What the label holds.</summary>
    public LabelKind LabelKind { get; }

    /// <summary>The number of classes of a key label (0 for other labels).</summary>
    public int ClassCount { get; }

    /// <summary>The label column.</summary>
    public DataViewSchema.Column LabelColumn => _label;

    /// <summary>True when rows carry example weights.</summary>
    public bool HasWeights => _weight is not null;

    /// <summary>
    /// Reads all rows once: checks every value, counts rows and classes, and computes feature and label moments.
    /// </summary>
    /// <exception cref="InvalidDataException">Empty data, a bad value (named by column and row), or a single class.</exception>
    public TabularSummary Summarize(CancellationToken cancellationToken = default)
    {
        int d = FeatureCount;
        var mean = new double[d];
        var m2 = new double[d];
        var classes = new long[LabelKind switch { LabelKind.Key => ClassCount, LabelKind.Boolean => 2, _ => 0 }];
        double labelMean = 0, labelM2 = 0, weightSum = 0, weightedMean = 0, weightedM2 = 0;
        long n = 0;
        foreach (var batch in ReadBatches(1024, shuffle: null, bufferRows: 0, include: null, cancellationToken))
        {
            for (int r = 0; r < batch.Count; r++)
            {
                n++;
                double w = batch.Weights?[r] ?? 1;
                for (int j = 0; j < d; j++)
                {
                    double x = batch.Features[r * d + j], delta = x - mean[j];
                    mean[j] += delta / n;
                    m2[j] += delta * (x - mean[j]);
                }
                double y = batch.Labels[r];
                if (classes.Length > 0) classes[(int)y]++;
                double dy = y - labelMean;
                labelMean += dy / n;
                labelM2 += dy * (y - labelMean);
                if (w > 0)
                {
                    // Weighted running moments (West, 1979).
                    weightSum += w;
                    double dw = y - weightedMean;
                    weightedMean += w / weightSum * dw;
                    weightedM2 += w * dw * (y - weightedMean);
                }
            }
        }
        if (n == 0) throw new InvalidDataException("The training data has no rows.");
        if (!(weightSum > 0))
            throw new InvalidDataException(
                $"The example weights in column '{_weight!.Value.Name}' sum to 0 over all {n} rows, so there is nothing to learn from. " +
                "Give some rows a positive weight, or leave ExampleWeightColumnName unset.");
        if (classes.Length > 0 && classes.Count(c => c > 0) < 2)
        {
            var present = Array.FindIndex(classes, c => c > 0);
            throw new InvalidDataException(
                $"Label column '{_label.Name}' holds a single class ({DescribeClass(present)}) in all {n} rows; a classifier needs at least two.");
        }
        return new TabularSummary(n, mean, m2.Select(v => Math.Sqrt(v / n)).ToArray(), classes, labelMean, Math.Sqrt(labelM2 / n))
        {
            // Σw(y − m)²/W about the unweighted mean m, from the weighted moments: variance plus squared shift.
            WeightedLabelSquaredDeviation = weightedM2 / weightSum + Math.Pow(weightedMean - labelMean, 2),
        };
    }

    /// <summary>
    /// Streams the rows as batches of at most <paramref name="batchSize"/>. With <paramref name="shuffle"/>, rows
    /// pass through a shuffling buffer of <paramref name="bufferRows"/> rows (a full shuffle when the data fits).
    /// </summary>
    /// <param name="batchSize">Rows per batch.</param>
    /// <param name="shuffle">The random source for shuffling, or null to keep the data's order.</param>
    /// <param name="bufferRows">Size of the shuffling buffer.</param>
    /// <param name="include">Keeps only the rows whose zero-based position passes this test (train/validation splits).</param>
    /// <param name="cancellationToken">Checked between batches.</param>
    public IEnumerable<TabularBatch> ReadBatches(int batchSize, Random? shuffle, int bufferRows, Func<long, bool>? include,
        CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var rows = ReadRows(include, cancellationToken);
        if (shuffle is not null) rows = Shuffle(rows, shuffle, Math.Max(bufferRows, batchSize));
        return Fill(rows, batchSize, withGroups: false, reuseArrays: false, cancellationToken);
    }

    /// <summary>
    /// Streams the rows in the data's order as blocks of at most <paramref name="blockSize"/> that all share the same
    /// arrays (a block is valid until the next is read), with each row's value of <paramref name="group"/> as text when
    /// given: for solvers that pass over large data many times without allocating per row or block.
    /// </summary>
    /// <param name="blockSize">Rows per block.</param>
    /// <param name="group">A column to read along (e.g. cross-validation folds), or null.</param>
    /// <param name="cancellationToken">Checked between blocks.</param>
    public IEnumerable<TabularBatch> ReadBlocks(int blockSize, DataViewSchema.Column? group, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 1);
        return Fill(ReadRows(null, cancellationToken, group), blockSize, withGroups: group is not null, reuseArrays: true, cancellationToken);
    }

    /// <summary>Packs rows into batches of <paramref name="size"/>: fresh arrays for each, or the same ones refilled.</summary>
    private IEnumerable<TabularBatch> Fill(IEnumerable<Row> rows, int size, bool withGroups, bool reuseArrays, CancellationToken cancellationToken)
    {
        int d = FeatureCount, count = 0;
        float[] features = [], labels = [];
        float[]? weights = null;
        string[]? groups = null;
        void Allocate()
        {
            features = new float[size * d];
            labels = new float[size];
            weights = HasWeights ? new float[size] : null;
            groups = withGroups ? new string[size] : null;
        }
        Allocate();
        foreach (var row in rows)
        {
            Array.Copy(row.Features, 0, features, count * d, d);
            labels[count] = row.Label;
            if (weights is not null) weights[count] = row.Weight;
            if (groups is not null) groups[count] = row.Group!;
            if (++count < size) continue;
            yield return new TabularBatch(features, labels, weights, count) { Groups = groups };
            cancellationToken.ThrowIfCancellationRequested();
            count = 0;
            if (!reuseArrays) Allocate();
        }
        if (count > 0) yield return new TabularBatch(features, labels, weights, count) { Groups = groups };
    }

    /// <summary>One row; <see cref="Features"/> is a buffer that the next row overwrites.</summary>
    private readonly record struct Row(float[] Features, float Label, float Weight, string? Group);

    private IEnumerable<Row> ReadRows(Func<long, bool>? include, CancellationToken cancellationToken, DataViewSchema.Column? group = null)
    {
        var columns = new List<DataViewSchema.Column> { _features, _label };
        if (_weight is { } w) columns.Add(w);
        if (group is { } g && !columns.Any(c => c.Index == g.Index)) columns.Add(g);
        using var cursor = _data.GetRowCursor(columns);
        var readFeatures = FeatureGetter(cursor);
        var readLabel = LabelGetter(cursor);
        var readWeight = _weight is { } wc ? cursor.GetGetter<float>(wc) : null;
        var readGroup = group is { } gc ? ValueReader.For(cursor, gc, null) : null;
        var features = new float[FeatureCount];
        long position = -1;
        while (cursor.MoveNext())
        {
            position++;
            if ((position & 4095) == 0) cancellationToken.ThrowIfCancellationRequested();
            if (include is not null && !include(position)) continue;
            readFeatures(position, features);
            float label = readLabel(position);
            float weight = 1f;
            if (readWeight is not null)
            {
                readWeight(ref weight);
                if (!float.IsFinite(weight) || weight < 0)
                    throw BadValue(_weight!.Value, position, $"weight {weight}; weights must be finite and non-negative");
            }
            yield return new Row(features, label, weight, readGroup?.Invoke(position));
        }
    }

    /// <summary>Reads the current row's features into a buffer of <see cref="FeatureCount"/> values, checking each.</summary>
    private Action<long, float[]> FeatureGetter(DataViewRowCursor cursor)
    {
        int d = FeatureCount;
        if (_features.Type is not VectorDataViewType)
        {
            var getScalar = cursor.GetGetter<float>(_features);
            return (position, values) =>
            {
                float value = 0;
                getScalar(ref value);
                CheckFeature(position, value, null);
                values[0] = value;
            };
        }
        var getVector = cursor.GetGetter<VBuffer<float>>(_features);
        var buffer = default(VBuffer<float>);
        return (position, values) =>
        {
            getVector(ref buffer);
            if (buffer.Length != d)
                throw BadValue(_features, position, $"{buffer.Length} values where {d} are expected (mismatched vector size)");
            buffer.CopyTo(values);
            for (int j = 0; j < d; j++) CheckFeature(position, values[j], j);
        };
    }

    /// <summary>Refuses a feature value that is not finite or too large, naming the row and the slot (null: a scalar column).</summary>
    private void CheckFeature(long position, float value, int? slot)
    {
        if (!float.IsFinite(value)) throw BadValue(_features, position, slot is int j ? $"{value} in slot {j}" : $"value {value}");
        if (Math.Abs(value) > MaximumMagnitude) throw TooLarge(_features, position, value, slot);
    }

    /// <summary>
    /// Reads every row once with its features as their non-zeros (a sparse vector's stored non-zero values, a dense
    /// one's non-zero slots), so that memory follows the non-zeros; each value is checked as <see cref="ReadBatches"/>
    /// checks it.
    /// </summary>
    /// <param name="afterRow">Called after each row with the rows and non-zeros read so far; it may throw to stop a read that would not fit.</param>
    /// <param name="cancellationToken">Checked every 4,096 rows.</param>
    public NonZeroRows ReadNonZeros(Action<long, long>? afterRow, CancellationToken cancellationToken)
    {
        var columns = new List<DataViewSchema.Column> { _features, _label };
        if (_weight is { } w) columns.Add(w);
        using var cursor = _data.GetRowCursor(columns);
        var readLabel = LabelGetter(cursor);
        var readWeight = _weight is { } wc ? cursor.GetGetter<float>(wc) : null;
        var getVector = _features.Type is VectorDataViewType ? cursor.GetGetter<VBuffer<float>>(_features) : null;
        var getScalar = getVector is null ? cursor.GetGetter<float>(_features) : null;
        var buffer = default(VBuffer<float>);
        var (starts, indices, values, labels, weights) = (new List<int> { 0 }, new List<int>(), new List<double>(), new List<float>(), HasWeights ? new List<float>() : null);
        void Add(long position, int slot, float value)
        {
            CheckFeature(position, value, getVector is null ? null : slot);
            if (value == 0) return;
            indices.Add(slot);
            values.Add(value);
        }
        for (long position = 0; cursor.MoveNext(); position++)
        {
            if ((position & 4095) == 0) cancellationToken.ThrowIfCancellationRequested();
            if (getVector is not null)
            {
                getVector(ref buffer);
                if (buffer.Length != FeatureCount)
                    throw BadValue(_features, position, $"{buffer.Length} values where {FeatureCount} are expected (mismatched vector size)");
                var stored = buffer.GetValues();
                if (buffer.IsDense)
                    for (int j = 0; j < stored.Length; j++) Add(position, j, stored[j]);
                else
                {
                    var slots = buffer.GetIndices();
                    for (int e = 0; e < stored.Length; e++) Add(position, slots[e], stored[e]);
                }
            }
            else
            {
                float value = 0;
                getScalar!(ref value);
                Add(position, 0, value);
            }
            starts.Add(indices.Count);
            labels.Add(readLabel(position));
            if (weights is not null)
            {
                float weight = 0;
                readWeight!(ref weight);
                if (!float.IsFinite(weight) || weight < 0)
                    throw BadValue(_weight!.Value, position, $"weight {weight}; weights must be finite and non-negative");
                weights.Add(weight);
            }
            afterRow?.Invoke(position + 1, indices.Count);
        }
        return new NonZeroRows(starts.ToArray(), indices.ToArray(), values.ToArray(), labels.ToArray(), weights?.ToArray());
    }

    private Func<long, float> LabelGetter(DataViewRowCursor cursor)
    {
        switch (LabelKind)
        {
            case LabelKind.Real:
                var getReal = cursor.GetGetter<float>(_label);
                return position =>
                {
                    float y = 0;
                    getReal(ref y);
                    if (!float.IsFinite(y)) throw BadValue(_label, position, $"label {y}");
                    if (Math.Abs(y) > MaximumMagnitude) throw TooLarge(_label, position, y, null);
                    return y;
                };
            case LabelKind.Boolean:
                var getBool = cursor.GetGetter<bool>(_label);
                return _ =>
                {
                    bool y = false;
                    getBool(ref y);
                    return y ? 1f : 0f;
                };
            default:
                var getKey = cursor.GetGetter<uint>(_label);
                return position =>
                {
                    uint key = 0;
                    getKey(ref key);
                    if (key == 0 || key > ClassCount)
                        throw BadValue(_label, position, "a missing label (key 0: the value was not among the label's known values)");
                    return key - 1;
                };
        }
    }

    private string DescribeClass(int index) => LabelKind == LabelKind.Boolean
        ? (index == 1 ? "true" : "false")
        : $"key {index + 1}";

    private static InvalidDataException BadValue(DataViewSchema.Column column, long row, string what) =>
        new($"Column '{column.Name}', row {row}: {what}. Clean or filter such rows first (e.g. mlContext.Data.FilterRowsByMissingValues or ReplaceMissingValues).");

    private static InvalidDataException TooLarge(DataViewSchema.Column column, long row, float value, int? slot) =>
        new($"Column '{column.Name}', row {row}: {value:G9}{(slot is int j ? $" in slot {j}" : "")} is too large for float32 arithmetic (magnitudes must stay " +
            $"below {MaximumMagnitude:G3}). Rescale the column first (e.g. divide by a power of ten, mlContext.Transforms.NormalizeMinMax or a log transform).");

    private static IEnumerable<Row> Shuffle(IEnumerable<Row> rows, Random random, int capacity)
    {
        // A shuffling buffer: each incoming row replaces a random buffered row, which is emitted. It grows as rows come,
        // so a capacity beyond the data's size costs nothing.
        var buffer = new List<Row>(Math.Min(capacity, 4096));
        foreach (var row in rows)
        {
            // The reader reuses its feature buffer, so a row kept for later needs its own copy.
            var kept = row with { Features = (float[])row.Features.Clone() };
            if (buffer.Count < capacity)
            {
                buffer.Add(kept);
                continue;
            }
            int i = random.Next(capacity);
            yield return buffer[i];
            buffer[i] = kept;
        }
        for (int i = buffer.Count - 1; i >= 0; i--)
        {
            int j = random.Next(i + 1);
            yield return buffer[j];
            buffer[j] = buffer[i];
        }
    }
}
