using MLExtensions.Fairness.Information;

namespace MLExtensions.Fairness;

/// <summary>
/// The count table behind a fairness audit: rows per (client, sensitive value, prediction, label). Counts are all an
/// audit needs, and they add up: each client can count its own rows, and a coordinator merges the tables
/// (<see cref="Merge"/>) and computes the same report as on the pooled rows, without seeing a single row.
/// </summary>
public sealed class FairnessCounts
{
    private readonly Dictionary<(string Client, string Sensitive, string Prediction, string? Label), long> _cells = new();

    /// <summary>Whether the rows carried labels.</summary>
    public bool HasLabels { get; private set; }

    /// <summary>The value of a prediction that counts as positive (for parity and opportunity gaps), if binary.</summary>
    public string? PositivePrediction { get; internal set; }

    /// <summary>Number of rows counted.</summary>
    public long Rows => _cells.Values.Sum();

    /// <summary>Every non-empty cell and its count.</summary>
    public IReadOnlyDictionary<(string Client, string Sensitive, string Prediction, string? Label), long> Cells => _cells;

    /// <summary>Counts <paramref name="count"/> rows (default one) with these values; a count of 0 changes nothing.</summary>
    /// <exception cref="ArgumentException">A value is null or empty, or the count is negative.</exception>
    public void Add(string client, string sensitive, string prediction, string? label, long count = 1)
    {
        ArgumentException.ThrowIfNullOrEmpty(client);
        ArgumentException.ThrowIfNullOrEmpty(sensitive);
        ArgumentException.ThrowIfNullOrEmpty(prediction);
        if (label is not null) ArgumentException.ThrowIfNullOrEmpty(label);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (count == 0) return;
        if ((label is null && HasLabels) || (label is not null && !HasLabels && _cells.Count > 0))
            throw new ArgumentException("A count table holds rows either all with labels or all without; audit every row with the same columns.", nameof(label));
        if (label is not null) HasLabels = true;
        var key = (client, sensitive, prediction, label);
        _cells[key] = _cells.GetValueOrDefault(key) + count;
    }

    /// <summary>Adds tables counted separately (e.g. one per client) into one.</summary>
    /// <exception cref="ArgumentException">Some tables have labels and others not, or their positive predictions differ.</exception>
    public static FairnessCounts Merge(params FairnessCounts[] tables)
    {
        ArgumentNullException.ThrowIfNull(tables);
        if (tables.Length == 0) throw new ArgumentException("Nothing to merge.", nameof(tables));
        if (tables.Select(t => t.HasLabels).Distinct().Count() > 1)
            throw new ArgumentException("Some count tables have labels and others do not; audit all clients with the same columns.", nameof(tables));
        var positives = tables.Select(t => t.PositivePrediction).Where(p => p is not null).Distinct().ToArray();
        if (positives.Length > 1) throw new ArgumentException($"The tables disagree on the positive prediction ({string.Join(", ", positives)}).", nameof(tables));
        var merged = new FairnessCounts { PositivePrediction = positives.FirstOrDefault() };
        foreach (var table in tables)
            foreach (var ((client, sensitive, prediction, label), count) in table._cells) merged.Add(client, sensitive, prediction, label, count);
        return merged;
    }

    /// <summary>Sorted distinct values of one axis.</summary>
    internal string[] Values(Func<(string Client, string Sensitive, string Prediction, string? Label), string?> axis) =>
        _cells.Keys.Select(axis).Where(v => v is not null).Select(v => v!).Distinct().Order(StringComparer.Ordinal).ToArray();

    /// <summary>The joint p(z, ŷ, s) as counts, on the given value orders.</summary>
    internal double[,,] Joint(string[] sensitive, string[] predictions, string[] clients)
    {
        var joint = new double[sensitive.Length, predictions.Length, clients.Length];
        foreach (var ((client, z, y, _), count) in _cells)
            joint[Array.IndexOf(sensitive, z), Array.IndexOf(predictions, y), Array.IndexOf(clients, client)] += count;
        return joint;
    }
}
