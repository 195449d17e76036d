using MLExtensions.Mlp;
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
        foreach (var (label, error, scale) in SupernetChecks.OneHotAgainstExtracted(supernet, Space, x))
        {
            Assert.True(error / Math.Max(1e-6, scale) < 1e-6, $"{label} pass: relative error {error / Math.Max(1e-6, scale)}");
            checkedArchitectures++;
        }
        checkedArchitectures /= 2;   // two passes per architecture
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
                MLExtensions.Onnx.Scoring.OnnxOutputHeads.RawScore);
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
        Assert.Equal(4666, new NasSearchSpace().Count);
    }

    [Fact]
    public void The_entangled_layer_is_the_superposition_of_the_padded_weight_slices_of_every_width_pair()
    {
        using var scope = NewDisposeScope();
        using var supernet = Supernet(5, 2, 5);
        using var alpha = new ArchitectureParameters(Space, CPU);
        using (no_grad()) foreach (var p in alpha.All) p.copy_(randn_like(p));
        var weights = alpha.Weights(ArchitectureSampler.Softmax, null);
        var masks = supernet.WidthMasks(weights);
        var widths = Space.SortedWidths;
        int max = Space.MaximumWidth;
        for (int l = 0; l < Space.MaximumDepth; l++)
        {
            var full = supernet.Layer(l).weight!.detach();
            var bias = supernet.Layer(l).bias!.detach();
            var explicitWeight = zeros_like(full);
            var explicitBias = zeros_like(bias);
            for (int k = 0; k < widths.Length; k++)
            {
                float a = weights.Width[l, k].item<float>();
                explicitBias += a * nn.functional.pad(bias[..widths[k]], [0, max - widths[k]]);
                if (l == 0)
                    explicitWeight += a * nn.functional.pad(full[..widths[k], ..], [0, 0, 0, max - widths[k]]);
                else
                    for (int j = 0; j < widths.Length; j++)
                    {
                        float b = weights.Width[l - 1, j].item<float>();
                        explicitWeight += a * b * nn.functional.pad(full[..widths[k], ..widths[j]], [0, max - widths[j], 0, max - widths[k]]);
                    }
            }
            var (weight, entangledBias) = supernet.EntangledLayer(l, masks);
            Assert.True((weight - explicitWeight).abs().max().item<float>() < 1e-6, $"layer {l}: weight differs from Σ a_k·b_j·pad(W[:w_k, :w_j])");
            Assert.True((entangledBias - explicitBias).abs().max().item<float>() < 1e-6, $"layer {l}: bias differs");
        }
    }

    [Fact]
    public void The_forward_pass_is_one_linear_op_per_layer_with_the_entangled_weight_then_the_activation()
    {
        using var scope = NewDisposeScope();
        var space = new NasSearchSpace { Depths = [1, 2], Widths = [4, 8], Activations = [MlpActivation.Gelu, MlpActivation.Tanh], SearchResidual = true };
        random.manual_seed(6);
        using var supernet = new TangledSupernet(3, space, 1, [0f, 0f, 0f], [1f, 1f, 1f]);
        using var alpha = new ArchitectureParameters(space, CPU);
        using (no_grad()) foreach (var p in alpha.All) p.copy_(randn_like(p));
        var w = alpha.Weights(ArchitectureSampler.Softmax, null);
        var x = randn(9, 3);
        var masks = supernet.WidthMasks(w);
        Tensor Act(Tensor z) => w.Activation[0, 0] * nn.functional.gelu(z) + w.Activation[0, 1] * z.tanh();
        var (w0, b0) = supernet.EntangledLayer(0, masks);
        var h1 = Act(nn.functional.linear(x, w0, b0));
        var (w1, b1) = supernet.EntangledLayer(1, masks);
        var h2 = Act(nn.functional.linear(h1, w1, b1)) + w.Residual[1] * h1 * masks[1];
        var mixed = w.Depth[0] * h1 * masks[0] + w.Depth[1] * h2 * masks[1];
        var expected = supernet.Head.forward(mixed);
        var actual = supernet.forward(x, w);
        Assert.True((actual - expected).abs().max().item<float>() < 1e-5);
    }

    [Fact]
    public void A_single_path_step_leaves_every_unsampled_entry_and_its_optimiser_state_bit_identical()
    {
        using var scope = NewDisposeScope();
        using var supernet = Supernet(4, 1, 7);
        var parameters = supernet.TrainableParameters;
        using var optimizer = new AdamOptimizer(parameters, 1e-2);
        var random01 = new Random(7);
        var uniform = new PathImportance(Space, false, 0);
        var x = randn(16, 4);
        var y = randn(16);
        void StepOn(ArchitecturePath path)
        {
            using var inner = NewDisposeScope();
            optimizer.ZeroGrad();
            (supernet.forward(x, ArchitectureWeights.OneHot(Space, path, CPU)).squeeze(1) - y).square().mean().backward();
            optimizer.Step(supernet.PathSlices(path));
        }
        for (int i = 0; i < 6; i++) StepOn(uniform.Sample(random01));
        // A small path after larger ones: its layer slices are inside entries that already hold momentum.
        var small = new ArchitecturePath(1, [0, 1, 0], [0], 1);
        var before = Enumerable.Range(0, parameters.Count).Select(i => (parameters[i].detach().clone(), optimizer.State(i).First.clone(),
            optimizer.State(i).Second.clone(), optimizer.State(i).Steps!.clone())).ToArray();
        StepOn(small);
        var slices = supernet.PathSlices(small);
        long changedInside = 0, untouched = 0;
        for (int i = 0; i < parameters.Count; i++)
        {
            var mask = slices[i]?.Mask(parameters[i].shape) ?? zeros_like(parameters[i], dtype: ScalarType.Bool);
            var outside = mask.logical_not();
            var (value, first, second, steps) = before[i];
            foreach (var (now, then, name) in new[] { (parameters[i].detach(), value, "value"), (optimizer.State(i).First, first, "first moment"),
                         (optimizer.State(i).Second, second, "second moment"), (optimizer.State(i).Steps!, steps, "step count") })
                Assert.True(now.masked_select(outside).eq(then.masked_select(outside)).all().item<bool>(), $"parameter {i}: an unsampled entry's {name} changed");
            untouched += outside.sum().item<long>();
            changedInside += parameters[i].detach().masked_select(mask).ne(value.masked_select(mask)).sum().item<long>();
        }
        Assert.True(untouched > 0 && changedInside > 0, $"untouched {untouched}, changed {changedInside}");
    }

    [Fact]
    public void Sparsemax_projects_onto_the_simplex_and_drops_choices_far_behind()
    {
        using var scope = NewDisposeScope();
        var space = new NasSearchSpace { Depths = [1, 2, 3], Widths = [4], Activations = [MlpActivation.Relu], SearchResidual = false };
        using var alpha = new ArchitectureParameters(space, CPU);
        using (no_grad()) alpha.Depth.copy_(tensor(new[] { 1f, 0.5f, -2f }));
        var p = alpha.Weights(ArchitectureSampler.Sparsemax, null).Depth.data<float>().ToArray();
        Assert.Equal(new[] { 0.75f, 0.25f, 0f }, p);
    }

    [Fact]
    public void The_DrNAS_KL_term_is_zero_at_the_anchor_and_matches_the_closed_form()
    {
        using var scope = NewDisposeScope();
        var space = new NasSearchSpace { Depths = [1, 2], Widths = [4], Activations = [MlpActivation.Relu], SearchResidual = false };
        using var alpha = new ArchitectureParameters(space, CPU);
        // α = 0 everywhere: concentrations elu(0) + 1 = 1, the anchor itself.
        Assert.Equal(0.0, alpha.KullbackLeiblerPenalty(1).item<float>(), 6);
        // Depth α = (1, 0): Dir(2, 1) against Dir(1, 1): ln Γ(3) − ln Γ(2) + (ψ(2) − ψ(3)) = ln 2 − 1/2.
        using (no_grad()) alpha.Depth.copy_(tensor(new[] { 1f, 0f }));
        Assert.Equal(Math.Log(2) - 0.5, alpha.KullbackLeiblerPenalty(1).item<float>(), 5);
    }
}
