namespace MLExtensions.Fairness.Tradeoff;

/// <summary>Which classifiers the trade-off ranges over.</summary>
public enum ClassifierFamily
{
    /// <summary>
    /// Every classifier: each cell's confusion matrix is free (the paper's AGLFOP). Within a cell the best way to
    /// predict a fraction c positive is to pick the true positives first, so its error is |c − b| for a positive-label
    /// rate b, and without constraints the best accuracy is 1: the surface shows what fairness costs at the limit.
    /// </summary>
    Any,

    /// <summary>
    /// Classifiers derived from an existing model's binary predictions by randomising them per cell (post-processing,
    /// as in Hardt et al. 2016): what a fairness fix of that model can keep. Without constraints the best accuracy is
    /// that of the model with each cell's prediction kept or flipped, whichever is better.
    /// </summary>
    DerivedFromPredictions,

    /// <summary>
    /// Classifiers derived from an existing model's score by a threshold per cell, randomised between two thresholds
    /// (the ROC hull of each cell, Hardt et al. 2016): what a post-processing of the score can keep.
    /// </summary>
    DerivedFromScores,
}

/// <summary>
/// The data side of the accuracy–global–local fairness trade-off (AGLFOP): for every cell (client s, sensitive group z)
/// its share of the rows, its rate of positive labels and, per <see cref="ClassifierFamily"/>, the least error a
/// classifier can make there as a function of how often it predicts positive. Disparities and accuracy depend on a
/// classifier only through its positive rate per cell, so these numbers are all
/// <see cref="AccuracyFairnessTradeoff"/> needs.
/// </summary>
/// <remarks>
/// Cells without rows are dropped; clients and groups may be any number; labels and predictions are binary.
/// </remarks>
public sealed class AccuracyFairnessProblem
{
    /// <summary>
    /// A problem over every classifier (<see cref="ClassifierFamily.Any"/>) from row counts (or weights) per cell.
    /// </summary>
    /// <param name="cellSizes">Rows in each cell, indexed [client, group].</param>
    /// <param name="cellPositives">Rows with a positive label in each cell, indexed [client, group]; at most the cell's size.</param>
    /// <param name="clients">Client names, in index order; default "0", "1", ….</param>
    /// <param name="groups">Sensitive group names, in index order; default "0", "1", ….</param>
    /// <exception cref="ArgumentException">Sizes are negative or not finite, positives exceed sizes, or names do not fit.</exception>
    /// <exception cref="InvalidDataException">No rows, or all rows in a single sensitive group.</exception>
    public AccuracyFairnessProblem(double[,] cellSizes, double[,] cellPositives, IReadOnlyList<string>? clients = null,
        IReadOnlyList<string>? groups = null)
        : this(cellSizes, cellPositives, ClassifierFamily.Any, (_, _, b) => CellErrorCurve.AnyClassifier(b), (_, _) => RocRegion.Any, clients, groups)
    {
    }

    /// <summary>
    /// A problem whose cells' error curves and ROC regions are given: <paramref name="curve"/>(client, group, label
    /// rate), <paramref name="region"/>(client, group).
    /// </summary>
    internal AccuracyFairnessProblem(double[,] cellSizes, double[,] cellPositives, ClassifierFamily family, Func<int, int, double, CellErrorCurve> curve,
        Func<int, int, RocRegion> region, IReadOnlyList<string>? clients, IReadOnlyList<string>? groups)
    {
        ArgumentNullException.ThrowIfNull(cellSizes);
        ArgumentNullException.ThrowIfNull(cellPositives);
        int clientCount = cellSizes.GetLength(0), groupCount = cellSizes.GetLength(1);
        if (cellPositives.GetLength(0) != clientCount || cellPositives.GetLength(1) != groupCount)
            throw new ArgumentException($"cellPositives is {cellPositives.GetLength(0)}×{cellPositives.GetLength(1)} but cellSizes is {clientCount}×{groupCount}.", nameof(cellPositives));
        Clients = Names(clients, clientCount, nameof(clients));
        Groups = Names(groups, groupCount, nameof(groups));
        Family = family;

        double total = 0;
        for (int s = 0; s < clientCount; s++)
            for (int z = 0; z < groupCount; z++)
            {
                double n = cellSizes[s, z], positives = cellPositives[s, z];
                if (!double.IsFinite(n) || n < 0)
                    throw new ArgumentException($"Cell (client '{Clients[s]}', group '{Groups[z]}') has size {n}; sizes must be finite and ≥ 0.", nameof(cellSizes));
                if (!double.IsFinite(positives) || positives < 0 || positives > n * (1 + 1e-12))
                    throw new ArgumentException($"Cell (client '{Clients[s]}', group '{Groups[z]}') has {positives} positives of {n} rows; positives must lie in [0, size].", nameof(cellPositives));
                total += n;
            }
        if (total == 0) throw new InvalidDataException("The trade-off problem has no rows.");

        var cells = new List<TradeoffCell>();
        for (int s = 0; s < clientCount; s++)
            for (int z = 0; z < groupCount; z++)
            {
                double n = cellSizes[s, z], positives = cellPositives[s, z];
                if (!(n > 0)) continue;
                double b = Math.Min(1, positives / n);
                cells.Add(new TradeoffCell(s, z, n / total, b, curve(s, z, b), region(s, z)));
            }
        Cells = cells;
        Rows = total;
        int populatedGroups = cells.Select(c => c.Group).Distinct().Count();
        if (populatedGroups < 2)
            throw new InvalidDataException($"All rows belong to the sensitive group '{Groups[cells[0].Group]}'; a fairness trade-off needs at least two groups with rows.");
    }

    /// <summary>The classifiers the trade-off ranges over.</summary>
    public ClassifierFamily Family { get; }

    /// <summary>Client names, indexed as in the constructor.</summary>
    public IReadOnlyList<string> Clients { get; }

    /// <summary>Sensitive group names, indexed as in the constructor.</summary>
    public IReadOnlyList<string> Groups { get; }

    /// <summary>Total rows (or weight).</summary>
    public double Rows { get; }

    /// <summary>The non-empty cells, ordered by client then group.</summary>
    internal IReadOnlyList<TradeoffCell> Cells { get; }

    /// <summary>The best accuracy of the family without fairness constraints (1 for <see cref="ClassifierFamily.Any"/>).</summary>
    public double UnconstrainedAccuracy => 1 - Cells.Sum(c => c.Share * c.Curve.MinimumError);

    /// <summary>
    /// The problem behind an audit's counts: cells are (client, sensitive value), label rates those of
    /// <paramref name="positiveLabel"/>.
    /// </summary>
    /// <param name="counts">An audit's count table; it must hold labels.</param>
    /// <param name="family">
    /// <see cref="ClassifierFamily.Any"/> (default) for the data's own limits; <see cref="ClassifierFamily.DerivedFromPredictions"/>
    /// for what post-processing the audited model's (binary) predictions can reach.
    /// </param>
    /// <param name="positiveLabel">The positive label value; default: the audit's positive prediction, else the later of two label values.</param>
    /// <exception cref="InvalidDataException">The counts have no labels, the labels are not binary, or (derived family) the predictions are not.</exception>
    public static AccuracyFairnessProblem FromCounts(FairnessCounts counts, ClassifierFamily family = ClassifierFamily.Any, string? positiveLabel = null)
    {
        ArgumentNullException.ThrowIfNull(counts);
        if (family == ClassifierFamily.DerivedFromScores)
            throw new ArgumentException("Count tables hold predictions, not scores: use ClassifierFamily.DerivedFromPredictions here, " +
                                        "or the fairness mitigator (mlContext.Fairness().Mitigate) to post-process a probability.", nameof(family));
        if (!counts.HasLabels)
            throw new InvalidDataException("The count table has no labels; audit with a label column to study the accuracy–fairness trade-off.");
        var labels = counts.Values(k => k.Label);
        positiveLabel ??= counts.PositivePrediction is { } p && labels.Contains(p) ? p : labels.Length == 2 ? labels[1] : null;
        if (labels.Length > 2 || positiveLabel is null || (labels.Length == 2 && !labels.Contains(positiveLabel)))
            throw new InvalidDataException($"The trade-off is defined for binary labels; the label takes the values {string.Join(", ", labels)}" +
                (positiveLabel is null ? "." : $" and '{positiveLabel}' was named positive."));
        var predictions = counts.Values(k => k.Prediction);
        string? positivePrediction = counts.PositivePrediction ?? (predictions.Contains(positiveLabel) ? positiveLabel : null);
        if (family == ClassifierFamily.DerivedFromPredictions && (predictions.Length > 2 || positivePrediction is null))
            throw new InvalidDataException($"Post-processing needs binary predictions with a known positive value; the predictions take the values {string.Join(", ", predictions)}.");

        var clients = counts.Values(k => k.Client);
        var groups = counts.Values(k => k.Sensitive);
        var sizes = new double[clients.Length, groups.Length];
        var positives = new double[clients.Length, groups.Length];
        var truePositives = new double[clients.Length, groups.Length];
        var falsePositives = new double[clients.Length, groups.Length];
        foreach (var ((client, sensitive, prediction, label), count) in counts.Cells)
        {
            int s = Array.IndexOf(clients, client), z = Array.IndexOf(groups, sensitive);
            bool positive = label == positiveLabel, predictedPositive = prediction == positivePrediction;
            sizes[s, z] += count;
            if (positive) positives[s, z] += count;
            if (predictedPositive && positive) truePositives[s, z] += count;
            if (predictedPositive && !positive) falsePositives[s, z] += count;
        }
        return family == ClassifierFamily.Any
            ? new AccuracyFairnessProblem(sizes, positives, clients, groups)
            : new AccuracyFairnessProblem(sizes, positives, family, (s, z, b) => CellErrorCurve.DerivedFrom(b, Fpr(s, z), Tpr(s, z)),
                (s, z) => RocRegion.FromPoints([(Fpr(s, z), Tpr(s, z)), (1 - Fpr(s, z), 1 - Tpr(s, z))]), clients, groups);

        double Fpr(int s, int z) => sizes[s, z] - positives[s, z] > 0 ? falsePositives[s, z] / (sizes[s, z] - positives[s, z]) : 0;
        double Tpr(int s, int z) => positives[s, z] > 0 ? truePositives[s, z] / positives[s, z] : 0;
    }

    private static string[] Names(IReadOnlyList<string>? names, int count, string parameter)
    {
        if (names is null) return Enumerable.Range(0, count).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        if (names.Count != count) throw new ArgumentException($"{names.Count} names given for {count} entries.", parameter);
        return names.ToArray();
    }
}

/// <summary>
/// One non-empty (client, group) cell: indices, share of all rows, rate of positive labels, least error per positive
/// rate, and the (FPR, TPR) pairs its classifiers reach.
/// </summary>
internal sealed record TradeoffCell(int Client, int Group, double Share, double LabelRate, CellErrorCurve Curve, RocRegion Region);
