using System.Globalization;

namespace MLExtensions.Fairness;

/// <summary>
/// One (client, group) cell of a fitted mitigator as its solver saw it: the ROC hull of the cell's rules on the
/// fitting rows, and the operating point the cell's chosen rule reaches on it (what Fairlearn's
/// <c>plot_threshold_optimizer</c> shows per group).
/// </summary>
/// <remarks>
/// The rates are those of the fitting rows, with the labels shrunk toward the group's calibration by
/// <see cref="FairnessMitigatorModel.Shrinkage"/> rows, as the solver judged the rules; new rows scatter around them.
/// </remarks>
/// <param name="Client">The client.</param>
/// <param name="Group">The sensitive group (an intersection with several sensitive columns).</param>
/// <param name="Hull">The hull's vertices as (false positive rate, true positive rate), counter-clockwise; it runs from (0, 0) to (1, 1).</param>
/// <param name="FalsePositiveRate">The chosen rule's false positive rate: its branches' hull vertices mixed by their shares.</param>
/// <param name="TruePositiveRate">The chosen rule's true positive rate.</param>
public sealed record CellRocCurve(string Client, string Group, IReadOnlyList<(double FalsePositiveRate, double TruePositiveRate)> Hull,
    double FalsePositiveRate, double TruePositiveRate)
{
    /// <summary>Each rule's cell: the hull the solver read it from and its point on that hull.</summary>
    internal static IReadOnlyList<CellRocCurve> Of(IReadOnlyList<CellDecisionRule> rules, IReadOnlyList<CellRocHull> hulls)
    {
        if (hulls.Count != rules.Count) throw new InvalidOperationException($"The mitigator has {rules.Count} rules but {hulls.Count} hulls.");
        return rules.Select((rule, r) =>
        {
            var hull = hulls[r];
            double f = 0, t = 0;
            foreach (var branch in rule.Branches)
            {
                int vertex = -1;
                for (int i = 0; i < hull.Vertices.Count && vertex < 0; i++)
                    if (hull.Vertices[i].Rule == branch.Rule) vertex = i;
                // Every branch is a hull vertex's rule; were one not, the point is unknown rather than guessed.
                if (vertex < 0) (f, t) = (double.NaN, double.NaN);
                else (f, t) = (f + branch.Probability * hull.Vertices[vertex].F, t + branch.Probability * hull.Vertices[vertex].T);
            }
            return new CellRocCurve(rule.Client, rule.Group, hull.Vertices.Select(v => (v.F, v.T)).ToArray(), f, t);
        }).ToArray();
    }

    /// <summary>The chart of <paramref name="curves"/>: one closed hull per cell and its operating point in the same colour.</summary>
    internal static MLExtensions.Plotting.LineChart Chart(IReadOnlyList<CellRocCurve> curves, string? client)
    {
        var shown = client is null ? curves : curves.Where(c => c.Client == client).ToArray();
        if (shown.Count == 0)
            throw new ArgumentException($"The mitigator has no cell of the client '{client}'. Its clients: " +
                                        $"{string.Join(", ", curves.Select(c => $"'{c.Client}'").Distinct())}; or pass null for every cell.", nameof(client));
        var chart = new MLExtensions.Plotting.LineChart(
            client is null ? "ROC hull of each cell (line) and its chosen operating point (dot)" : $"Client {client}: ROC hull of each group (line) and its chosen operating point (dot)",
            "false positive rate", "true positive rate", ScottPlot.Alignment.LowerRight);
        chart.AddDashed("chance", [0, 1], [0, 1]);
        foreach (var curve in shown)
        {
            var closed = curve.Hull.Append(curve.Hull[0]).ToArray();
            chart.Add(client is null ? $"{curve.Client} / {curve.Group}" : curve.Group, closed.Select(v => v.FalsePositiveRate).ToArray(), closed.Select(v => v.TruePositiveRate).ToArray());
            chart.AddMarkers(null, [curve.FalsePositiveRate], [curve.TruePositiveRate]);
        }
        return chart;
    }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"({Client}, {Group}): FPR {FalsePositiveRate:F4}, TPR {TruePositiveRate:F4} on a hull of {Hull.Count} vertices");
}
