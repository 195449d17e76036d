using static TorchSharp.torch;

namespace MLExtensions.Equivariant;

/// <summary>
/// Point clouds concatenated into one graph for PONITA: every point once (no padding), the radius-graph edges between
/// points of the same cloud (self-loops included) and, per point, the index of its cloud.
/// </summary>
/// <param name="Positions">[P, 3].</param>
/// <param name="Features">[P, F]: one-hot types or per-point features.</param>
/// <param name="Senders">[E] (int64): the point each message comes from.</param>
/// <param name="Receivers">[E] (int64): the point each message goes to.</param>
/// <param name="Graph">[P] (int64): the cloud each point belongs to, 0..<paramref name="GraphCount"/> − 1.</param>
/// <param name="GraphCount">B, the number of clouds.</param>
internal sealed record PointGraph(Tensor Positions, Tensor Features, Tensor Senders, Tensor Receivers, Tensor Graph, int GraphCount) : IDisposable
{
    /// <summary>
    /// [E, 3]: the Cartesian lattice shift of every edge (periodic clouds), so that the edge vector is
    /// x_sender − x_receiver + shift; null when no cloud of the graph is periodic (all shifts zero).
    /// </summary>
    public Tensor? Shifts { get; init; }

    /// <summary>
    /// [B, 3, 3]: every cloud's lattice vectors as rows (zero for an open cloud), for the lattice frame
    /// (<see cref="LatticeFrame"/>); null when no cloud of the graph is periodic.
    /// </summary>
    public Tensor? Cells { get; init; }

    /// <summary>Concatenates clouds given as positions (3N each) and features (N·F each), with their precomputed edges (local indices).</summary>
    public static PointGraph From(IReadOnlyList<(float[] Positions, float[] Features, EdgeList Edges)> clouds, int featureCount, Device? device = null)
    {
        var c = ConcatenatedClouds.Of(clouds.Select(x => (x.Positions, x.Features, x.Edges)).ToList());
        return new PointGraph(tensor(c.Positions, [c.PointCount, 3], device: device), tensor(c.PointInputs, [c.PointCount, featureCount], device: device),
            tensor(c.Senders, device: device), tensor(c.Receivers, device: device), tensor(c.Graph, device: device), clouds.Count)
        {
            Shifts = c.Shifts is { } shifts ? tensor(shifts, [c.Senders.Length, 3], device: device) : null,
            Cells = c.Cells is { } cells ? tensor(cells, [clouds.Count, 3, 3], device: device) : null,
        };
    }

    /// <summary>The same graph with other positions (e.g. a copy that records gradients, or rotated points).</summary>
    public PointGraph WithPositions(Tensor positions) => this with { Positions = positions };

    public int PointCount => (int)Positions.shape[0];

    public void Dispose()
    {
        Positions.Dispose();
        Features.Dispose();
        Senders.Dispose();
        Receivers.Dispose();
        Graph.Dispose();
        Shifts?.Dispose();
        Cells?.Dispose();
    }
}

/// <summary>The radius-graph edges of one point cloud (local point indices), as <see cref="RadiusGraph"/> builds them.</summary>
internal sealed record EdgeList(long[] Senders, long[] Receivers)
{
    public int Count => Senders.Length;

    /// <summary>Cartesian lattice shifts, 3 per edge, of a cloud in a periodic cell; null for an open cloud (all zero).</summary>
    public float[]? Shifts { get; init; }

    /// <summary>The cell (9 values, lattice vectors as rows) the shifts are multiples of; null for an open cloud.</summary>
    public float[]? Cell { get; init; }

    /// <summary>The edges; with a non-empty <paramref name="cell"/> (9 values), under periodic boundaries with their shifts.</summary>
    public static EdgeList Of(ReadOnlySpan<float> positions, double cutoff, int? maximumNeighbors, bool selfLoops = false, float[]? cell = null)
    {
        if (cell is { Length: > 0 })
        {
            var (s, r, _, shifts) = RadiusGraph.BuildPeriodic(positions, cell, cutoff, maximumNeighbors, selfLoops);
            return new EdgeList(s, r) { Shifts = shifts, Cell = cell };
        }
        var (senders, receivers) = RadiusGraph.Build(positions, cutoff, maximumNeighbors, selfLoops);
        return new EdgeList(senders, receivers);
    }

    /// <summary>The same edges with their shifts turned by <paramref name="rotation"/> (the cloud and its cell turned with it).</summary>
    public EdgeList Rotated(double[,] rotation) => Shifts is { } shifts
        ? this with { Shifts = Rotations.Apply(rotation, shifts), Cell = Cell is { } cell ? Rotations.Apply(rotation, cell) : null }
        : this;
}

/// <summary>
/// Clouds laid end to end as PONITA takes them: positions (3 per point), per-point inputs (type indices or features),
/// edges renumbered to the concatenation, and each point's cloud index. One concatenation serves the training tensors
/// (<see cref="PointGraph"/>) and the ONNX model's inputs (<see cref="ToModelInputs"/>).
/// </summary>
internal sealed record ConcatenatedClouds(float[] Positions, float[] PointInputs, long[] Senders, long[] Receivers, long[] Graph)
{
    public int PointCount => Graph.Length;

    /// <summary>Cartesian shifts, 3 per edge (zero for open clouds), or null when no cloud is periodic.</summary>
    public float[]? Shifts { get; init; }

    /// <summary>Every cloud's cell, 9 values each (zero for an open cloud); null when no cloud is periodic.</summary>
    public float[]? Cells { get; init; }

    public static ConcatenatedClouds Of(IReadOnlyList<(float[] Positions, float[] PointInputs, EdgeList Edges)> clouds)
    {
        int points = clouds.Sum(c => c.Positions.Length / 3), edges = clouds.Sum(c => c.Edges.Count);
        var positions = new float[points * 3];
        var inputs = new float[clouds.Sum(c => c.PointInputs.Length)];
        var senders = new long[edges];
        var receivers = new long[edges];
        var graph = new long[points];
        var shifts = clouds.Any(c => c.Edges.Shifts is not null) ? new float[3 * edges] : null;
        var cells = shifts is not null ? new float[9 * clouds.Count] : null;
        int p = 0, e = 0, f = 0;
        for (int b = 0; b < clouds.Count; b++)
        {
            var (x, values, list) = clouds[b];
            int n = x.Length / 3;
            Array.Copy(x, 0, positions, p * 3, x.Length);
            Array.Copy(values, 0, inputs, f, values.Length);
            for (int k = 0; k < list.Count; k++)
            {
                senders[e + k] = list.Senders[k] + p;
                receivers[e + k] = list.Receivers[k] + p;
            }
            if (shifts is not null && list.Shifts is { } own) Array.Copy(own, 0, shifts, 3 * e, own.Length);
            if (cells is not null && list.Cell is { Length: 9 } cell) Array.Copy(cell, 0, cells, 9 * b, 9);
            Array.Fill(graph, b, p, n);
            p += n;
            e += list.Count;
            f += values.Length;
        }
        return new ConcatenatedClouds(positions, inputs, senders, receivers, graph) { Shifts = shifts, Cells = cells };
    }

    /// <summary>
    /// The scoring graph's inputs (<see cref="PonitaOnnxExporter"/>): type indices [1, P], or features [1, P, F] when
    /// <paramref name="featuresPerPoint"/> is given; with <paramref name="periodic"/>, the edges' shifts [1, E, 3] too;
    /// with <paramref name="volumes"/> (a stress model), the clouds' volumes [1, B]; with <paramref name="cells"/> (a
    /// model that scores crystals in their lattice frame), the clouds' cells [1, B, 9] (zero for open clouds).
    /// </summary>
    public List<MLExtensions.Torch.ParityInput> ToModelInputs(int? featuresPerPoint, bool periodic = false, float[]? volumes = null, bool cells = false)
    {
        int points = PointCount;
        long[] typeShape = featuresPerPoint is int width ? [1, points, width] : [1, points];
        List<MLExtensions.Torch.ParityInput> inputs =
        [
            new(PonitaColumns.Points, Positions, [1, points, 3]),
            new(PonitaColumns.Kinds, PointInputs, typeShape),
            MLExtensions.Torch.ParityInput.Int64(PonitaColumns.Senders, Senders, [1, Senders.Length]),
            MLExtensions.Torch.ParityInput.Int64(PonitaColumns.Receivers, Receivers, [1, Receivers.Length]),
            MLExtensions.Torch.ParityInput.Int64(PonitaColumns.GraphIndex, Graph, [1, points]),
        ];
        if (periodic) inputs.Add(new(PonitaColumns.Shifts, Shifts ?? new float[3 * Senders.Length], [1, Senders.Length, 3]));
        else if (Shifts is { } shifts && shifts.Any(v => v != 0))
            throw new InvalidOperationException("Periodic clouds given to a model that takes no cell (trained without CellColumnName).");
        if (volumes is not null) inputs.Add(new(PonitaColumns.Volumes, volumes, [1, volumes.Length]));
        if (cells)
        {
            int clouds = Cells is { } given ? given.Length / 9 : Graph.Length == 0 ? 0 : (int)Graph[^1] + 1;
            inputs.Add(new(PonitaColumns.Cells, Cells ?? new float[9 * clouds], [1, clouds, 9]));
        }
        return inputs;
    }
}
