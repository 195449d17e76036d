using MLExtensions.Onnx.Graph;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLExtensions.Equivariant;

/// <summary>
/// Writes the energy of a <see cref="PonitaNetwork"/> as an ONNX graph of standard operators (opset 17) with dynamic
/// batch and atom counts: inputs positions [B, N, 3], types [B, N, T], mask [B, N]; output energy [B].
/// </summary>
/// <remarks>
/// Self-pairs are recognised by zero distance (inputs with coincident atoms are rejected before scoring), the
/// spherical kernels on the fixed grid are folded into constants, and GELU is composed from Erf.
/// </remarks>
internal static class PonitaOnnxExporter
{
    public const string EnergyOutput = "energy";

    public static byte[] ExportEnergy(PonitaNetwork network, string positionsName, string typesName, string maskName)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var g = new OnnxGraphBuilder("ponita");
        int orientations = (int)network.Grid.shape[0];
        var (embed, reference, readout) = network.Ends;
        int types = (int)embed.weight!.shape[1];
        var x = g.AddInput(positionsName, OnnxElementType.Float, OnnxDim.Batch, OnnxDim.Symbolic("atoms"), 3);
        var t = g.AddInput(typesName, OnnxElementType.Float, OnnxDim.Batch, OnnxDim.Symbolic("atoms"), types);
        var m = g.AddInput(maskName, OnnxElementType.Float, OnnxDim.Batch, OnnxDim.Symbolic("atoms"));
        var zero = g.Scalar(0f, "zero");
        var one = g.Scalar(1f, "one");

        var relative = g.Sub(g.Unsqueeze(x, [1]), g.Unsqueeze(x, [2]));                                  // [B, i, j, 3]
        var a1 = g.MatMul(relative, Constant(g, "grid_t", network.Grid.t()));                           // [B, i, j, O]
        var distanceSquared = g.ReduceSum(g.Mul(relative, relative), [-1]);                             // [B, i, j, 1]
        var a2Squared = g.Max(g.Sub(distanceSquared, g.Mul(a1, a1)), zero);
        var pairs = g.Mul(g.Mul(g.Unsqueeze(m, [2]), g.Unsqueeze(m, [1])), g.Cast(g.Greater(g.Squeeze(distanceSquared, [-1]), zero), OnnxElementType.Float));
        float cutoffSquared = (float)(network.Cutoff * network.Cutoff);
        var remaining = g.Max(g.Sub(one, g.Div(distanceSquared, g.Scalar(cutoffSquared, "cutoff2"))), zero);
        var weight = g.Mul(g.Mul(g.Mul(remaining, remaining), remaining), g.Unsqueeze(pairs, [-1]));    // [B, i, j, 1]
        var u = g.Div(a1, g.Scalar((float)network.Cutoff, "cutoff"));
        var v = g.Div(a2Squared, g.Scalar(cutoffSquared, "cutoff2b"));
        var basis = Monomials(g, u, v);                                                                 // [B, i, j, O, 10]

        var h = Linear(g, "embed", t, embed);                                                           // [B, N, H]
        var pointMask = g.Unsqueeze(m, [2, 3]);                                                         // [B, N, 1, 1]
        h = g.Mul(g.Mul(g.Unsqueeze(h, [2]), g.AddInitializer("orientation_ones", Enumerable.Repeat(1f, orientations).ToArray(), 1, 1, orientations, 1)), pointMask);
        var kernels = network.SphericalKernels().ToList();
        int l = 0;
        foreach (var (spatialIn, spatialOut, norm, expand, contract) in network.Blocks)
        {
            var kernel = g.Mul(Linear(g, $"b{l}_spatial_out", g.Gelu(Linear(g, $"b{l}_spatial_in", basis, spatialIn)), spatialOut), g.Unsqueeze(weight, [-1]));
            var messages = g.Einsum("bijoh,bjoh->bioh", [kernel, h]);
            var mixed = g.Einsum("poh,bioh->biph", [Constant(g, $"b{l}_sphere", kernels[l]), messages]);
            var normalised = g.LayerNormalization(mixed, Constant(g, $"b{l}_norm_w", norm.weight!), Constant(g, $"b{l}_norm_b", norm.bias!), -1, (float)1e-5);
            var update = Linear(g, $"b{l}_contract", g.Gelu(Linear(g, $"b{l}_expand", normalised, expand)), contract);
            h = g.Mul(g.Add(h, update), pointMask);
            l++;
        }
        var perAtom = g.Mul(g.ReduceMean(g.Squeeze(Linear(g, "readout", h, readout), [-1]), [2], keepDims: false), m);      // [B, N]
        var referenceEnergy = g.Mul(g.Squeeze(g.MatMul(t, Constant(g, "reference_t", reference.weight!.t())), [-1]), m);
        var energy = g.Add(g.ReduceSum(perAtom, [1], keepDims: false), g.ReduceSum(referenceEnergy, [1], keepDims: false), EnergyOutput);
        g.AddOutput(energy, OnnxElementType.Float, OnnxDim.Batch);
        return g.ToBytes();
    }

    private static OnnxValue Linear(OnnxGraphBuilder g, string name, OnnxValue input, Linear layer) =>
        layer.bias is null
            ? g.MatMul(input, Constant(g, name + "_w", layer.weight!.t()))
            : g.Add(g.MatMul(input, Constant(g, name + "_w", layer.weight!.t())), Constant(g, name + "_b", layer.bias));

    private static OnnxValue Constant(OnnxGraphBuilder g, string name, Tensor value)
    {
        var contiguous = value.detach().cpu().to_type(ScalarType.Float32).contiguous();
        return g.AddInitializer(name, contiguous.data<float>().ToArray(), contiguous.shape);
    }

    /// <summary>u^a·v^b for a + b ≤ 3 stacked on a new last axis, in the network's order.</summary>
    private static OnnxValue Monomials(OnnxGraphBuilder g, OnnxValue u, OnnxValue v)
    {
        var terms = new List<OnnxValue>();
        OnnxValue? Power(OnnxValue x, int k) => k == 0 ? null : k == 1 ? x : k == 2 ? g.Mul(x, x) : g.Mul(g.Mul(x, x), x);
        for (int a = 0; a <= 3; a++)
            for (int b = 0; a + b <= 3; b++)
            {
                var (pu, pv) = (Power(u, a), Power(v, b));
                var term = pu is null && pv is null ? g.Add(g.Mul(u, g.Scalar(0f, "zero_m")), g.Scalar(1f, "one_m"))
                    : pu is null ? pv!.Value : pv is null ? pu.Value : g.Mul(pu.Value, pv.Value);
                terms.Add(g.Unsqueeze(term, [-1]));
            }
        return g.Concat(terms, -1);
    }
}
