namespace MLExtensions.Equivariant;

/// <summary>
/// Finds two points of a cloud at the same place, judged on the cloud's own scale so that data in any unit (ångström,
/// nanometres, metres) is treated alike: two points coincide when they are closer than 10⁻⁶ × the cloud's typical
/// spacing (the median nearest-neighbour distance, which a few far-away points do not change), or than the float32
/// rounding of their coordinates (2⁻²³ × the largest of them in magnitude), whichever is larger.
/// </summary>
/// <remarks>
/// Exact duplicates are always found. Near-duplicates that make up half of a cloud or more lower its median spacing
/// with them and can pass: the price of a scale that one far-away point cannot inflate.
/// </remarks>
internal static class CoincidentPoints
{
    /// <summary>The distance, as a fraction of the cloud's typical spacing, below which two points coincide.</summary>
    public const double RelativeDistance = 1e-6;

    /// <summary>The relative spacing of float32 values (machine epsilon, 2⁻²³).</summary>
    private const double Rounding = 1.0 / (1 << 23);

    /// <summary>A pair of coincident points (<paramref name="First"/> &lt; <paramref name="Second"/>), their distance and the distance below which they count as one.</summary>
    public readonly record struct Pair(int First, int Second, double Distance, double Threshold);

    /// <summary>Points whose nearest neighbour <see cref="Spacing"/> measures, at most.</summary>
    private const int SpacingSamples = 64;

    /// <summary>
    /// The cloud's typical spacing: the median distance from a point to its nearest neighbour, over at most 64 points
    /// spread evenly through the list (each searched against the whole cloud: O(64 N)). 0 for a single point.
    /// </summary>
    public static double Spacing(ReadOnlySpan<float> positions)
    {
        int n = positions.Length / 3;
        if (n < 2) return 0;
        int samples = Math.Min(n, SpacingSamples);
        var nearest = new double[samples];
        for (int s = 0; s < samples; s++)
        {
            int i = (int)((long)s * n / samples);
            double best = double.PositiveInfinity;
            for (int j = 0; j < n; j++)
                if (j != i) best = Math.Min(best, Squared(positions, i, j));
            nearest[s] = best;
        }
        Array.Sort(nearest);
        return Math.Sqrt(nearest[samples / 2]);
    }

    /// <summary>A pair of coincident points, or null when there is none. O(N log N) for any real cloud: points sorted by x are compared only with the points after them whose x lies within the threshold.</summary>
    public static Pair? Find(ReadOnlySpan<float> positions)
    {
        int n = positions.Length / 3;
        if (n < 2) return null;
        double relative = RelativeDistance * Spacing(positions);
        var order = new int[n];
        var xs = new float[n];
        for (int i = 0; i < n; i++) (order[i], xs[i]) = (i, positions[3 * i]);
        Array.Sort(xs, order);
        for (int a = 0; a < n; a++)
        {
            int i = order[a];
            double magnitude = Magnitude(positions, i);
            // A partner j within its threshold has |x_j| ≤ magnitude + d, so d ≤ 2⁻²³ (magnitude + d) bounds the window.
            double window = Math.Max(relative, Rounding * magnitude / (1 - Rounding));
            for (int b = a + 1; b < n && (double)xs[b] - xs[a] <= window; b++)
            {
                int j = order[b];
                double threshold = Math.Max(relative, Rounding * Math.Max(magnitude, Magnitude(positions, j)));
                double squared = Squared(positions, i, j);
                if (squared <= threshold * threshold) return new Pair(Math.Min(i, j), Math.Max(i, j), Math.Sqrt(squared), threshold);
            }
        }
        return null;
    }

    private static double Squared(ReadOnlySpan<float> positions, int i, int j)
    {
        double dx = positions[3 * i] - (double)positions[3 * j], dy = positions[3 * i + 1] - (double)positions[3 * j + 1], dz = positions[3 * i + 2] - (double)positions[3 * j + 2];
        return dx * dx + dy * dy + dz * dz;
    }

    private static double Magnitude(ReadOnlySpan<float> positions, int point) =>
        Math.Max(Math.Abs(positions[3 * point]), Math.Max(Math.Abs(positions[3 * point + 1]), Math.Abs(positions[3 * point + 2])));
}
