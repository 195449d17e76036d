using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Training;

namespace MLExtensions.Fairness;

/// <summary>The rows a metric frame reads, in memory: label, prediction, score, weight and each grouping's value.</summary>
internal sealed class MetricRows
{
    public required bool[] Labels { get; init; }
    public required bool[] Predictions { get; init; }
    public required double[] Weights { get; init; }
    public float[]? Scores { get; init; }

    /// <summary>Per row, its sensitive groups joined (the intersection), its client and its control stratum.</summary>
    public required string[] Groups { get; init; }
    public string[]? Clients { get; init; }
    public string[]? Controls { get; init; }

    public int Count => Labels.Length;

    public static MetricRows Read(IDataView data, MetricFrameOptions o)
    {
        var schema = data.Schema;
        var label = ColumnChecks.Require(schema, o.LabelColumnName, "label");
        var predicted = ColumnChecks.Require(schema, o.PredictedLabelColumnName, "predicted label");
        foreach (var c in new[] { label, predicted })
            if (c.Type != BooleanDataViewType.Instance)
                throw new ArgumentException($"The column '{c.Name}' is {c.Type}; a metric frame of binary metrics needs Boolean labels and predictions.",
                    c.Index == label.Index ? nameof(o.LabelColumnName) : nameof(o.PredictedLabelColumnName));
        var score = o.ScoreColumnName is null ? (DataViewSchema.Column?)null : ColumnChecks.Require(schema, o.ScoreColumnName, "score");
        if (score is { } s && s.Type != NumberDataViewType.Single)
            throw new ArgumentException($"The score column '{s.Name}' is {s.Type}; give a Single score (or null for no AUC).", nameof(o.ScoreColumnName));
        var weight = o.ExampleWeightColumnName is null ? (DataViewSchema.Column?)null : ColumnChecks.Require(schema, o.ExampleWeightColumnName, "example weight");
        if (weight is { } wc && wc.Type != NumberDataViewType.Single)
            throw new ArgumentException($"The example weight column '{wc.Name}' is {wc.Type}; give a Single.", nameof(o.ExampleWeightColumnName));
        var sensitive = o.SensitiveColumnNames.Select(n => ColumnChecks.Require(schema, n, "sensitive")).ToArray();
        var client = o.ClientColumnName is null ? (DataViewSchema.Column?)null : ColumnChecks.Require(schema, o.ClientColumnName, "client");
        var controls = o.ControlColumnNames.Select(n => ColumnChecks.Require(schema, n, "control")).ToArray();

        var columns = new[] { label, predicted }.Concat(sensitive).Concat(controls)
            .Concat(new[] { score, weight, client }.Where(c => c is not null).Select(c => c!.Value)).DistinctBy(c => c.Index).ToArray();
        var labels = new List<bool>();
        var predictions = new List<bool>();
        var weights = new List<double>();
        var scores = score is null ? null : new List<float>();
        var groups = new List<string>();
        var clients = client is null ? null : new List<string>();
        var strata = controls.Length == 0 ? null : new List<string>();
        using var cursor = data.GetRowCursor(columns);
        var getLabel = cursor.GetGetter<bool>(label);
        var getPredicted = cursor.GetGetter<bool>(predicted);
        var getScore = score is { } sc ? cursor.GetGetter<float>(sc) : null;
        var getWeight = weight is { } w ? cursor.GetGetter<float>(w) : null;
        var getSensitive = sensitive.Select(c => ValueReader.For(cursor, c, null)).ToArray();
        var getClient = client is { } cc ? ValueReader.For(cursor, cc, null) : null;
        var getControls = controls.Select(c => ValueReader.For(cursor, c, null)).ToArray();
        long row = 0;
        bool y = false, p = false;
        float f = 0;
        while (cursor.MoveNext())
        {
            getLabel(ref y);
            getPredicted(ref p);
            labels.Add(y);
            predictions.Add(p);
            if (getScore is not null)
            {
                getScore(ref f);
                if (!float.IsFinite(f)) throw new InvalidDataException($"Row {row}: the score column '{score!.Value.Name}' holds {f}.");
                scores!.Add(f);
            }
            double rowWeight = 1;
            if (getWeight is not null)
            {
                getWeight(ref f);
                if (!(f >= 0) || !float.IsFinite(f)) throw new InvalidDataException($"Row {row}: the example weight column '{weight!.Value.Name}' holds {f}; weights must be finite and ≥ 0.");
                rowWeight = f;
            }
            weights.Add(rowWeight);
            long current = row;
            groups.Add(string.Join(" & ", getSensitive.Select(g => g(current))));
            clients?.Add(getClient!(row));
            strata?.Add(string.Join(" & ", getControls.Select(g => g(current))));
            row++;
        }
        if (row == 0) throw new InvalidDataException("The data has no rows to compute a metric frame on.");
        return new MetricRows
        {
            Labels = labels.ToArray(), Predictions = predictions.ToArray(), Weights = weights.ToArray(), Scores = scores?.ToArray(),
            Groups = groups.ToArray(), Clients = clients?.ToArray(), Controls = strata?.ToArray(),
        };
    }
}
