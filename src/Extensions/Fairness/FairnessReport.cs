using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using MLExtensions.Fairness.Information;

namespace MLExtensions.Fairness;

/// <summary>One client's figures in a <see cref="FairnessReport"/>.</summary>
/// <param name="Client">The client (group) value.</param>
/// <param name="Rows">Rows of the client.</param>
/// <param name="LocalDisparity">I(Z;Ŷ | S = client), in bits.</param>
/// <param name="StatisticalParityDifference">P(Ŷ = positive | Z = last, client) − P(Ŷ = positive | Z = first, client), for binary Z and Ŷ; else null.</param>
/// <param name="Accuracy">Share of correct predictions (with labels).</param>
/// <param name="EqualOpportunityGap">|TPR(last Z) − TPR(first Z)| (with labels, binary Z and Ŷ).</param>
/// <param name="EqualizedOddsGap">max(|ΔTPR|, |ΔFPR|) (with labels, binary Z and Ŷ).</param>
public sealed record ClientFairness(string Client, long Rows, double LocalDisparity, double? StatisticalParityDifference,
    double? Accuracy, double? EqualOpportunityGap, double? EqualizedOddsGap);

/// <summary>
/// What a fairness audit found: global disparity I(Z;Ŷ), local disparity I(Z;Ŷ|S) and their partial information
/// decomposition (bits), parity and (with labels) accuracy, opportunity figures and the equalized-odds and
/// equal-opportunity disparities I(Z;Ŷ|Y), I(Z;Ŷ|Y,S), I(Z;Ŷ|Y=1) and I(Z;Ŷ|S,Y=1), globally and per client, with the
/// counts behind them.
/// </summary>
public sealed class FairnessReport
{
    internal FairnessReport(FairnessCounts counts, PidResult decomposition, string[] sensitiveValues, string[] predictionValues, string? positivePrediction,
        double? statisticalParityDifference, double? accuracy, double? equalOpportunityGap, double? equalizedOddsGap, LabelDisparities? labelled,
        IReadOnlyList<ClientFairness> clients, IReadOnlyList<string> warnings, IReadOnlyDictionary<string, Interval> confidenceIntervals,
        IReadOnlyDictionary<string, double> bootstrapMeans)
    {
        PositivePrediction = positivePrediction;
        _positiveLabel = labelled?.PositiveLabel;
        EqualizedOddsGlobalDisparity = labelled?.EqualizedOddsGlobal;
        EqualizedOddsLocalDisparity = labelled?.EqualizedOddsLocal;
        EqualOpportunityGlobalDisparity = labelled?.EqualOpportunityGlobal;
        EqualOpportunityLocalDisparity = labelled?.EqualOpportunityLocal;
        ConfidenceIntervals = confidenceIntervals;
        _bootstrapMeans = bootstrapMeans;
        Counts = FairnessCounts.Merge(counts); // a copy: later additions to the caller's table must not change the report
        Decomposition = decomposition;
        SensitiveValues = sensitiveValues;
        PredictionValues = predictionValues;
        StatisticalParityDifference = statisticalParityDifference;
        Accuracy = accuracy;
        EqualOpportunityGap = equalOpportunityGap;
        EqualizedOddsGap = equalizedOddsGap;
        Clients = clients;
        Warnings = warnings;
    }

    /// <summary>The counts the report was computed from (merge them across parties with <see cref="FairnessCounts.Merge"/>).</summary>
    public FairnessCounts Counts { get; }

    /// <summary>The full decomposition, with its certificate (<see cref="PidResult.Gap"/>).</summary>
    public PidResult Decomposition { get; }

    /// <summary>Rows audited.</summary>
    public long Rows => Counts.Rows;

    /// <summary>
    /// The sensitive columns audited (their intersection is Z), as the counts state them; null when the counts do not
    /// (a table built with <see cref="FairnessCounts.Add"/> or read from a group-by without them).
    /// </summary>
    public IReadOnlyList<string>? SensitiveColumnNames => Counts.SensitiveColumnNames;

    /// <summary>
    /// The sensitive attribute's values, in the order used for differences (last minus first). With several sensitive
    /// columns, their intersections: values joined with <c>" &amp; "</c> (<c>"Female &amp; Black"</c>).
    /// </summary>
    public IReadOnlyList<string> SensitiveValues { get; }

    /// <summary>The prediction values.</summary>
    public IReadOnlyList<string> PredictionValues { get; }

    /// <summary>
    /// The prediction value counted as positive (for parity and opportunity figures): the one the counts state, else
    /// the later of two predictions in ordinal order; null with more than two predictions and none stated.
    /// </summary>
    public string? PositivePrediction { get; }

    /// <summary>I(Z;Ŷ), bits.</summary>
    public double GlobalDisparity => Decomposition.GlobalDisparity;

    /// <summary>I(Z;Ŷ|S), bits.</summary>
    public double LocalDisparity => Decomposition.LocalDisparity;

    /// <summary>
    /// I(Z;Ŷ) with the Miller–Madow bias correction, bits: the plug-in estimate is biased upward on small cells by
    /// about (m_ZŶ − m_Z − m_Ŷ + 1)/(2N ln 2), m counting the non-empty cells of each margin. Not clipped at 0, so
    /// it stays nearly unbiased when the true value is near 0.
    /// </summary>
    public double GlobalDisparityBiasCorrected => GlobalDisparity - MillerMadow(k => (k.Sensitive, k.Prediction, ""), k => (k.Sensitive, "", ""), k => ("", k.Prediction, ""), k => ("", "", ""));

    /// <summary>I(Z;Ŷ|S) with the Miller–Madow bias correction (m_ZŶS − m_ZS − m_ŶS + m_S)/(2N ln 2) removed, bits; not clipped at 0.</summary>
    public double LocalDisparityBiasCorrected => LocalDisparity - MillerMadow(k => (k.Sensitive, k.Prediction, k.Client), k => (k.Sensitive, "", k.Client),
        k => ("", k.Prediction, k.Client), k => ("", "", k.Client));

    /// <summary>The Miller–Madow correction of I = H(A) + H(B) − H(AB) − H(C) written as non-empty cell counts of the four margins.</summary>
    private double MillerMadow(params Func<(string Client, string Sensitive, string Prediction, string? Label), (string, string, string)>[] margins)
    {
        int Count(Func<(string Client, string Sensitive, string Prediction, string? Label), (string, string, string)> margin) =>
            Counts.Cells.Where(c => c.Value > 0).Select(c => margin(c.Key)).Distinct().Count();
        double joint = Count(margins[0]), first = Count(margins[1]), second = Count(margins[2]), condition = Count(margins[3]);
        return (joint - first - second + condition) / (2.0 * Rows * Math.Log(2));
    }

    /// <summary>
    /// The Miller–Madow correction of I(Z;Ŷ|C) on the rows <paramref name="rows"/> selects: (m_ZŶC − m_ZC − m_ŶC + m_C)/(2N ln 2),
    /// m counting the non-empty cells of each margin and N the selected rows.
    /// </summary>
    private double ConditionalMillerMadow(Func<(string Client, string Sensitive, string Prediction, string? Label), bool> rows,
        Func<(string Client, string Sensitive, string Prediction, string? Label), (string?, string?)> condition)
    {
        var cells = Counts.Cells.Where(c => c.Value > 0 && rows(c.Key)).Select(c => c.Key).ToArray();
        long n = Counts.Cells.Where(c => rows(c.Key)).Sum(c => c.Value);
        double joint = cells.Select(k => (k.Sensitive, k.Prediction, condition(k))).Distinct().Count();
        double first = cells.Select(k => (k.Sensitive, condition(k))).Distinct().Count();
        double second = cells.Select(k => (k.Prediction, condition(k))).Distinct().Count();
        double conditions = cells.Select(condition).Distinct().Count();
        return (joint - first - second + conditions) / (2.0 * n * Math.Log(2));
    }

    private readonly string? _positiveLabel;

    /// <summary>
    /// Equalized-odds global disparity I(Z;Ŷ|Y), bits: how much the prediction says about the sensitive attribute
    /// among rows of the same label (0 exactly when Ŷ and Z are independent given Y, i.e. equal true- and
    /// false-positive rates, for any number of values). Null without labels.
    /// </summary>
    public double? EqualizedOddsGlobalDisparity { get; }

    /// <summary>Equalized-odds local disparity I(Z;Ŷ|Y,S), bits: the same within clients. Null without labels.</summary>
    public double? EqualizedOddsLocalDisparity { get; }

    /// <summary>
    /// Equal-opportunity global disparity I(Z;Ŷ|Y=positive), bits: the mutual information of Z and Ŷ on the rows whose
    /// label is the positive value (<see cref="PositivePrediction"/>), 0 exactly when the true-positive rates are
    /// equal. Null without labels, without a positive value, or when no row has the positive label.
    /// </summary>
    public double? EqualOpportunityGlobalDisparity { get; }

    /// <summary>Equal-opportunity local disparity I(Z;Ŷ|S,Y=positive), bits: the same within clients. Null when <see cref="EqualOpportunityGlobalDisparity"/> is.</summary>
    public double? EqualOpportunityLocalDisparity { get; }

    /// <summary>
    /// <see cref="EqualizedOddsGlobalDisparity"/> with the Miller–Madow correction (m_ZŶY − m_ZY − m_ŶY + m_Y)/(2N ln 2)
    /// removed, bits; not clipped at 0. Null without labels.
    /// </summary>
    public double? EqualizedOddsGlobalDisparityBiasCorrected =>
        EqualizedOddsGlobalDisparity - (Counts.HasLabels ? ConditionalMillerMadow(_ => true, k => (k.Label, null)) : (double?)null);

    /// <summary><see cref="EqualizedOddsLocalDisparity"/> with the Miller–Madow correction removed (the condition is (Y, S)), bits; not clipped at 0. Null without labels.</summary>
    public double? EqualizedOddsLocalDisparityBiasCorrected =>
        EqualizedOddsLocalDisparity - (Counts.HasLabels ? ConditionalMillerMadow(_ => true, k => (k.Label, k.Client)) : (double?)null);

    /// <summary>
    /// <see cref="EqualOpportunityGlobalDisparity"/> with the Miller–Madow correction (m_ZŶ − m_Z − m_Ŷ + 1)/(2N₁ ln 2)
    /// removed, the margins and N₁ counted on the rows with the positive label, bits; not clipped at 0. Null when the disparity is.
    /// </summary>
    public double? EqualOpportunityGlobalDisparityBiasCorrected => _positiveLabel is { } positive
        ? EqualOpportunityGlobalDisparity - ConditionalMillerMadow(k => k.Label == positive, _ => (null, null)) : (double?)null;

    /// <summary><see cref="EqualOpportunityLocalDisparity"/> with the Miller–Madow correction removed (condition S, on the positive-label rows), bits; not clipped at 0. Null when the disparity is.</summary>
    public double? EqualOpportunityLocalDisparityBiasCorrected => _positiveLabel is { } positive
        ? EqualOpportunityLocalDisparity - ConditionalMillerMadow(k => k.Label == positive, k => (k.Client, null)) : (double?)null;

    /// <summary>Uni(Z:Ŷ∖S): disparity present both globally and within clients, bits.</summary>
    public double UniqueDisparity => Decomposition.Unique;

    /// <summary>Red(Z:Ŷ,S): global disparity that comes from clients' different make-up, bits.</summary>
    public double RedundantDisparity => Decomposition.Redundant;

    /// <summary>Syn(Z:Ŷ,S): disparity within clients that cancels out globally, bits.</summary>
    public double MaskedDisparity => Decomposition.Synergistic;

    /// <summary>Global statistical parity difference (binary Z and Ŷ), else null.</summary>
    public double? StatisticalParityDifference { get; }

    /// <summary>Accuracy over all rows (with labels), else null.</summary>
    public double? Accuracy { get; }

    /// <summary>Global equal-opportunity gap (with labels, binary Z and Ŷ), else null.</summary>
    public double? EqualOpportunityGap { get; }

    /// <summary>Global equalized-odds gap (with labels, binary Z and Ŷ), else null.</summary>
    public double? EqualizedOddsGap { get; }

    /// <summary>Per-client figures.</summary>
    public IReadOnlyList<ClientFairness> Clients { get; }

    /// <summary>
    /// Seeded bootstrap intervals of <c>GlobalDisparity</c>, <c>LocalDisparity</c>, (binary Z and Ŷ)
    /// <c>StatisticalParityDifference</c>, (with labels) <c>EqualizedOddsGlobalDisparity</c>,
    /// <c>EqualizedOddsLocalDisparity</c> and, where defined, <c>EqualOpportunityGlobalDisparity</c> and
    /// <c>EqualOpportunityLocalDisparity</c>, and, for up to 20 clients (each replicate solves the decomposition),
    /// <c>UniqueDisparity</c>, <c>RedundantDisparity</c> and <c>MaskedDisparity</c>, by those names.
    /// </summary>
    public IReadOnlyDictionary<string, Interval> ConfidenceIntervals { get; }

    private readonly IReadOnlyDictionary<string, double> _bootstrapMeans;

    /// <summary>
    /// Bootstrap bias-corrected estimates, by the names of <see cref="ConfidenceIntervals"/>: 2·estimate − mean of
    /// the replicates, which removes the plug-in's first-order bias (for the decomposition terms, where no closed-form
    /// correction exists). Empty without bootstrap.
    /// </summary>
    public IReadOnlyDictionary<string, double> BootstrapBiasCorrected => _bootstrapMeans.ToDictionary(m => m.Key, m => 2 * Estimate(m.Key) - m.Value);

    private double Estimate(string name) => name switch
    {
        nameof(GlobalDisparity) => GlobalDisparity,
        nameof(LocalDisparity) => LocalDisparity,
        nameof(UniqueDisparity) => UniqueDisparity,
        nameof(RedundantDisparity) => RedundantDisparity,
        nameof(MaskedDisparity) => MaskedDisparity,
        nameof(StatisticalParityDifference) => StatisticalParityDifference ?? double.NaN,
        nameof(EqualizedOddsGlobalDisparity) => EqualizedOddsGlobalDisparity ?? double.NaN,
        nameof(EqualizedOddsLocalDisparity) => EqualizedOddsLocalDisparity ?? double.NaN,
        nameof(EqualOpportunityGlobalDisparity) => EqualOpportunityGlobalDisparity ?? double.NaN,
        nameof(EqualOpportunityLocalDisparity) => EqualOpportunityLocalDisparity ?? double.NaN,
        _ => double.NaN,
    };

    /// <summary>Cautions, e.g. cells with too few rows for stable estimates.</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>The report as JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(new
    {
        rows = Rows,
        globalDisparity = GlobalDisparity,
        localDisparity = LocalDisparity,
        globalDisparityBiasCorrected = GlobalDisparityBiasCorrected,
        bootstrapBiasCorrected = BootstrapBiasCorrected.OrderBy(i => i.Key, StringComparer.Ordinal).ToDictionary(i => i.Key, i => i.Value),
        localDisparityBiasCorrected = LocalDisparityBiasCorrected,
        uniqueDisparity = UniqueDisparity,
        redundantDisparity = RedundantDisparity,
        maskedDisparity = MaskedDisparity,
        certificateGap = Decomposition.Gap,
        equalizedOddsGlobalDisparity = EqualizedOddsGlobalDisparity,
        equalizedOddsLocalDisparity = EqualizedOddsLocalDisparity,
        equalOpportunityGlobalDisparity = EqualOpportunityGlobalDisparity,
        equalOpportunityLocalDisparity = EqualOpportunityLocalDisparity,
        equalizedOddsGlobalDisparityBiasCorrected = EqualizedOddsGlobalDisparityBiasCorrected,
        equalizedOddsLocalDisparityBiasCorrected = EqualizedOddsLocalDisparityBiasCorrected,
        equalOpportunityGlobalDisparityBiasCorrected = EqualOpportunityGlobalDisparityBiasCorrected,
        equalOpportunityLocalDisparityBiasCorrected = EqualOpportunityLocalDisparityBiasCorrected,
        statisticalParityDifference = StatisticalParityDifference,
        accuracy = Accuracy,
        equalOpportunityGap = EqualOpportunityGap,
        equalizedOddsGap = EqualizedOddsGap,
        sensitiveColumnNames = SensitiveColumnNames,
        sensitiveValues = SensitiveValues,
        predictionValues = PredictionValues,
        positivePrediction = PositivePrediction,
        clients = Clients,
        confidenceIntervals = ConfidenceIntervals.OrderBy(i => i.Key, StringComparer.Ordinal).ToDictionary(i => i.Key, i => new { lower = i.Value.Lower, upper = i.Value.Upper }),
        warnings = Warnings,
        counts = Counts.Cells.OrderBy(c => c.Key.Client, StringComparer.Ordinal).ThenBy(c => c.Key.Sensitive, StringComparer.Ordinal)
            .ThenBy(c => c.Key.Prediction, StringComparer.Ordinal).ThenBy(c => c.Key.Label, StringComparer.Ordinal).Select(c => new { client = c.Key.Client, sensitive = c.Key.Sensitive, prediction = c.Key.Prediction, label = c.Key.Label, count = c.Value }),
    }, new JsonSerializerOptions { WriteIndented = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals });

    /// <summary>The report as a Markdown document.</summary>
    public string ToMarkdown()
    {
        static string F(double? v) => v is double d ? d.ToString("0.0000", CultureInfo.InvariantCulture) : "–";
        string Ci(string name) => ConfidenceIntervals.TryGetValue(name, out var i) ? $" [{F(i.Lower)}, {F(i.Upper)}]" : "";
        var md = new StringBuilder();
        md.AppendLine("# Fairness audit").AppendLine();
        string columns = SensitiveColumnNames is { } names ? $"sensitive {(names.Count == 1 ? "column" : "columns")} {string.Join(" & ", names)}, " : "";
        string positive = PositivePrediction is { } p ? $"; positive prediction {p}" : "";
        md.AppendLine($"{Rows} rows; {columns}sensitive values {string.Join(", ", SensitiveValues)}; {Clients.Count} clients{positive}.").AppendLine();
        md.AppendLine("| measure | bits |").AppendLine("|---|---|");
        md.AppendLine($"| global disparity I(Z;Ŷ) | {F(GlobalDisparity)}{Ci("GlobalDisparity")} |");
        md.AppendLine($"| local disparity I(Z;Ŷ\\|S) | {F(LocalDisparity)}{Ci("LocalDisparity")} |");
        md.AppendLine($"| global / local disparity, Miller–Madow bias-corrected | {F(GlobalDisparityBiasCorrected)} / {F(LocalDisparityBiasCorrected)} |");
        md.AppendLine($"| unique disparity | {F(UniqueDisparity)}{Ci("UniqueDisparity")} |");
        md.AppendLine($"| redundant disparity | {F(RedundantDisparity)}{Ci("RedundantDisparity")} |");
        md.AppendLine($"| masked disparity | {F(MaskedDisparity)}{Ci("MaskedDisparity")} |");
        if (BootstrapBiasCorrected.Count > 0)
            md.AppendLine($"| bootstrap bias-corrected unique / redundant / masked | {F(BootstrapBiasCorrected.GetValueOrDefault("UniqueDisparity", double.NaN))} / " +
                          $"{F(BootstrapBiasCorrected.GetValueOrDefault("RedundantDisparity", double.NaN))} / {F(BootstrapBiasCorrected.GetValueOrDefault("MaskedDisparity", double.NaN))} |");
        if (EqualizedOddsGlobalDisparity is not null)
        {
            md.AppendLine($"| equalized-odds global disparity I(Z;Ŷ\\|Y) | {F(EqualizedOddsGlobalDisparity)}{Ci("EqualizedOddsGlobalDisparity")} |");
            md.AppendLine($"| equalized-odds local disparity I(Z;Ŷ\\|Y,S) | {F(EqualizedOddsLocalDisparity)}{Ci("EqualizedOddsLocalDisparity")} |");
            md.AppendLine($"| equal-opportunity global disparity I(Z;Ŷ\\|Y={_positiveLabel ?? "positive"}) | {F(EqualOpportunityGlobalDisparity)}{Ci("EqualOpportunityGlobalDisparity")} |");
            md.AppendLine($"| equal-opportunity local disparity I(Z;Ŷ\\|S,Y={_positiveLabel ?? "positive"}) | {F(EqualOpportunityLocalDisparity)}{Ci("EqualOpportunityLocalDisparity")} |");
            md.AppendLine($"| equalized-odds global / local, equal-opportunity global / local, Miller–Madow bias-corrected | {F(EqualizedOddsGlobalDisparityBiasCorrected)} / " +
                          $"{F(EqualizedOddsLocalDisparityBiasCorrected)} / {F(EqualOpportunityGlobalDisparityBiasCorrected)} / {F(EqualOpportunityLocalDisparityBiasCorrected)} |");
        }
        md.AppendLine($"| solver certificate (gap) | {Decomposition.Gap.ToString("E1", CultureInfo.InvariantCulture)} |").AppendLine();
        md.AppendLine($"Statistical parity difference {F(StatisticalParityDifference)}; accuracy {F(Accuracy)}; equal-opportunity gap {F(EqualOpportunityGap)}; equalized-odds gap {F(EqualizedOddsGap)}.").AppendLine();
        md.AppendLine("| client | rows | local disparity | parity difference | accuracy | opportunity gap | odds gap |").AppendLine("|---|---|---|---|---|---|---|");
        foreach (var c in Clients)
            md.AppendLine($"| {c.Client} | {c.Rows} | {F(c.LocalDisparity)} | {F(c.StatisticalParityDifference)} | {F(c.Accuracy)} | {F(c.EqualOpportunityGap)} | {F(c.EqualizedOddsGap)} |");
        if (Warnings.Count > 0)
        {
            md.AppendLine().AppendLine("Warnings:").AppendLine();
            foreach (var w in Warnings) md.AppendLine($"- {w}");
        }
        return md.ToString();
    }
}
