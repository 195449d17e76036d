using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Mlp;
using MLExtensions.Nas;
using MLExtensions.Torch;
using Xunit;
using static TorchSharp.torch;

namespace MLExtensions.Tests.Nas;

/// <summary>Depth 0, the linear model, as a choice of the search space: enumerated once, in every strategy, exported and saved.</summary>
public class LinearChoiceTests
{
    private static readonly NasSearchSpace Space = new() { Depths = [0, 1, 2], Widths = [4, 8], Activations = [MlpActivation.Relu, MlpActivation.Tanh], SearchResidual = true };

    public sealed class LinearRow
    {
        [VectorType(6)] public float[] Features { get; set; } = [];
        public float Target { get; set; }
    }

    /// <summary>A linear target of six features on different scales, with a little noise.</summary>
    private static LinearRow[] LinearRows(int n, int seed)
    {
        var random = new Random(seed);
        float[] coefficients = [1.5f, -2f, 0.7f, 0f, 3f, -0.4f];
        return Enumerable.Range(0, n).Select(_ =>
        {
            var x = Enumerable.Range(0, 6).Select(j => (float)(random.NextDouble() * 4 - 2) * (j == 2 ? 50 : 1)).ToArray();
            float y = 5 + x.Select((v, j) => coefficients[j] * (j == 2 ? v / 50 : v)).Sum() + 0.05f * (float)(random.NextDouble() - 0.5);
            return new LinearRow { Features = x, Target = y };
        }).ToArray();
    }

    [Fact]
    public void The_linear_model_is_one_architecture_of_the_space_whatever_the_activations()
    {
        var all = Space.Enumerate().ToList();
        Assert.Single(all, a => a.HiddenLayerSizes.Count == 0);
        Assert.Equal(1 + 2 * 2 + 4 * 2 * 2, Space.Count);
        Assert.Equal(Space.Count, all.Count);
        Assert.Equal(all.Count, all.Distinct().Count());
        Assert.True(Space.Contains(new MlpArchitecture([], MlpActivation.Gelu)));
        Assert.False(new NasSearchSpace { Depths = [1, 2] }.Contains(new MlpArchitecture([], MlpActivation.Relu)));
        // Every path to depth 0 denotes the same architecture, so evolution and ranking score it once.
        var linear = all.Single(a => a.HiddenLayerSizes.Count == 0);
        Assert.Equal(linear, new ArchitecturePath(0, [1, 0], [1], 1).ToArchitecture(Space));
        Assert.Equal(4666, new NasSearchSpace().Count);
        Assert.Equal(new[] { 0, 1, 2, 3, 4 }, new NasTrainer.Options().Depths);
    }

    [Fact]
    public void One_hot_weights_give_the_extracted_network_for_every_architecture_linear_included()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(3);
        using var supernet = new TangledSupernet(5, Space, 2, [0.1f, 0.2f, 0.3f, 0.4f, 0.5f], [1f, 2f, 0.5f, 1f, 1.5f], 0.3f, 1.7f);
        supernet.eval();
        var x = randn(11, 5);
        foreach (var (label, error, scale) in SupernetChecks.OneHotAgainstExtracted(supernet, Space, x))
            Assert.True(error / Math.Max(1e-6, scale) < 1e-6, $"{label}: relative error {error / Math.Max(1e-6, scale)}");
    }

    [Fact]
    public void The_mixed_pass_mixes_the_linear_model_output_with_the_deeper_outputs_by_the_depth_weights()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(4);
        using var supernet = new TangledSupernet(3, Space, 1, [0f, 0f, 0f], [1f, 1f, 1f]);
        supernet.eval();
        using var alpha = new ArchitectureParameters(Space, CPU);
        using (no_grad()) foreach (var p in alpha.All) p.copy_(randn_like(p));
        var w = alpha.Weights(ArchitectureSampler.Softmax, null);
        var x = randn(7, 3);
        // The same weights with depth forced to 1 and 2 in turn (renormalised over the deeper choices) give the deeper share.
        var deeperShare = w.Depth[1] + w.Depth[2];
        var deeperOnly = w with { Depth = cat([zeros(1), w.Depth[1..] / deeperShare]) };
        using var linear = supernet.Extract(Space.Linear);
        var expected = w.Depth[0] * linear.forward(x) + deeperShare * supernet.forward(x, deeperOnly);
        Assert.True((supernet.forward(x, w) - expected).abs().max().item<float>() < 1e-5);
        // A path step on the linear model touches its own weight only.
        var slices = supernet.PathSlices(ArchitecturePath.From(Space, Space.Linear));
        Assert.Equal(supernet.TrainableParameters.Count, slices.Length);
        Assert.All(slices[..^2], Assert.Null);
        Assert.Equal(new long[] { 1, 3 }, supernet.TrainableParameters[^2].shape);
    }

    [Theory]
    [InlineData(NasStrategy.Spos, false)]
    [InlineData(NasStrategy.PaDa, false)]
    [InlineData(NasStrategy.TangleNas, false)]
    [InlineData(NasStrategy.TangleNas, true)]
    public void Linear_data_gets_a_linear_pick_that_exports_and_round_trips(NasStrategy strategy, bool linearOnly)
    {
        var ml = new MLContext(1);
        var train = ml.Data.LoadFromEnumerable(LinearRows(600, 1));
        var test = ml.Data.LoadFromEnumerable(LinearRows(200, 2));
        var options = new NasTrainer.Options
        {
            LabelColumnName = nameof(LinearRow.Target), Strategy = strategy,
            Depths = linearOnly ? [0] : Space.Depths, Widths = Space.Widths, Activations = Space.Activations,
            SearchEpochs = 30, WarmupEpochs = 5, BatchSize = 32, LearningRate = 1e-2, RetrainEpochs = 30, Seed = 2,
        };
        using var model = ml.Nas().Trainers.Regression(options).Fit(train);
        Assert.Equal("0", model.Search.History[^1].Decisions[0].Choices[0]);
        Assert.True(model.ExportParity.RelativeError <= 1e-5, model.ExportParity.ToString());
        var direct = model.Transform(test).GetColumn<float>("Score").ToArray();
        Assert.Equal(direct, ModelRoundTrip.SaveLoadAndScore<float>(model, test, "Score"));
        // TangleNAS over the whole space picks a small hidden network here (α's pick, see the README); the others rank
        // the linear model first by its inherited-weight loss.
        if (strategy == NasStrategy.TangleNas && !linearOnly) return;
        Assert.True(model.Architecture.HiddenLayerSizes.Count == 0, string.Join("; ", model.Search.TopArchitectures.Select(t => $"{t.Architecture} {t.SupernetValidationLoss:G4}")));
        Assert.Equal(model.Architecture, model.Search.Architecture);
        Assert.True(ml.Regression.Evaluate(model.Transform(test), nameof(LinearRow.Target)).RSquared > 0.99);
    }

    [Fact]
    public void Evolution_over_a_space_with_depth_0_scores_the_linear_model_once_and_finds_it()
    {
        var space = new NasSearchSpace();
        int linearScored = 0;
        var scored = EvolutionarySearch.Run(space, 300, a =>
        {
            if (a.HiddenLayerSizes.Count == 0) linearScored++;
            return a.HiddenLayerSizes.Count + a.HiddenLayerSizes.Sum(w => w / 256.0);
        }, () => false, new Random(1));
        Assert.Equal(1, linearScored);
        Assert.Empty(scored.MinBy(s => s.Loss).Architecture.HiddenLayerSizes);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(17)]
    public void Depths_outside_0_to_16_are_refused_by_name(int depth)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new MLContext(1).Nas().Trainers.Regression(new NasTrainer.Options { Depths = [depth, 1] }));
        Assert.Equal(nameof(NasTrainer.Options.Depths), error.ParamName);
        Assert.Contains("0..16", error.Message);
    }
}
