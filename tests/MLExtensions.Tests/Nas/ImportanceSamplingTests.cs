using MLExtensions.Mlp;
using MLExtensions.Nas;
using Xunit;

namespace MLExtensions.Tests.Nas;

/// <summary>PA&amp;DA's path and row sampling follow their importance distributions, as the reference forms them.</summary>
public class ImportanceSamplingTests
{
    private static readonly NasSearchSpace Space = new() { Depths = [1, 2], Widths = [8, 16, 32], Activations = [MlpActivation.Relu, MlpActivation.Tanh], SearchResidual = true };

    [Fact]
    public void Path_distributions_follow_the_width_slices_gradient_norms_and_sampling_follows_the_distributions()
    {
        var paths = new PathImportance(Space, importance: true, floor: 0);
        // Layer 1: width 16 seen twice (running mean ½: (2 + 4) / 2 = 3), width 32 once (1); width 8 never (0).
        paths.Observe(new ArchitecturePath(1, [1, 0], 0, 0), [2.0, 5.0]);
        paths.Observe(new ArchitecturePath(1, [1, 2], 0, 0), [4.0, 1.0]);
        paths.Observe(new ArchitecturePath(0, [2, 0], 0, 0), [1.0]);
        const double tau = 0.6;
        paths.EndEpoch(tau);
        double[] expected = [(1 - tau) / 3, tau * 3 / 4 + (1 - tau) / 3, tau * 1 / 4 + (1 - tau) / 3];
        Assert.Equal(expected, paths.Distributions[1], new Tolerance(1e-12));
        // Layer 2: width 8 norm 5, width 32 norm 1 (the depth-1 path did not use it).
        Assert.Equal([tau * 5 / 6 + (1 - tau) / 3, (1 - tau) / 3, tau * 1 / 6 + (1 - tau) / 3], paths.Distributions[2], new Tolerance(1e-12));
        // Depth, activation and residual own no weights of their own: uniform, as the reference's parameter-free ops.
        Assert.All(new[] { paths.Distributions[0], paths.Distributions[3], paths.Distributions[4] }, d => Assert.All(d, p => Assert.Equal(1.0 / d.Length, p, 12)));

        var random = new Random(3);
        const int draws = 40_000;
        var counts = new int[3];
        for (int i = 0; i < draws; i++) counts[paths.Sample(random).Widths[0]]++;
        for (int k = 0; k < 3; k++)
        {
            double sd = Math.Sqrt(expected[k] * (1 - expected[k]) / draws);
            Assert.True(Math.Abs(counts[k] / (double)draws - expected[k]) < 4 * sd, $"width {k}: frequency {counts[k] / (double)draws:F4}, probability {expected[k]:F4}");
        }

        // The importance is reset every epoch: an epoch without observations gives uniform widths.
        paths.EndEpoch(tau);
        Assert.All(paths.Distributions[1], p => Assert.Equal(1.0 / 3, p, 12));
    }

    [Fact]
    public void Rows_are_drawn_with_replacement_in_proportion_to_their_importance_mixed_with_uniform()
    {
        const int n = 4;
        var rows = new RowImportance(n, importance: true, floor: 0);
        var random = new Random(5);
        var (first, weights) = rows.NextEpoch(random);
        Assert.Null(weights);
        Assert.Equal([0, 1, 2, 3], first.Order());
        // Row 0 seen twice (mean (1 + 3) / 2 = 2), row 1 once (6), rows 2, 3 not drawn (0).
        rows.Observe([0, 1], [1.0, 6.0]);
        rows.Observe([0], [3.0]);
        const double tau = 0.5;
        rows.EndEpoch(tau);
        double[] expected = [tau * 2 / 8 + (1 - tau) / n, tau * 6 / 8 + (1 - tau) / n, (1 - tau) / n, (1 - tau) / n];
        Assert.Equal(expected, rows.Probabilities, new Tolerance(1e-12));

        var counts = new int[n];
        int total = 0;
        for (int epoch = 0; epoch < 5_000; epoch++)
        {
            var (order, w) = rows.NextEpoch(random);
            Assert.Equal(n, order.Length);
            for (int k = 0; k < n; k++)
            {
                counts[order[k]]++;
                Assert.Equal(1 / (n * expected[order[k]]), w![k], 4);
            }
            total += n;
        }
        for (int i = 0; i < n; i++)
        {
            double sd = Math.Sqrt(expected[i] * (1 - expected[i]) / total);
            Assert.True(Math.Abs(counts[i] / (double)total - expected[i]) < 4 * sd, $"row {i}: frequency {counts[i] / (double)total:F4}, probability {expected[i]:F4}");
        }
    }

    private sealed class Tolerance(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance;

        public int GetHashCode(double obj) => 0;
    }
}
