namespace MLExtensions.Training;

/// <summary>What one validating pass over the training data found.</summary>
/// <param name="Rows">Rows read (rows with zero weight included).</param>
/// <param name="FeatureMean">Per-feature mean.</param>
/// <param name="FeatureStdDev">Per-feature standard deviation (population).</param>
/// <param name="ClassCounts">Rows per class for key labels (per false/true for Boolean); empty for real labels.</param>
/// <param name="LabelMean">Mean of the label (regression).</param>
/// <param name="LabelStdDev">Standard deviation of the label (regression).</param>
internal sealed record TabularSummary(long Rows, double[] FeatureMean, double[] FeatureStdDev, long[] ClassCounts, double LabelMean, double LabelStdDev)
{
    /// <summary>The example-weighted mean squared deviation of the label from <see cref="LabelMean"/> (the variance without weights).</summary>
    public double WeightedLabelSquaredDeviation { get; init; }

    /// <summary>
    /// The weighted mean training loss of an uninformed prediction, which is about what an untrained network scores:
    /// the label's mean under squared error on the standardised label (1 without weights; never taken below 1, the
    /// untrained output's own spread), uniform probabilities under log-loss (ln K, which is at least the label's entropy).
    /// </summary>
    public double UninformedLoss(LabelKind kind) => kind switch
    {
        LabelKind.Real => Math.Max(1, WeightedLabelSquaredDeviation / Math.Pow(Math.Max(LabelStdDev, 1e-12), 2)),
        _ => Math.Log(Math.Max(ClassCounts.Length, 2)),
    };

    /// <summary>
    /// What a network trained on these rows standardises with at its fixed ends: each feature shifted by its mean and
    /// scaled by its inverse deviation (a constant feature by 0 rather than 1/0: it carries no information); for a
    /// real label the output scaled by the label's deviation and shifted by its mean, otherwise left as it is.
    /// </summary>
    public (float[] InputShift, float[] InputScale, float OutputShift, float OutputScale) Standardization(LabelKind kind)
    {
        var shift = FeatureMean.Select(m => (float)m).ToArray();
        var scale = FeatureStdDev.Select(s => s > 1e-12 ? (float)(1 / s) : 0f).ToArray();
        return kind == LabelKind.Real ? (shift, scale, (float)LabelMean, (float)Math.Max(LabelStdDev, 1e-12)) : (shift, scale, 0f, 1f);
    }
}
