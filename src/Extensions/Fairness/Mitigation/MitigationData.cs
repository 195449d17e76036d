using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Training;

namespace MLExtensions.Fairness;

/// <summary>One row (or, from a histogram, a bin of rows) the mitigator fits on: its cell, label, the model's output (score, or 1/0) and weight.</summary>
internal readonly record struct MitigationRow(string Client, string Group, bool Label, double Score, double Weight = 1);

/// <summary>Reads and checks the mitigator's columns; errors name the column and the row.</summary>
internal static class MitigationData
{
    public static List<MitigationRow> Read(MLContext ml, IDataView input, FairnessMitigator.Options o) => Read(ml, input, o, null, out _);

    /// <summary>
    /// The rows, and with <paramref name="hashedFeatures"/> each row's draw as the fitted model will draw it from
    /// that feature column (see <see cref="MitigationDraws"/>).
    /// </summary>
    public static List<MitigationRow> Read(MLContext ml, IDataView input, FairnessMitigator.Options o, string? hashedFeatures, out List<double>? draws)
    {
        var rows = new List<MitigationRow>();
        var drawn = hashedFeatures is null ? null : new List<double>();
        Scan(ml, input, o, rows.Add, fitting: true, hashedFeatures, drawn is null ? null : drawn.Add);
        draws = drawn;
        return rows;
    }

    /// <summary>
    /// Reads every row once, checked, and hands it to <paramref name="row"/> (weight 1). The client and sensitive
    /// columns are read through the first steps of the model's own chain (<see cref="MitigationCells"/>), so the
    /// cells are named as the model will name them when it scores. For a fit (<paramref name="fitting"/>) data without
    /// rows or with a single label is refused; one party's share of a federated fit may hold either.
    /// </summary>
    public static void Scan(MLContext ml, IDataView input, FairnessMitigator.Options o, Action<MitigationRow> row, bool fitting = true,
        string? hashedFeatures = null, Action<double>? draw = null)
    {
        var schema = input.Schema;
        var label = ColumnChecks.Require(schema, o.LabelColumnName, "label");
        var score = ColumnChecks.Require(schema, o.ScoreColumnName ?? o.PredictedLabelColumnName, o.ScoreColumnName is null ? "predicted label" : "score");
        if (label.Type != BooleanDataViewType.Instance)
            throw new ArgumentException($"The label column '{label.Name}' is {label.Type}; the fairness mitigator needs a Boolean label (two classes). " +
                                        "Convert it, e.g. with mlContext.Transforms.CustomMapping or Expression.", nameof(o.LabelColumnName));
        if (o.ScoreColumnName is not null && score.Type != NumberDataViewType.Single)
            throw new ArgumentException($"The score column '{score.Name}' is {score.Type}; give the model's score as a Single " +
                                        "(binary trainers' Probability or Score column), or set ScoreColumnName to null to use the predicted label.", nameof(o.ScoreColumnName));
        if (o.ScoreColumnName is null && score.Type != BooleanDataViewType.Instance)
            throw new ArgumentException($"The predicted label column '{score.Name}' is {score.Type}; give a Boolean prediction.", nameof(o.PredictedLabelColumnName));
        var clientColumn = CellColumn.Of(ColumnChecks.Require(schema, o.ClientColumnName, "client"));
        var sensitiveColumns = o.SensitiveColumns.Select(name => CellColumn.Of(ColumnChecks.Require(schema, name, "sensitive"))).ToArray();
        var prepared = MitigationCells.Estimator(ml, o, schema).Fit(input).Transform(input);
        var client = prepared.Schema[MitigationColumns.Client];
        bool several = o.SensitiveColumnNames is not null;
        var group = prepared.Schema[several ? MitigationColumns.GroupParts : MitigationColumns.Group];
        label = prepared.Schema[label.Name];
        score = prepared.Schema[score.Name];
        DataViewSchema.Column? features = hashedFeatures is null ? null : prepared.Schema[hashedFeatures];

        using var cursor = prepared.GetRowCursor(features is { } f ? [client, group, label, score, f] : [client, group, label, score]);
        var getClient = cursor.GetGetter<ReadOnlyMemory<char>>(client);
        var getGroup = several ? null : cursor.GetGetter<ReadOnlyMemory<char>>(group);
        var getParts = several ? cursor.GetGetter<VBuffer<ReadOnlyMemory<char>>>(group) : null;
        var getFeatures = features is { } fc ? cursor.GetGetter<VBuffer<float>>(fc) : null;
        var getLabel = cursor.GetGetter<bool>(label);
        Func<double> getScore;
        if (o.ScoreColumnName is null)
        {
            var g = cursor.GetGetter<bool>(score);
            getScore = () => { bool b = false; g(ref b); return b ? 1 : 0; };
        }
        else
        {
            var g = cursor.GetGetter<float>(score);
            getScore = () => { float f = 0; g(ref f); return f; };
        }
        ReadOnlyMemory<char> c1 = default, g1 = default;
        VBuffer<ReadOnlyMemory<char>> parts = default;
        VBuffer<float> featureValues = default;
        var partTexts = new string?[sensitiveColumns.Length];
        bool y = false;
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        string Intern(string s) => names.TryGetValue(s, out var kept) ? kept : names[s] = s;
        long read = 0, positives = 0;
        while (cursor.MoveNext())
        {
            getClient(ref c1);
            getLabel(ref y);
            double s = getScore();
            if (IsMissing(c1, clientColumn)) throw new InvalidDataException($"Row {read}: the client column '{clientColumn.Name}' is {Missing(c1)}.");
            string groupName;
            if (getGroup is not null)
            {
                getGroup(ref g1);
                if (IsMissing(g1, sensitiveColumns[0])) throw new InvalidDataException($"Row {read}: the sensitive column '{sensitiveColumns[0].Name}' is {Missing(g1)}.");
                groupName = Intern(g1.ToString());
            }
            else
            {
                getParts!(ref parts);
                var values = parts.DenseValues().ToArray();
                for (int i = 0; i < partTexts.Length; i++)
                {
                    if (IsMissing(values[i], sensitiveColumns[i]) && !values[i].IsEmpty)
                        throw new InvalidDataException($"Row {read}: the sensitive column '{sensitiveColumns[i].Name}' is {Missing(values[i])}.");
                    partTexts[i] = values[i].ToString();
                }
                groupName = Intern(MitigationGroups.Join(partTexts)
                    ?? throw new InvalidDataException($"Row {read}: {MitigationGroups.Refusal(partTexts, o.SensitiveColumns)}"));
            }
            if (!double.IsFinite(s))
                throw new InvalidDataException($"Row {read}: the score column '{score.Name}' holds {s}; the fairness mitigator needs a finite score in every row.");
            if (getFeatures is not null)
            {
                getFeatures(ref featureValues);
                draw!(MitigationDraws.FromFeatures(o.RowSeed, featureValues));
            }
            row(new MitigationRow(Intern(c1.ToString()), groupName, y, s));
            read++;
            if (y) positives++;
        }
        if (!fitting) return;
        if (read == 0) throw new InvalidDataException("The data has no rows to fit the fairness mitigator on.");
        if (positives == 0 || positives == read)
            throw new InvalidDataException($"Every row's label ('{label.Name}') is {positives == read}: the mitigator needs both classes.");
    }

    /// <summary>An empty value, or the text "NaN" of a floating-point column (its missing value).</summary>
    private static bool IsMissing(ReadOnlyMemory<char> text, CellColumn column) =>
        text.IsEmpty || (column.Floating && text.Span.SequenceEqual("NaN"));

    private static string Missing(ReadOnlyMemory<char> text) => text.IsEmpty ? "empty" : "NaN (a missing value)";
}
