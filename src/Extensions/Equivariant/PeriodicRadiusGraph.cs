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
    public const long MaximumCopies = 20_000_000;

    /// <summary>A lattice vector counts as absent (the direction is not periodic) when all three of its components are zero.</summary>
    public static bool[] PeriodicDirections(ReadOnlySpan<float> cell) =>
        [cell[0] != 0 || cell[1] != 0 || cell[2] != 0, cell[3] != 0 || cell[4] != 0 || cell[5] != 0, cell[6] != 0 || cell[7] != 0 || cell[8] != 0];

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

    /// <summary>The edges; <paramref name="cell"/> has been checked with <see cref="Problem"/>. False when they would exceed <paramref name="edgeLimit"/>.</summary>
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

        // A cell list over the copies: cubes of the cutoff's size, hashed.
        var bins = new Dictionary<(long, long, long), List<int>>();
        (long, long, long) Bin(double x, double y, double z) =>
            ((long)Math.Floor(x / cutoff), (long)Math.Floor(y / cutoff), (long)Math.Floor(z / cutoff));
        for (int q = 0; q < copies.Count; q++)
        {
            var key = Bin(copies[q].X, copies[q].Y, copies[q].Z);
            if (!bins.TryGetValue(key, out var members)) bins[key] = members = new List<int>();
            members.Add(q);
        }

        double cutoffSquared = cutoff * cutoff;
        var neighbours = new List<(double DistanceSquared, int Index, int A, int B, int C)>();
        for (int i = 0; i < n; i++)
        {
            neighbours.Clear();
            double xi = central[3 * i], yi = central[3 * i + 1], zi = central[3 * i + 2];
            var (bx, by, bz) = Bin(xi, yi, zi);
            for (long dx = -1; dx <= 1; dx++)
                for (long dy = -1; dy <= 1; dy++)
                    for (long dz = -1; dz <= 1; dz++)
                    {
                        if (!bins.TryGetValue((bx + dx, by + dy, bz + dz), out var members)) continue;
                        foreach (int q in members)
                        {
                            var copy = copies[q];
                            double ex = copy.X - xi, ey = copy.Y - yi, ez = copy.Z - zi;
                            double d2 = ex * ex + ey * ey + ez * ez;
                            if (!(d2 < cutoffSquared)) continue;
                            int j = copy.Atom;
                            // The image relative to the positions as given: x_j − x_i + (m − w_j + w_i)·Cell.
                            int a = copy.A - wrap[3 * j] + wrap[3 * i], b = copy.B - wrap[3 * j + 1] + wrap[3 * i + 1], c = copy.C - wrap[3 * j + 2] + wrap[3 * i + 2];
                            if (j == i && a == 0 && b == 0 && c == 0) continue;
                            neighbours.Add((d2, j, a, b, c));
                        }
                    }
            if (maximumNeighbors is int limit && neighbours.Count > limit)
            {
                neighbours.Sort();
                neighbours.RemoveRange(limit, neighbours.Count - limit);
            }
            if (selfLoops) neighbours.Add((0, i, 0, 0, 0));
            neighbours.Sort((p, q) => (p.Index, p.A, p.B, p.C).CompareTo((q.Index, q.A, q.B, q.C)));
            if (senders.Count + (long)neighbours.Count > edgeLimit) return false;
            foreach (var (_, j, a, b, c) in neighbours)
            {
                senders.Add(offset + j);
                receivers.Add(offset + i);
                images.Add(a);
                images.Add(b);
                images.Add(c);
            }
        }
        return true;
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
