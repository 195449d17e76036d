using MLExtensions.Onnx.Graph;
using MLExtensions.Onnx.Scoring;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLExtensions.Equivariant;

/// <summary>
/// Writes a <see cref="PonitaNetwork"/> as an ONNX graph of standard operators (opset 17) over a radius graph whose
/// edges are inputs: any number of point clouds, concatenated, with dynamic point and edge counts.
/// </summary>
/// <remarks>
/// <para>Inputs (names in <see cref="PonitaColumns"/>): positions [1, P, 3]; types [1, P] (type indices, one-hot
/// encoded in the graph) or [1, P, F] (features); senders and receivers [1, E] (int64 point indices, as
/// <see cref="RadiusGraph"/> builds them, self-loops included); graph index [1, P] (int64: the cloud of each point,
/// 0..B − 1). The leading 1 lets ML.NET feed one cloud per row; a batch concatenates clouds.</para>
/// <para>Messages are gathered per edge (Gather) and summed per receiver (the edges sorted by receiver once, then a
/// float64 prefix sum per tensor: <see cref="OnnxGraphBuilder.SumByRow"/>), so cost grows with the edges: linearly
/// but for that one O(E log E) sort. Conservative forces −∂E/∂x are a reverse pass written out in the same operators (Gather's
/// reverse is a scatter-add and vice versa); energy-only graphs leave it out. The spherical kernels on the fixed grid
/// are folded into constants and GELU is composed from Erf.</para>
/// </remarks>
internal static partial class PonitaOnnxExporter
{
    public const string VectorsOutput = "vectors";

    /// <summary>
    /// The scoring graph: the energies of the B clouds as the regression head [B, 1] and, when
    /// <paramref name="forcesName"/> is given, the conservative forces [1, P, 3] under that name; when
    /// <paramref name="stressName"/> is given (periodic graphs only), the stresses [1, B, 9] under that name; when
    /// <paramref name="atomEnergiesName"/> is given, every point's share of its cloud's energy [1, P] under that name
    /// (graphs without it are unchanged).
    /// </summary>
    /// <remarks>
    /// With <paramref name="periodic"/>, the graph takes one more input, the Cartesian lattice shift of every edge
    /// [1, E, 3] (<see cref="PonitaColumns.Shifts"/>, as <see cref="RadiusGraph.BuildPeriodic"/> gives it; zero for
    /// open clouds): edge vectors are x_sender − x_receiver + shift, and the shifts, constant in the positions, leave
    /// the reverse pass as it is. The stress is (1/V)·Σ_e sym((∂E/∂r_e) r_eᵀ), the virial of the edge vectors summed per
    /// cloud (ASE's sign: energy unit/Å³, positive under tension), over one more input, the cells' volumes [1, B]
    /// (<see cref="PonitaColumns.Volumes"/>; NaN for a cloud with no volume, whose stress is then NaN). A periodic network
    /// with <see cref="PonitaNetwork.CanonicalFrame"/> also takes the clouds' cells [1, B, 9] (<see cref="PonitaColumns.Cells"/>;
    /// zero for an open cloud) and reads every crystal in its <see cref="LatticeFrame"/>.
    /// </remarks>
    public static byte[] ExportForScoring(PonitaNetwork network, bool typesAreIndices, string? forcesName, IReadOnlyDictionary<string, string>? metadata = null,
        bool periodic = false, string? stressName = null, string? atomEnergiesName = null)
    {
        if (stressName is not null && !periodic) throw new ArgumentException("A stress needs a periodic graph (a cell column).", nameof(stressName));
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var g = new OnnxGraphBuilder("ponita");
        var inputs = Inputs(g, network, typesAreIndices, periodic);
        var (energy, forces, virial, atomEnergies) = EnergyAndForces(g, network, inputs, forcesName is not null, stressName is not null, atomEnergiesName is not null);
        OnnxOutputHeads.AddRegressionHead(g, g.Unsqueeze(energy, [1]));
        if (atomEnergiesName is not null) g.AddOutput(g.Unsqueeze(atomEnergies!.Value, [0], atomEnergiesName), OnnxElementType.Float, 1, OnnxDim.Symbolic("points"));
        if (forcesName is not null) g.AddOutput(g.Unsqueeze(forces!.Value, [0], forcesName), OnnxElementType.Float, 1, OnnxDim.Symbolic("points"), 3);
        if (stressName is not null)
        {
            var volumes = g.Squeeze(g.AddInput(PonitaColumns.Volumes, OnnxElementType.Float, 1, OnnxDim.Symbolic("clouds")), [0]);   // [B]
            var stress = g.Div(virial!.Value, g.Unsqueeze(volumes, [-1]));
            g.AddOutput(g.Unsqueeze(stress, [0], stressName), OnnxElementType.Float, 1, OnnxDim.Symbolic("clouds"), 9);
        }
        foreach (var (key, value) in metadata ?? new Dictionary<string, string>()) g.SetMetadata(key, value);
        return g.ToBytes();
    }

    /// <summary>
    /// The equivariant vector head (<see cref="PonitaNetwork.Vectors"/>): output <paramref name="outputName"/> [1, P, 3].
    /// With <paramref name="inputVectors"/>, point vectors (e.g. velocities) are an extra input [1, P, 3] named
    /// <see cref="PonitaColumns.PointVectors"/>, and with <paramref name="addInputVectors"/> they are added to the output
    /// (the network then predicts a correction to them).
    /// </summary>
    public static byte[] ExportVectors(PonitaNetwork network, bool typesAreIndices, bool inputVectors, bool addInputVectors, string outputName = VectorsOutput,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var g = new OnnxGraphBuilder("ponita_vectors");
        int orientations = (int)network.Grid.shape[0];
        var inputs = Inputs(g, network, typesAreIndices);
        OnnxValue? velocities = inputVectors ? g.Squeeze(g.AddInput(PonitaColumns.PointVectors, OnnxElementType.Float, 1, OnnxDim.Symbolic("points"), 3), [0]) : null;
        var f = Encode(g, network, inputs, velocities, canonicalFrame: false);
        var weights = Linear(g, "vector_readout", f.States[^1], network.VectorEnds.Readout);              // [P, O, 1]
        var summed = g.ReduceSum(g.Mul(weights, Constant(g, "grid", network.Grid)), [1], keepDims: false);  // [P, 3]
        var vectors = g.Div(summed, g.Scalar(orientations, "orientations_v"));
        if (addInputVectors && velocities is { } v) vectors = g.Add(vectors, v);
        g.AddOutput(g.Unsqueeze(vectors, [0], outputName), OnnxElementType.Float, 1, OnnxDim.Symbolic("points"), 3);
        foreach (var (key, value) in metadata ?? new Dictionary<string, string>()) g.SetMetadata(key, value);
        return g.ToBytes();
    }

    /// <summary>
    /// The graph's inputs, reshaped for the body: positions [P, 3], one-hot types or features [P, F], edges [E] with
    /// their grouping by receiver (for the sums of messages), the point count [1] and the cloud index [P].
    /// </summary>
    /// <remarks>
    /// The edge list gets one inert edge appended (point 0 to itself, <see cref="EdgeMask"/> 0), so that a graph
    /// without edges (lone points) never hands ONNX Runtime empty tensors, whose broadcasting it gets wrong.
    /// </remarks>
    private sealed record GraphInputs(OnnxValue X, OnnxValue T, OnnxValue Senders, OnnxValue Receivers, OnnxValue PointCount, RowGrouping ByReceiver,
        OnnxValue GraphIndex, OnnxValue EdgeMask)
    {
        /// <summary>[E + 1, 3]: the edges' lattice shifts (the inert edge's zero appended), for periodic graphs.</summary>
        public OnnxValue? Shifts { get; init; }

        /// <summary>[B, 3, 3]: the clouds' cells (rows; zero for open clouds), for periodic graphs read in lattice frames.</summary>
        public OnnxValue? Cells { get; init; }
    }

    private static GraphInputs Inputs(OnnxGraphBuilder g, PonitaNetwork network, bool typesAreIndices, bool periodic = false)
    {
        var points = OnnxDim.Symbolic("points");
        var edges = OnnxDim.Symbolic("edges");
        var x = g.Squeeze(g.AddInput(PonitaColumns.Points, OnnxElementType.Float, 1, points, 3), [0]);
        var t = Types(g, network, typesAreIndices, PonitaColumns.Kinds, [1, points], [0]);
        var senders = g.Squeeze(g.AddInput(PonitaColumns.Senders, OnnxElementType.Int64, 1, edges), [0]);
        var receivers = g.Squeeze(g.AddInput(PonitaColumns.Receivers, OnnxElementType.Int64, 1, edges), [0]);
        var graph = g.Squeeze(g.AddInput(PonitaColumns.GraphIndex, OnnxElementType.Int64, 1, points), [0]);
        var shifts = periodic ? g.Squeeze(g.AddInput(PonitaColumns.Shifts, OnnxElementType.Float, 1, edges, 3), [0]) : (OnnxValue?)null;
        var inputs = Graph(g, x, t, senders, receivers, graph, shifts);
        if (!periodic || !network.CanonicalFrame) return inputs;
        return inputs with { Cells = g.Reshape(g.AddInput(PonitaColumns.Cells, OnnxElementType.Float, 1, OnnxDim.Symbolic("clouds"), 9), [-1, 3, 3]) };
    }

    /// <summary>
    /// The types input <paramref name="name"/>: type indices shaped <paramref name="shape"/>, one-hot encoded here, or
    /// features (<paramref name="shape"/> with the feature count appended); <paramref name="squeeze"/> drops leading axes.
    /// </summary>
    private static OnnxValue Types(OnnxGraphBuilder g, PonitaNetwork network, bool typesAreIndices, string name, OnnxDim[] shape, long[] squeeze)
    {
        int featureCount = (int)network.Ends.Embed.weight!.shape[1];
        OnnxValue Read(OnnxValue input) => squeeze.Length == 0 ? input : g.Squeeze(input, squeeze);
        if (!typesAreIndices) return Read(g.AddInput(name, OnnxElementType.Float, [.. shape, featureCount]));
        var indices = Read(g.AddInput(name, OnnxElementType.Float, shape));
        var known = g.AddInitializer("known_types", Enumerable.Range(0, featureCount).Select(i => (float)i).ToArray(), featureCount);
        return g.Cast(g.Equal(g.Unsqueeze(indices, [-1]), known), OnnxElementType.Float);
    }

    /// <summary>
    /// The body's view of one graph: positions [P, 3], types [P, F], edges [E] (and their shifts [E, 3] when periodic),
    /// the cloud of every point [P], from inputs or from values computed in the graph.
    /// </summary>
    private static GraphInputs Graph(OnnxGraphBuilder g, OnnxValue x, OnnxValue t, OnnxValue senders, OnnxValue receivers, OnnxValue graph, OnnxValue? shifts)
    {
        var inert = g.AddInitializer("inert_edge", [0L], 1);
        var s = g.Concat([senders, inert], 0);
        var r = g.Concat([receivers, inert], 0);
        var mask = g.Concat([g.Expand(g.Scalar(1f, "edge_one"), g.Shape(senders)), g.AddInitializer("edge_zero", [0f], 1)], 0); // [E + 1]
        var pointCount = g.Slice(g.Shape(x), 0, 1, 0);
        var padded = shifts is { } given ? g.Concat([given, g.AddInitializer("inert_shift", [0f, 0f, 0f], 1, 3)], 0) : (OnnxValue?)null; // [E + 1, 3]
        return new GraphInputs(x, t, s, r, pointCount, g.GroupRows(r, pointCount), graph, g.Unsqueeze(mask, [-1])) { Shifts = padded };
    }

    /// <summary>
    /// Energies [B] and, when <paramref name="withForces"/>, the conservative forces −∂E/∂x [P, 3] of the network, by a
    /// reverse pass written in the same operators; when <paramref name="withVirial"/>, also each cloud's virial ∂E/∂ε =
    /// Σ_e sym((∂E/∂r_e) r_eᵀ) [B, 9] (row-major) from the same pass; when <paramref name="withAtomEnergies"/>, every
    /// point's reference energy plus readout [P], the terms the energy sums.
    /// </summary>
    private static (OnnxValue Energy, OnnxValue? Forces, OnnxValue? Virial, OnnxValue? AtomEnergies) EnergyAndForces(OnnxGraphBuilder g, PonitaNetwork network, GraphInputs inputs,
        bool withForces, bool withVirial = false, bool withAtomEnergies = false)
    {
        int orientations = (int)network.Grid.shape[0];
        var reference = network.Ends.Reference;
        var readouts = network.Readouts;
        var f = Encode(g, network, inputs, null, network.CanonicalFrame);
        int first = f.States.Count - readouts.Count;
        var layerShare = g.Scalar(1f / readouts.Count, "readout_share");
        var composition = g.Squeeze(g.MatMul(inputs.T, Constant(g, "reference_t", reference.weight!.t())), [-1]);  // [P]
        OnnxValue? learned = null;
        for (int r = 0; r < readouts.Count; r++)
        {
            var read = g.Mul(g.ReduceMean(g.Squeeze(Linear(g, $"readout{r}", f.States[first + r], readouts[r]), [-1]), [1], keepDims: false), layerShare);
            learned = learned is null ? read : g.Add(learned.Value, read);
        }
        var graphCount = g.Add(g.ReduceMax(inputs.GraphIndex, [0], keepDims: true), g.Int64s(1));                 // [1] = B
        // As the network: reference and learned parts summed per cloud separately, in float64, then rounded once.
        var totals = g.ScatterAdd(g.Cast(g.Zeros(graphCount), OnnxElementType.Double), inputs.GraphIndex, g.Cast(composition, OnnxElementType.Double));
        totals = g.ScatterAdd(totals, inputs.GraphIndex, g.Cast(learned!.Value, OnnxElementType.Double));
        var energy = g.Cast(totals, OnnxElementType.Float, "ponita_energy");                                      // [B]
        OnnxValue? atomEnergies = withAtomEnergies ? g.Add(composition, learned!.Value) : null;                  // [P]
        if (!withForces && !withVirial) return (energy, null, null, atomEnergies);

        // ∂E/∂h after each block from its readout (every block with per-layer readouts, else the last only): w/(O·L).
        OnnxValue? ReadoutGradient(int block) => block < first ? null
            : Constant(g, $"readout{block - first}_row", readouts[block - first].weight!.reshape(1, 1, -1).div(orientations * readouts.Count));

        // Only the reverse pass sums over senders: energy-only and vector graphs never sort the edges by sender.
        var bySender = g.GroupRows(inputs.Senders, inputs.PointCount);
        var (embedIn, embedOut) = network.SpatialEmbedding;
        var blocks = network.Blocks.ToList();
        OnnxValue gradH = ReadoutGradient(blocks.Count - 1)!.Value;
        OnnxValue? gradEmbedding = null, gradWeight = null;
        for (int l = blocks.Count - 1; l >= 0; l--)
        {
            var (spatial, norm, expand, contract) = blocks[l];
            var s = f.Saved[l];
            var gradE = g.Mul(g.MatMul(gradH, Constant(g, $"b{l}_contract_wb", contract.weight!)), GeluSlope(g, s.E));
            var gradNormalised = g.MatMul(gradE, Constant(g, $"b{l}_expand_wb", expand.weight!));
            var gradMixed = LayerNormBackward(g, s.Mixed, Constant(g, $"b{l}_norm_wb", norm.weight!), gradNormalised);
            var gradMessages = g.Einsum("poh,iph->ioh", [s.Sphere, gradMixed]);                                   // [P, O, H]
            var gradPerEdge = g.Gather(gradMessages, inputs.Receivers);                                           // [E, O, H]
            var gradKernel = g.Mul(gradPerEdge, s.SenderStates);
            var gradSenders = g.SumByRow(bySender, g.Mul(gradPerEdge, s.Kernel));
            gradH = g.Add(gradH, gradSenders);
            if (ReadoutGradient(l - 1) is { } below) gradH = g.Add(gradH, below);
            var layerWeight = g.ReduceSum(g.Mul(gradKernel, s.K), [-2, -1]);                                      // [E, 1, 1]
            gradWeight = gradWeight is null ? layerWeight : g.Add(gradWeight.Value, layerWeight);
            var gradK = g.Mul(gradKernel, f.EdgeWeight);
            var layerEmbedding = g.MatMul(gradK, Constant(g, $"b{l}_spatial_wb", spatial.weight!));               // [E, O, H]
            gradEmbedding = gradEmbedding is null ? layerEmbedding : g.Add(gradEmbedding.Value, layerEmbedding);
        }
        // Through the shared embedding GELU(out(GELU(in(basis)))) to the monomials.
        var gradE2 = g.Mul(gradEmbedding!.Value, GeluSlope(g, f.E2));
        var gradE1 = g.Mul(g.MatMul(gradE2, Constant(g, "basis_out_wb", embedOut.weight!)), GeluSlope(g, f.E1));
        var gradBasis = g.MatMul(gradE1, Constant(g, "basis_in_wb", embedIn.weight!));                            // [E, O, 10]
        var (gradU, gradV) = MonomialsBackward(g, f.U, f.V, gradBasis);
        var cutoffSquared = g.Scalar(f.CutoffSquared, "cutoff2_r");
        var positive = g.Cast(g.Greater(g.Sub(f.DistanceSquared, g.Mul(f.A1, f.A1)), f.Zero), OnnxElementType.Float);
        float scale = (float)network.KernelScale;
        var gradA2Active = g.Mul(g.Div(gradV, g.Scalar(scale * scale, "kernel_scale2_r")), positive);
        var gradA1 = g.Sub(g.Div(gradU, g.Scalar(scale, "kernel_scale_r")), g.Mul(g.Mul(f.A1, g.Scalar(2f, "two")), gradA2Active));
        var gradRemaining = g.Mul(g.Mul(g.Mul(g.Mul(f.Remaining, f.Remaining), g.Scalar(3f, "three")), inputs.EdgeMask), g.Squeeze(gradWeight!.Value, [-1]));
        var inside = g.Cast(g.Greater(f.Remaining, f.Zero), OnnxElementType.Float);
        var gradDistanceSquared = g.Sub(g.ReduceSum(gradA2Active, [-1]), g.Div(g.Mul(gradRemaining, inside), cutoffSquared)); // [E, 1]
        if (f.Radial is { } radialValues) gradDistanceSquared = g.Add(gradDistanceSquared, RadialBackward(g, network, radialValues, gradE1));
        var gradRelative = g.Add(g.MatMul(gradA1, Constant(g, "grid", network.Grid)), g.Mul(g.Mul(f.Relative, g.Scalar(2f, "two_b")), gradDistanceSquared));
        OnnxValue? gradThroughFrame = null;
        if (f.Frames is { } frames) (gradRelative, gradThroughFrame) = PonitaOnnxFrame.Backward(g, frames, f.GivenRelative, gradRelative, inputs.ByReceiver, inputs.GraphIndex);
        if (f.LatticeFrames is { } lattice) gradRelative = PonitaOnnxLatticeFrame.TurnBack(g, lattice, gradRelative);   // frames hang on the cell only
        // relative = x[sender] − x[receiver]: the gradient flows back to senders with +, to receivers with −.
        var gradPositions = g.Sub(g.SumByRow(bySender, gradRelative), g.SumByRow(inputs.ByReceiver, gradRelative));
        if (gradThroughFrame is { } throughFrame) gradPositions = g.Add(gradPositions, throughFrame);
        return (energy, g.Neg(gradPositions), withVirial ? Virial(g, inputs, f.GivenRelative, gradRelative, graphCount, f.LatticeFrames) : null, atomEnergies);
    }

    /// <summary>
    /// ∂E/∂ε per cloud [B, 9]: an edge strains as r → (I + ε)·r, and the energy depends on the positions only through
    /// the edge vectors, so G = Σ_e (∂E/∂r_e) r_eᵀ, made symmetric (in lattice frames as <see cref="LatticeFrame.Virial"/>).
    /// The inert edge's r is zero and adds nothing.
    /// </summary>
    private static OnnxValue Virial(OnnxGraphBuilder g, GraphInputs inputs, OnnxValue relative, OnnxValue gradRelative, OnnxValue graphCount,
        PonitaOnnxLatticeFrame.Frames? lattice)
    {
        var perEdge = g.Reshape(g.Einsum("ea,eb->eab", [gradRelative, relative]), [-1, 9]);                            // [E + 1, 9]
        var perPoint = g.SumByRow(inputs.ByReceiver, perEdge);                                                          // [P, 9]
        var zeros = g.Zeros(g.Concat([graphCount, g.Int64s(9)], 0));
        var unsymmetrised = g.ScatterAdd(zeros, g.Unsqueeze(inputs.GraphIndex, [-1]), perPoint);                        // [B, 9]
        if (lattice is not null) return PonitaOnnxLatticeFrame.Virial(g, lattice, unsymmetrised);
        var transposed = g.Gather(unsymmetrised, g.AddInitializer("virial_transpose", [0L, 3L, 6L, 1L, 4L, 7L, 2L, 5L, 8L], 9), 1);
        return g.Mul(g.Add(unsymmetrised, transposed), g.Scalar(0.5f, "half_virial"));
    }

    /// <summary>The graph of <see cref="PonitaNetwork"/>'s encoder (point features after every block), with what the reverse pass needs.</summary>
    private static Encoded Encode(OnnxGraphBuilder g, PonitaNetwork network, GraphInputs inputs, OnnxValue? velocities, bool canonicalFrame)
    {
        bool lattice = canonicalFrame && inputs.Shifts is not null;
        if (lattice && inputs.Cells is null) throw new InvalidOperationException("A periodic graph read in lattice frames needs the cells input.");
        int orientations = (int)network.Grid.shape[0];
        var embed = network.Ends.Embed;
        var zero = g.Scalar(0f, "zero");
        var one = g.Scalar(1f, "one");

        var relative = g.Sub(g.Gather(inputs.X, inputs.Senders), g.Gather(inputs.X, inputs.Receivers));   // [E, 3]
        if (inputs.Shifts is { } shifts) relative = g.Add(relative, shifts);                             // + n·Cell (periodic)
        var given = relative;
        var frames = canonicalFrame && !lattice ? PonitaOnnxFrame.Of(g, inputs.X, inputs.GraphIndex, inputs.Receivers) : null;
        if (frames is not null) relative = PonitaOnnxFrame.Turn(g, frames, relative);
        var latticeFrames = lattice ? PonitaOnnxLatticeFrame.Of(g, inputs.Cells!.Value, inputs.GraphIndex, inputs.Receivers) : null;
        if (latticeFrames is not null) relative = PonitaOnnxLatticeFrame.Turn(g, latticeFrames, relative);
        var a1 = g.MatMul(relative, Constant(g, "grid_t", network.Grid.t()));                           // [E, O]
        var distanceSquared = g.ReduceSum(g.Mul(relative, relative), [-1]);                             // [E, 1]
        var a2Squared = g.Max(g.Sub(distanceSquared, g.Mul(a1, a1)), zero);
        float cutoffSquared = (float)(network.Cutoff * network.Cutoff);
        var remaining = g.Max(g.Sub(one, g.Div(distanceSquared, g.Scalar(cutoffSquared, "cutoff2"))), zero);
        var weight = g.Mul(g.Mul(g.Mul(remaining, remaining), remaining), inputs.EdgeMask);              // [E, 1]; 0 on the inert edge
        var edgeWeight = g.Unsqueeze(weight, [-1]);                                                     // [E, 1, 1]
        // Clamped as in the network; inside the cutoff (the only place with gradient) the clamp is the identity.
        float scale = (float)network.KernelScale, reach = (float)(network.Cutoff / network.KernelScale);
        var u = g.Max(g.Min(g.Div(a1, g.Scalar(scale, "kernel_scale")), g.Scalar(reach, "reach")), g.Scalar(-reach, "minus_reach"));
        var v = g.Min(g.Div(a2Squared, g.Scalar(scale * scale, "kernel_scale2")), g.Scalar(reach * reach, "reach2"));
        var basis = Monomials(g, u, v);                                                                 // [E, O, 10]
        var (embedIn, embedOut) = network.SpatialEmbedding;
        var e1 = Linear(g, "basis_in", basis, embedIn);
        var radial = network.RadialEmbedding is { } radialEmbedding ? RadialFeatures(g, network, distanceSquared) : null;
        if (radial is { } r) e1 = g.Add(e1, g.Unsqueeze(Linear(g, "radial", r.Features, network.RadialEmbedding!), [1]));   // + [E, 1, H]
        var e2 = Linear(g, "basis_out", g.Gelu(e1), embedOut);
        var embedding = g.Gelu(e2);                                                                     // [E, O, H]

        var h = g.Mul(g.Unsqueeze(Linear(g, "embed", inputs.T, embed), [1]),
            g.AddInitializer("orientation_ones", Enumerable.Repeat(1f, orientations).ToArray(), 1, orientations, 1));  // [P, O, H]
        if (velocities is { } vel)
            h = g.Add(h, Linear(g, "vector_embed", g.Unsqueeze(g.MatMul(vel, Constant(g, "grid_t_v", network.Grid.t())), [-1]), network.VectorEnds.Embed));
        var kernels = network.SphericalKernels().ToList();
        var blocks = network.Blocks.ToList();
        var saved = new List<Saved>();
        var states = new List<OnnxValue>();
        for (int l = 0; l < blocks.Count; l++)
        {
            var (spatial, norm, expand, contract) = blocks[l];
            var k = Linear(g, $"b{l}_spatial", embedding, spatial);
            var kernel = g.Mul(k, edgeWeight);
            var senderStates = g.Gather(h, inputs.Senders);                                             // [E, O, H]
            var messages = g.SumByRow(inputs.ByReceiver, g.Mul(kernel, senderStates));                    // [P, O, H]
            var sphere = Constant(g, $"b{l}_sphere", kernels[l]);
            var mixed = g.Einsum("poh,ioh->iph", [sphere, messages]);
            var normalised = g.LayerNormalization(mixed, Constant(g, $"b{l}_norm_w", norm.weight!), Constant(g, $"b{l}_norm_b", norm.bias!), -1, (float)1e-5);
            var e = Linear(g, $"b{l}_expand", normalised, expand);
            var update = Linear(g, $"b{l}_contract", g.Gelu(e), contract);
            saved.Add(new Saved(k, kernel, senderStates, sphere, mixed, e));
            h = g.Add(h, update);
            states.Add(h);
        }
        return new Encoded(zero, relative, a1, distanceSquared, remaining, edgeWeight, u, v, e1, e2, cutoffSquared, states, saved) { Frames = frames, LatticeFrames = latticeFrames, GivenRelative = given, Radial = radial };
    }

    /// <summary>The encoder's values the heads and the reverse pass read.</summary>
    private sealed record Encoded(OnnxValue Zero, OnnxValue Relative, OnnxValue A1, OnnxValue DistanceSquared, OnnxValue Remaining, OnnxValue EdgeWeight,
        OnnxValue U, OnnxValue V, OnnxValue E1, OnnxValue E2, float CutoffSquared, List<OnnxValue> States, List<Saved> Saved)
    {
        /// <summary>The clouds' canonical frames, when the edge vectors (<see cref="Relative"/>) are turned into them.</summary>
        public PonitaOnnxFrame.Frames? Frames { get; init; }

        /// <summary>The clouds' lattice frames, when the edge vectors of a periodic graph are turned into them.</summary>
        public PonitaOnnxLatticeFrame.Frames? LatticeFrames { get; init; }

        /// <summary>The edge vectors as the inputs give them, before any frame.</summary>
        public required OnnxValue GivenRelative { get; init; }

        /// <summary>The radial features and what their reverse pass needs, when the network has them.</summary>
        public RadialValues? Radial { get; init; }
    }

    /// <summary>The radial features [E, R], their scaled offsets z [E, R] and the distance in cutoffs [E, 1].</summary>
    private sealed record RadialValues(OnnxValue Features, OnnxValue Z, OnnxValue Distance);

    /// <summary>As <see cref="PonitaNetwork.RadialFeatures"/>: exp(−z²), z = (d/cutoff − μ)·(R − 1), d = √(d² + ε·cutoff²).</summary>
    private static RadialValues RadialFeatures(OnnxGraphBuilder g, PonitaNetwork network, OnnxValue distanceSquared)
    {
        int count = network.RadialBasis;
        double cutoff = network.Cutoff;
        var epsilon = g.Scalar((float)(PonitaNetwork.RadialEpsilon * cutoff * cutoff), "radial_epsilon");
        var distance = g.Mul(g.Sqrt(g.Add(distanceSquared, epsilon)), g.Scalar((float)(1 / cutoff), "radial_inverse_cutoff"));   // [E, 1]
        var centres = g.AddInitializer("radial_centres", Enumerable.Range(0, count).Select(k => (float)k / (count - 1)).ToArray(), count);
        var z = g.Mul(g.Sub(distance, centres), g.Scalar(count - 1f, "radial_width"));                                            // [E, R]
        return new RadialValues(g.Exp(g.Neg(g.Mul(z, z))), z, distance);
    }

    /// <summary>
    /// ∂E/∂(d²) [E, 1] through the radial features, from ∂E/∂(first embedding layer) [E, O, H]:
    /// ∂exp(−z²)/∂(d²) = −2z·exp(−z²)·(R − 1) / (2·d·cutoff) with d in cutoffs.
    /// </summary>
    private static OnnxValue RadialBackward(OnnxGraphBuilder g, PonitaNetwork network, RadialValues radial, OnnxValue gradE1)
    {
        var gradFeatures = g.MatMul(g.ReduceSum(gradE1, [1], keepDims: false), Constant(g, "radial_wb", network.RadialEmbedding!.weight!));  // [E, R]
        var slope = g.ReduceSum(g.Mul(gradFeatures, g.Mul(radial.Z, radial.Features)), [-1]);                                                // [E, 1]
        float factor = -(network.RadialBasis - 1f) / (float)(network.Cutoff * network.Cutoff);
        return g.Mul(g.Div(slope, radial.Distance), g.Scalar(factor, "radial_slope"));
    }

    /// <summary>Forward values the reverse pass reuses, per block.</summary>
    private sealed record Saved(OnnxValue K, OnnxValue Kernel, OnnxValue SenderStates, OnnxValue Sphere, OnnxValue Mixed, OnnxValue E);

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
