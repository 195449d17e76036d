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
    /// <summary>Concatenates clouds given as positions (3N each) and features (N·F each), with their precomputed edges (local indices).</summary>
    public static PointGraph From(IReadOnlyList<(float[] Positions, float[] Features, EdgeList Edges)> clouds, int featureCount, Device? device = null)
    {
        int points = clouds.Sum(c => c.Positions.Length / 3), edges = clouds.Sum(c => c.Edges.Count);
        var positions = new float[points * 3];
        var features = new float[points * featureCount];
        var senders = new long[edges];
        var receivers = new long[edges];
        var graph = new long[points];
        int p = 0, e = 0;
        for (int b = 0; b < clouds.Count; b++)
        {
            var (x, f, list) = clouds[b];
            int n = x.Length / 3;
            Array.Copy(x, 0, positions, p * 3, x.Length);
            Array.Copy(f, 0, features, p * featureCount, f.Length);
            for (int k = 0; k < list.Count; k++)
            {
                senders[e + k] = list.Senders[k] + p;
                receivers[e + k] = list.Receivers[k] + p;
            }
            Array.Fill(graph, b, p, n);
            p += n;
            e += list.Count;
        }
        return new PointGraph(tensor(positions, [points, 3], device: device), tensor(features, [points, featureCount], device: device),
            tensor(senders, device: device), tensor(receivers, device: device), tensor(graph, device: device), clouds.Count);
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
    }
}

/// <summary>The radius-graph edges of one point cloud (local point indices), as <see cref="RadiusGraph"/> builds them.</summary>
internal sealed record EdgeList(long[] Senders, long[] Receivers)
{
    public int Count => Senders.Length;

    public static EdgeList Of(ReadOnlySpan<float> positions, double cutoff, int? maximumNeighbors, bool selfLoops = false)
    {
        var (senders, receivers) = RadiusGraph.Build(positions, cutoff, maximumNeighbors, selfLoops);
        return new EdgeList(senders, receivers);
    }
}
