using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Training;

namespace MLExtensions.Ordinal;

/// <summary>Computes <see cref="OrdinalMetrics"/> from a label column and a <c>Score</c> vector of class probabilities.</summary>
internal static class OrdinalEvaluator
{
    public static OrdinalMetrics Evaluate(IDataView data, string labelColumnName, string scoreColumnName, string? rareClass, int numberOfBins)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfLessThan(numberOfBins, 1);
        var label = ColumnChecks.Require(data.Schema, labelColumnName, "label");
        var score = ColumnChecks.Require(data.Schema, scoreColumnName, "score");
        if (score.Type is not VectorDataViewType { ItemType: var item, Size: >= 3 } vector || item != NumberDataViewType.Single)
            throw new ArgumentException($"Score column '{score.Name}' must be a known-size vector of at least 3 class probabilities (Single), but it is {score.Type}.");
        int classes = vector.Size;
        var names = SlotNames(score, classes);
        var classOf = LabelReader(label, names);

        var rows = new List<(int Label, float[] P)>();
        using (var cursor = data.GetRowCursor([label, score]))
        {
            var readLabel = classOf(cursor);
            var readScore = cursor.GetGetter<VBuffer<float>>(score);
            VBuffer<float> buffer = default;
            while (cursor.MoveNext())
            {
                int y = readLabel(cursor.Position);
                readScore(ref buffer);
                rows.Add((y, buffer.DenseValues().ToArray()));
            }
        }
        if (rows.Count == 0) throw new InvalidDataException("The data has no rows to evaluate.");

        int rare = rareClass is null
            ? Enumerable.Range(0, classes).OrderBy(k => rows.Count(r => r.Label == k)).ThenBy(k => k).First()
            : Array.IndexOf(names, rareClass) is var index and >= 0 ? index
            : throw new ArgumentException($"'{rareClass}' is not a class; the classes are {string.Join(", ", names.Select(n => $"'{n}'"))}.", nameof(rareClass));

        double rankError = 0, correct = 0, brier = 0, logLoss = 0, rareBrier = 0;
        foreach (var (y, p) in rows)
        {
            int predicted = ArgMax(p);
            rankError += Math.Abs(predicted - y);
            if (predicted == y) correct++;
            for (int k = 0; k < classes; k++) brier += Math.Pow((y == k ? 1 : 0) - p[k], 2);
            logLoss -= Math.Log(Math.Max(p[y], 1e-15));
            rareBrier += Math.Pow((y == rare ? 1 : 0) - p[rare], 2);
        }
        int n = rows.Count;
        var rareMetrics = new RareClassMetrics(names[rare], rare, rows.Count(r => r.Label == rare) / (double)n, rareBrier / n,
            Calibration(rows.Select(r => ((double)r.P[rare], r.Label == rare)), numberOfBins));
        return new OrdinalMetrics(n, rankError / n, correct / n, brier / n, logLoss / n, rareMetrics);
    }

    private static IReadOnlyList<CalibrationBin> Calibration(IEnumerable<(double P, bool IsClass)> rows, int bins)
    {
        var count = new long[bins];
        var predicted = new double[bins];
        var observed = new double[bins];
        foreach (var (p, isClass) in rows)
        {
            int b = Math.Min((int)(p * bins), bins - 1);
            count[b]++;
            predicted[b] += p;
            if (isClass) observed[b]++;
        }
        return Enumerable.Range(0, bins).Select(b => new CalibrationBin(b / (double)bins, (b + 1) / (double)bins, count[b],
            count[b] > 0 ? predicted[b] / count[b] : double.NaN, count[b] > 0 ? observed[b] / count[b] : double.NaN)).ToArray();
    }

    private static int ArgMax(float[] p)
    {
        int best = 0;
        for (int k = 1; k < p.Length; k++) if (p[k] > p[best]) best = k;
        return best;
    }

    private static string[] SlotNames(DataViewSchema.Column score, int classes)
    {
        if (!score.HasSlotNames())
            return Enumerable.Range(0, classes).Select(k => k.ToString(CultureInfo.InvariantCulture)).ToArray();
        VBuffer<ReadOnlyMemory<char>> names = default;
        score.GetSlotNames(ref names);
        var result = names.DenseValues().Select(n => n.ToString()).ToArray();
        return result.Length == classes ? result : Enumerable.Range(0, classes).Select(k => k.ToString(CultureInfo.InvariantCulture)).ToArray();
    }

    /// <summary>Class index of each row: key − 1 for a key label, else the class whose name is the label's value.</summary>
    private static Func<DataViewRowCursor, Func<long, int>> LabelReader(DataViewSchema.Column label, string[] names) => cursor =>
    {
        if (label.Type is KeyDataViewType)
        {
            var getKey = cursor.GetGetter<uint>(label);
            return position =>
            {
                uint key = 0;
                getKey(ref key);
                if (key == 0 || key > names.Length) throw new InvalidDataException($"Column '{label.Name}', row {position}: missing or unknown class key {key}.");
                return (int)key - 1;
            };
        }
        if (label.Type == NumberDataViewType.Single)
        {
            var index = names.Select((n, i) => (n, i)).ToDictionary(p => p.n, p => p.i);
            var getValue = cursor.GetGetter<float>(label);
            return position =>
            {
                float value = 0;
                getValue(ref value);
                return index.TryGetValue(value.ToString(CultureInfo.InvariantCulture), out int k) ? k
                    : throw new InvalidDataException($"Column '{label.Name}', row {position}: {value} is not one of the classes {string.Join(", ", names)}.");
            };
        }
        throw new ArgumentException($"Label column '{label.Name}' must be a key or a Single column of ranks, but it is {label.Type}.");
    };
}
