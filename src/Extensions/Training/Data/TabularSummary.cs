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
}
