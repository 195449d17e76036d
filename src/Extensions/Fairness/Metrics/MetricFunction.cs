namespace MLExtensions.Fairness;

/// <summary>
/// A user metric of a metric frame (<see cref="MetricFrameOptions.Metrics"/>): the value of one slice of rows, NaN
/// where it is undefined (e.g. a denominator that is zero in the slice). It is computed on every slice and every
/// bootstrap replicate, so it gets the same breakdown, intervals, differences and ratios as the built-in metrics.
/// </summary>
/// <param name="slice">The slice's rows. Honour <see cref="MetricSlice.Weights"/>: the bootstrap reweights rows, it does not repeat them.</param>
/// <returns>The metric's value: finite, or NaN where undefined.</returns>
public delegate double MetricFunction(MetricSlice slice);

/// <summary>
/// The rows of one slice as a <see cref="MetricFunction"/> sees them: labels, predictions, weights and, with a score
/// column, scores, all of the same length. Rows whose weight is 0 (in the data, or not drawn by a bootstrap
/// replicate) are left out, so a row counts as often as its weight says.
/// </summary>
public sealed class MetricSlice
{
    internal MetricSlice(string name, string? stratum, bool[] labels, bool[] predictions, double[] weights, float[]? scores)
    {
        Name = name;
        Stratum = stratum;
        Labels = labels;
        Predictions = predictions;
        Weights = weights;
        Scores = scores;
    }

    /// <summary>The slice's name: a group, a client, "client / group", or "all rows".</summary>
    public string Name { get; }

    /// <summary>The control stratum the slice lies in; null without control features (and for slices across strata).</summary>
    public string? Stratum { get; }

    /// <summary>Number of rows (with positive weight).</summary>
    public int Count => Labels.Count;

    /// <summary>The true labels.</summary>
    public IReadOnlyList<bool> Labels { get; }

    /// <summary>The predicted labels.</summary>
    public IReadOnlyList<bool> Predictions { get; }

    /// <summary>
    /// Each row's weight (&gt; 0): the example weight (1 without a weight column), times the row's Poisson draw in a
    /// bootstrap replicate. A weighted metric counts a row of weight 2 as two rows.
    /// </summary>
    public IReadOnlyList<double> Weights { get; }

    /// <summary>The scores, in the frame's score column; null without one (<see cref="MetricFrameOptions.ScoreColumnName"/>).</summary>
    public IReadOnlyList<float>? Scores { get; }
}

/// <summary>How a disparity compares the groups (Fairlearn's <c>method</c> argument of <c>difference</c> and <c>ratio</c>).</summary>
public enum DisparityMethod
{
    /// <summary>Between the groups: difference = largest − smallest group value, ratio = smallest / largest.</summary>
    BetweenGroups,

    /// <summary>
    /// Each group against the overall value (of its control stratum, with control features): difference = the largest
    /// |group − overall|, ratio = the smallest of group / overall, each taken as a number ≤ 1 (overall / group where
    /// the group is above).
    /// </summary>
    ToOverall,
}
