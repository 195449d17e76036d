using MLExtensions.Fairness;
using Xunit;

namespace MLExtensions.Tests.Fairness;

/// <summary>
/// A rule fitted to a small cell must pass, on new rows of the same cell, the share it passed on the fitting rows: a
/// budget on the gap between two groups' rates holds on new rows only if neither rate drifts. Where a threshold sits
/// inside the gap between two fitting scores decides it (the fitting rows cannot tell).
/// </summary>
public class ThresholdPlacementTests
{
    /// <summary>Scores s = u² (u uniform), denser near 0: P(s ≥ t) = 1 − √t, so a rule's rate on new rows is exact.</summary>
    private static double Draw(Random random) => Math.Pow(random.NextDouble(), 2);

    private static double NewRowRate(CellDecisionRule rule) => rule.Branches.Sum(b => b.Probability * (b.Rule.Sign > 0
        ? 1 - Math.Sqrt(Math.Clamp(b.Rule.Threshold, 0, 1))
        : Math.Sqrt(Math.Clamp(-b.Rule.Threshold, 0, 1))));

    /// <summary>The group's scores of every client: many draws of the same distribution.</summary>
    private static ScoreDensity GroupDensity(int seed)
    {
        var random = new Random(seed);
        var scores = Enumerable.Range(0, 5000).Select(_ => Draw(random)).Distinct().Order().ToArray();
        return new ScoreDensity(scores, scores.Select(_ => 1.0).ToArray());
    }

    /// <summary>Mean and standard error of (rate on new rows − fitted rate) over many cells of <paramref name="rows"/> rows.</summary>
    private static (double Drift, double StandardError) RateDrift(ThresholdPlacement placement, int rows, double rate, int seed)
    {
        var random = new Random(seed);
        const int cells = 3000;
        var drift = new double[cells];
        for (int c = 0; c < cells; c++)
        {
            var scores = Enumerable.Range(0, rows).Select(_ => Draw(random)).ToArray();
            var labels = scores.Select(s => random.NextDouble() < s).ToArray();
            var counts = ScoreCounts.From(scores.Select((s, i) => (s, labels[i] ? 1.0 : 0, labels[i] ? 0 : 1.0)));
            drift[c] = NewRowRate(CellRocHull.FromScores(counts, placement).RuleForRate("c", "g", rate)) - rate;
        }
        double mean = drift.Average();
        return (mean, Math.Sqrt(drift.Sum(d => (d - mean) * (d - mean)) / (cells - 1) / cells));
    }

    [Theory]
    [InlineData(12, 0.1)]
    [InlineData(12, 0.5)]
    [InlineData(30, 0.25)]
    [InlineData(30, 0.8)]
    public void Thresholds_placed_to_keep_rates_pass_the_fitted_rate_on_new_rows(int rows, double rate)
    {
        var (drift, se) = RateDrift(ThresholdPlacement.KeepingRates(GroupDensity(seed: 7)), rows, rate, seed: rows);
        // Left: a quarter of the 1/(n + 1) a placement ignoring the rates drifts by. A hull's vertices sit where a
        // positive label lies above a negative one, and labels say where scores lie: such gaps run a little wider than
        // the average one the placement assumes (1.3 points at 12 rows, against 7 at the pivot).
        Assert.True(Math.Abs(drift) <= 0.25 / (rows + 1) + 4 * se, $"new rows' rate drifts by {drift:F4} (± {se:F4}) from the fitted {rate}");
    }

    [Fact]
    public void Other_placements_drift_on_small_cells()
    {
        // At a pivot: a rule whose threshold lies above the pivot passes more new rows, one below it fewer, so two
        // groups of one client at the same fitted rate drift apart. At the gap's top: every rule passes fewer.
        // Evenly in the score (no density): where scores thin out upward, the upper part of a gap holds less than its share.
        var pivot = ThresholdPlacement.AtPivot(0.5);
        var (highRate, highSe) = RateDrift(pivot, 12, 0.8, seed: 1);
        var (lowRate, lowSe) = RateDrift(pivot, 12, 0.1, seed: 2);
        Assert.True(lowRate - highRate > 4 * Math.Sqrt(highSe * highSe + lowSe * lowSe), $"at the pivot: {highRate:F4} at rate 0.8, {lowRate:F4} at 0.1");
        var (top, topSe) = RateDrift(ThresholdPlacement.GapTop, 12, 0.5, seed: 3);
        Assert.True(top < -4 * topSe, $"at the gap's top: {top:F4} ± {topSe:F4}");
        var (even, evenSe) = RateDrift(ThresholdPlacement.KeepingRates(null), 12, 0.5, seed: 4);
        Assert.True(even < -4 * evenSe, $"evenly in the score: {even:F4} ± {evenSe:F4}");
    }
}
