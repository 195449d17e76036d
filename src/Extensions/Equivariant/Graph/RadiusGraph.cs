namespace MLExtensions.Equivariant;

/// <summary>
/// The directed edges PONITA passes messages along: for every pair of distinct points closer than the cutoff, an edge
/// each way, and (optionally) a self-loop for every point. Built with a cell list (cubes of the cutoff's size, hashed), so it costs
/// O(N) at bounded density instead of O(N²).
/// </summary>
/// <remarks>
/// Edges are ordered by receiver, then by sender, so the same points always give the same list (and the same sums).
/// The exported ONNX graph takes the edges as inputs (and, for models trained with a cell, their Cartesian shifts); callers that score it outside ML.NET build them here, or save the model with
/// <see cref="PonitaModel.SaveSelfContainedOnnx(string, PonitaSelfContainedOptions?)"/>, whose graph builds the same edges itself.
/// </remarks>
public static class RadiusGraph
{
    private const int SmallCloud = 48;

    /// <summary>
    /// The edges of one point cloud: <paramref name="positions"/> holds x, y, z of each point in turn.
    /// With <paramref name="maximumNeighbors"/>, each point keeps only its nearest neighbours (ties by index); with
    /// <paramref name="selfLoops"/>, each point also sends to itself.
    /// </summary>
    /// <returns>Senders and receivers (point indices), one entry per edge.</returns>
    public static (long[] Senders, long[] Receivers) Build(ReadOnlySpan<float> positions, double cutoff, int? maximumNeighbors = null, bool selfLoops = false)
    {
        var senders = new List<long>();
        var receivers = new List<long>();
        Append(positions, cutoff, maximumNeighbors, selfLoops, 0, senders, receivers);
        return (senders.ToArray(), receivers.ToArray());
    }

    /// <summary>
    /// The edges of atoms in a periodic cell: <paramref name="cell"/> holds the lattice vectors a, b, c as rows (9
    /// values, in the positions' units); a zero vector marks a direction that is not periodic (e.g. a slab's normal),
    /// and an empty cell (or all zero) gives <see cref="Build"/>'s edges with zero shifts. Triclinic cells of any size:
    /// in a cell thinner than twice the cutoff one neighbour appears through several images and an atom sees its own
    /// images (its zero-shift self pair is never an edge; with <paramref name="selfLoops"/> it is added as a self-loop).
    /// </summary>
    /// <returns>
    /// Senders and receivers (point indices), the integer lattice translation n = (n_a, n_b, n_c) of each edge (3 per
    /// edge) and its Cartesian shift n·Cell (3 per edge), so that the edge vector is x_sender − x_receiver + shift for
    /// the positions as given (wrapped into the cell or not). Edges are ordered by receiver, sender, then image.
    /// </returns>
    /// <exception cref="ArgumentException">The cell is not 9 finite values or its periodic lattice vectors are linearly dependent.</exception>
    public static (long[] Senders, long[] Receivers, int[] Images, float[] Shifts) BuildPeriodic(ReadOnlySpan<float> positions, ReadOnlySpan<float> cell, double cutoff,
        int? maximumNeighbors = null, bool selfLoops = false)
    {
        var (senders, receivers, images) = (new List<long>(), new List<long>(), new List<int>());
        AppendPeriodic(positions, cell, cutoff, maximumNeighbors, selfLoops, 0, senders, receivers, images, long.MaxValue);
        return (senders.ToArray(), receivers.ToArray(), images.ToArray(), PeriodicRadiusGraph.Shifts(images, cell));
    }

    /// <summary>
    /// <see cref="BuildPeriodic"/>'s edges appended to lists (images 3 per edge), stopping with false once they would
    /// exceed <paramref name="edgeLimit"/>. An empty or all-zero cell appends the open-boundary edges with zero images.
    /// </summary>
    internal static bool AppendPeriodic(ReadOnlySpan<float> positions, ReadOnlySpan<float> cell, double cutoff, int? maximumNeighbors, bool selfLoops, long offset,
        List<long> senders, List<long> receivers, List<int> images, long edgeLimit)
    {
        if (cell.Length == 0 || (cell.Length == 9 && !PeriodicRadiusGraph.PeriodicDirections(cell).Any(p => p)))
        {
            int before = senders.Count;
            bool fits = Append(positions, cutoff, maximumNeighbors, selfLoops, offset, senders, receivers, edgeLimit);
            for (int e = before; e < senders.Count; e++) images.AddRange([0, 0, 0]);
            return fits;
        }
        if (positions.Length % 3 != 0) throw new ArgumentException($"Positions hold x, y, z per point, but their length {positions.Length} is not a multiple of 3.", nameof(positions));
        if (!(cutoff > 0) || !double.IsFinite(cutoff)) throw new ArgumentOutOfRangeException(nameof(cutoff), cutoff, "The cutoff must be positive and finite.");
        if (maximumNeighbors is < 0) throw new ArgumentOutOfRangeException(nameof(maximumNeighbors), maximumNeighbors, "The neighbour limit cannot be negative.");
        if (PeriodicRadiusGraph.Problem(cell) is { } problem) throw new ArgumentException($"The cell has {problem}.", nameof(cell));
        return PeriodicRadiusGraph.Append(positions, cell, cutoff, maximumNeighbors, selfLoops, offset, senders, receivers, images, edgeLimit);
    }

    /// <summary>
    /// Appends the edges of one point cloud whose points are numbered from <paramref name="offset"/> (its place in a
    /// batch of concatenated clouds).
    /// </summary>
    public static void Append(ReadOnlySpan<float> positions, double cutoff, int? maximumNeighbors, bool selfLoops, long offset, List<long> senders, List<long> receivers) =>
        Append(positions, cutoff, maximumNeighbors, selfLoops, offset, senders, receivers, long.MaxValue);

    /// <summary>
    /// As <see cref="Append(ReadOnlySpan{float}, double, int?, bool, long, List{long}, List{long})"/>, but stops and
    /// returns false as soon as the lists would hold more than <paramref name="edgeLimit"/> edges (a system too dense
    /// or too large to evaluate is refused before its edges fill memory).
    /// </summary>
    internal static bool Append(ReadOnlySpan<float> positions, double cutoff, int? maximumNeighbors, bool selfLoops, long offset, List<long> senders, List<long> receivers,
        long edgeLimit)
    {
        if (positions.Length % 3 != 0) throw new ArgumentException($"Positions hold x, y, z per point, but their length {positions.Length} is not a multiple of 3.", nameof(positions));
        if (!(cutoff > 0) || !double.IsFinite(cutoff)) throw new ArgumentOutOfRangeException(nameof(cutoff), cutoff, "The cutoff must be positive and finite.");
        if (maximumNeighbors is < 0) throw new ArgumentOutOfRangeException(nameof(maximumNeighbors), maximumNeighbors, "The neighbour limit cannot be negative.");
        int n = positions.Length / 3;
        if (n == 0) return true;
        double cutoffSquared = cutoff * cutoff;
        // Small clouds (molecules) are searched pair by pair: cheaper than hashing cells for a few dozen points.
        var cells = n > SmallCloud ? new CellList(positions, cutoff) : null;
        var neighbours = new List<(double DistanceSquared, int Index)>();
        for (int i = 0; i < n; i++)
        {
            neighbours.Clear();
            double xi = positions[3 * i], yi = positions[3 * i + 1], zi = positions[3 * i + 2];
            foreach (int j in cells?.Around(i) ?? Enumerable.Range(0, n))
            {
                if (j == i) continue;
                double dx = positions[3 * j] - xi, dy = positions[3 * j + 1] - yi, dz = positions[3 * j + 2] - zi;
                double d2 = dx * dx + dy * dy + dz * dz;
                if (d2 < cutoffSquared) neighbours.Add((d2, j));
            }
            if (maximumNeighbors is int limit && neighbours.Count > limit)
            {
                neighbours.Sort();
                neighbours.RemoveRange(limit, neighbours.Count - limit);
            }
            if (selfLoops) neighbours.Add((0, i)); // the convolution then sees the point's own features
            neighbours.Sort((a, b) => a.Index.CompareTo(b.Index));
            if (senders.Count + (long)neighbours.Count > edgeLimit) return false;
            foreach (var (_, j) in neighbours)
            {
                senders.Add(offset + j);
                receivers.Add(offset + i);
            }
        }
        return true;
    }

    /// <summary>Points hashed into cubes of the cutoff's size: a point's neighbours lie in its own cube or the 26 around it.</summary>
    private sealed class CellList
    {
        private readonly Dictionary<(long, long, long), List<int>> _cells = new();
        private readonly (long X, long Y, long Z)[] _cellOf;

        public CellList(ReadOnlySpan<float> positions, double size)
        {
            int n = positions.Length / 3;
            _cellOf = new (long, long, long)[n];
            for (int i = 0; i < n; i++)
            {
                var cell = (Cell(positions[3 * i], size), Cell(positions[3 * i + 1], size), Cell(positions[3 * i + 2], size));
                _cellOf[i] = cell;
                if (!_cells.TryGetValue(cell, out var members)) _cells[cell] = members = new List<int>();
                members.Add(i);
            }
        }

        public IEnumerable<int> Around(int point)
        {
            var (x, y, z) = _cellOf[point];
            for (long dx = -1; dx <= 1; dx++)
                for (long dy = -1; dy <= 1; dy++)
                    for (long dz = -1; dz <= 1; dz++)
                        if (_cells.TryGetValue((x + dx, y + dy, z + dz), out var members))
                            foreach (int j in members) yield return j;
        }

        // Coordinates are checked to be at most 1e15 in size; a tiny cutoff could still push the cell index past long's range.
        private static long Cell(float coordinate, double size) => (long)Math.Clamp(Math.Floor(coordinate / size), -1e18, 1e18);
    }
}
