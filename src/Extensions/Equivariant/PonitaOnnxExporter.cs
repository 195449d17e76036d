using MLExtensions.Onnx.Graph;
using MLExtensions.Onnx.Scoring;
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

    public const string ForcesOutput = "forces";

    public static byte[] ExportEnergy(PonitaNetwork network, string positionsName, string typesName, string maskName)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var g = new OnnxGraphBuilder("ponita");
        var (x, t, m) = Inputs(g, network, positionsName, typesName, maskName);
        var (energy, forces) = EnergyAndForces(g, network, x, t, m, EnergyOutput, ForcesOutput);
        g.AddOutput(energy, OnnxElementType.Float, OnnxDim.Batch);
        g.AddOutput(forces!.Value, OnnxElementType.Float, OnnxDim.Batch, OnnxDim.Symbolic("atoms"), 3);
        return g.ToBytes();
    }

    /// <summary>
    /// The graph ML.NET scores one point cloud at a time with: positions [1, N, 3] and types [1, N] (type indices,
    /// one-hot encoded in the graph) or [1, N, F] (per-point features); the mask is all ones. Outputs the regression
    /// head [1, 1] and, when <paramref name="forcesName"/> is given, the conservative forces [1, N, 3].
    /// </summary>
    public static byte[] ExportForScoring(PonitaNetwork network, string positionsName, string typesName, bool typesAreIndices, string? forcesName,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var g = new OnnxGraphBuilder("ponita");
        int featureCount = (int)network.Ends.Embed.weight!.shape[1];
        var x = g.AddInput(positionsName, OnnxElementType.Float, OnnxDim.Batch, OnnxDim.Symbolic("atoms"), 3);
        OnnxValue t;
        if (typesAreIndices)
        {
            var indices = g.AddInput(typesName, OnnxElementType.Float, OnnxDim.Batch, OnnxDim.Symbolic("atoms"));
            var known = g.AddInitializer("known_types", Enumerable.Range(0, featureCount).Select(i => (float)i).ToArray(), featureCount);
            t = g.Cast(g.Equal(g.Unsqueeze(indices, [-1]), known), OnnxElementType.Float);
        }
        else t = g.AddInput(typesName, OnnxElementType.Float, OnnxDim.Batch, OnnxDim.Symbolic("atoms"), featureCount);
        var m = g.Add(g.ReduceSum(g.Mul(x, g.Scalar(0f, "mask_zero")), [-1], keepDims: false), g.Scalar(1f, "mask_one")); // [B, N] of ones
        var (energy, forces) = EnergyAndForces(g, network, x, t, m, "ponita_energy", forcesName);
        ScoringHeads.AddRegressionHead(g, g.Unsqueeze(energy, [1]));
        if (forces is { } f) g.AddOutput(f, OnnxElementType.Float, OnnxDim.Batch, OnnxDim.Symbolic("atoms"), 3);
        foreach (var (key, value) in metadata ?? new Dictionary<string, string>()) g.SetMetadata(key, value);
        return g.ToBytes();
    }

    /// <summary>
    /// Energy [B] and, when <paramref name="forcesName"/> is given, the conservative forces −∂E/∂x [B, N, 3] of the
    /// network, by a reverse pass written in the same operators (left out otherwise, so energy-only graphs stay small).
    /// </summary>
    private static (OnnxValue Energy, OnnxValue? Forces) EnergyAndForces(OnnxGraphBuilder g, PonitaNetwork network, OnnxValue x, OnnxValue t, OnnxValue m,
        string energyName, string? forcesName)
    {
        int orientations = (int)network.Grid.shape[0];
        var (_, reference, readout) = network.Ends;
        var f = Encode(g, network, x, t, m, null);
        var (zero, one, relative, a1, distanceSquared, remaining, pairs, weight, u, v, cutoffSquared, pointMask, h, saved, blocks) =
            (f.Zero, f.One, f.Relative, f.A1, f.DistanceSquared, f.Remaining, f.Pairs, f.Weight, f.U, f.V, f.CutoffSquared, f.PointMask, f.H, f.Saved, f.Blocks);
        var (embedIn, embedOut) = network.SpatialEmbedding;
        var perAtom = g.Mul(g.ReduceMean(g.Squeeze(Linear(g, "readout", h, readout), [-1]), [2], keepDims: false), m);      // [B, N]
        var referenceEnergy = g.Mul(g.Squeeze(g.MatMul(t, Constant(g, "reference_t", reference.weight!.t())), [-1]), m);
        var energy = g.Add(g.ReduceSum(perAtom, [1], keepDims: false), g.ReduceSum(referenceEnergy, [1], keepDims: false), energyName);

        if (forcesName is null) return (energy, null);

        // Conservative forces −∂E/∂x: the reverse pass of the graph above, written out in the same operators.
        var gradH = g.Mul(g.Div(g.Unsqueeze(m, [2, 3]), g.Scalar(orientations, "orientations")), Constant(g, "readout_row", readout.weight!.reshape(1, -1)));
        OnnxValue? gradEmbedding = null, gradWeight = null;
        for (int l = blocks.Count - 1; l >= 0; l--)
        {
            var (spatial, norm, expand, contract) = blocks[l];
            var s = saved[l];
            var gradSum = g.Mul(gradH, pointMask);
            var gradE = g.Mul(g.MatMul(gradSum, Constant(g, $"b{l}_contract_wb", contract.weight!)), GeluSlope(g, s.E));
            var gradNormalised = g.MatMul(gradE, Constant(g, $"b{l}_expand_wb", expand.weight!));
            var gradMixed = LayerNormBackward(g, s.Mixed, Constant(g, $"b{l}_norm_wb", norm.weight!), gradNormalised);
            var gradMessages = g.Einsum("poh,biph->bioh", [s.Sphere, gradMixed]);
            var gradKernel = g.Einsum("bioh,bjoh->bijoh", [gradMessages, s.H]);
            gradH = g.Add(gradSum, g.Einsum("bijoh,bioh->bjoh", [s.Kernel, gradMessages]));
            var layerWeight = g.ReduceSum(g.Mul(gradKernel, s.K), [-2, -1]);                                    // [B, i, j, 1, 1]
            gradWeight = gradWeight is null ? layerWeight : g.Add(gradWeight.Value, layerWeight);
            var gradK = g.Mul(gradKernel, g.Unsqueeze(weight, [-1]));
            var layerEmbedding = g.MatMul(gradK, Constant(g, $"b{l}_spatial_wb", spatial.weight!));               // [B, i, j, O, H]
            gradEmbedding = gradEmbedding is null ? layerEmbedding : g.Add(gradEmbedding.Value, layerEmbedding);
        }
        // Through the shared embedding GELU(out(GELU(in(basis)))) to the monomials.
        var gradE2 = g.Mul(gradEmbedding!.Value, GeluSlope(g, f.E2));
        var gradE1 = g.Mul(g.MatMul(gradE2, Constant(g, "basis_out_wb", embedOut.weight!)), GeluSlope(g, f.E1));
        var gradBasis = g.MatMul(gradE1, Constant(g, "basis_in_wb", embedIn.weight!));                          // [B, i, j, O, 10]
        var (gradU, gradV) = MonomialsBackward(g, u, v, gradBasis);
        var gradA2Squared = g.Div(gradV, g.Scalar(cutoffSquared, "cutoff2c"));
        var positive = g.Cast(g.Greater(g.Sub(distanceSquared, g.Mul(a1, a1)), zero), OnnxElementType.Float);
        var gradA2Active = g.Mul(gradA2Squared, positive);
        var gradA1 = g.Sub(g.Div(gradU, g.Scalar((float)network.Cutoff, "cutoff_b")), g.Mul(g.Mul(a1, g.Scalar(2f, "two")), gradA2Active));
        var gradRemaining = g.Mul(g.Mul(g.Mul(remaining, remaining), g.Scalar(3f, "three")), g.Mul(g.Squeeze(gradWeight!.Value, [-1]), g.Unsqueeze(pairs, [-1])));
        var inside = g.Cast(g.Greater(g.Sub(one, g.Div(distanceSquared, g.Scalar(cutoffSquared, "cutoff2d"))), zero), OnnxElementType.Float);
        var gradDistanceSquared = g.Sub(g.ReduceSum(gradA2Active, [-1]), g.Div(g.Mul(gradRemaining, inside), g.Scalar(cutoffSquared, "cutoff2e")));
        var gradRelative = g.Add(g.MatMul(gradA1, Constant(g, "grid", network.Grid)), g.Mul(g.Mul(relative, g.Scalar(2f, "two_b")), gradDistanceSquared));
        var gradPositions = g.Sub(g.ReduceSum(gradRelative, [1], keepDims: false), g.ReduceSum(gradRelative, [2], keepDims: false));
        return (energy, g.Neg(gradPositions, forcesName));
    }

    /// <summary>The graph of <see cref="PonitaNetwork"/>'s encoder (point features after every block), with what the reverse pass needs.</summary>
    private static Encoded Encode(OnnxGraphBuilder g, PonitaNetwork network, OnnxValue x, OnnxValue t, OnnxValue m, OnnxValue? velocities)
    {
        int orientations = (int)network.Grid.shape[0];
        var (embed, _, _) = network.Ends;
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
        // Clamped as in the network; inside the cutoff (the only place with gradient) the clamp is the identity.
        var u = g.Max(g.Min(g.Div(a1, g.Scalar((float)network.Cutoff, "cutoff")), one), g.Scalar(-1f, "minus_one"));
        var v = g.Min(g.Div(a2Squared, g.Scalar(cutoffSquared, "cutoff2b")), one);
        var basis = Monomials(g, u, v);                                                                 // [B, i, j, O, 10]
        var (embedIn, embedOut) = network.SpatialEmbedding;
        var e1 = Linear(g, "basis_in", basis, embedIn);
        var e2 = Linear(g, "basis_out", g.Gelu(e1), embedOut);
        var embedding = g.Gelu(e2);                                                                     // [B, i, j, O, H]

        var h = Linear(g, "embed", t, embed);                                                           // [B, N, H]
        var pointMask = g.Unsqueeze(m, [2, 3]);                                                         // [B, N, 1, 1]
        h = g.Mul(g.Unsqueeze(h, [2]), g.AddInitializer("orientation_ones", Enumerable.Repeat(1f, orientations).ToArray(), 1, 1, orientations, 1));
        if (velocities is { } vel)
            h = g.Add(h, Linear(g, "vector_embed", g.Unsqueeze(g.MatMul(vel, Constant(g, "grid_t_v", network.Grid.t())), [-1]), network.VectorEnds.Embed));
        h = g.Mul(h, pointMask);
        var kernels = network.SphericalKernels().ToList();
        var blocks = network.Blocks.ToList();
        var saved = new List<Saved>();
        for (int l = 0; l < blocks.Count; l++)
        {
            var (spatial, norm, expand, contract) = blocks[l];
            var k = Linear(g, $"b{l}_spatial", embedding, spatial);
            var kernel = g.Mul(k, g.Unsqueeze(weight, [-1]));
            var messages = g.Einsum("bijoh,bjoh->bioh", [kernel, h]);
            var sphere = Constant(g, $"b{l}_sphere", kernels[l]);
            var mixed = g.Einsum("poh,bioh->biph", [sphere, messages]);
            var normalised = g.LayerNormalization(mixed, Constant(g, $"b{l}_norm_w", norm.weight!), Constant(g, $"b{l}_norm_b", norm.bias!), -1, (float)1e-5);
            var e = Linear(g, $"b{l}_expand", normalised, expand);
            var update = Linear(g, $"b{l}_contract", g.Gelu(e), contract);
            saved.Add(new Saved(k, kernel, h, sphere, mixed, e));
            h = g.Mul(g.Add(h, update), pointMask);
        }
        return new Encoded(zero, one, relative, a1, distanceSquared, remaining, pairs, weight, u, v, e1, e2, cutoffSquared, pointMask, h, saved, blocks);
    }

    /// <summary>The encoder's values, named as in <see cref="ExportEnergy"/>.</summary>
    private sealed record Encoded(OnnxValue Zero, OnnxValue One, OnnxValue Relative, OnnxValue A1, OnnxValue DistanceSquared, OnnxValue Remaining,
        OnnxValue Pairs, OnnxValue Weight, OnnxValue U, OnnxValue V, OnnxValue E1, OnnxValue E2, float CutoffSquared, OnnxValue PointMask, OnnxValue H,
        List<Saved> Saved, List<(Linear Spatial, LayerNorm Norm, Linear Expand, Linear Contract)> Blocks);

    private static (OnnxValue X, OnnxValue T, OnnxValue M) Inputs(OnnxGraphBuilder g, PonitaNetwork network, string positionsName, string typesName, string maskName)
    {
        int types = (int)network.Ends.Embed.weight!.shape[1];
        return (g.AddInput(positionsName, OnnxElementType.Float, OnnxDim.Batch, OnnxDim.Symbolic("atoms"), 3),
            g.AddInput(typesName, OnnxElementType.Float, OnnxDim.Batch, OnnxDim.Symbolic("atoms"), types),
            g.AddInput(maskName, OnnxElementType.Float, OnnxDim.Batch, OnnxDim.Symbolic("atoms")));
    }

    public const string VectorsOutput = "vectors";

    /// <summary>
    /// The equivariant vector head (<see cref="PonitaNetwork.Vectors"/>) with point vectors (e.g. velocities) as an extra
    /// input [B, N, 3]; output vectors [B, N, 3].
    /// </summary>
    public static byte[] ExportVectors(PonitaNetwork network, string positionsName, string vectorsName, string typesName, string maskName)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var g = new OnnxGraphBuilder("ponita_vectors");
        int orientations = (int)network.Grid.shape[0];
        var (x, t, m) = Inputs(g, network, positionsName, typesName, maskName);
        var velocities = g.AddInput(vectorsName, OnnxElementType.Float, OnnxDim.Batch, OnnxDim.Symbolic("atoms"), 3);
        var f = Encode(g, network, x, t, m, velocities);
        var weights = Linear(g, "vector_readout", f.H, network.VectorEnds.Readout);                       // [B, N, O, 1]
        var summed = g.ReduceSum(g.Mul(weights, Constant(g, "grid", network.Grid)), [2], keepDims: false);  // [B, N, 3]
        var vectors = g.Mul(g.Div(summed, g.Scalar(orientations, "orientations_v")), g.Unsqueeze(m, [-1]), VectorsOutput);
        g.AddOutput(vectors, OnnxElementType.Float, OnnxDim.Batch, OnnxDim.Symbolic("atoms"), 3);
        return g.ToBytes();
    }

    /// <summary>Forward values the reverse pass reuses, per block.</summary>
    private sealed record Saved(OnnxValue K, OnnxValue Kernel, OnnxValue H, OnnxValue Sphere, OnnxValue Mixed, OnnxValue E);

    /// <summary>GELU′(x) = Φ(x) + x·φ(x).</summary>
    private static OnnxValue GeluSlope(OnnxGraphBuilder g, OnnxValue x)
    {
        var cdf = g.Mul(g.Add(g.Erf(g.Mul(x, g.Scalar(1f / MathF.Sqrt(2f), "inv_sqrt2_b"))), g.Scalar(1f, "one_b")), g.Scalar(0.5f, "half_b"));
        var pdf = g.Mul(g.Exp(g.Mul(g.Mul(x, x), g.Scalar(-0.5f, "minus_half"))), g.Scalar(1f / MathF.Sqrt(2f * MathF.PI), "inv_sqrt_2pi"));
        return g.Add(cdf, g.Mul(x, pdf));
    }

    /// <summary>
    /// Gradient of layer normalisation over the last axis: with x̂ = (x − μ)/σ and g = γ ⊙ upstream,
    /// ∂/∂x = (g − mean(g) − x̂·mean(g ⊙ x̂)) / σ.
    /// </summary>
    private static OnnxValue LayerNormBackward(OnnxGraphBuilder g, OnnxValue x, OnnxValue gamma, OnnxValue upstream)
    {
        var centred = g.Sub(x, g.ReduceMean(x, [-1]));
        var sigma = g.Sqrt(g.Add(g.ReduceMean(g.Mul(centred, centred), [-1]), g.Scalar(1e-5f, "ln_eps")));
        var normalised = g.Div(centred, sigma);
        var scaled = g.Mul(upstream, gamma);
        var inner = g.Sub(g.Sub(scaled, g.ReduceMean(scaled, [-1])), g.Mul(normalised, g.ReduceMean(g.Mul(scaled, normalised), [-1])));
        return g.Div(inner, sigma);
    }

    /// <summary>∂/∂u and ∂/∂v of Σ_t upstream_t·u^a v^b over the monomials of <see cref="Monomials"/>.</summary>
    private static (OnnxValue GradU, OnnxValue GradV) MonomialsBackward(OnnxGraphBuilder g, OnnxValue u, OnnxValue v, OnnxValue upstream)
    {
        OnnxValue? Power(OnnxValue x, int k) => k <= 0 ? null : k == 1 ? x : k == 2 ? g.Mul(x, x) : g.Mul(g.Mul(x, x), x);
        OnnxValue Times(OnnxValue? a, OnnxValue? b, OnnxValue term) =>
            a is null && b is null ? term : a is null ? g.Mul(b!.Value, term) : b is null ? g.Mul(a.Value, term) : g.Mul(g.Mul(a.Value, b.Value), term);
        OnnxValue? gradU = null, gradV = null;
        int t = 0;
        for (int a = 0; a <= 3; a++)
            for (int b = 0; a + b <= 3; b++, t++)
            {
                var term = g.Squeeze(g.Slice(upstream, t, t + 1, -1), [-1]);
                if (a > 0)
                {
                    var du = g.Mul(Times(Power(u, a - 1), Power(v, b), term), g.Scalar(a, $"deg_u{a}"));
                    gradU = gradU is null ? du : g.Add(gradU.Value, du);
                }
                if (b > 0)
                {
                    var dv = g.Mul(Times(Power(u, a), Power(v, b - 1), term), g.Scalar(b, $"deg_v{b}"));
                    gradV = gradV is null ? dv : g.Add(gradV.Value, dv);
                }
            }
        return (gradU!.Value, gradV!.Value);
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
