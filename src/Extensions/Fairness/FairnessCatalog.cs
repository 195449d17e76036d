using Microsoft.ML;
using MLExtensions.Fairness.Information;

namespace MLExtensions.Fairness;

/// <summary>
/// Fairness auditing: global and local disparity and their decomposition (issue: fairness auditor). Reached through <c>mlContext.Fairness()</c>.
/// </summary>
public sealed class FairnessCatalog
{
    internal FairnessCatalog(MLContext mlContext) => Context = mlContext;

    /// <summary>The ML.NET context the catalog's components are created in.</summary>
    internal MLContext Context { get; }

    /// <summary>
    /// An audit of <paramref name="predictedColumnName"/> for disparity with respect to
    /// <paramref name="sensitiveColumnName"/>, globally and within the groups of <paramref name="clientColumnName"/>.
    /// See <see cref="FairnessAuditEstimator"/> for the columns.
    /// </summary>
    /// <param name="sensitiveColumnName">The sensitive attribute Z.</param>
    /// <param name="predictedColumnName">The prediction Ŷ.</param>
    /// <param name="clientColumnName">The client (or any grouping) S.</param>
    /// <param name="labelColumnName">The true label, for accuracy, opportunity gaps and the equalized-odds and equal-opportunity disparities; optional.</param>
    /// <param name="threshold">For a score prediction: predicted positive when score ≥ threshold.</param>
    /// <param name="options">Solver settings of the decomposition; default: certified to 1e-7 bits (<c>Tolerance = 1e-7</c>).</param>
    /// <param name="bootstrapSamples">Resamples for the confidence intervals (0: none).</param>
    /// <param name="seed">Seed of the bootstrap; null draws one from the <c>MLContext</c>.</param>
    /// <param name="positivePrediction">
    /// For a text, key or numeric prediction with two values: the one that counts as positive (for parity and
    /// opportunity gaps). Default: the later of the two in ordinal order. Boolean and score predictions: True.
    /// </param>
    public FairnessAuditEstimator Audit(string sensitiveColumnName, string predictedColumnName, string clientColumnName,
        string? labelColumnName = null, float? threshold = null, PidOptions? options = null, int bootstrapSamples = 200, int? seed = null,
        string? positivePrediction = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sensitiveColumnName);
        return new([sensitiveColumnName], predictedColumnName, clientColumnName, labelColumnName, threshold, options, bootstrapSamples,
            seed ?? NewSeed("FairnessAudit"), positivePrediction);
    }

    /// <summary>
    /// An audit of <paramref name="predictedColumnName"/> for disparity with respect to the intersection of
    /// <paramref name="sensitiveColumnNames"/>, globally and within the groups of <paramref name="clientColumnName"/>:
    /// a row's group is its sensitive values joined with <c>" &amp; "</c> in the order given (<c>"Female &amp; Black"</c>),
    /// as in the metric frame. See <see cref="FairnessAuditEstimator"/> for the columns.
    /// </summary>
    /// <param name="sensitiveColumnNames">The sensitive columns whose intersection is the attribute Z; at least one, each once.</param>
    /// <param name="predictedColumnName">The prediction Ŷ.</param>
    /// <param name="clientColumnName">The client (or any grouping) S.</param>
    /// <param name="labelColumnName">The true label, for accuracy, opportunity gaps and the equalized-odds and equal-opportunity disparities; optional.</param>
    /// <param name="threshold">For a score prediction: predicted positive when score ≥ threshold.</param>
    /// <param name="options">Solver settings of the decomposition; default: certified to 1e-7 bits (<c>Tolerance = 1e-7</c>).</param>
    /// <param name="bootstrapSamples">Resamples for the confidence intervals (0: none).</param>
    /// <param name="seed">Seed of the bootstrap; null draws one from the <c>MLContext</c>.</param>
    /// <param name="positivePrediction">
    /// For a text, key or numeric prediction with two values: the one that counts as positive (for parity and
    /// opportunity figures). Default: the later of the two in ordinal order. Boolean and score predictions: True.
    /// </param>
    /// <exception cref="ArgumentException">No sensitive column is named, or one is blank or named twice.</exception>
    public FairnessAuditEstimator Audit(string[] sensitiveColumnNames, string predictedColumnName, string clientColumnName,
        string? labelColumnName = null, float? threshold = null, PidOptions? options = null, int bootstrapSamples = 200, int? seed = null,
        string? positivePrediction = null)
        => new(sensitiveColumnNames, predictedColumnName, clientColumnName, labelColumnName, threshold, options, bootstrapSamples,
            seed ?? NewSeed("FairnessAudit"), positivePrediction);

    /// <summary>
    /// The audit report of a count table: the federated road. Each party counts its own rows
    /// (<see cref="FairnessAuditEstimator.Count"/>, or a SQL group-by read with <see cref="FairnessCounts.FromCsv"/>), the
    /// tables merge with <see cref="FairnessCounts.Merge"/>, and the merged table gives the same report as the pooled rows.
    /// </summary>
    /// <param name="counts">The (possibly merged) count table.</param>
    /// <param name="options">Solver settings of the decomposition; default: certified to 1e-7 bits (<c>Tolerance = 1e-7</c>).</param>
    /// <param name="bootstrapSamples">Resamples for the confidence intervals (0: none).</param>
    /// <param name="seed">Seed of the bootstrap; null draws one from the <c>MLContext</c>.</param>
    /// <param name="confidenceLevel">Coverage of the intervals.</param>
    /// <exception cref="System.IO.InvalidDataException">No rows, or the sensitive attribute takes a single value.</exception>
    public FairnessReport Report(FairnessCounts counts, PidOptions? options = null, int bootstrapSamples = 200, int? seed = null, double confidenceLevel = 0.95)
        => FairnessReportBuilder.Build(counts, options, bootstrapSamples, seed ?? NewSeed("FairnessReport"), confidenceLevel);

    private int NewSeed(string component) => MLExtensions.Training.Seeds.Resolve(Context, null, component);

    /// <summary>
    /// A post-processing mitigator: the most accurate rule derived from a model's probability (or prediction) within
    /// global and local disparity budgets, applied per (client, group) cell. See <see cref="FairnessMitigator"/> for the columns;
    /// <see cref="FairnessMitigator.Options.SensitiveColumnNames"/> names several sensitive columns, whose intersection is the group.
    /// </summary>
    /// <param name="options">Columns, budgets and randomisation.</param>
    public FairnessMitigator Mitigate(FairnessMitigator.Options options) => new(Context, options);

    /// <summary>
    /// Binary metrics (accuracy, precision, recall, FPR, FNR, selection rate, AUC with a score) and user metrics
    /// (<see cref="MetricFrameOptions.Metrics"/>) by sensitive group, their intersections, client and client × group,
    /// with group minimum and maximum, differences and ratios between groups and to overall (per control stratum with
    /// control features) and bootstrap intervals. See <see cref="MetricFrame"/> for the columns.
    /// </summary>
    /// <param name="data">Scored rows.</param>
    /// <param name="options">Columns, control features, weights, user metrics and bootstrap.</param>
    /// <exception cref="ArgumentException">Bad options or columns, naming the option or column.</exception>
    /// <exception cref="System.IO.InvalidDataException">Bad values, naming the column and row; a single group.</exception>
    /// <exception cref="InvalidOperationException">A user metric that throws or returns ±∞, naming the metric and slice.</exception>
    public MetricFrame MetricFrame(IDataView data, MetricFrameOptions options) =>
        MetricFrameBuilder.Build(data, options, MLExtensions.Training.Seeds.Resolve(Context, options?.Seed, nameof(MetricFrame)));
}

/// <summary>Hangs <see cref="FairnessCatalog"/> off <see cref="MLContext"/>.</summary>
public static class FairnessCatalogExtensions
{
    /// <summary>The fairness catalog: <c>mlContext.Fairness()</c>.</summary>
    public static FairnessCatalog Fairness(this MLContext mlContext)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        return new FairnessCatalog(mlContext);
    }
}
