using MLExtensions.Fairness;
using MLExtensions.Fairness.Tradeoff;
using Xunit;

namespace MLExtensions.Tests.Fairness;

/// <summary>The linear-time hull of a threshold sweep must be the sorted hull, vertex for vertex and rule for rule.</summary>
public class RocHullSweepTests
{
    [Theory]
    [InlineData(1, 40, false)]
    [InlineData(2, 200, false)]
    [InlineData(3, 6, true)]
    [InlineData(4, 60, true)]
    public void Sweep_hull_equals_the_sorted_hull(int seed, int scores, bool ties)
    {
        var random = new Random(seed);
        // Scores of a cell with some weights zero on one label (flat runs) and, with ties, repeated ROC points.
        var values = Enumerable.Range(0, scores).Select(i => ties ? Math.Round(random.NextDouble(), 1) : random.NextDouble()).Distinct().OrderDescending().ToArray();
        var positives = values.Select(_ => ties && random.NextDouble() < 0.3 ? 0 : random.Next(0, 4) + random.NextDouble()).ToArray();
        var negatives = values.Select(_ => ties && random.NextDouble() < 0.3 ? 0 : random.Next(0, 4) + random.NextDouble()).ToArray();
        var counts = new ScoreCounts(values, positives, negatives);
        var (sweep, complements) = counts.RocPoints();
        var fast = RocRegion.ConvexHullOfSweep(sweep, complements);
        var sorted = RocRegion.ConvexHull(sweep.Concat(complements));
        Assert.Equal(sorted.Count, fast.Count);
        for (int i = 0; i < sorted.Count; i++)
        {
            Assert.Equal(sorted[i].F, fast[i].F);
            Assert.Equal(sorted[i].T, fast[i].T);
            Assert.Equal(sorted[i].Tag, fast[i].Tag);
        }
    }
}
