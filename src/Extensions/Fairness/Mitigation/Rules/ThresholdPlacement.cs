namespace MLExtensions.Fairness;

/// <summary>
/// Where a cell's threshold sits inside the gap between two consecutive fitting scores. The fitting rows cannot tell
/// one point of a gap from another; new rows that fall in it can, and what they should keep decides.
/// </summary>
/// <remarks>
/// <para><b>Keeping rates</b> (what a budget on disparity needs). A new row falls in any of the n + 1 gaps around a
/// cell's n scores about equally often, so a rule passing the top k of n rows passes (k + θ)/(n + 1) of new rows when
/// its threshold leaves a share θ of its gap's new rows above it; θ = k/n keeps its rate k/n, and a mixture of such
/// rules keeps its rate too. Where new rows fall inside a gap is read from <see cref="Density"/> (the group's scores of
/// every client, many more than a cell's), else taken as even in the score. Any other point drifts: at a gap's top a
/// cell passes less on new rows than it did on its own, at a pivot a cell whose threshold lies above the pivot passes
/// more and one below it less, and two groups of one client drift apart by as much as 1/(n + 1) each, a gap the
/// fitting rows never show.</para>
/// <para><b>At a pivot</b> (the most accurate point when nothing constrains the rates): the point of the gap nearest
/// the score where the group's calibration crosses ½, so that a cell of a few rows falls back on its group's own
/// threshold. <b>At the gap's top</b> (a histogram's bins, whose edges the fit counted whole): the top score, with
/// "always" at the last gap.</para>
/// </remarks>
/// <param name="Pivot">The score the thresholds lean to; NaN for none.</param>
/// <param name="KeepRates">Place thresholds so new rows keep each rule's positive rate.</param>
/// <param name="Density">Where new rows fall inside a gap, for <paramref name="KeepRates"/>; null for evenly in the score.</param>
internal sealed record ThresholdPlacement(double Pivot, bool KeepRates, ScoreDensity? Density)
{
    /// <summary>At each gap's top score.</summary>
    public static ThresholdPlacement GapTop { get; } = new(double.NaN, false, null);

    /// <summary>At the point of each gap nearest <paramref name="pivot"/> (the gap's top when NaN).</summary>
    public static ThresholdPlacement AtPivot(double pivot) => new(pivot, false, null);

    /// <summary>Keeping each rule's rate on new rows, which fall inside a gap as <paramref name="density"/>'s scores do.</summary>
    public static ThresholdPlacement KeepingRates(ScoreDensity? density) => new(double.NaN, true, density);
}

/// <summary>A sample of scores (a group's, of every client) standing for where new rows fall between a cell's scores.</summary>
internal sealed class ScoreDensity
{
    private readonly double[] _scores;
    private readonly double[] _cumulative;

    /// <param name="ascending">Distinct scores, ascending.</param>
    /// <param name="weights">The weight at each.</param>
    public ScoreDensity(double[] ascending, double[] weights)
    {
        _scores = ascending;
        _cumulative = new double[weights.Length + 1];
        for (int i = 0; i < weights.Length; i++) _cumulative[i + 1] = _cumulative[i] + weights[i];
    }

    /// <summary>
    /// The point t of the gap (<paramref name="below"/>, <paramref name="top"/>) that leaves a share
    /// <paramref name="shareAbove"/> of the sample's weight inside the gap at or above it: each sample score's weight is
    /// taken as spread halfway to its neighbours (the gap's ends included), so t moves smoothly with the share. Evenly in
    /// the score when no sample score lies inside the gap.
    /// </summary>
    public double Split(double below, double top, double shareAbove)
    {
        // Sample scores strictly inside the gap: indices [first, last).
        int first = UpperBound(below), last = LowerBound(top);
        if (first >= last) return top - shareAbove * (top - below);
        double inside = _cumulative[last] - _cumulative[first], target = shareAbove * inside;
        if (!(target > 0)) return top;
        // The score whose span holds the target: the largest i with at least the target weight at or above it.
        int lo = first, hi = last - 1;
        while (lo < hi)
        {
            int mid = (lo + hi + 1) >>> 1;
            if (_cumulative[last] - _cumulative[mid] >= target) lo = mid;
            else hi = mid - 1;
        }
        int i = lo;
        double upper = i < last - 1 ? (_scores[i] + _scores[i + 1]) / 2 : top;
        double lower = i > first ? (_scores[i] + _scores[i - 1]) / 2 : below;
        double weight = _cumulative[i + 1] - _cumulative[i], above = _cumulative[last] - _cumulative[i + 1];
        // Within that score's span its weight is taken as even.
        double fraction = weight > 0 ? Math.Clamp((target - above) / weight, 0, 1) : 0;
        return upper - fraction * (upper - lower);
    }

    /// <summary>The first index whose score exceeds <paramref name="value"/>.</summary>
    private int UpperBound(double value)
    {
        int lo = 0, hi = _scores.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (_scores[mid] <= value) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    /// <summary>The first index whose score is at least <paramref name="value"/>.</summary>
    private int LowerBound(double value)
    {
        int lo = 0, hi = _scores.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (_scores[mid] < value) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }
}
