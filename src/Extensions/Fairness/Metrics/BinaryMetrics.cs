namespace MLExtensions.Fairness;

/// <summary>
/// Binary-classification metrics of one slice of the data, from (weighted) confusion counts; AUC from the scores when
/// the frame has a score column. A metric whose denominator is zero in the slice is NaN.
/// </summary>
/// <param name="Weight">Rows (or their summed weight) in the slice.</param>
/// <param name="Accuracy">Share of correct predictions.</param>
/// <param name="Precision">TP / (TP + FP).</param>
/// <param name="Recall">TP / (TP + FN), the true positive rate.</param>
/// <param name="FalsePositiveRate">FP / (FP + TN).</param>
/// <param name="FalseNegativeRate">FN / (FN + TP).</param>
/// <param name="SelectionRate">Share predicted positive.</param>
/// <param name="AreaUnderRocCurve">AUC of the scores (ties count half), or null without a score column.</param>
public sealed record BinaryMetrics(double Weight, double Accuracy, double Precision, double Recall, double FalsePositiveRate, double FalseNegativeRate,
    double SelectionRate, double? AreaUnderRocCurve)
{
    /// <summary>The metrics by name, in a fixed order (what differences, ratios and intervals are keyed by).</summary>
    public IReadOnlyDictionary<string, double> ByName()
    {
        var values = new Dictionary<string, double>
        {
            [nameof(Accuracy)] = Accuracy, [nameof(Precision)] = Precision, [nameof(Recall)] = Recall,
            [nameof(FalsePositiveRate)] = FalsePositiveRate, [nameof(FalseNegativeRate)] = FalseNegativeRate, [nameof(SelectionRate)] = SelectionRate,
        };
        if (AreaUnderRocCurve is double auc) values[nameof(AreaUnderRocCurve)] = auc;
        return values;
    }

    /// <summary>The names <see cref="ByName"/> gives, in its order: AUC last, and only with scores.</summary>
    internal static string[] Names(bool withScores) =>
        [nameof(Accuracy), nameof(Precision), nameof(Recall), nameof(FalsePositiveRate), nameof(FalseNegativeRate), nameof(SelectionRate),
         .. withScores ? new[] { nameof(AreaUnderRocCurve) } : []];

    /// <summary>
    /// The metrics of rows <paramref name="rows"/> of <paramref name="data"/> with weights <paramref name="weights"/>
    /// (null: the data's own). With scores, <paramref name="rows"/> must be in ascending score order (the bootstrap
    /// reweights the same slices many times; sorting them once is the caller's job).
    /// </summary>
    internal static BinaryMetrics Of(MetricRows data, IReadOnlyList<int> rows, double[]? weights = null)
    {
        double tp = 0, fp = 0, tn = 0, fn = 0;
        foreach (int i in rows)
        {
            double w = weights?[i] ?? data.Weights[i];
            if (data.Predictions[i]) { if (data.Labels[i]) tp += w; else fp += w; }
            else if (data.Labels[i]) fn += w;
            else tn += w;
        }
        double total = tp + fp + tn + fn;
        static double Ratio(double a, double b) => b > 0 ? a / b : double.NaN;
        return new BinaryMetrics(total, Ratio(tp + tn, total), Ratio(tp, tp + fp), Ratio(tp, tp + fn), Ratio(fp, fp + tn), Ratio(fn, fn + tp),
            Ratio(tp + fp, total), data.Scores is null ? null : Auc(data, rows, weights));
    }

    /// <summary>Weighted Mann–Whitney AUC: the chance a positive outscores a negative, ties counting half.</summary>
    private static double Auc(MetricRows data, IReadOnlyList<int> sorted, double[]? weights)
    {
        double negativesBelow = 0, positives = 0, negatives = 0, concordant = 0;
        for (int start = 0; start < sorted.Count;)
        {
            int end = start;
            double tiePositives = 0, tieNegatives = 0;
            while (end < sorted.Count && data.Scores![sorted[end]] == data.Scores[sorted[start]])
            {
                int i = sorted[end++];
                double w = weights?[i] ?? data.Weights[i];
                if (data.Labels[i]) tiePositives += w;
                else tieNegatives += w;
            }
            concordant += tiePositives * (negativesBelow + tieNegatives / 2);
            negativesBelow += tieNegatives;
            positives += tiePositives;
            negatives += tieNegatives;
            start = end;
        }
        return positives > 0 && negatives > 0 ? concordant / (positives * negatives) : double.NaN;
    }
}
