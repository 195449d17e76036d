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
        if (counts.PositivePrediction is { } stated && predictions.Length == 2 && !predictions.Contains(stated))
            warnings.Add($"The positive prediction '{stated}' is neither of the predictions ({string.Join(", ", predictions)}): parity and opportunity figures are left out. " +
                         "Was it misspelt?");
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

        var labelled = counts.HasLabels ? LabelDisparities.Of(counts, sensitive, predictions, clients, positive, warnings) : null;
        var perClient = clients.Select(ForClient).ToArray();
        var (globalParity, globalAccuracy, globalOpportunity, globalOdds) = Rates(cells.ToArray(), sensitive, positive, binary, counts.HasLabels, "all rows", warnings);
        var (intervals, means) = bootstrapSamples == 0
            ? (new Dictionary<string, Interval>(), new Dictionary<string, double>())
            : Bootstrap.Intervals(counts, bootstrapSamples, seed, confidenceLevel, sensitive, predictions, clients, binary ? positive : null,
                options ?? DefaultDecompositionOptions, labelled?.Labels, labelled?.PositiveLabel);
        return new FairnessReport(counts, decomposition, sensitive, predictions, positive, globalParity, globalAccuracy, globalOpportunity, globalOdds,
            labelled, perClient, warnings, intervals, means);
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

/// <summary>
/// The label-conditional disparities of a labelled table, bits: equalized odds I(Z;Ŷ|Y) and I(Z;Ŷ|Y,S), and equal
/// opportunity, the same on the rows whose label is the positive value, I(Z;Ŷ|Y=1) and I(Z;Ŷ|S,Y=1).
/// </summary>
/// <param name="Labels">The label values, in the order of the joint tables' label axis.</param>
/// <param name="PositiveLabel">The label value of equal opportunity; null when there is none (no positive prediction, or no row has it as its label).</param>
/// <param name="EqualizedOddsGlobal">I(Z;Ŷ|Y).</param>
/// <param name="EqualizedOddsLocal">I(Z;Ŷ|Y,S).</param>
/// <param name="EqualOpportunityGlobal">I(Z;Ŷ|Y=positive); null without a positive label.</param>
/// <param name="EqualOpportunityLocal">I(Z;Ŷ|S,Y=positive); null without a positive label.</param>
internal sealed record LabelDisparities(string[] Labels, string? PositiveLabel, double EqualizedOddsGlobal, double EqualizedOddsLocal,
    double? EqualOpportunityGlobal, double? EqualOpportunityLocal)
{
    /// <summary>The disparities of <paramref name="counts"/> (which must hold labels), on the given value orders.</summary>
    public static LabelDisparities Of(FairnessCounts counts, string[] sensitive, string[] predictions, string[] clients, string? positive, List<string> warnings)
    {
        var labels = counts.Values(k => k.Label);
        var joint = Joint(counts.Cells.Select(c => (c.Key, (double)c.Value)), sensitive, predictions, labels, clients);
        string? positiveLabel = positive is not null && labels.Contains(positive) ? positive : null;
        if (positive is null) warnings.Add("No positive prediction is known (more than two predictions, none stated): the equal-opportunity disparities are undefined.");
        else if (positiveLabel is null) warnings.Add($"No row has the positive label '{positive}': the equal-opportunity disparities are undefined.");
        var (eoGlobal, eoLocal, eoppGlobal, eoppLocal) = Measures(joint, labels.Length, clients.Length, positiveLabel is null ? -1 : Array.IndexOf(labels, positiveLabel));
        return new LabelDisparities(labels, positiveLabel, eoGlobal, eoLocal, eoppGlobal, eoppLocal);
    }

    /// <summary>The joint p(z, ŷ, (y, s)) as counts, the condition axis indexed y · clients + s.</summary>
    internal static double[,,] Joint(IEnumerable<((string Client, string Sensitive, string Prediction, string? Label) Key, double Count)> cells,
        string[] sensitive, string[] predictions, string[] labels, string[] clients)
    {
        var joint = new double[sensitive.Length, predictions.Length, labels.Length * clients.Length];
        foreach (var (key, count) in cells)
            joint[Array.IndexOf(sensitive, key.Sensitive), Array.IndexOf(predictions, key.Prediction),
                Array.IndexOf(labels, key.Label) * clients.Length + Array.IndexOf(clients, key.Client)] += count;
        return joint;
    }

    /// <summary>
    /// The four disparities of a joint p(z, ŷ, (y, s)) (see <see cref="Joint"/>); the equal-opportunity ones null when
    /// <paramref name="positive"/> (the label's index) is −1 or its rows are empty.
    /// </summary>
    internal static (double EoGlobal, double EoLocal, double? EoppGlobal, double? EoppLocal) Measures(double[,,] joint, int labels, int clients, int positive)
    {
        int nz = joint.GetLength(0), ny = joint.GetLength(1);
        var byLabel = new double[nz, ny, labels];
        var positives = new double[nz, ny, clients];
        double positiveRows = 0;
        for (int z = 0; z < nz; z++)
            for (int y = 0; y < ny; y++)
                for (int l = 0; l < labels; l++)
                    for (int s = 0; s < clients; s++)
                    {
                        double v = joint[z, y, l * clients + s];
                        byLabel[z, y, l] += v;
                        if (l != positive) continue;
                        positives[z, y, s] += v;
                        positiveRows += v;
                    }
        double eoGlobal = InformationMeasures.ConditionalMutualInformation(byLabel);
        double eoLocal = InformationMeasures.ConditionalMutualInformation(joint);
        if (!(positiveRows > 0)) return (eoGlobal, eoLocal, null, null);
        return (eoGlobal, eoLocal, InformationMeasures.MutualInformation(InformationMeasures.Marginal01(positives)),
            InformationMeasures.ConditionalMutualInformation(positives));
    }
}
