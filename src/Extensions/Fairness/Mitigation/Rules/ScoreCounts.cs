namespace MLExtensions.Fairness;

/// <summary>
/// A cell's scores as a weighted table: its distinct scores in descending order with the weight of positive and
/// negative labels at each. It is all a threshold rule's ROC point depends on, so the same table serves rows,
/// merged histograms and a cell whose labels are shrunk toward its group's calibration.
/// </summary>
internal sealed class ScoreCounts
{
    /// <summary>A table from its columns: distinct scores in descending order and the weights at each.</summary>
    internal ScoreCounts(double[] scores, double[] positives, double[] negatives)
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

    /// <summary>
    /// The table of <paramref name="rows"/> given their indices in ascending score order, ties by label then index
    /// (<see cref="CellTable"/>'s sort): the same table as <see cref="From(IEnumerable{MitigationRow})"/>, sums
    /// included, without sorting again.
    /// </summary>
    public static ScoreCounts FromSorted(IReadOnlyList<MitigationRow> rows, int[] ascending)
    {
        var scores = new List<double>();
        var positives = new List<double>();
        var negatives = new List<double>();
        for (int end = ascending.Length; end > 0;)
        {
            double score = rows[ascending[end - 1]].Score;
            int start = end - 1;
            while (start > 0 && rows[ascending[start - 1]].Score == score) start--;
            double positive = 0, negative = 0;
            for (int k = start; k < end; k++)
            {
                var r = rows[ascending[k]];
                if (r.Label) positive += r.Weight;
                else negative += r.Weight;
            }
            scores.Add(score);
            positives.Add(positive);
            negatives.Add(negative);
            end = start;
        }
        return new ScoreCounts([.. scores], [.. positives], [.. negatives]);
    }

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
    /// Every deterministic rule's ROC point, the sweep of thresholds down the scores (rates never decrease) and its
    /// complements in the same order: "score ≥ t" for each gap between consecutive scores, and each one's complement
    /// "score &lt; t" (the flipped rule, for cells whose score runs backwards). Each point is tagged with its gap;
    /// <see cref="Rule"/> places the threshold in it, once a hull has kept the few points that need a rule.
    /// </summary>
    public (List<(double F, double T, GapRule Gap)> Sweep, List<(double F, double T, GapRule Gap)> Complements) RocPoints()
    {
        double p = TotalPositive, n = TotalNegative;
        double Tpr(double tp) => p > 0 ? tp / p : 0;
        double Fpr(double fp) => n > 0 ? fp / n : 0;
        // The rules that pass high scores come first: where a complement reaches the same point (at the two ends),
        // the hull keeps the first, and a cell of a few high scores should pass them as its group would, not flip.
        var sweep = new List<(double F, double T, GapRule Gap)>(Scores.Length + 1);
        var complements = new List<(double F, double T, GapRule Gap)>(Scores.Length + 1);
        void Add(double f, double t, int gap)
        {
            sweep.Add((f, t, new GapRule(gap, Complement: false)));
            complements.Add((1 - f, 1 - t, new GapRule(gap, Complement: true)));
        }
        Add(0, 0, -1);
        double truePositives = 0, falsePositives = 0;
        for (int k = 0; k < Scores.Length; k++)
        {
            truePositives += Positives[k];
            falsePositives += Negatives[k];
            Add(Fpr(falsePositives), Tpr(truePositives), k);
        }
        return (sweep, complements);
    }

    /// <summary>
    /// The threshold rule of a point of <see cref="RocPoints"/>. On the fitting rows any threshold in a gap gives the
    /// same point; on new rows it does not, and <paramref name="placement"/> says where in the gap it sits.
    /// </summary>
    public ThresholdRule Rule(GapRule gap, ThresholdPlacement placement)
    {
        double t = Threshold(gap.Gap, placement);
        if (!gap.Complement) return new ThresholdRule(1, t);
        return double.IsPositiveInfinity(t) ? ThresholdRule.Always : double.IsNegativeInfinity(t) ? ThresholdRule.Never : new ThresholdRule(-1, -Math.BitDecrement(t));
    }

    /// <summary>Gap k lies between Scores[k] (passed) and Scores[k + 1] (held back); gap −1 is everything above the top score.</summary>
    private double Threshold(int k, ThresholdPlacement placement)
    {
        double top = k < 0 ? double.PositiveInfinity : Scores[k], below = k + 1 < Scores.Length ? Scores[k + 1] : double.NegativeInfinity;
        if (placement.KeepRates)
        {
            if (k < 0) return double.PositiveInfinity;
            if (k == Scores.Length - 1) return double.NegativeInfinity;
            _cumulative ??= Cumulative();
            double share = Total > 0 ? _cumulative[k] / Total : 1;
            double t = placement.Density is { } density ? density.Split(below, top, share) : top - share * (top - below);
            return t > below ? Math.Min(t, top) : Math.BitIncrement(below);
        }
        if (!double.IsFinite(placement.Pivot)) return k == Scores.Length - 1 ? double.NegativeInfinity : top; // "always" at the last gap
        double pivot = placement.Pivot;
        return pivot > top ? top : pivot > below ? pivot : Math.BitIncrement(below);
    }

    private double[]? _cumulative;

    /// <summary>The weight of the scores down to each score.</summary>
    private double[] Cumulative()
    {
        var cumulative = new double[Scores.Length];
        double sum = 0;
        for (int k = 0; k < Scores.Length; k++) cumulative[k] = sum += Positives[k] + Negatives[k];
        return cumulative;
    }
}

/// <summary>A point of <see cref="ScoreCounts.RocPoints"/>: the threshold rule in gap <paramref name="Gap"/>, or its complement.</summary>
internal readonly record struct GapRule(int Gap, bool Complement);
