namespace MLExtensions.Fairness;

/// <summary>
/// A cell's scores as a weighted table: its distinct scores in descending order with the weight of positive and
/// negative labels at each. It is all a threshold rule's ROC point depends on, so the same table serves rows,
/// merged histograms and a cell whose labels are shrunk toward its group's calibration.
/// </summary>
internal sealed class ScoreCounts
{
    private ScoreCounts(double[] scores, double[] positives, double[] negatives)
    {
        Scores = scores;
        Positives = positives;
        Negatives = negatives;
        TotalPositive = positives.Sum();
        TotalNegative = negatives.Sum();
    }

    /// <summary>Distinct scores, descending.</summary>
    public double[] Scores { get; }

    /// <summary>Weight of positive labels at each score.</summary>
    public double[] Positives { get; }

    /// <summary>Weight of negative labels at each score.</summary>
    public double[] Negatives { get; }

    public double TotalPositive { get; }

    public double TotalNegative { get; }

    public double Total => TotalPositive + TotalNegative;

    public double LabelRate => Total > 0 ? TotalPositive / Total : 0;

    public static ScoreCounts From(IEnumerable<MitigationRow> rows) =>
        From(rows.Select(r => (r.Score, r.Label ? r.Weight : 0, r.Label ? 0 : r.Weight)));

    /// <summary>A table from (score, positive weight, negative weight) entries; fractional labels split a row's weight.</summary>
    public static ScoreCounts From(IEnumerable<(double Score, double Positive, double Negative)> entries)
    {
        var sorted = entries.OrderByDescending(e => e.Score).ToList();
        var scores = new List<double>();
        var positives = new List<double>();
        var negatives = new List<double>();
        foreach (var (score, positive, negative) in sorted)
        {
            if (scores.Count == 0 || score != scores[^1])
            {
                scores.Add(score);
                positives.Add(0);
                negatives.Add(0);
            }
            positives[^1] += positive;
            negatives[^1] += negative;
        }
        return new ScoreCounts([.. scores], [.. positives], [.. negatives]);
    }

    /// <summary>
    /// Every deterministic rule's ROC point: never, always, "score ≥ s" for each distinct s, and each one's
    /// complement "score &lt; s" (the flipped rule, for cells whose score runs backwards).
    /// </summary>
    public IEnumerable<(double F, double T, ThresholdRule Rule)> RocPoints()
    {
        double p = TotalPositive, n = TotalNegative;
        double Tpr(double tp) => p > 0 ? tp / p : 0;
        double Fpr(double fp) => n > 0 ? fp / n : 0;
        yield return (0, 0, ThresholdRule.Never);
        yield return (1, 1, ThresholdRule.Always);
        double truePositives = 0, falsePositives = 0;
        for (int k = 0; k < Scores.Length; k++)
        {
            truePositives += Positives[k];
            falsePositives += Negatives[k];
            double f = Fpr(falsePositives), t = Tpr(truePositives);
            yield return (f, t, new ThresholdRule(1, Scores[k]));
            // "score < s" is "−score ≥ −s⁻" with s⁻ the largest double below s: the exact complement for every score.
            yield return (1 - f, 1 - t, new ThresholdRule(-1, -Math.BitDecrement(Scores[k])));
        }
    }
}
