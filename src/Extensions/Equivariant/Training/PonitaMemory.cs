namespace MLExtensions.Equivariant;

/// <summary>
/// A guard against evaluations and training runs too large for memory: PONITA's tensors grow with the edges E, the
/// points P, the orientations O (the spherical convolution mixes every pair of orientations: [O, O, H] kernels),
/// the channels H and the blocks L. The estimate is checked before anything large is allocated, so that a setting
/// too large fails with a message naming what to lower instead of exhausting the machine.
/// </summary>
/// <remarks>
/// The coefficients count the tensors PONITA's code allocates (<see cref="PonitaNetwork"/>, the ONNX graph of
/// <see cref="PonitaOnnxExporter"/>) and were checked against the measured peak resident memory (VmHWM) of passes on
/// molecules and random clouds: single passes peaked at 1/2.4–1/1.4 of the estimate (TorchSharp) and 1/2.1–1/1.5
/// (ONNX Runtime), whole training runs at 1/1.8–1/1.2 of it (less for tiny runs, where a fixed 64 MiB dominates).
/// </remarks>
internal static class PonitaMemory
{
    /// <summary>Allocator overhead and the small tensors the counts leave out.</summary>
    private const double Margin = 1.15;

    /// <summary>
    /// <see cref="Margin"/> for TorchSharp passes, whose many steps also fragment the native heap: measured, a training
    /// run's peak resident memory reached up to 1.3 times the live tensors of its largest step.
    /// </summary>
    private const double TorchMargin = 1.5;

    private const double BytesPerFloat = 4;

    /// <summary>What creating an ONNX Runtime session and writing the graph take besides the weights (measured: about 35 MB).</summary>
    private const double SessionBytes = 64 << 20;

    /// <summary>
    /// A TorchSharp pass (training, validation, the export check) on the network: counts of float tensors per edge,
    /// point and orientation pair in the forward pass, times a factor for what the reverse passes keep (measured: 1.3×
    /// the forward pass for forces, 1.3–1.9× for an energy training step, 1.8–3.4× for a step on forces).
    /// </summary>
    public static PonitaMemoryCost Torch(int orientations, int hidden, int layers, int features, PonitaPass pass)
    {
        double o = orientations, h = hidden, l = layers;
        // The reverse passes of the kernels over orientation pairs keep less (measured: 1.0×, 2.0×, 1.6–1.8×).
        var (factor, sphereFactor) = pass switch
        {
            PonitaPass.Energy => (1.0, 1.0),
            PonitaPass.Forces => (1.5, 1.1),
            PonitaPass.Training => (2.0, 2.0),
            _ => (3.5, 2.0),
        };
        // Per edge: ~40 [E, O] invariants, clamps and monomials; the shared embedding (4 [E, O, H]) and, per block,
        // the kernel, its cutoff-weighted copy, the gathered sender states and the messages (4 [E, O, H]).
        double perEdge = 40 * o + (4 + 4 * l) * o * h + 16;
        // Per point and block: the summed messages, the einsum with its transposed copies, the layer norm, the 4H
        // expansion and its GELU, the contraction and the residual sum (~18 [P, O, H]).
        double perPoint = (18 * l + 2) * o * h + 16 + features;
        // The fiber embedding of o·o′ (monomials, 4 [O, O, H]) and, per block, the spherical kernel and its transposed copy.
        double sphere = o * o * (10 + (4 + 2 * l) * h);
        double scale = BytesPerFloat * TorchMargin;
        return new PonitaMemoryCost(scale * factor * perEdge, scale * factor * perPoint, scale * sphereFactor * sphere);
    }

    /// <summary>
    /// An ONNX Runtime evaluation of the exported graph (the graph's tensors, the reverse pass for the forces): counts
    /// of float tensors per edge and point (measured: 0.6–0.7× these counts after the session's first run).
    /// </summary>
    public static PonitaMemoryCost Scoring(int orientations, int hidden, int layers, bool withForces)
    {
        double o = orientations, h = hidden, l = layers, reverse = withForces ? 2 : 1;
        double perEdge = reverse * (40 * o + (4 + 4 * l) * o * h + 16);
        double perPoint = reverse * ((6 * l + 2) * o * h + 16);
        // The einsum may transpose a block's [O, O, H] kernel per call.
        double sphere = o * o * h;
        double scale = BytesPerFloat * Margin;
        return new PonitaMemoryCost(scale * perEdge, scale * perPoint, scale * sphere);
    }

    /// <summary>
    /// What a training run holds throughout: the weights with their gradients, Adam's moments, the averaged and the
    /// best weights (8 copies).
    /// </summary>
    public static double Weights(int hidden, int layers, int features)
    {
        double h = hidden, l = layers;
        double parameters = (features + 1) * h + 2 * (h * h + h) + 15 * h + l * (10 * h * h + 12 * h) + l * (h + 1) + 4 * h;
        return BytesPerFloat * TorchMargin * 8 * parameters;
    }

    /// <summary>
    /// The export's copies of the L spherical kernels [O, O, H] (TorchSharp, managed arrays, the ONNX protobuf while
    /// it is written, the ONNX Runtime sessions of the export check and of the model, about 5 copies each while they
    /// load: 12 in all; measured 8–11), and 64 MiB for the sessions themselves.
    /// </summary>
    public static double Export(int orientations, int hidden, int layers) =>
        BytesPerFloat * Margin * 12 * layers * (double)orientations * orientations * hidden + SessionBytes;

    /// <summary>
    /// The edges one cloud of <paramref name="points"/> points may have within the budget, besides the fixed part of
    /// <paramref name="cost"/> and <paramref name="otherBytes"/> spoken for (other clouds evaluated with it, weights);
    /// −1 when its points alone do not fit.
    /// </summary>
    public static long EdgeLimit(PonitaMemoryCost cost, long points, double otherBytes = 0)
    {
        double left = PonitaMemoryBudget.Budget - otherBytes - cost.Fixed - cost.PerPoint * points;
        return left <= 0 ? -1 : (long)Math.Min(long.MaxValue / 2, left / cost.PerEdge);
    }

    /// <summary>
    /// The radius graph of <paramref name="positions"/>, or the memory error once its edges and points, with
    /// <paramref name="otherBytes"/> spoken for by the clouds evaluated with it, would need more than <see cref="PonitaMemoryBudget.Budget"/>.
    /// </summary>
    /// <param name="positions">x, y, z of every point.</param>
    /// <param name="cutoff">The radius graph's cutoff.</param>
    /// <param name="maximumNeighbors">The neighbour limit, if any.</param>
    /// <param name="selfLoops">Whether every point sends to itself.</param>
    /// <param name="cost">The memory model of the evaluation.</param>
    /// <param name="cloud">The cloud for the message, e.g. "The point cloud in column 'Positions', row 3,".</param>
    /// <param name="advice">What to lower, for the message.</param>
    /// <param name="otherBytes">Bytes of the other clouds evaluated together with this one (edges and points; not the fixed part).</param>
    /// <param name="cell">The periodic cell (9 values, checked), or null for an open cloud: the edges then carry their lattice shifts.</param>
    public static EdgeList Edges(float[] positions, double cutoff, int? maximumNeighbors, bool selfLoops, PonitaMemoryCost cost, string cloud, string advice,
        double otherBytes = 0, float[]? cell = null)
    {
        var (senders, receivers) = (new List<long>(), new List<long>());
        int points = positions.Length / 3;
        long limit = EdgeLimit(cost, points, otherBytes);
        if (limit < 0) throw TooLarge($"{cloud} has {points:N0} points", otherBytes + cost.Bytes(0, points), advice);
        var images = cell is null ? null : new List<int>();
        bool fits;
        try
        {
            fits = images is null
                ? RadiusGraph.Append(positions, cutoff, maximumNeighbors, selfLoops, 0, senders, receivers, limit)
                : RadiusGraph.AppendPeriodic(positions, cell, cutoff, maximumNeighbors, selfLoops, 0, senders, receivers, images, limit);
        }
        catch (ArgumentException e) when (cell is not null)
        {
            // Points that coincide only through the cell: refused like coincident points, naming the cloud.
            throw new InvalidDataException($"{cloud.TrimEnd(',')} in its periodic cell: {e.Message.Split(" (Parameter")[0]}.", e);
        }
        if (!fits)
            throw TooLarge($"{cloud} has {points:N0} points and more than {limit:N0} interacting pairs within the cutoff{(cell is null ? "" : " (periodic images included)")}",
                otherBytes + cost.Bytes(limit + 1, points), advice);
        return new EdgeList(senders.ToArray(), receivers.ToArray()) { Shifts = images is null ? null : PeriodicRadiusGraph.Shifts(images, cell), Cell = images is null ? null : cell };
    }

    /// <summary>The start of the message about one cloud: its column and, when known, its row.</summary>
    public static string Cloud(string positionsColumn, long? row) =>
        $"The point cloud in column '{positionsColumn}'{(row is long r ? $", row {r}," : "")}";

    /// <summary>
    /// The radius graphs of clouds evaluated in one call, refused as soon as their edges and points together would
    /// need more than <see cref="PonitaMemoryBudget.Budget"/>.
    /// </summary>
    /// <remarks>With <paramref name="cells"/>, the clouds' periodic cells (null or empty for open clouds).</remarks>
    public static List<EdgeList> Graphs(IReadOnlyList<float[]> clouds, PonitaInputContract contract, IReadOnlyList<float[]?>? cells = null)
    {
        var graphs = new List<EdgeList>(clouds.Count);
        var cost = contract.Memory;
        double others = 0;
        long points = 0, edges = 0;
        for (int i = 0; i < clouds.Count; i++)
        {
            string cloud = clouds.Count == 1 ? Cloud(contract.PositionsColumn, null)
                : $"Point cloud {i} of the {clouds.Count} scored together in column '{contract.PositionsColumn}' (after {points:N0} points and {edges:N0} pairs in the clouds before it)";
            var graph = Edges(clouds[i], contract.Cutoff, contract.MaximumNeighbors, contract.SelfLoops, cost, cloud,
                clouds.Count == 1 ? ScoringAdvice : ScoringAdvice + " Or score fewer clouds per call.", others, cells?[i] is { Length: > 0 } cell ? cell : null);
            points += clouds[i].Length / 3;
            edges += graph.Count;
            others += cost.PerEdge * graph.Count + cost.PerPoint * (clouds[i].Length / 3);
            graphs.Add(graph);
        }
        return graphs;
    }

    /// <summary>What to lower when scoring runs out of memory.</summary>
    public const string ScoringAdvice = "Use a smaller Cutoff or MaximumNeighbors, fewer orientations or channels, or split the system.";

    /// <summary>The error for an evaluation of <paramref name="what"/> that would need <paramref name="bytes"/>.</summary>
    public static InsufficientMemoryException TooLarge(string what, double bytes, string advice) => new(
        $"{what}; {WouldNeed(bytes)}. {advice}");

    /// <summary>"it would need about X GiB (an upper estimate), more than the Y GiB available (…)".</summary>
    public static string WouldNeed(double bytes) => $"it would need about {GiB(bytes)} GiB (an upper estimate), {PonitaMemoryBudget.MoreThanAvailable()}";

    /// <summary>Bytes in GiB, one decimal.</summary>
    public static string GiB(double bytes) => (bytes / (1L << 30)).ToString("N1", System.Globalization.CultureInfo.InvariantCulture);
}
