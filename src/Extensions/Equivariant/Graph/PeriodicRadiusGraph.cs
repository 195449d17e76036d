using System.Globalization;

namespace MLExtensions.Equivariant;

/// <summary>
/// The radius graph of atoms in a periodic cell (<see cref="RadiusGraph.BuildPeriodic"/>): every pair (j, image n) with
/// ‖x_j + n·Cell − x_i‖ &lt; cutoff, for triclinic cells of any size, periodic along all, two or one of their vectors.
/// </summary>
/// <remarks>
/// <para>Atoms are wrapped into the cell (along periodic vectors), then copies of them translated by lattice vectors
/// are kept where they lie within the cutoff of the cell (in fractional coordinates: within cutoff/height of its faces,
/// the height being the distance between the cell's opposite faces), and every wrapped atom searches these copies
/// through a cell list of cubes of the cutoff's size: O(N) at bounded density. A cell thinner than twice the cutoff
/// simply has more copies: one neighbour can then appear through several images, and an atom sees its own images
/// (the zero-shift self pair is no edge; a self-loop is added separately when asked).</para>
/// <para>An edge's image is the integer translation n (relative to the positions as given, not the wrapped ones), so
/// that its vector is x_sender − x_receiver + n·Cell with the caller's positions.</para>
/// </remarks>
internal static class PeriodicRadiusGraph
{
    /// <summary>More copies than this (a cell far thinner than the cutoff, with many atoms) are refused before they fill memory.</summary>
    public const long MaximumCopies = 4_000_000;

    /// <summary>A lattice vector counts as absent (the direction is not periodic) when all three of its components are zero.</summary>
    public static bool[] PeriodicDirections(ReadOnlySpan<float> cell) =>
        [cell[0] != 0 || cell[1] != 0 || cell[2] != 0, cell[3] != 0 || cell[4] != 0 || cell[5] != 0, cell[6] != 0 || cell[7] != 0 || cell[8] != 0];

    /// <summary>
    /// |det(cell)| in Å³ of a checked cell: the volume that a stress divides by, zero when a direction is not periodic
    /// (a slab or a wire has no volume to strain).
    /// </summary>
    public static double Volume(ReadOnlySpan<float> cell)
    {
        if (cell.Length != 9) return 0;
        double[] a = [cell[0], cell[1], cell[2]], b = [cell[3], cell[4], cell[5]], c = [cell[6], cell[7], cell[8]];
        return Math.Abs(Dot(a, Cross(b, c)));
    }

    /// <summary>The volume a stress is per, NaN for a cell without one (none, or not periodic in every direction), so that its stress is NaN.</summary>
    public static float StressVolume(float[]? cell)
    {
        double volume = cell is null ? 0 : Volume(cell);
        return volume > 0 ? (float)volume : float.NaN;
    }

    /// <summary>
    /// Why <paramref name="cell"/> is no usable cell, or null: 9 finite values, the non-zero lattice vectors
    /// independent (the cell has volume in their directions).
    /// </summary>
    public static string? Problem(ReadOnlySpan<float> cell)
    {
        if (cell.Length != 9) return $"{cell.Length} values (a cell is 9 values, the lattice vectors a, b, c as rows in Å, or empty for no periodicity)";
        for (int k = 0; k < 9; k++)
            if (!float.IsFinite(cell[k]) || Math.Abs(cell[k]) > PointCloudChecks.LargestCoordinate)
                return $"a bad value: component {k % 3} of lattice vector {"abc"[k / 3]} is {cell[k].ToString(CultureInfo.InvariantCulture)}";
        var periodic = PeriodicDirections(cell);
        if (!periodic.Any(p => p)) return null;
        var basis = Basis(cell, periodic);
        double det = Determinant(basis), norms = 1;
        for (int k = 0; k < 3; k++) norms *= Math.Sqrt(Dot(Row(basis, k), Row(basis, k)));
        return Math.Abs(det) > 1e-9 * norms ? null
            : "no volume: its lattice vectors are (nearly) linearly dependent; give independent vectors (a zero vector marks a non-periodic direction)";
    }

    /// <summary>
    /// The edges; <paramref name="cell"/> has been checked with <see cref="Problem"/>. False when they would exceed
    /// <paramref name="edgeLimit"/>. Two points that coincide through a periodic image (closer than 10⁻⁵ of the
    /// cutoff) raise an <see cref="ArgumentException"/> that names them, as coincident points of open clouds are refused.
    /// </summary>
    public static bool Append(ReadOnlySpan<float> positions, ReadOnlySpan<float> cell, double cutoff, int? maximumNeighbors, bool selfLoops, long offset,
        List<long> senders, List<long> receivers, List<int> images, long edgeLimit)
    {
        int n = positions.Length / 3;
        if (n == 0) return true;
        var periodic = PeriodicDirections(cell);
        var basis = Basis(cell, periodic);
        var inverse = Inverse(basis);
        double volume = Math.Abs(Determinant(basis));
        var reach = new int[3];
        var margin = new double[3];
        for (int k = 0; k < 3; k++)
        {
            if (!periodic[k]) continue;
            var (u, v) = (Row(basis, (k + 1) % 3), Row(basis, (k + 2) % 3));
            var cross = Cross(u, v);
            double height = volume / Math.Sqrt(Dot(cross, cross));
            margin[k] = cutoff / height;
            if (margin[k] > 1e6) throw new ArgumentException($"The cell is {height:G3} Å thick along lattice vector {"abc"[k]}, too thin for the cutoff {cutoff:G4}.", nameof(cell));
            reach[k] = (int)Math.Ceiling(margin[k]) + 1;
        }

        // Wrap every atom into the cell along the periodic directions: x' = x − w·Cell.
        var wrap = new int[3 * n];
        var central = new double[3 * n];
        for (int i = 0; i < n; i++)
        {
            double x = positions[3 * i], y = positions[3 * i + 1], z = positions[3 * i + 2];
            for (int c = 0; c < 3; c++) central[3 * i + c] = positions[3 * i + c];
            for (int k = 0; k < 3; k++)
            {
                if (!periodic[k]) continue;
                double f = x * inverse[0, k] + y * inverse[1, k] + z * inverse[2, k];
                int w = (int)Math.Floor(f);
                wrap[3 * i + k] = w;
                for (int c = 0; c < 3; c++) central[3 * i + c] -= w * basis[k, c];
            }
        }

        // Copies x'_j + m·Cell within the cutoff of the cell (fractional coordinate in [−margin, 1 + margin] along periodic directions).
        long candidates = n;
        for (int k = 0; k < 3; k++) candidates *= 2 * reach[k] + 1;
        var copies = new List<(int Atom, int A, int B, int C, double X, double Y, double Z)>((int)Math.Min(candidates, 1 << 20));
        for (int j = 0; j < n; j++)
        {
            double fx = 0, fy = 0, fz = 0;
            var fractional = new double[3];
            for (int k = 0; k < 3; k++)
                fractional[k] = central[3 * j] * inverse[0, k] + central[3 * j + 1] * inverse[1, k] + central[3 * j + 2] * inverse[2, k];
            for (int a = -reach[0]; a <= reach[0]; a++)
            {
                if (periodic[0] && (fractional[0] + a < -margin[0] || fractional[0] + a > 1 + margin[0])) continue;
                for (int b = -reach[1]; b <= reach[1]; b++)
                {
                    if (periodic[1] && (fractional[1] + b < -margin[1] || fractional[1] + b > 1 + margin[1])) continue;
                    for (int c = -reach[2]; c <= reach[2]; c++)
                    {
                        if (periodic[2] && (fractional[2] + c < -margin[2] || fractional[2] + c > 1 + margin[2])) continue;
                        fx = central[3 * j] + a * basis[0, 0] + b * basis[1, 0] + c * basis[2, 0];
                        fy = central[3 * j + 1] + a * basis[0, 1] + b * basis[1, 1] + c * basis[2, 1];
                        fz = central[3 * j + 2] + a * basis[0, 2] + b * basis[1, 2] + c * basis[2, 2];
                        copies.Add((j, a, b, c, fx, fy, fz));
                        if (copies.Count > MaximumCopies)
                            throw new InsufficientMemoryException($"The periodic cell is so thin against the cutoff {cutoff:G4} that its {n:N0} atoms would need more than " +
                                $"{MaximumCopies:N0} periodic images; use a smaller cutoff or a larger (super)cell.");
                    }
                }
            }
        }

        // A cell list over the copies: a dense grid of cubes at least the cutoff wide over their bounding box (wider
        // when the box is sparse, so the grid never has many more cubes than copies), copies sorted by cube.
        int count = copies.Count;
        double minX = double.PositiveInfinity, minY = double.PositiveInfinity, minZ = double.PositiveInfinity;
        double maxX = double.NegativeInfinity, maxY = double.NegativeInfinity, maxZ = double.NegativeInfinity;
        foreach (var copy in copies)
        {
            minX = Math.Min(minX, copy.X); minY = Math.Min(minY, copy.Y); minZ = Math.Min(minZ, copy.Z);
            maxX = Math.Max(maxX, copy.X); maxY = Math.Max(maxY, copy.Y); maxZ = Math.Max(maxZ, copy.Z);
        }
        double side = cutoff;
        double boxVolume = (maxX - minX + cutoff) * (maxY - minY + cutoff) * (maxZ - minZ + cutoff);
        if (boxVolume / (side * side * side) > 8.0 * count + 64) side = Math.Cbrt(boxVolume / (8.0 * count + 64));
        int nx = (int)((maxX - minX) / side) + 1, ny = (int)((maxY - minY) / side) + 1, nz = (int)((maxZ - minZ) / side) + 1;
        int Cube(double x, double y, double z) =>
            (Math.Clamp((int)((x - minX) / side), 0, nx - 1) * ny + Math.Clamp((int)((y - minY) / side), 0, ny - 1)) * nz + Math.Clamp((int)((z - minZ) / side), 0, nz - 1);
        var starts = new int[nx * ny * nz + 1];
        var cubeOf = new int[count];
        for (int q = 0; q < count; q++) starts[(cubeOf[q] = Cube(copies[q].X, copies[q].Y, copies[q].Z)) + 1]++;
        for (int k = 0; k < nx * ny * nz; k++) starts[k + 1] += starts[k];
        var fill = (int[])starts.Clone();
        var cx = new double[count];
        var cy = new double[count];
        var cz = new double[count];
        var atom = new int[count];
        var image = new int[3 * count];
        for (int q = 0; q < count; q++)
        {
            int at = fill[cubeOf[q]]++;
            var copy = copies[q];
            (cx[at], cy[at], cz[at], atom[at]) = (copy.X, copy.Y, copy.Z, copy.Atom);
            (image[3 * at], image[3 * at + 1], image[3 * at + 2]) = (copy.A, copy.B, copy.C);
        }

        double cutoffSquared = cutoff * cutoff, coincident = 1e-10 * cutoffSquared;
        var neighbours = new List<Neighbour>();
        for (int i = 0; i < n; i++)
        {
            neighbours.Clear();
            double xi = central[3 * i], yi = central[3 * i + 1], zi = central[3 * i + 2];
            int ix = Math.Clamp((int)((xi - minX) / side), 0, nx - 1), iy = Math.Clamp((int)((yi - minY) / side), 0, ny - 1), iz = Math.Clamp((int)((zi - minZ) / side), 0, nz - 1);
            int wa = wrap[3 * i], wb = wrap[3 * i + 1], wc = wrap[3 * i + 2];
            for (int gx = Math.Max(0, ix - 1); gx <= Math.Min(nx - 1, ix + 1); gx++)
                for (int gy = Math.Max(0, iy - 1); gy <= Math.Min(ny - 1, iy + 1); gy++)
                {
                    int row = (gx * ny + gy) * nz;
                    // The cubes gz − 1 … gz + 1 of one (gx, gy) column are contiguous in the sorted copies.
                    int from = starts[row + Math.Max(0, iz - 1)], to = starts[row + Math.Min(nz - 1, iz + 1) + 1];
                    for (int q = from; q < to; q++)
                    {
                        double ex = cx[q] - xi, ey = cy[q] - yi, ez = cz[q] - zi;
                        double d2 = ex * ex + ey * ey + ez * ez;
                        if (!(d2 < cutoffSquared)) continue;
                        int j = atom[q];
                        // The image relative to the positions as given: x_j − x_i + (m − w_j + w_i)·Cell.
                        int a = image[3 * q] - wrap[3 * j] + wa, b = image[3 * q + 1] - wrap[3 * j + 1] + wb, c = image[3 * q + 2] - wrap[3 * j + 2] + wc;
                        if (j == i && a == 0 && b == 0 && c == 0) continue;
                        if (d2 < coincident)
                            throw new ArgumentException(j == i
                                ? $"point {i} coincides with its own periodic image shifted by ({a}, {b}, {c}) lattice vectors: the cell has no room"
                                : $"points {j} and {i} coincide through the periodic image of {j} shifted by ({a}, {b}, {c}) lattice vectors (distance {Math.Sqrt(d2):G3})");
                        neighbours.Add(new Neighbour(d2, j, a, b, c));
                    }
                }
            if (maximumNeighbors is int limit && neighbours.Count > limit)
            {
                neighbours.Sort(Neighbour.ByDistance);
                neighbours.RemoveRange(limit, neighbours.Count - limit);
            }
            if (selfLoops) neighbours.Add(new Neighbour(0, i, 0, 0, 0));
            neighbours.Sort();
            if (senders.Count + (long)neighbours.Count > edgeLimit) return false;
            foreach (var e in neighbours)
            {
                senders.Add(offset + e.Index);
                receivers.Add(offset + i);
                images.Add(e.A);
                images.Add(e.B);
                images.Add(e.C);
            }
        }
        return true;
    }

    /// <summary>A neighbour found for one atom: ordered by atom, then image (the edge order); <see cref="ByDistance"/> for the neighbour limit.</summary>
    private readonly record struct Neighbour(double DistanceSquared, int Index, int A, int B, int C) : IComparable<Neighbour>
    {
        public static readonly Comparison<Neighbour> ByDistance = (p, q) =>
        {
            int order = p.DistanceSquared.CompareTo(q.DistanceSquared);
            return order != 0 ? order : p.CompareTo(q);
        };

        public int CompareTo(Neighbour other)
        {
            int order = Index.CompareTo(other.Index);
            if (order == 0) order = A.CompareTo(other.A);
            if (order == 0) order = B.CompareTo(other.B);
            return order != 0 ? order : C.CompareTo(other.C);
        }
    }

    /// <summary>Cartesian shifts n·Cell (3 per edge) of integer images.</summary>
    public static float[] Shifts(IReadOnlyList<int> images, ReadOnlySpan<float> cell)
    {
        var shifts = new float[images.Count];
        for (int e = 0; e < images.Count; e += 3)
            for (int c = 0; c < 3; c++)
                shifts[e + c] = (float)((double)images[e] * cell[c] + (double)images[e + 1] * cell[3 + c] + (double)images[e + 2] * cell[6 + c]);
        return shifts;
    }

    /// <summary>
    /// A full-rank basis: the lattice vectors of the periodic directions, completed by unit vectors orthogonal to them
    /// for the open directions (they only fix fractional coordinates; nothing is repeated along them).
    /// </summary>
    private static double[,] Basis(ReadOnlySpan<float> cell, bool[] periodic)
    {
        var basis = new double[3, 3];
        for (int k = 0; k < 3; k++)
            for (int c = 0; c < 3; c++) basis[k, c] = cell[3 * k + c];
        var open = Enumerable.Range(0, 3).Where(k => !periodic[k]).ToArray();
        var present = Enumerable.Range(0, 3).Where(k => periodic[k]).ToArray();
        if (open.Length == 1)
            SetRow(basis, open[0], Unit(Cross(Row(basis, present[0]), Row(basis, present[1]))));
        else if (open.Length == 2)
        {
            var p = Row(basis, present[0]);
            var axis = Math.Abs(p[0]) <= Math.Abs(p[1]) && Math.Abs(p[0]) <= Math.Abs(p[2]) ? new double[] { 1, 0, 0 }
                : Math.Abs(p[1]) <= Math.Abs(p[2]) ? new double[] { 0, 1, 0 } : new double[] { 0, 0, 1 };
            var u = Unit(Cross(p, axis));
            SetRow(basis, open[0], u);
            SetRow(basis, open[1], Unit(Cross(p, u)));
        }
        return basis;
    }

    private static double[] Row(double[,] m, int k) => [m[k, 0], m[k, 1], m[k, 2]];

    private static void SetRow(double[,] m, int k, double[] v)
    {
        for (int c = 0; c < 3; c++) m[k, c] = v[c];
    }

    private static double Dot(double[] u, double[] v) => u[0] * v[0] + u[1] * v[1] + u[2] * v[2];

    private static double[] Cross(double[] u, double[] v) => [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]];

    private static double[] Unit(double[] v)
    {
        double norm = Math.Sqrt(Dot(v, v));
        return norm > 0 ? [v[0] / norm, v[1] / norm, v[2] / norm] : v;
    }

    private static double Determinant(double[,] m) => Dot(Row(m, 0), Cross(Row(m, 1), Row(m, 2)));

    private static double[,] Inverse(double[,] m)
    {
        double det = Determinant(m);
        var inverse = new double[3, 3];
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 3; c++)
            {
                // Adjugate: cofactor of (c, r).
                int r1 = (c + 1) % 3, r2 = (c + 2) % 3, c1 = (r + 1) % 3, c2 = (r + 2) % 3;
                inverse[r, c] = (m[r1, c1] * m[r2, c2] - m[r1, c2] * m[r2, c1]) / det;
            }
        return inverse;
    }
}
