using System.Runtime.InteropServices;

namespace MLExtensions.Fairness.Tradeoff;

/// <summary>
/// The convex region of (false positive rate, true positive rate) pairs a cell's classifiers reach by randomising
/// between its deterministic rules: the convex hull of their ROC points with (0, 0) and (1, 1). Equalized odds
/// constrains both rates, so its solver works on this region rather than on the one-dimensional error curve.
/// </summary>
internal sealed class RocRegion
{
    /// <summary>Regions thinner than this (an uninformative score: every rule on the diagonal) are widened to it, so a barrier has an interior.</summary>
    private const double MinimumThickness = 1e-7;

    private RocRegion(IReadOnlyList<(double F, double T)> vertices)
    {
        Vertices = vertices;
        var edges = new List<(double A, double B, double C)>();
        for (int i = 0; i < vertices.Count; i++)
        {
            var (p, q) = (vertices[i], vertices[(i + 1) % vertices.Count]);
            // Counter-clockwise: the interior lies left of p → q, i.e. (q − p) × (x − p) ≥ 0, written as a·F + b·T ≤ c.
            double a = q.T - p.T, b = -(q.F - p.F);
            double norm = Math.Sqrt(a * a + b * b);
            if (norm < 1e-15) continue;
            edges.Add((a / norm, b / norm, (a * p.F + b * p.T) / norm));
        }
        Edges = edges;
    }

    /// <summary>The hull's vertices, counter-clockwise.</summary>
    public IReadOnlyList<(double F, double T)> Vertices { get; }

    /// <summary>The region as half-planes <c>A·F + B·T ≤ C</c>, one per edge, with (A, B) of unit length.</summary>
    public IReadOnlyList<(double A, double B, double C)> Edges { get; }

    /// <summary>Every classifier: the whole unit square.</summary>
    public static RocRegion Any { get; } = new([(0, 0), (1, 0), (1, 1), (0, 1)]);

    /// <summary>The region spanned by (0, 0), (1, 1) and the given points.</summary>
    public static RocRegion FromPoints(IEnumerable<(double F, double T)> points) =>
        FromHull(ConvexHull(points.Append((F: 0.0, T: 0.0)).Append((F: 1.0, T: 1.0)).Select(p => (p.F, p.T, Tag: 0))).Select(v => (v.F, v.T)).ToList());

    /// <summary>The region of hull vertices from <see cref="ConvexHull{T}"/> (counter-clockwise).</summary>
    public static RocRegion FromHull(IReadOnlyList<(double F, double T)> hull)
    {
        if (hull.Count >= 3 && Area(hull) > MinimumThickness) return new RocRegion(hull);
        // A segment (every rule on the diagonal): a thin rhombus with the segment's ends as two corners and its middle
        // widened, so the region keeps an interior and stays inside the unit square.
        var (low, high) = (hull.MinBy(v => v.F + v.T), hull.MaxBy(v => v.F + v.T));
        double dx = high.F - low.F, dy = high.T - low.T, length = Math.Max(Math.Sqrt(dx * dx + dy * dy), 1e-12);
        double nx = dy / length * MinimumThickness, ny = -dx / length * MinimumThickness, mf = (low.F + high.F) / 2, mt = (low.T + high.T) / 2;
        List<(double F, double T)> rhombus = [(low.F, low.T), (mf + nx, mt + ny), (high.F, high.T), (mf - nx, mt - ny)];
        if (Area(rhombus) < 0) rhombus.Reverse();
        return new RocRegion(rhombus);
    }

    /// <summary>Whether the region is a widened segment rather than the hull itself (its vertices are not the rules').</summary>
    public static bool IsSegment(IReadOnlyList<(double F, double T)> hull) => !(hull.Count >= 3 && Area(hull) > MinimumThickness);

    /// <summary>
    /// Writes (f, t) as a mixture of at most three vertices (a fan of triangles from the first vertex): indices and
    /// weights summing to 1. Points just outside (round-off) are taken from the nearest triangle, weights clamped.
    /// </summary>
    public (int Vertex, double Weight)[] Mixture(double f, double t)
    {
        (int, double)[]? best = null;
        double bestViolation = double.PositiveInfinity;
        for (int i = 1; i + 1 < Vertices.Count; i++)
        {
            var (a, b, c) = (Vertices[0], Vertices[i], Vertices[i + 1]);
            double det = (b.F - a.F) * (c.T - a.T) - (c.F - a.F) * (b.T - a.T);
            if (Math.Abs(det) < 1e-18) continue;
            double wb = ((f - a.F) * (c.T - a.T) - (c.F - a.F) * (t - a.T)) / det;
            double wc = ((b.F - a.F) * (t - a.T) - (f - a.F) * (b.T - a.T)) / det;
            double wa = 1 - wb - wc;
            double violation = Math.Max(0, -Math.Min(wa, Math.Min(wb, wc)));
            if (violation < bestViolation)
            {
                bestViolation = violation;
                best = [(0, wa), (i, wb), (i + 1, wc)];
                if (violation == 0) break;
            }
        }
        if (best is null) return [(0, 1)];
        // Shares below 1e-9 are the solver's round-off, not randomisation: drop them.
        var clamped = best.Select(p => (p.Item1, Math.Max(0, p.Item2))).Where(p => p.Item2 > 1e-9).ToArray();
        double sum = clamped.Sum(p => p.Item2);
        return clamped.Select(p => (p.Item1, p.Item2 / sum)).ToArray();
    }

    /// <summary>
    /// The convex hull (counter-clockwise, starting at the lowest-left point) of ROC points with (0, 0) and (1, 1)
    /// added by the caller or not; each vertex keeps its tag, of equal points the first stays.
    /// </summary>
    public static List<(double F, double T, TTag Tag)> ConvexHull<TTag>(IEnumerable<(double F, double T, TTag Tag)> points) =>
        HullOfSorted<TTag>(points.OrderBy(p => p.F).ThenBy(p => p.T).ToArray());

    /// <summary>
    /// <see cref="ConvexHull{TTag}"/> of a cell's threshold rules, given as a sweep whose (F, T) never decrease and
    /// the sweep's complements in the same order: the two sorted runs are merged in linear time instead of sorted.
    /// </summary>
    public static List<(double F, double T, TTag Tag)> ConvexHullOfSweep<TTag>(List<(double F, double T, TTag Tag)> sweep, List<(double F, double T, TTag Tag)> complements)
    {
        static bool Before(in (double F, double T, TTag Tag) a, in (double F, double T, TTag Tag) b) => a.F < b.F || (a.F == b.F && a.T < b.T);
        static bool Same(in (double F, double T, TTag Tag) a, in (double F, double T, TTag Tag) b) => a.F == b.F && a.T == b.T;
        var up = CollectionsMarshal.AsSpan(sweep);
        var down = CollectionsMarshal.AsSpan(complements);
        for (int i = 1; i < up.Length; i++)
            if (Before(up[i], up[i - 1]) || Before(down[i - 1], down[i])) return ConvexHull(sweep.Concat(complements));
        // Complements run backwards; reversed, equal points must keep their input order (a stable sort's), so each run of them is turned back.
        var reversed = new (double F, double T, TTag Tag)[down.Length];
        int filled = 0;
        for (int end = down.Length - 1; end >= 0;)
        {
            int start = end;
            while (start > 0 && Same(down[start - 1], down[end])) start--;
            down[start..(end + 1)].CopyTo(reversed.AsSpan(filled));
            filled += end - start + 1;
            end = start - 1;
        }
        var sorted = new (double F, double T, TTag Tag)[up.Length + down.Length];
        int a = 0, b = 0;
        for (int k = 0; k < sorted.Length; k++)
            sorted[k] = b == reversed.Length || (a < up.Length && !Before(reversed[b], up[a])) ? up[a++] : reversed[b++];
        return HullOfSorted(sorted);
    }

    /// <summary>Andrew's monotone chain over points sorted by (F, T); of equal points the first is kept.</summary>
    private static List<(double F, double T, TTag Tag)> HullOfSorted<TTag>(ReadOnlySpan<(double F, double T, TTag Tag)> sorted)
    {
        var unique = new (double F, double T, TTag Tag)[sorted.Length];
        int m = 0;
        foreach (var p in sorted)
            if (m == 0 || p.F != unique[m - 1].F || p.T != unique[m - 1].T) unique[m++] = p;
        if (m <= 2) return [.. unique.AsSpan(0, m)];
        // The lower chain left to right, then the upper chain back, on one stack.
        var hull = new (double F, double T, TTag Tag)[2 * m];
        int h = 0;
        for (int pass = 0; pass < 2; pass++)
        {
            int start = h;
            for (int k = 0; k < m; k++)
            {
                var p = unique[pass == 0 ? k : m - 1 - k];
                while (h >= start + 2 && Cross(hull[h - 2], hull[h - 1], p) <= 1e-15) h--;
                hull[h++] = p;
            }
            h--;
        }
        return [.. hull.AsSpan(0, h)];
    }

    private static double Cross<TTag>((double F, double T, TTag Tag) o, (double F, double T, TTag Tag) a, (double F, double T, TTag Tag) b) =>
        (a.F - o.F) * (b.T - o.T) - (a.T - o.T) * (b.F - o.F);

    private static double Area(IReadOnlyList<(double F, double T)> polygon)
    {
        double area = 0;
        for (int i = 0; i < polygon.Count; i++)
        {
            var (p, q) = (polygon[i], polygon[(i + 1) % polygon.Count]);
            area += p.F * q.T - q.F * p.T;
        }
        return area / 2;
    }
}
