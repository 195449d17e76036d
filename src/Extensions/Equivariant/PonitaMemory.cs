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

    /// <summary>Throws when <paramref name="edges"/> edges would need more than <see cref="Budget"/>.</summary>
    public static void Check(long edges, int points, double bytesPerEdge, string positionsColumn, long? row)
    {
        double needed = edges * bytesPerEdge;
        if (needed <= Budget) return;
        throw new InsufficientMemoryException(
            $"The point cloud in column '{positionsColumn}'{(row is long r ? $", row {r}," : "")} has {points:N0} points and {edges:N0} interacting pairs within the cutoff; " +
            $"one evaluation would need about {needed / (1 << 30):N1} GiB, more than the {Budget / (1 << 30):N1} GiB available. " +
            "Use a smaller Cutoff or MaximumNeighbors, fewer orientations or channels, or split the system.");
    }
}
