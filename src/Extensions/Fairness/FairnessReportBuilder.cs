using MLExtensions.Fairness.Information;

namespace MLExtensions.Fairness;

/// <summary>Computes a <see cref="FairnessReport"/> from counts; the same code serves pooled and merged (federated) tables.</summary>
internal static class FairnessReportBuilder
{
    /// <summary>Cells (client × sensitive value) with fewer rows than this get a warning.</summary>
    public const int SmallCell = 10;

    /// <summary>
    /// The decomposition settings of an audit unless given: certified to 1e-7 bits, far below what a report prints
    /// and the sampling noise of any count table. The static API's default (1e-10) can take minutes with a hundred
    /// clients whose optimum lies on the boundary; this takes about a second.
    /// </summary>
    public static PidOptions DefaultDecompositionOptions => new() { Tolerance = 1e-7 };

    /// <summary>Builds the report of <paramref name="counts"/>.</summary>
    /// <param name="counts">The (possibly merged) count table.</param>
    /// <param name="options">Solver settings of the decomposition; default <see cref="DefaultDecompositionOptions"/>.</param>
    /// <param name="bootstrapSamples">Bootstrap resamples for the confidence intervals (0: none). Default: 200.</param>
    /// <param name="seed">Seed of the bootstrap. Default: 0.</param>
    /// <param name="confidenceLevel">Coverage of the intervals. Default: 0.95.</param>
    /// <exception cref="InvalidDataException">No rows, or the sensitive attribute takes a single value.</exception>
    public static FairnessReport Build(FairnessCounts counts, PidOptions? options = null, int bootstrapSamples = 200, int seed = 0,
        double confidenceLevel = 0.95)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bootstrapSamples);
        if (!(confidenceLevel > 0 && confidenceLevel < 1)) throw new ArgumentOutOfRangeException(nameof(confidenceLevel), confidenceLevel, "Must be in (0, 1).");
        ArgumentNullException.ThrowIfNull(counts);
        if (counts.Rows == 0) throw new InvalidDataException("The audit counted no rows.");
        var sensitive = counts.Values(k => k.Sensitive);
        var predictions = counts.Values(k => k.Prediction);
        var clients = counts.Values(k => k.Client);
        if (sensitive.Length < 2)
            throw new InvalidDataException($"The sensitive attribute takes the single value '{sensitive[0]}' in all {counts.Rows} rows; there is no disparity to audit.");
        if (counts.HasLabels)
        {
            var labels = counts.Values(k => k.Label);
            if (!labels.Intersect(predictions).Any())
                throw new InvalidDataException($"The labels ({string.Join(", ", labels)}) and predictions ({string.Join(", ", predictions)}) share no value, " +
                    "so accuracy and opportunity gaps would be meaningless. Give a label column of the prediction's type.");
        }
        var warnings = new List<string>();
        if (clients.Length == 1) warnings.Add($"All rows come from one client ('{clients[0]}'): local disparity equals global disparity.");
        if (predictions.Length == 1) warnings.Add($"Every prediction is '{predictions[0]}': all disparities are zero.");

        var decomposition = PartialInformationDecomposition.Compute(counts.Joint(sensitive, predictions, clients), options ?? DefaultDecompositionOptions);
        if (decomposition.Gap > 1e-6)
            warnings.Add($"The decomposition's certificate is loose: unique disparity may be overstated by up to {decomposition.Gap:E1} bits.");

        string? positive = counts.PositivePrediction ?? (predictions.Length == 2 ? predictions[1] : null);
        bool binary = sensitive.Length == 2 && predictions.Length == 2 && positive is not null && predictions.Contains(positive);
        var cells = counts.Cells;

        ClientFairness ForClient(string client)
        {
            var own = cells.Where(c => c.Key.Client == client).ToArray();
            long rows = own.Sum(c => c.Value);
            var slice = new double[sensitive.Length, predictions.Length];
            foreach (var c in own) slice[Array.IndexOf(sensitive, c.Key.Sensitive), Array.IndexOf(predictions, c.Key.Prediction)] += c.Value;
            foreach (var z in sensitive)
            {
                long n = own.Where(c => c.Key.Sensitive == z).Sum(c => c.Value);
                if (n < SmallCell) warnings.Add($"Client '{client}', sensitive value '{z}': {n} row(s); its figures are unstable.");
            }
            var (parity, accuracy, opportunity, odds) = Rates(own, sensitive, positive, binary, counts.HasLabels, $"client '{client}'", warnings);
            return new ClientFairness(client, rows, InformationMeasures.MutualInformation(slice), parity, accuracy, opportunity, odds);
        }

        var perClient = clients.Select(ForClient).ToArray();
        var (globalParity, globalAccuracy, globalOpportunity, globalOdds) = Rates(cells.ToArray(), sensitive, positive, binary, counts.HasLabels, "all rows", warnings);
        var (intervals, means) = bootstrapSamples == 0
            ? (new Dictionary<string, Interval>(), new Dictionary<string, double>())
            : Bootstrap.Intervals(counts, bootstrapSamples, seed, confidenceLevel, sensitive, predictions, clients, binary ? positive : null,
                options ?? DefaultDecompositionOptions);
        return new FairnessReport(counts, decomposition, sensitive, predictions, globalParity, globalAccuracy, globalOpportunity, globalOdds,
            perClient, warnings, intervals, means);
    }

    private static (double? Parity, double? Accuracy, double? Opportunity, double? Odds) Rates(
        KeyValuePair<(string Client, string Sensitive, string Prediction, string? Label), long>[] cells,
        string[] sensitive, string? positive, bool binary, bool labelled, string where, List<string> warnings)
    {
        double? Ratio(Func<(string Client, string Sensitive, string Prediction, string? Label), bool> numerator,
            Func<(string Client, string Sensitive, string Prediction, string? Label), bool> denominator)
        {
            long d = cells.Where(c => denominator(c.Key)).Sum(c => c.Value);
            return d == 0 ? null : cells.Where(c => denominator(c.Key) && numerator(c.Key)).Sum(c => c.Value) / (double)d;
        }
        double? Difference(double? last, double? first) => last is double a && first is double b ? a - b : null;

        double? parity = null, accuracy = null, opportunity = null, odds = null;
        if (binary)
        {
            double? Rate(string z) => Ratio(k => k.Prediction == positive, k => k.Sensitive == z);
            parity = Difference(Rate(sensitive[1]), Rate(sensitive[0]));
        }
        if (labelled)
        {
            accuracy = Ratio(k => k.Prediction == k.Label, _ => true);
            if (binary)
            {
                double? Tpr(string z) => Ratio(k => k.Prediction == positive, k => k.Sensitive == z && k.Label == positive);
                double? Fpr(string z) => Ratio(k => k.Prediction == positive, k => k.Sensitive == z && k.Label != positive);
                var tpr = Difference(Tpr(sensitive[1]), Tpr(sensitive[0]));
                var fpr = Difference(Fpr(sensitive[1]), Fpr(sensitive[0]));
                opportunity = tpr is double t ? Math.Abs(t) : null;
                odds = tpr is double t2 && fpr is double f ? Math.Max(Math.Abs(t2), Math.Abs(f)) : null;
                if (tpr is null || fpr is null) warnings.Add($"{where}: a group has no positive or no negative labels, so opportunity gaps are undefined there.");
            }
        }
        return (parity, accuracy, opportunity, odds);
    }
}
