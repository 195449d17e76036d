using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Training;

namespace MLExtensions.Fairness;

/// <summary>One row (or, from a histogram, a bin of rows) the mitigator fits on: its cell, label, the model's output (score, or 1/0) and weight.</summary>
internal readonly record struct MitigationRow(string Client, string Group, bool Label, double Score, double Weight = 1);

/// <summary>Reads and checks the mitigator's columns; errors name the column and the row.</summary>
internal static class MitigationData
{
    public static List<MitigationRow> Read(IDataView input, FairnessMitigator.Options o)
    {
        var rows = new List<MitigationRow>();
        Scan(input, o, rows.Add);
        return rows;
    }

    /// <summary>
    /// Reads every row once, checked, and hands it to <paramref name="row"/> (weight 1). For a fit
    /// (<paramref name="fitting"/>) data without rows or with a single label is refused; one party's share of a
    /// federated fit may hold either.
    /// </summary>
    public static void Scan(IDataView input, FairnessMitigator.Options o, Action<MitigationRow> row, bool fitting = true)
    {
        var schema = input.Schema;
        var client = ColumnChecks.Require(schema, o.ClientColumnName, "client");
        var group = ColumnChecks.Require(schema, o.SensitiveColumnName, "sensitive");
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
        foreach (var c in new[] { client, group })
            if (c.Type is not TextDataViewType)
                throw new ArgumentException($"The column '{c.Name}' is {c.Type}; the fairness mitigator reads clients and groups as text " +
                                            "(convert keys with MapKeyToValue, numbers with a MapValue or CustomMapping to text).",
                    c.Index == client.Index ? nameof(o.ClientColumnName) : nameof(o.SensitiveColumnName));

        using var cursor = input.GetRowCursor([client, group, label, score]);
        var getClient = cursor.GetGetter<ReadOnlyMemory<char>>(client);
        var getGroup = cursor.GetGetter<ReadOnlyMemory<char>>(group);
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
        bool y = false;
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        string Intern(ReadOnlyMemory<char> text)
        {
            var s = text.ToString();
            return names.TryGetValue(s, out var kept) ? kept : names[s] = s;
        }
        long read = 0, positives = 0;
        while (cursor.MoveNext())
        {
            getClient(ref c1);
            getGroup(ref g1);
            getLabel(ref y);
            double s = getScore();
            if (c1.IsEmpty) throw new InvalidDataException($"Row {read}: the client column '{client.Name}' is empty.");
            if (g1.IsEmpty) throw new InvalidDataException($"Row {read}: the sensitive column '{group.Name}' is empty.");
            if (!double.IsFinite(s))
                throw new InvalidDataException($"Row {read}: the score column '{score.Name}' holds {s}; the fairness mitigator needs a finite score in every row.");
            row(new MitigationRow(Intern(c1), Intern(g1), y, s));
            read++;
            if (y) positives++;
        }
        if (!fitting) return;
        if (read == 0) throw new InvalidDataException("The data has no rows to fit the fairness mitigator on.");
        if (positives == 0 || positives == read)
            throw new InvalidDataException($"Every row's label ('{label.Name}') is {positives == read}: the mitigator needs both classes.");
    }
}
