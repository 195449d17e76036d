namespace MLExtensions.Fairness.Tradeoff;

/// <summary>
/// The least error a classifier family can make in one cell as a function of the fraction c of the cell it predicts
/// positive: convex and piecewise linear, stored as the max of its linear pieces <c>e(c) = max_i (a_i c + d_i)</c>.
/// </summary>
internal sealed class CellErrorCurve
{
    private CellErrorCurve(double[] slopes, double[] intercepts, double[] breakpoints, double minimumError, double bestRate)
    {
        Breakpoints = breakpoints;
        Slopes = slopes;
        Intercepts = intercepts;
        MinimumError = minimumError;
        BestRate = bestRate;
    }

    public double[] Slopes { get; }

    public double[] Intercepts { get; }

    /// <summary>The rates where the curve bends, with 0 and 1: a linear function plus the curve is least at one of them.</summary>
    public double[] Breakpoints { get; }

    /// <summary>The smallest error over c ∈ [0, 1].</summary>
    public double MinimumError { get; }

    /// <summary>A rate c reaching <see cref="MinimumError"/> (the smallest such).</summary>
    public double BestRate { get; }

    public double Error(double rate)
    {
        double error = double.NegativeInfinity;
        for (int i = 0; i < Slopes.Length; i++) error = Math.Max(error, Slopes[i] * rate + Intercepts[i]);
        return error;
    }

    /// <summary>
    /// Any classifier (free confusion matrix, the paper's AGLFOP): with positive-label rate b, predicting the
    /// positives first gives error |c − b|.
    /// </summary>
    public static CellErrorCurve AnyClassifier(double labelRate) => FromRocPoints(labelRate, [(0, 1)]);

    /// <summary>
    /// The classifiers a cell can derive from an existing binary prediction by randomising on it (Hardt et al. 2016):
    /// the ROC region spanned by (0,0), (1,1), the prediction's (FPR, TPR) and its flip.
    /// </summary>
    public static CellErrorCurve DerivedFrom(double labelRate, double falsePositiveRate, double truePositiveRate) =>
        FromRocPoints(labelRate, [(falsePositiveRate, truePositiveRate), (1 - falsePositiveRate, 1 - truePositiveRate)]);

    /// <summary>
    /// The lower convex hull of (positive rate, error) points that deterministic rules reach in a cell with
    /// positive-label rate <paramref name="b"/>, as (FPR, TPR) pairs; (0, 0) and (1, 1) are always reachable.
    /// </summary>
    internal static CellErrorCurve FromRocPoints(double b, IEnumerable<(double Fpr, double Tpr)> extra)
    {
        var points = extra.Append((Fpr: 0.0, Tpr: 0.0)).Append((Fpr: 1.0, Tpr: 1.0)).Select(p => (p.Fpr, p.Tpr, Tag: 0));
        return FromHull(b, LowerHull(b, points));
    }

    /// <summary>The curve through lower-hull vertices (ascending positive rate) from <see cref="LowerHull{T}"/>.</summary>
    internal static CellErrorCurve FromHull<T>(double b, IReadOnlyList<(double C, double E, T Tag)> hull)
    {
        var slopes = new double[hull.Count - 1];
        var intercepts = new double[hull.Count - 1];
        for (int i = 0; i + 1 < hull.Count; i++)
        {
            slopes[i] = (hull[i + 1].E - hull[i].E) / (hull[i + 1].C - hull[i].C);
            intercepts[i] = hull[i].E - slopes[i] * hull[i].C;
        }
        var best = hull.MinBy(p => p.E);
        return new CellErrorCurve(slopes, intercepts, hull.Select(p => p.C).ToArray(), best.E, best.C);
    }

    /// <summary>
    /// The lower convex hull, in (positive rate c, error e), of the rules with ROC points (FPR, TPR) in a cell with
    /// positive-label rate <paramref name="b"/>: c = b·TPR + (1 − b)·FPR, e = b·(1 − TPR) + (1 − b)·FPR. Each vertex
    /// keeps its rule's tag; of rules with the same rate (within round-off) the least erroneous stays.
    /// </summary>
    internal static List<(double C, double E, T Tag)> LowerHull<T>(double b, IEnumerable<(double Fpr, double Tpr, T Tag)> rules)
    {
        var points = rules.Select(p => (C: b * p.Tpr + (1 - b) * p.Fpr, E: b * (1 - p.Tpr) + (1 - b) * p.Fpr, p.Tag))
            .OrderBy(p => p.C).ThenBy(p => p.E).ToList();
        var hull = new List<(double C, double E, T Tag)>();
        foreach (var p in points)
        {
            // Same rate up to round-off (a rule and a flipped one can differ by an ulp in either order): the lower error stays.
            if (hull.Count > 0 && p.C - hull[^1].C <= 1e-15)
            {
                if (p.E >= hull[^1].E) continue;
                hull.RemoveAt(hull.Count - 1);
            }
            while (hull.Count >= 2 && Cross((hull[^2].C, hull[^2].E), (hull[^1].C, hull[^1].E), (p.C, p.E)) <= 0) hull.RemoveAt(hull.Count - 1);
            hull.Add(p);
        }
        return hull;
    }

    /// <summary>Positive when o → a → b turns left (b lies above the line through o and a).</summary>
    private static double Cross((double C, double E) o, (double C, double E) a, (double C, double E) b) =>
        (a.C - o.C) * (b.E - o.E) - (a.E - o.E) * (b.C - o.C);
}
