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

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"({Client}, {Group}): FPR {FalsePositiveRate:F4}, TPR {TruePositiveRate:F4} on a hull of {Hull.Count} vertices");
}
