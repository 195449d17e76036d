using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace MLExtensions.Fairness;

/// <summary>Options of a metric frame (<c>mlContext.Fairness().MetricFrame</c>).</summary>
public sealed class MetricFrameOptions
{
    /// <summary>The <see cref="bool"/> label. Default: "Label".</summary>
    public string LabelColumnName { get; set; } = MLExtensions.Training.DefaultColumnNames.Label;

    /// <summary>The <see cref="bool"/> prediction. Default: "PredictedLabel".</summary>
    public string PredictedLabelColumnName { get; set; } = "PredictedLabel";

    /// <summary>A <see cref="float"/> score for AUC (e.g. "Probability" or "Score"); null for none. Default: null.</summary>
    public string? ScoreColumnName { get; set; }

    /// <summary>
    /// The sensitive columns (text, Boolean, key or number); with several, groups are their intersections, named by
    /// their values joined with " &amp; " ("Female &amp; Black"; values that themselves hold " &amp; " can make names
    /// collide). Default: ["Sensitive"].
    /// </summary>
    public string[] SensitiveColumnNames { get; set; } = ["Sensitive"];

    /// <summary>The client column for per-client breakdowns; null for none. Default: null.</summary>
    public string? ClientColumnName { get; set; }

    /// <summary>
    /// Control features: groups are compared within each of their strata, and a disparity is the largest within a
    /// stratum (Fairlearn's <c>control_features</c>). Default: none.
    /// </summary>
    public string[] ControlColumnNames { get; set; } = [];

    /// <summary>A <see cref="float"/> example weight column (≥ 0); null for none. Default: null.</summary>
    public string? ExampleWeightColumnName { get; set; }

    /// <summary>Poisson-bootstrap resamples for the intervals (0: none). Default: 200.</summary>
    public int BootstrapSamples { get; set; } = 200;

    /// <summary>Coverage of the intervals. Default: 0.95.</summary>
    public double ConfidenceLevel { get; set; } = 0.95;

    /// <summary>Seed of the bootstrap. Default: 1.</summary>
    public int Seed { get; set; } = 1;

    internal void Validate()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(LabelColumnName, nameof(LabelColumnName));
        ArgumentException.ThrowIfNullOrWhiteSpace(PredictedLabelColumnName, nameof(PredictedLabelColumnName));
        if (SensitiveColumnNames is null || SensitiveColumnNames.Length == 0 || SensitiveColumnNames.Any(string.IsNullOrWhiteSpace))
            throw new ArgumentException("Name at least one sensitive column, none empty.", nameof(SensitiveColumnNames));
        if (ControlColumnNames is null || ControlColumnNames.Any(string.IsNullOrWhiteSpace))
            throw new ArgumentException("Control column names must not be empty (give an empty array for none).", nameof(ControlColumnNames));
        ArgumentOutOfRangeException.ThrowIfNegative(BootstrapSamples, nameof(BootstrapSamples));
        if (!(ConfidenceLevel > 0 && ConfidenceLevel < 1)) throw new ArgumentOutOfRangeException(nameof(ConfidenceLevel), ConfidenceLevel, "Must be in (0, 1).");
    }
}

/// <summary>The metrics of one slice of the rows, with bootstrap intervals by metric name.</summary>
/// <param name="Slice">The slice: a group (intersection of sensitive values), a client, or "client / group".</param>
/// <param name="Stratum">The control stratum the slice lies in (null without control features).</param>
/// <param name="Metrics">The metrics.</param>
/// <param name="Intervals">
/// Bootstrap intervals by metric name (empty without bootstrap). Replicates where a metric is undefined (e.g. recall of
/// a group that drew no positive) are left out, so for small groups the intervals are conditional on it being defined.
/// </param>
public sealed record SliceMetrics(string Slice, string? Stratum, BinaryMetrics Metrics, IReadOnlyDictionary<string, Interval> Intervals);

/// <summary>How far apart the groups are on one metric: max − min and min / max (within the worst control stratum).</summary>
/// <param name="Metric">The metric's name.</param>
/// <param name="Difference">Largest group value minus smallest (the largest over strata).</param>
/// <param name="Ratio">Smallest group value over largest (the smallest over strata); NaN when the largest is 0.</param>
/// <param name="DifferenceInterval">Bootstrap interval of the difference, if computed.</param>
/// <param name="RatioInterval">Bootstrap interval of the ratio, if computed.</param>
/// <param name="ExcludedReplicates">
/// Bootstrap replicates left out of the intervals because a group that the estimate compares had no defined value in
/// them (it drew no weight, or e.g. no positives for recall): counting them would compare fewer groups than the
/// estimate does, and pull the difference's interval towards the spread of the remaining groups. The intervals are
/// therefore conditional on every compared group being present; many exclusions mean a group is too small to say much.
/// </param>
public sealed record MetricDisparity(string Metric, double Difference, double Ratio, Interval? DifferenceInterval, Interval? RatioInterval, int ExcludedReplicates);

/// <summary>
/// Any binary metric broken down by sensitive group (and their intersections), by client and by client and group,
/// with the differences and ratios between groups and seeded bootstrap intervals: the ML.NET counterpart of
/// Fairlearn's <c>MetricFrame</c>.
/// </summary>
/// <remarks>
/// <para><b>Input columns.</b> A <see cref="bool"/> label and prediction, an optional <see cref="float"/> score (for
/// AUC) and example weight, one or more sensitive columns, an optional client column and optional control columns
/// (text, Boolean, key or number). Missing values are errors naming the column and row.</para>
/// </remarks>
public sealed class MetricFrame
{
    internal MetricFrame(SliceMetrics overall, IReadOnlyList<SliceMetrics> byGroup, IReadOnlyList<SliceMetrics> byClient,
        IReadOnlyList<SliceMetrics> byClientAndGroup, IReadOnlyList<MetricDisparity> disparities)
    {
        Overall = overall;
        ByGroup = byGroup;
        ByClient = byClient;
        ByClientAndGroup = byClientAndGroup;
        Disparities = disparities;
    }

    /// <summary>All rows.</summary>
    public SliceMetrics Overall { get; }

    /// <summary>Per group (per control stratum when there are control features).</summary>
    public IReadOnlyList<SliceMetrics> ByGroup { get; }

    /// <summary>Per client (empty without a client column).</summary>
    public IReadOnlyList<SliceMetrics> ByClient { get; }

    /// <summary>Per client and group (empty without a client column).</summary>
    public IReadOnlyList<SliceMetrics> ByClientAndGroup { get; }

    /// <summary>Per metric, the difference and ratio between groups.</summary>
    public IReadOnlyList<MetricDisparity> Disparities { get; }

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals, PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
    };

    /// <summary>The frame as JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(new { overall = Overall, byGroup = ByGroup, byClient = ByClient, byClientAndGroup = ByClientAndGroup, disparities = Disparities }, Json);

    /// <summary>The frame as a Markdown document: one table of metrics per breakdown, one of disparities.</summary>
    public string ToMarkdown()
    {
        static string F(double v) => double.IsNaN(v) ? "–" : v.ToString("0.000", CultureInfo.InvariantCulture);
        var names = Overall.Metrics.ByName().Keys.ToArray();
        var md = new StringBuilder("# Metric frame\n\n");
        void Table(string title, IEnumerable<SliceMetrics> slices)
        {
            var list = slices.ToList();
            if (list.Count == 0) return;
            md.Append("## ").Append(title).Append("\n\n| slice | rows | ").Append(string.Join(" | ", names)).Append(" |\n|---|---|")
                .Append(string.Concat(names.Select(_ => "---|"))).Append('\n');
            foreach (var s in list)
            {
                var values = s.Metrics.ByName();
                md.Append("| ").Append(s.Stratum is null ? s.Slice : $"{s.Slice} ({s.Stratum})").Append(" | ").Append(s.Metrics.Weight.ToString("0.#", CultureInfo.InvariantCulture));
                foreach (var n in names)
                    md.Append(" | ").Append(F(values[n])).Append(s.Intervals.TryGetValue(n, out var i) ? $" [{F(i.Lower)}, {F(i.Upper)}]" : "");
                md.Append(" |\n");
            }
            md.Append('\n');
        }
        Table("Overall", [Overall]);
        Table("By group", ByGroup);
        Table("By client", ByClient);
        Table("By client and group", ByClientAndGroup);
        md.Append("## Between groups\n\n| metric | difference (max − min) | ratio (min / max) |\n|---|---|---|\n");
        foreach (var d in Disparities)
            md.Append($"| {d.Metric} | {F(d.Difference)}{(d.DifferenceInterval is { } di ? $" [{F(di.Lower)}, {F(di.Upper)}]" : "")} | " +
                      $"{F(d.Ratio)}{(d.RatioInterval is { } ri ? $" [{F(ri.Lower)}, {F(ri.Upper)}]" : "")} |\n");
        return md.ToString();
    }
}
