namespace MLExtensions.Equivariant;

/// <summary>Orientation grids on the sphere S².</summary>
internal static class SphereGrid
{
    /// <summary>
    /// <paramref name="count"/> nearly uniform unit vectors on a Fibonacci (golden-angle) lattice, row-major [count, 3].
    /// </summary>
    public static float[] Fibonacci(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var points = new float[count * 3];
        double golden = Math.PI * (3 - Math.Sqrt(5));
        for (int i = 0; i < count; i++)
        {
            double z = 1 - (2 * i + 1) / (double)count;
            double radius = Math.Sqrt(Math.Max(0, 1 - z * z));
            double phi = golden * i;
            points[3 * i] = (float)(radius * Math.Cos(phi));
            points[3 * i + 1] = (float)(radius * Math.Sin(phi));
            points[3 * i + 2] = (float)z;
        }
        return points;
    }

    /// <summary>The grid a network of <paramref name="count"/> orientations uses: <see cref="HalfTurnSymmetric"/> for an even count, else <see cref="Fibonacci"/>.</summary>
    public static float[] For(int count) => count % 2 == 0 ? HalfTurnSymmetric(count) : Fibonacci(count);

    /// <summary>Counts up to this are spread by repulsion after the spiral start (the cost grows as count²).</summary>
    public const int RepulsionLimit = 256;

    /// <summary>
    /// <paramref name="count"/> (even) nearly uniform unit vectors, row-major [count, 3], that the half-turns about the
    /// three axes map onto themselves: each point p comes with (p.x, −p.y, −p.z), (−p.x, p.y, −p.z) and (−p.x, −p.y, p.z),
    /// plus ±z when count is not a multiple of 4. A canonical frame is defined only up to these turns (the signs of its
    /// axes), so a network on this grid gives the same energy whichever signs the frame picks: it does not step where a
    /// moving cloud's frame flips. Base points start on a golden-angle spiral over the quarter sphere x ≥ 0, z ≥ 0 (the
    /// turns' fundamental domain) and are spread by Coulomb repulsion among all points (up to <see cref="RepulsionLimit"/>).
    /// </summary>
    public static float[] HalfTurnSymmetric(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 2);
        if (count % 2 != 0) throw new ArgumentOutOfRangeException(nameof(count), count, "A grid closed under the half-turns about the axes has an even number of points.");
        int orbits = count / 4;
        bool poles = count % 4 != 0;
        var bases = new double[orbits][];
        double golden = Math.PI * (3 - Math.Sqrt(5));
        for (int i = 0; i < orbits; i++)
        {
            double z = 1 - (i + 0.5) / orbits, radius = Math.Sqrt(1 - z * z);
            double phi = (golden * i) % Math.PI - Math.PI / 2;          // x = r·cos φ ≥ 0
            bases[i] = [radius * Math.Cos(phi), radius * Math.Sin(phi), z];
        }
        if (count <= RepulsionLimit) Spread(bases, poles);
        var points = new float[count * 3];
        int n = 0;
        foreach (var p in All(bases, poles))
        {
            points[3 * n] = (float)p[0];
            points[3 * n + 1] = (float)p[1];
            points[3 * n + 2] = (float)p[2];
            n++;
        }
        return points;
    }

    private static readonly int[][] HalfTurns = [[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]];

    /// <summary>Every point of the grid: each base point's four images, then ±z.</summary>
    private static IEnumerable<double[]> All(double[][] bases, bool poles)
    {
        foreach (var p in bases)
            foreach (var s in HalfTurns) yield return [s[0] * p[0], s[1] * p[1], s[2] * p[2]];
        if (poles)
        {
            yield return [0, 0, 1];
            yield return [0, 0, -1];
        }
    }

    /// <summary>
    /// Projected gradient descent on the Coulomb energy of all points, moving only the base points (by symmetry every
    /// image feels the image of its base point's force), with a step that shrinks from a fifth of the typical spacing.
    /// </summary>
    private static void Spread(double[][] bases, bool poles, int iterations = 300)
    {
        int count = 4 * bases.Length + (poles ? 2 : 0);
        double spacing = Math.Sqrt(4 * Math.PI / count);
        var force = new double[3];
        for (int iteration = 0; iteration < iterations; iteration++)
        {
            double step = 0.2 * spacing * (1 - iteration / (double)iterations);
            var all = All(bases, poles).ToArray();
            var forces = new double[bases.Length][];
            double largest = 0;
            for (int b = 0; b < bases.Length; b++)
            {
                Array.Clear(force);
                foreach (var q in all)
                {
                    double dx = bases[b][0] - q[0], dy = bases[b][1] - q[1], dz = bases[b][2] - q[2];
                    double d2 = dx * dx + dy * dy + dz * dz;
                    if (d2 < 1e-24) continue;                                      // the point itself
                    double inverse = 1 / (d2 * Math.Sqrt(d2));
                    force[0] += dx * inverse;
                    force[1] += dy * inverse;
                    force[2] += dz * inverse;
                }
                double radial = force[0] * bases[b][0] + force[1] * bases[b][1] + force[2] * bases[b][2];
                forces[b] = [force[0] - radial * bases[b][0], force[1] - radial * bases[b][1], force[2] - radial * bases[b][2]];
                largest = Math.Max(largest, Math.Sqrt(forces[b][0] * forces[b][0] + forces[b][1] * forces[b][1] + forces[b][2] * forces[b][2]));
            }
            if (largest == 0) return;
            for (int b = 0; b < bases.Length; b++)
            {
                var p = bases[b];
                for (int k = 0; k < 3; k++) p[k] += step * forces[b][k] / largest;
                double norm = Math.Sqrt(p[0] * p[0] + p[1] * p[1] + p[2] * p[2]);
                for (int k = 0; k < 3; k++) p[k] /= norm;
            }
        }
    }
}
