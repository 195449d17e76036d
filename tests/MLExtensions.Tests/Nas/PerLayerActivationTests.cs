using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Mlp;
using MLExtensions.Nas;
using MLExtensions.Onnx.Scoring;
using MLExtensions.Torch;
using Xunit;
using static TorchSharp.torch;

namespace MLExtensions.Tests.Nas;

/// <summary>An activation per hidden layer: enumerated, mixed per layer by the supernet, retrained, exported and saved.</summary>
public class PerLayerActivationTests
{
    private static readonly NasSearchSpace Space = new()
    {
        Depths = [0, 1, 2], Widths = [4, 8], Activations = [MlpActivation.Relu, MlpActivation.Tanh], ActivationPerLayer = true, SearchResidual = true,
    };

    [Fact]
    public void The_space_holds_every_sequence_of_layer_activations_once_and_counts_them()
    {
        var all = Space.Enumerate().ToList();
        Assert.Equal(1 + 2 * 2 + 4 * 4 * 2, Space.Count);
        Assert.Equal(Space.Count, all.Count);
        Assert.Equal(all.Count, all.Distinct().Count());
        Assert.All(all, a => Assert.True(Space.Contains(a), a.ToString()));
        var mixed = MlpArchitecture.WithLayerActivations([8, 4], [MlpActivation.Tanh, MlpActivation.Relu]);
        Assert.Contains(mixed, all);
        Assert.Equal("8-4 Tanh-Relu", mixed.ToString());
        Assert.False(new NasSearchSpace { Depths = [2], Widths = [4, 8], Activations = Space.Activations }.Contains(mixed));
        // One activation for all layers is the same architecture however it is written.
        Assert.Equal(new MlpArchitecture([8, 4], MlpActivation.Relu), new MlpArchitecture([8, 4], MlpActivation.Relu) { LayerActivations = [MlpActivation.Relu, MlpActivation.Relu] });
        Assert.Equal(4666, new NasSearchSpace().Count);
        Assert.Equal(108_466, new NasSearchSpace { ActivationPerLayer = true }.Count);
        // Paths carry one activation per layer and read back to the same architecture.
        Assert.All(all, a => Assert.Equal(a, ArchitecturePath.From(Space, a).ToArchitecture(Space)));
    }

    [Fact]
    public void One_hot_weights_give_the_extracted_network_and_the_mixed_pass_mixes_each_layer_by_its_own_weights()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(5);
        using var supernet = new TangledSupernet(3, Space, 1, [0f, 0f, 0f], [1f, 1f, 1f]);
        supernet.eval();
        var x = randn(9, 3);
        foreach (var (label, error, _) in SupernetChecks.OneHotAgainstExtracted(supernet, Space, x))
            Assert.True(error < 1e-5, label);

        using var alpha = new ArchitectureParameters(Space, CPU);
        using (no_grad()) foreach (var p in alpha.All) p.copy_(randn_like(p));
        var w = alpha.Weights(ArchitectureSampler.Softmax, null);
        Assert.Equal(new long[] { 2, 2 }, w.Activation.shape);
        var masks = supernet.WidthMasks(w);
        Tensor Act(Tensor z, int layer) => w.Activation[layer, 0] * nn.functional.relu(z) + w.Activation[layer, 1] * z.tanh();
        var (w0, b0) = supernet.EntangledLayer(0, masks);
        var h1 = Act(nn.functional.linear(x, w0, b0), 0);
        var (w1, b1) = supernet.EntangledLayer(1, masks);
        var h2 = Act(nn.functional.linear(h1, w1, b1), 1) + w.Residual[1] * h1 * masks[1];
        var mixed = w.Depth[1] * h1 * masks[0] + w.Depth[2] * h2 * masks[1];
        using var linear = supernet.Extract(Space.Linear);
        var expectedMix = w.Depth[0] * linear.forward(x) + nn.functional.linear(mixed, supernet.Head.weight!, supernet.Head.bias! * (w.Depth[1] + w.Depth[2]));
        Assert.True((supernet.forward(x, w) - expectedMix).abs().max().item<float>() < 1e-5);
        Assert.Equal(["depth", "width 1", "width 2", "activation 1", "activation 2", "residual"], alpha.Probabilities(ArchitectureSampler.Softmax).Select(d => d.Decision));
    }

    [Fact]
    public void A_network_with_different_layer_activations_exports_to_onnx_within_1e_5()
    {
        random.manual_seed(6);
        var architecture = MlpArchitecture.WithLayerActivations([16, 8, 8], [MlpActivation.Tanh, MlpActivation.Gelu, MlpActivation.Relu], residual: true);
        using var network = new MlpNetwork(5, architecture, 1, outputShift: 1f, outputScale: 2f);
        network.eval();
        var onnx = MlpOnnxExporter.Export(network, "Features", PredictionKind.Regression);
        var report = OnnxParity.Compare(network.forward, onnx, "Features", OnnxOutputHeads.RawScore, 5, rows: 200, seed: 3, scale: 3f);
        Assert.True(report.RelativeError <= 1e-5, report.ToString());
        // The same weights with one activation everywhere give other numbers: the per-layer choice reaches the graph.
        using var uniform = new MlpNetwork(5, new MlpArchitecture([16, 8, 8], MlpActivation.Tanh, Residual: true), 1, outputShift: 1f, outputScale: 2f);
        uniform.load_state_dict(network.state_dict());
        var wrong = OnnxParity.Compare(uniform.forward, onnx, "Features", OnnxOutputHeads.RawScore, 5, rows: 200, seed: 3, scale: 3f);
        Assert.True(wrong.RelativeError > 1e-3, wrong.ToString());
    }

    [Theory]
    [InlineData(NasStrategy.Spos)]
    [InlineData(NasStrategy.TangleNas)]
    public void A_per_layer_search_retrains_its_pick_and_the_saved_result_keeps_the_layer_activations(NasStrategy strategy)
    {
        var ml = new MLContext(1);
        var train = ml.Data.LoadFromEnumerable(Synthetic.Rows(500, 1));
        var test = ml.Data.LoadFromEnumerable(Synthetic.Rows(100, 2));
        var options = new NasTrainer.Options
        {
            LabelColumnName = nameof(Synthetic.Row.Target), Strategy = strategy,
            Depths = [1, 2, 3], Widths = [8, 16], Activations = [MlpActivation.Relu, MlpActivation.Tanh], ActivationPerLayer = true,
            SearchEpochs = 6, WarmupEpochs = 2, BatchSize = 32, LearningRate = 3e-3, RetrainEpochs = 5, Seed = 3, TopK = 20,
        };
        using var model = ml.Nas().Trainers.Regression(options).Fit(train);
        Assert.True(options.SearchSpace.Contains(model.Architecture), model.Architecture.ToString());
        Assert.Equal(options.SearchSpace.Count, model.Search.ArchitecturesInSpace);
        Assert.Equal(2 * 2 + 16 * 2 + 64 * 2, model.Search.ArchitecturesInSpace);
        Assert.Contains(model.Search.TopArchitectures, t => t.Architecture.LayerActivations is not null);
        Assert.Equal(model.Search.Architecture, model.Architecture);
        Assert.True(model.ExportParity.RelativeError <= 1e-5, model.ExportParity.ToString());
        Assert.Equal(model.Transform(test).GetColumn<float>("Score").ToArray(), ModelRoundTrip.SaveLoadAndScore<float>(model, test, "Score"));
        var again = NasSearchResult.FromJson(model.Search.ToJson());
        Assert.Equal(model.Search.TopArchitectures.Select(t => t.Architecture), again.TopArchitectures.Select(t => t.Architecture));
    }

    [Fact]
    public void A_result_saved_before_layer_activations_reads_with_one_activation_per_network()
    {
        const string before = """{"Strategy":"Spos","Sampler":null,"SearchSpace":"s","Architecture":{"HiddenLayerSizes":[16,8],"Activation":"Gelu","Residual":true},"TopArchitectures":[],"History":[],"SearchEpochs":1,"StoppedByTimeBudget":false}""";
        var result = NasSearchResult.FromJson(before);
        Assert.Null(result.Architecture.LayerActivations);
        Assert.Equal(new MlpArchitecture([16, 8], MlpActivation.Gelu, Residual: true), result.Architecture);
    }

    [Fact]
    public void Layer_activations_of_the_wrong_count_are_refused_by_name()
    {
        var ml = new MLContext(1);
        var error = Assert.Throws<ArgumentException>(() => ml.Nas().Trainers.MlpRegression(new MlpTrainer.Options
        {
            HiddenLayerSizes = [8, 8], LayerActivations = [MlpActivation.Relu],
        }));
        Assert.Equal(nameof(MlpTrainer.Options.LayerActivations), error.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => new MlpArchitecture([8], MlpActivation.Relu) { LayerActivations = [(MlpActivation)7] }.Validate());
    }
}
