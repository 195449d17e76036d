using Microsoft.ML;
using MLExtensions.Mlp;
using MLExtensions.Nas;
using Xunit;

namespace MLExtensions.Tests.Nas;

/// <summary>
/// Gradient search's α must carry signal on small data: as far a move per epoch whatever the rows, and a
/// gradient that compares widths rather than rewarding the shrinking of wide units.
/// </summary>
public class ArchitectureSignalTests
{
    /// <summary>One decision, two widths: one hidden ReLU unit cannot fit the synthetic target, 32 can.</summary>
    private static NasTrainer.Options OneDecision(ArchitectureGradient gradient, int seed) => new()
    {
        LabelColumnName = nameof(Synthetic.Row.Target), Strategy = NasStrategy.TangleNas, ArchitectureGradient = gradient, Sampler = ArchitectureSampler.Softmax,
        Depths = [1], Widths = [1, 32], Activations = [MlpActivation.Relu], SearchResidual = false,
        SearchEpochs = 30, WarmupEpochs = 5, BatchSize = 64, LearningRate = 3e-3, RetrainEpochs = 1, Seed = seed,
    };

    private static double NormalisedEntropy(IReadOnlyList<double> p) =>
        -p.Where(v => v > 0).Sum(v => v * Math.Log(v)) / Math.Log(p.Count);

    [Theory]
    [InlineData(ArchitectureGradient.SampledPaths)]
    [InlineData(ArchitectureGradient.Relaxed)]
    public void Alpha_leaves_uniform_for_the_clearly_better_width_on_300_rows(ArchitectureGradient gradient)
    {
        // 300 rows: 150 train the weights, 3 batches an epoch. One α step per batch at the options' rate (the old
        // schedule) moved each logit by at most 25 × 3 × 3e-3 ≈ 0.23: entropy above 0.97 of uniform.
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(Synthetic.Rows(300, 21));
        using var model = ml.Nas().Trainers.Regression(OneDecision(gradient, 4)).Fit(data);
        var width = model.Search.History[^1].Decisions.Single(d => d.Decision == "width 1");
        double entropy = NormalisedEntropy(width.Probabilities);
        Assert.True(entropy < 0.75, $"entropy {entropy:F3} of uniform; p = {string.Join(", ", width.Probabilities.Select(p => p.ToString("F3")))}");
        Assert.Equal([32], model.Architecture.HiddenLayerSizes);
        // And it fell over the epochs after the warm-up instead of jumping once.
        var during = model.Search.History.Select(h => NormalisedEntropy(h.Decisions.Single(d => d.Decision == "width 1").Probabilities)).ToArray();
        Assert.Equal(1.0, during[4], 6);
        Assert.True(during[15] < during[5] && during[^1] < during[15], string.Join(", ", during.Select(e => e.ToString("F3"))));
    }

    [Theory]
    [InlineData(40, 8, 6e-3)]   // enough weight steps: the options as given
    [InlineData(8, 8, 6e-3)]
    [InlineData(4, 4, 12e-3)]   // a few hundred rows: one α step per weight step, each twice as large
    [InlineData(1, 1, 48e-3)]
    public void Alpha_moves_as_far_per_epoch_in_no_more_steps_than_the_weights_take(int weightSteps, int alphaSteps, double learningRate)
    {
        var (steps, rate) = GradientSearch.ArchitectureSchedule(new NasTrainer.Options(), weightSteps);
        Assert.Equal(alphaSteps, steps);
        Assert.Equal(learningRate, rate, 12);
    }

    [Fact]
    public void The_same_seed_gives_the_same_alpha_history_and_pick_with_dropout_and_sampled_paths()
    {
        var ml = new MLContext(2);
        var data = ml.Data.LoadFromEnumerable(Synthetic.Rows(200, 22));
        double[] Run(out MlpArchitecture pick)
        {
            var options = OneDecision(ArchitectureGradient.SampledPaths, 9);
            (options.Depths, options.Widths, options.SearchEpochs, options.WarmupEpochs, options.SupernetDropout) = ([1, 2], [4, 8, 16], 6, 2, 0.3);
            using var model = ml.Nas().Trainers.Regression(options).Fit(data);
            pick = model.Architecture;
            return model.Search.History.SelectMany(h => h.Decisions.SelectMany(d => d.Probabilities)).ToArray();
        }
        var first = Run(out var firstPick);
        var second = Run(out var secondPick);
        Assert.Equal(first, second);
        Assert.Equal(firstPick, secondPick);
    }

    [Fact]
    public void Picking_by_supernet_loss_takes_the_best_scored_of_the_candidates_alpha_made_likely()
    {
        var ml = new MLContext(5);
        var options = OneDecision(ArchitectureGradient.SampledPaths, 6);
        (options.Depths, options.Widths, options.SearchEpochs, options.WarmupEpochs, options.TopK, options.PickBySupernetLoss) = ([1, 2], [2, 8, 16], 6, 2, 20, true);
        using var model = ml.Nas().Trainers.Regression(options).Fit(ml.Data.LoadFromEnumerable(Synthetic.Rows(300, 24)));
        var losses = model.Search.TopArchitectures.Select(t => t.SupernetValidationLoss).ToArray();
        Assert.Equal(losses.Order().ToArray(), losses);
        Assert.Equal(model.Search.TopArchitectures[0].Architecture, model.Architecture);
    }

    [Fact]
    public void New_gradient_search_options_are_validated()
    {
        var ml = new MLContext(3);
        void Refused(NasTrainer.Options options, string name) =>
            Assert.Equal(name, Assert.Throws<ArgumentOutOfRangeException>(() => ml.Nas().Trainers.Regression(options)).ParamName);
        Refused(new NasTrainer.Options { ArchitectureStepsPerEpoch = 0 }, nameof(NasTrainer.Options.ArchitectureStepsPerEpoch));
        Refused(new NasTrainer.Options { SupernetDropout = 1 }, nameof(NasTrainer.Options.SupernetDropout));
        Refused(new NasTrainer.Options { SupernetDropout = -0.1 }, nameof(NasTrainer.Options.SupernetDropout));
        Refused(new NasTrainer.Options { SupernetDropout = double.NaN }, nameof(NasTrainer.Options.SupernetDropout));
        Refused(new NasTrainer.Options { SupernetWeightDecay = -1e-4 }, nameof(NasTrainer.Options.SupernetWeightDecay));
        Refused(new NasTrainer.Options { SupernetWeightDecay = double.PositiveInfinity }, nameof(NasTrainer.Options.SupernetWeightDecay));
        Refused(new NasTrainer.Options { ArchitectureGradient = (ArchitectureGradient)7 }, nameof(NasTrainer.Options.ArchitectureGradient));
    }
}
