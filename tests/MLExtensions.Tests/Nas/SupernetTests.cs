using MLExtensions.Nas;
using MLExtensions.Torch;
using Xunit;
using static TorchSharp.torch;

namespace MLExtensions.Tests.Nas;

/// <summary>The weight-entangled supernet: one-hot passes equal sliced sub-networks; memory is one largest network.</summary>
public class SupernetTests
{
    private static readonly NasSearchSpace Space = new() { Depths = [1, 2, 3], Widths = [8, 16, 32], SearchResidual = true };

    private static TangledSupernet Supernet(int inputs, int outputs, int seed)
    {
        random.manual_seed(seed);
        var random01 = new Random(seed);
        return new TangledSupernet(inputs, Space, outputs, Enumerable.Range(0, inputs).Select(_ => (float)random01.NextDouble()).ToArray(),
            Enumerable.Range(0, inputs).Select(_ => 0.5f + (float)random01.NextDouble()).ToArray(), 0.3f, 1.7f);
    }

    [Fact]
    public void One_hot_weights_give_exactly_the_sliced_subnetwork_for_every_architecture()
    {
        using var scope = NewDisposeScope();
        using var supernet = Supernet(5, 3, 1);
        supernet.eval();
        var x = randn(17, 5);
        int checkedArchitectures = 0;
        foreach (var architecture in Space.Enumerate())
        {
            using var inner = NewDisposeScope();
            var weights = ArchitectureWeights.OneHot(Space, ArchitecturePath.From(Space, architecture), CPU);
            using var network = supernet.Extract(architecture);
            var expected = network.forward(x);
            var actual = supernet.forward(x, weights);
            double error = (actual - expected).abs().max().item<float>() / Math.Max(1e-6, expected.abs().max().item<float>());
            Assert.True(error < 1e-6, $"{architecture}: relative error {error}");
            checkedArchitectures++;
        }
        Assert.Equal(Space.Count, checkedArchitectures);
        Assert.Equal(3 * 3 + (9 + 27) * 3 * 2, checkedArchitectures);
    }

    [Fact]
    public void The_supernet_has_the_parameters_of_the_largest_network_only()
    {
        using var supernet = Supernet(7, 2, 2);
        var largest = new MlpArchitecture([32, 32, 32], MlpActivation.Relu, Residual: true);
        using var network = new MlpNetwork(7, largest, 2);
        long Count(IEnumerable<TorchSharp.Modules.Parameter> ps) => ps.Sum(p => p.numel());
        Assert.Equal(Count(network.parameters()), Count(supernet.parameters()));
        // A DARTS-style mixed op would hold one weight per width choice and layer.
        long perChoice = Space.Widths.Sum(w => 7L * w + w) + 2 * Space.Widths.Sum(w => 32L * w + w);
        Assert.True(Count(supernet.parameters()) < perChoice);
    }

    [Fact]
    public void The_Dirichlet_sampler_has_a_gradient_and_softmax_weights_sum_to_one()
    {
        using var scope = NewDisposeScope();
        using var supernet = Supernet(4, 1, 3);
        using var alpha = new ArchitectureParameters(Space, CPU);
        var x = randn(32, 4);
        var y = randn(32);
        foreach (var sampler in new[] { ArchitectureSampler.Dirichlet, ArchitectureSampler.Softmax })
        {
            foreach (var p in alpha.All) p.grad?.zero_();
            var weights = alpha.Weights(sampler, null);
            Assert.Equal(1.0, weights.Depth.sum().item<float>(), 5);
            Assert.All(weights.Width.sum(1).data<float>().ToArray(), s => Assert.Equal(1.0, s, 5));
            var loss = (supernet.forward(x, weights).squeeze(1) - y).square().mean();
            loss.backward();
            foreach (var p in alpha.All)
                Assert.True(p.grad is not null && p.grad.abs().sum().item<float>() > 0, $"{sampler}: no gradient reached α {string.Join("x", p.shape)}");
        }
    }

    [Fact]
    public void Residual_networks_export_to_onnx_exactly()
    {
        foreach (var widths in new[] { new[] { 8, 32, 16 }, new[] { 16, 16 }, new[] { 32, 8, 8, 32 } })
        {
            random.manual_seed(4);
            using var network = new MlpNetwork(6, new MlpArchitecture(widths, MlpActivation.Gelu, Residual: true), 1);
            var onnx = MlpOnnxExporter.Export(network, "Features", MLExtensions.Onnx.Scoring.PredictionKind.Regression);
            var values = Enumerable.Range(0, 40 * 6).Select(i => (float)Math.Sin(i * 0.37) * 3).ToArray();
            var report = OnnxParity.Compare(inputs => network.forward(inputs[0]), onnx, [new ParityInput("Features", values, [40, 6])],
                MLExtensions.Onnx.Scoring.ScoringHeads.RawScore);
            Assert.True(report.RelativeError <= 1e-5, $"{string.Join("-", widths)}: {report}");
        }
    }

    [Fact]
    public void The_search_space_enumerates_each_architecture_once()
    {
        var all = Space.Enumerate().ToList();
        Assert.Equal(all.Count, all.Distinct().Count());
        Assert.All(all, a => Assert.True(Space.Contains(a)));
        Assert.DoesNotContain(all, a => a.Residual && a.HiddenLayerSizes.Count == 1);
        Assert.Equal(4665, new NasSearchSpace().Count);
    }
}
