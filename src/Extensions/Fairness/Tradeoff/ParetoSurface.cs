using System.Globalization;
using System.Text;

namespace MLExtensions.Fairness.Tradeoff;

/// <summary>
/// The best accuracy over a grid of (global, local) disparity budgets: the accuracy–fairness Pareto surface, as a
/// table (Markdown, CSV) and a plot (SVG).
/// </summary>
public sealed class ParetoSurface
{
    private readonly TradeoffPoint[] _points;

    internal ParetoSurface(double unconstrainedAccuracy, double[] globalBudgets, double[] localBudgets, TradeoffPoint[] points)
    {
        UnconstrainedAccuracy = unconstrainedAccuracy;
        GlobalBudgets = globalBudgets;
        LocalBudgets = localBudgets;
        _points = points;
    }

    /// <summary>Accuracy without fairness constraints.</summary>
    public double UnconstrainedAccuracy { get; }

    /// <summary>ε_g values (bits), ascending.</summary>
    public IReadOnlyList<double> GlobalBudgets { get; }

    /// <summary>ε_l values (bits), ascending.</summary>
    public IReadOnlyList<double> LocalBudgets { get; }

    /// <summary>Every solution, global budget major.</summary>
    public IReadOnlyList<TradeoffPoint> Points => _points;

    /// <summary>The solution at the <paramref name="global"/>-th global and <paramref name="local"/>-th local budget.</summary>
    public TradeoffPoint this[int global, int local] => _points[global * LocalBudgets.Count + local];

    /// <summary>The largest certificate gap over the surface.</summary>
    public double MaximumGap => _points.Max(p => p.Gap);

    /// <summary>Accuracy table: one row per global budget, one column per local budget.</summary>
    public string ToMarkdown()
    {
        var md = new StringBuilder();
        md.Append("| ε_g \\ ε_l (bits) |");
        foreach (double l in LocalBudgets) md.Append(' ').Append(F(l)).Append(" |");
        md.AppendLine().Append("|---|").AppendLine(string.Concat(Enumerable.Repeat("---|", LocalBudgets.Count)));
        for (int g = 0; g < GlobalBudgets.Count; g++)
        {
            md.Append("| ").Append(F(GlobalBudgets[g])).Append(" |");
            for (int l = 0; l < LocalBudgets.Count; l++) md.Append(' ').Append(F(this[g, l].Accuracy)).Append(" |");
            md.AppendLine();
        }
        md.AppendLine().AppendLine($"Accuracy without constraints: {F(UnconstrainedAccuracy)}; largest certified gap: {MaximumGap.ToString("E1", CultureInfo.InvariantCulture)}.");
        return md.ToString();
    }

    /// <summary>One line per budget pair: budgets, accuracy, its certified upper bound, gap and the disparities reached.</summary>
    public string ToCsv()
    {
        var csv = new StringBuilder("globalBudget,localBudget,accuracy,accuracyUpperBound,gap,globalDisparity,localDisparity\n");
        foreach (var p in _points)
            csv.AppendLine(string.Join(',', new[] { p.GlobalBudget, p.LocalBudget, p.Accuracy, p.AccuracyUpperBound, p.Gap, p.GlobalDisparity, p.LocalDisparity }
                .Select(v => v.ToString("R", CultureInfo.InvariantCulture))));
        return csv.ToString();
    }

    private static string F(double v) => v.ToString("0.0000", CultureInfo.InvariantCulture);
}
