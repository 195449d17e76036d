using Microsoft.ML;
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
        paths.Observe(new ArchitecturePath(1, [1, 0], [0], 0), [2.0, 5.0]);
        paths.Observe(new ArchitecturePath(1, [1, 2], [0], 0), [4.0, 1.0]);
        paths.Observe(new ArchitecturePath(0, [2, 0], [0], 0), [1.0]);
        const double tau = 0.6;
        paths.Update(tau);
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

        // A choice not drawn since the last update keeps its estimate (the reference would score it 0); a drawn one gets
        // the running mean of its new observations only.
        paths.Observe(new ArchitecturePath(0, [2, 0], [0], 0), [5.0]);
        paths.Update(tau);
        Assert.Equal([(1 - tau) / 3, tau * 3 / 8 + (1 - tau) / 3, tau * 5 / 8 + (1 - tau) / 3], paths.Distributions[1], new Tolerance(1e-12));
        Assert.Equal([tau * 5 / 6 + (1 - tau) / 3, (1 - tau) / 3, tau * 1 / 6 + (1 - tau) / 3], paths.Distributions[2], new Tolerance(1e-12));
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

/// <summary>PA&amp;DA's floor, importance ratios and update cadence.</summary>
public class ImportanceCadenceTests
{
    private static readonly NasSearchSpace Space = new() { Depths = [1, 2], Widths = [8, 16, 32, 64], Activations = [MLExtensions.Mlp.MlpActivation.Relu], SearchResidual = false };

    [Fact]
    public void Every_width_keeps_the_floor_however_lopsided_its_importance_and_the_path_ratio_is_bounded_by_it()
    {
        const double floor = 0.25;
        var paths = new PathImportance(Space, importance: true, floor);
        paths.Observe(new ArchitecturePath(1, [3, 3], [0], 0), [1e9, 1e9]);
        paths.Observe(new ArchitecturePath(1, [0, 1], [0], 0), [1e-9, 1e-9]);
        paths.Update(tau: 1);
        foreach (var d in new[] { paths.Distributions[1], paths.Distributions[2] })
        {
            Assert.All(d, p => Assert.True(p >= floor / 4 - 1e-15, $"{p} below {floor / 4}"));
            Assert.Equal(1, d.Sum(), 12);
        }
        // Uniform over importance: 1/(k·p) per used layer, at most 1/floor each.
        var starved = new ArchitecturePath(1, [0, 0], [0], 0);
        Assert.Equal(1 / (4 * paths.Distributions[1][0]) * (1 / (4 * paths.Distributions[2][0])), paths.UniformRatio(starved), 12);
        Assert.True(paths.UniformRatio(starved) <= 1 / (floor * floor) + 1e-9);
        // A depth-1 path weighs only its one width decision.
        Assert.Equal(1 / (4 * paths.Distributions[1][0]), paths.UniformRatio(new ArchitecturePath(0, [0, 3], [0], 0)), 12);
        // The expectation of the ratio under the sampling distribution is 1 (the re-weighted step is uniform sampling's on average).
        double expectation = 0;
        for (int a = 0; a < 4; a++)
            for (int b = 0; b < 4; b++)
                expectation += paths.Distributions[1][a] * paths.Distributions[2][b] * paths.UniformRatio(new ArchitecturePath(1, [a, b], [0], 0));
        Assert.Equal(1, expectation, 12);
    }

    [Fact]
    public void Short_epochs_pool_their_steps_until_the_minimum_and_long_epochs_update_at_their_end()
    {
        // 200 rows at batch 64: 3 or 4 steps an epoch; with at least 16 steps per update, every 16 steps across epochs.
        var shortEpochs = new ImportanceCadence(stepsPerEpoch: 3, epochs: 30, minimumSteps: 16);
        Assert.Equal(16, shortEpochs.Period);
        var updates = Enumerable.Range(1, 90).Where(t => shortEpochs.IsUpdate(t, out _)).ToArray();
        Assert.Equal([16, 32, 48, 64, 80], updates);
        Assert.True(shortEpochs.IsUpdate(16, out double first));
        Assert.Equal(0, first);
        Assert.True(shortEpochs.IsUpdate(80, out double later));
        Assert.Equal(64 / 90.0, later, 12);

        // Epochs of 25 steps: at each epoch's end, with the reference's τ = (e − 1)/E.
        var longEpochs = new ImportanceCadence(stepsPerEpoch: 25, epochs: 10, minimumSteps: 16);
        Assert.Equal([25, 50, 75], Enumerable.Range(1, 75).Where(t => longEpochs.IsUpdate(t, out _)).ToArray());
        for (int e = 1; e <= 10; e++)
        {
            Assert.True(longEpochs.IsUpdate(25 * e, out double tau));
            Assert.Equal((e - 1) / 10.0, tau, 12);
        }
    }

    [Fact]
    public void The_options_refuse_an_update_cadence_below_one_step_and_a_floor_outside_the_unit_interval()
    {
        var ml = new MLContext(0);
        Assert.Equal(0.25, new NasTrainer.Options().ImportanceFloor);
        Assert.Equal(16, new NasTrainer.Options().ImportanceUpdateSteps);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Nas().Trainers.Regression(new NasTrainer.Options { ImportanceUpdateSteps = 0 }));
        Assert.Equal(nameof(NasTrainer.Options.ImportanceUpdateSteps), e.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => ml.Nas().Trainers.Regression(new NasTrainer.Options { ImportanceFloor = 1.5 }));
    }
}
