using MLExtensions.Fairness;
using MLExtensions.Fairness.Tradeoff;
using Xunit;

namespace MLExtensions.Tests.Fairness;

public class CellErrorCurveTests
{
    /// <summary>
    /// A cell of 13 rows whose labels are its group's Platt calibration (shrinkage ∞): labels falling with the score
    /// make every threshold a vertex of the error curve. The rules "top k" and "bottom 13 − k" have the same rate up
    /// to round-off, and at k = 2 and 3 the flipped one's rate comes out an ulp lower; it must not push the better
    /// rule out of the curve.
    /// </summary>
    [Fact]
    public void RulesWhoseRatesDifferByRoundOffKeepTheLeastError()
    {
        double[] scores = [0.8788790702819824, 0.7963274717330933, 0.5449341535568237, 0.40224483609199524, 0.25763627886772156, 0.1695050746202469, 0.1412968635559082, 0.12213121354579926, 0.11626064032316208, 0.10925626754760742, 0.07666480541229248, 0.048804741352796555, 0.006824958603829145];
        double[] q = [0.85709226529049, 0.7681284182635965, 0.5154780242777447, 0.37958550725203327, 0.2447273123507154, 0.16294144911346709, 0.13666278193672463, 0.11874153531103712, 0.11323784359375785, 0.10666086190984538, 0.07586800519779548, 0.04917675972957014, 0.007452350530517632];
        var counts = ScoreCounts.From(scores.Select((s, i) => (s, q[i], 1 - q[i])));
        var hull = CellRocHull.FromScores(counts, ThresholdPlacement.AtPivot(0.5288939411211735));

        Assert.Equal(Enumerable.Range(0, 14).Select(k => k / 13.0), hull.Curve.Breakpoints, (a, b) => Math.Abs(a - b) < 1e-9);
        // Errors fall while q > ½: the best rule passes the top three rows.
        Assert.Equal(3 / 13.0, hull.Curve.BestRate, 1e-9);
        Assert.Equal((3 - 2 * (q[0] + q[1] + q[2]) + q.Sum()) / 13, hull.Curve.MinimumError, 1e-9);
    }

    [Fact]
    public void LowerHullKeepsTheLowerOfTwoPointsAtTheSameRate()
    {
        // Two rules at rate ½ up to one ulp, the worse one sorting first.
        double c = 0.5, below = Math.BitDecrement(c);
        var hull = CellErrorCurve.LowerHull(0.5, new (double, double, string)[] { (0, 0, "never"), (1, 1, "always"), (below, below, "worse"), (0, 1, "better") }
            .Select(p => (Fpr: p.Item1, Tpr: p.Item2, Tag: p.Item3)));

        Assert.Equal(["never", "better", "always"], hull.Select(v => v.Tag));
    }
}
