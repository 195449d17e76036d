namespace MLExtensions.Equivariant;

/// <summary>
/// A guard against point clouds too large to score or train on: PONITA keeps a few [E, O, H] tensors per block
/// (E edges, O orientations, H channels), so the edges fix the memory an evaluation needs. Checked before the tensors
/// are allocated, so that a system too large fails with a message instead of exhausting the machine.
/// </summary>
internal static class PonitaMemory
{
    /// <summary>
    /// Bytes one edge costs in one evaluation: float tensors of O·H values, about 4 + 4 per block for the energy and
    /// twice that with the reverse pass of the forces (or the training graph).
    /// </summary>
    public static double BytesPerEdge(int orientations, int hidden, int layers, bool withGradients) =>
        4.0 * orientations * hidden * (withGradients ? 8 + 8 * layers : 4 + 4 * layers);

    /// <summary>The memory one evaluation may use: 80 % of what the process may allocate.</summary>
    public static double Budget => 0.8 * GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;

    /// <summary>The most edges one evaluation may have.</summary>
    public static long EdgeLimit(double bytesPerEdge) => (long)Math.Min(long.MaxValue / 2, Budget / bytesPerEdge);

    /// <summary>Throws when <paramref name="edges"/> edges would need more than <see cref="Budget"/>.</summary>
    public static void Check(long edges, int points, double bytesPerEdge, string positionsColumn, long? row)
    {
        if (edges <= EdgeLimit(bytesPerEdge)) return;
        throw TooLarge(edges, points, bytesPerEdge, positionsColumn, row);
    }

    /// <summary>The radius graph of <paramref name="positions"/>, or the memory error when it has more edges than one evaluation may hold.</summary>
    public static (long[] Senders, long[] Receivers) Edges(float[] positions, double cutoff, int? maximumNeighbors, bool selfLoops, double bytesPerEdge,
        string positionsColumn, long? row)
    {
        var (senders, receivers) = (new List<long>(), new List<long>());
        long limit = EdgeLimit(bytesPerEdge);
        if (!RadiusGraph.Append(positions, cutoff, maximumNeighbors, selfLoops, 0, senders, receivers, limit))
            throw TooLarge(limit + 1, positions.Length / 3, bytesPerEdge, positionsColumn, row);
        return (senders.ToArray(), receivers.ToArray());
    }

    private static InsufficientMemoryException TooLarge(long edges, int points, double bytesPerEdge, string positionsColumn, long? row) => new(
        $"The point cloud in column '{positionsColumn}'{(row is long r ? $", row {r}," : "")} has {points:N0} points and more than {edges - 1:N0} interacting pairs within the cutoff; " +
        $"one evaluation would need over {edges * bytesPerEdge / (1 << 30):N1} GiB, more than the {Budget / (1 << 30):N1} GiB available. " +
        "Use a smaller Cutoff or MaximumNeighbors, fewer orientations or channels, or split the system.");
}
