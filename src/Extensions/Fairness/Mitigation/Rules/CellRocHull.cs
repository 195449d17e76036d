using MLExtensions.Fairness.Tradeoff;

namespace MLExtensions.Fairness;

/// <summary>
/// One cell's deterministic rules on the model's output reduced to their ROC hull: the convex region of (FPR, TPR)
/// its randomised rules reach (what equalized odds constrains), the error curve over the positive rate (what
/// demographic parity constrains), and the rule that realises any point of either.
/// </summary>
internal sealed class CellRocHull
{
    private readonly List<(double F, double T, ThresholdRule Rule)> _vertices;
    private readonly List<(double C, double E, ThresholdRule Rule)> _errorHull;
    private readonly bool _segment;

    private CellRocHull(double labelRate, List<(double F, double T, ThresholdRule Rule)> hull)
    {
        LabelRate = labelRate;
        _vertices = Simplify(hull);
        var corners = _vertices.Select(v => (v.F, v.T)).ToList();
        _segment = RocRegion.IsSegment(corners);
        Region = RocRegion.FromHull(corners);
        _errorHull = CellErrorCurve.LowerHull(labelRate, _vertices);
        Curve = CellErrorCurve.FromHull(labelRate, _errorHull);
    }

    /// <summary>Vertices closer than this (in FPR/TPR) to the chord of their neighbours are dropped: a smooth hull of thousands keeps a few dozen.</summary>
    private const double SimplificationTolerance = 1e-4;

    /// <summary>
    /// Drops vertices within <see cref="SimplificationTolerance"/> of the chord between their neighbours. A subset of
    /// a convex polygon's vertices spans a convex polygon inside it, so every rule kept is still reachable; the error
    /// given up is at most the tolerance. Labels shrunk toward a smooth calibration put every score on the hull,
    /// which would otherwise cost the solvers one constraint per row.
    /// </summary>
    private static List<(double F, double T, ThresholdRule Rule)> Simplify(List<(double F, double T, ThresholdRule Rule)> hull)
    {
        if (hull.Count <= 8) return hull;
        // Douglas–Peucker on the two chains between the hull's first vertex (the lowest-left) and its top-right one.
        int top = hull.Select((v, i) => (v.F + v.T, i)).Max().i;
        var keep = new bool[hull.Count];
        keep[0] = keep[top] = true;
        Mark(hull, keep, 0, top);
        Mark(hull, keep, top, hull.Count);
        return hull.Where((_, i) => keep[i]).ToList();
    }

    /// <summary>Keeps the vertex between <paramref name="from"/> and <paramref name="to"/> (index mod count) farthest from their chord, if beyond the tolerance, and recurses.</summary>
    private static void Mark(List<(double F, double T, ThresholdRule Rule)> hull, bool[] keep, int from, int to)
    {
        var stack = new Stack<(int From, int To)>();
        stack.Push((from, to));
        while (stack.Count > 0)
        {
            var (a, b) = stack.Pop();
            if (b - a < 2) continue;
            var (p, q) = (hull[a % hull.Count], hull[b % hull.Count]);
            double dx = q.F - p.F, dy = q.T - p.T, length = Math.Sqrt(dx * dx + dy * dy);
            int farthest = -1;
            double distance = SimplificationTolerance;
            for (int i = a + 1; i < b; i++)
            {
                var v = hull[i];
                double d = length > 0 ? Math.Abs(dx * (v.T - p.T) - dy * (v.F - p.F)) / length : Math.Sqrt((v.F - p.F) * (v.F - p.F) + (v.T - p.T) * (v.T - p.T));
                if (d > distance) (distance, farthest) = (d, i);
            }
            if (farthest < 0) continue;
            keep[farthest] = true;
            stack.Push((a, farthest));
            stack.Push((farthest, b));
        }
    }

    /// <summary>The hull's vertices (counter-clockwise) with the deterministic rule that reaches each.</summary>
    public IReadOnlyList<(double F, double T, ThresholdRule Rule)> Vertices => _vertices;

    /// <summary>The cell's rate of positive labels (shrunk, when its labels are).</summary>
    public double LabelRate { get; }

    /// <summary>Least error per positive rate.</summary>
    public CellErrorCurve Curve { get; }

    /// <summary>The reachable (FPR, TPR) pairs.</summary>
    public RocRegion Region { get; }

    /// <summary>The ROC hull of a score's threshold rules and their complements, each threshold placed in its gap by <paramref name="placement"/>.</summary>
    public static CellRocHull FromScores(ScoreCounts counts, ThresholdPlacement placement)
    {
        var (sweep, complements) = counts.RocPoints();
        var hull = RocRegion.ConvexHullOfSweep(sweep, complements);
        return new(counts.LabelRate, hull.Select(v => (v.F, v.T, counts.Rule(v.Tag, placement))).ToList());
    }

    /// <summary>Rules on a binary prediction (score 1 positive, 0 negative): never, as predicted, flipped, always.</summary>
    public static CellRocHull FromPredictions(IReadOnlyList<MitigationRow> rows)
    {
        double positives = rows.Where(r => r.Label).Sum(r => r.Weight), negatives = rows.Where(r => !r.Label).Sum(r => r.Weight);
        double tpr = positives > 0 ? rows.Where(r => r.Label && r.Score >= 0.5).Sum(r => r.Weight) / positives : 0;
        double fpr = negatives > 0 ? rows.Where(r => !r.Label && r.Score >= 0.5).Sum(r => r.Weight) / negatives : 0;
        double b = positives / Math.Max(positives + negatives, double.Epsilon);
        return new CellRocHull(b, RocRegion.ConvexHull<ThresholdRule>([(0, 0, ThresholdRule.Never), (1, 1, ThresholdRule.Always), (fpr, tpr, new ThresholdRule(1, 0.5)), (1 - fpr, 1 - tpr, new ThresholdRule(-1, -0.5))]));
    }

    /// <summary>The randomised rule with positive rate <paramref name="rate"/>: the two error-hull vertices around it, mixed.</summary>
    public CellDecisionRule RuleForRate(string client, string group, double rate)
    {
        if (!double.IsFinite(rate)) throw new InvalidOperationException($"The trade-off solver returned the rate {rate} for cell ({client}, {group}).");
        rate = Math.Clamp(rate, 0, 1);
        if (_errorHull.Count == 1) return new CellDecisionRule(client, group, [new RuleBranch(_errorHull[0].Rule, 1)], rate);
        int i = 0;
        while (i + 2 < _errorHull.Count && _errorHull[i + 1].C <= rate) i++;
        var (lower, upper) = (_errorHull[i], _errorHull[i + 1]);
        double q = Math.Clamp((rate - lower.C) / (upper.C - lower.C), 0, 1);
        return CellDecisionRule.Mix(client, group, lower.Rule, upper.Rule, q, rate);
    }

    /// <summary>The randomised rule with false and true positive rates (<paramref name="f"/>, <paramref name="t"/>): up to three hull vertices, mixed.</summary>
    public CellDecisionRule RuleForRates(string client, string group, double f, double t)
    {
        if (!double.IsFinite(f) || !double.IsFinite(t)) throw new InvalidOperationException($"The trade-off solver returned the rates ({f}, {t}) for cell ({client}, {group}).");
        double rate = LabelRate * t + (1 - LabelRate) * f;
        if (_segment)
        {
            // Every rule on one segment: project onto it and mix its two ends.
            var (low, high) = (_vertices.MinBy(v => v.F + v.T), _vertices.MaxBy(v => v.F + v.T));
            double dx = high.F - low.F, dy = high.T - low.T, length2 = dx * dx + dy * dy;
            double q = length2 > 0 ? Math.Clamp(((f - low.F) * dx + (t - low.T) * dy) / length2, 0, 1) : 0;
            return CellDecisionRule.Mix(client, group, low.Rule, high.Rule, q, rate);
        }
        var mixture = Region.Mixture(f, t);
        return new CellDecisionRule(client, group, mixture.Select(m => new RuleBranch(_vertices[m.Vertex].Rule, m.Weight)).ToArray(), rate);
    }
}
