namespace MLExtensions.Fairness;

/// <summary>
/// The fitting rows arranged by (client, group) cell, with every group's calibration (the chance of a positive label
/// given the score, fitted on the group's rows of all clients), from which the cells' ROC hulls are built.
/// </summary>
/// <remarks>
/// Shrinkage touches only the labels: a cell's rule still moves its own rows (so its positive rate, which the
/// disparities are made of, is the cell's), but the error a rule makes there is judged on labels blended with the
/// group's calibration, y' = λ·y + (1 − λ)·q_z(score), λ = n / (n + shrinkage rows). A cell of ten rows then gets the
/// thresholds its group's model calibration supports rather than those its ten labels happen to favour.
/// </remarks>
internal sealed class CellTable
{
    private readonly List<MitigationRow>?[,] _rows;
    private readonly IReadOnlyList<MitigationRow> _all;
    private readonly Func<double, double>[] _calibration;

    private CellTable(IReadOnlyList<MitigationRow> rows, bool fromScores)
    {
        _all = rows;
        FromScores = fromScores;
        Clients = rows.Select(r => r.Client).Distinct().Order(StringComparer.Ordinal).ToArray();
        Groups = rows.Select(r => r.Group).Distinct().Order(StringComparer.Ordinal).ToArray();
        ClientIndex = Clients.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i, StringComparer.Ordinal);
        GroupIndex = Groups.Select((g, i) => (g, i)).ToDictionary(p => p.g, p => p.i, StringComparer.Ordinal);
        _rows = new List<MitigationRow>?[Clients.Length, Groups.Length];
        Sizes = new double[Clients.Length, Groups.Length];
        foreach (var r in rows)
        {
            int s = ClientIndex[r.Client], z = GroupIndex[r.Group];
            (_rows[s, z] ??= []).Add(r);
            Sizes[s, z] += r.Weight;
        }
        _calibration = Groups.Select(g => fromScores ? IsotonicCalibration.Fit(rows.Where(r => r.Group == g)) : (Func<double, double>)(_ => 0.5)).ToArray();
    }

    public static CellTable From(IReadOnlyList<MitigationRow> rows, bool fromScores)
    {
        if (rows.Select(r => r.Group).Distinct().Count() < 2)
            throw new InvalidDataException("All fitting rows belong to one sensitive group; the mitigator needs at least two.");
        return new CellTable(rows, fromScores);
    }

    public bool FromScores { get; }

    public string[] Clients { get; }

    public string[] Groups { get; }

    public Dictionary<string, int> ClientIndex { get; }

    public Dictionary<string, int> GroupIndex { get; }

    /// <summary>Weight of each cell, [client, group].</summary>
    public double[,] Sizes { get; }

    /// <summary>Each non-empty cell's hull, its labels shrunk toward its group's calibration by <paramref name="shrinkage"/> rows.</summary>
    public CellRocHull?[,] Hulls(double shrinkage)
    {
        var hulls = new CellRocHull?[Clients.Length, Groups.Length];
        for (int s = 0; s < Clients.Length; s++)
            for (int z = 0; z < Groups.Length; z++)
            {
                if (_rows[s, z] is not { } data) continue;
                if (!FromScores)
                {
                    hulls[s, z] = CellRocHull.FromPredictions(data);
                    continue;
                }
                double own = Sizes[s, z] / (Sizes[s, z] + shrinkage);
                var calibration = _calibration[z];
                // Weights are summed per (score, label) before the blend multiplies them: rows of whole weights then
                // give the same table whether they come one by one or as a histogram's bin of n rows.
                var weights = new Dictionary<(double Score, bool Label), double>();
                foreach (var r in data) weights[(r.Score, r.Label)] = weights.GetValueOrDefault((r.Score, r.Label)) + r.Weight;
                hulls[s, z] = CellRocHull.FromScores(ScoreCounts.From(weights.Select(e =>
                {
                    double label = own * (e.Key.Label ? 1 : 0) + (1 - own) * calibration(e.Key.Score);
                    return (e.Key.Score, e.Value * label, e.Value * (1 - label));
                })));
            }
        return hulls;
    }

    /// <summary>One hull over all rows: the rule of cells not seen when fitting, when they are pooled.</summary>
    public CellRocHull PooledHull() => FromScores ? CellRocHull.FromScores(ScoreCounts.From(_all)) : CellRocHull.FromPredictions(_all);
}

/// <summary>
/// The chance of a positive label as a non-decreasing function of the score (isotonic regression by pool-adjacent
/// violators), read between fitted scores by the step below; for scores whose order carries the label.
/// </summary>
internal static class IsotonicCalibration
{
    public static Func<double, double> Fit(IEnumerable<MitigationRow> rows)
    {
        var table = ScoreCounts.From(rows);
        // Ascending blocks of (score from, weight, positive weight), merged while a block's rate falls below the one before.
        var starts = new List<double>();
        var weights = new List<double>();
        var positives = new List<double>();
        for (int k = table.Scores.Length - 1; k >= 0; k--)
        {
            starts.Add(table.Scores[k]);
            weights.Add(table.Positives[k] + table.Negatives[k]);
            positives.Add(table.Positives[k]);
            while (starts.Count >= 2 && positives[^1] * weights[^2] <= positives[^2] * weights[^1])
            {
                weights[^2] += weights[^1];
                positives[^2] += positives[^1];
                starts.RemoveAt(starts.Count - 1);
                weights.RemoveAt(weights.Count - 1);
                positives.RemoveAt(positives.Count - 1);
            }
        }
        var from = starts.ToArray();
        var rate = weights.Select((w, i) => w > 0 ? positives[i] / w : 0.5).ToArray();
        if (from.Length == 0) return _ => 0.5;
        return score =>
        {
            int i = Array.BinarySearch(from, score);
            if (i < 0) i = Math.Max(0, ~i - 1);
            return rate[i];
        };
    }
}
