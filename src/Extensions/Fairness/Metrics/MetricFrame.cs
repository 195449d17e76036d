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
    /// Control features (Fairlearn's <c>control_features</c>): groups are compared only within each stratum (the
    /// rows sharing the control columns' values, joined with " &amp; " like groups). The frame then has an overall
    /// value per stratum (<see cref="MetricFrame.OverallByStratum"/>) and disparities per stratum
    /// (<see cref="MetricFrame.DisparitiesByStratum"/>), besides their worst over strata
    /// (<see cref="MetricFrame.Disparities"/>). Default: none.
    /// </summary>
    public string[] ControlColumnNames { get; set; } = [];

    /// <summary>A <see cref="float"/> example weight column (≥ 0); null for none. Default: null.</summary>
    public string? ExampleWeightColumnName { get; set; }

    /// <summary>Poisson-bootstrap resamples for the intervals (0: none). Default: 200.</summary>
    public int BootstrapSamples { get; set; } = 200;

    /// <summary>Coverage of the intervals. Default: 0.95.</summary>
    public double ConfidenceLevel { get; set; } = 0.95;

    /// <summary>
    /// Seed of the bootstrap. Default: null, which draws one from the <c>MLContext</c> (as ML.NET's components do), so
    /// <c>new MLContext(seed)</c> gives the same intervals every time.
    /// </summary>
    public int? Seed { get; set; }

    /// <summary>
    /// User metrics by name, computed after the built-in ones in this order, on every slice and bootstrap replicate:
    /// they get the same breakdowns, intervals, group minimum and maximum, differences and ratios.
    /// <c>options.Metrics.Add("balanced accuracy", s => ...)</c>; see <see cref="MetricFunction"/> for what a
    /// metric is given and must return. A name may not repeat a built-in one (<see cref="BinaryMetrics.ByName"/>).
    /// Default: none.
    /// </summary>
    public OrderedDictionary<string, MetricFunction> Metrics { get; set; } = new(StringComparer.Ordinal);

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
        if (Metrics is null) throw new ArgumentException("Give an empty collection for no user metrics.", nameof(Metrics));
        var builtIn = BinaryMetrics.Names(withScores: true);
        foreach (var (name, metric) in Metrics)
        {
            if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("A user metric's name must not be empty.", nameof(Metrics));
            if (builtIn.Contains(name)) throw new ArgumentException($"The user metric '{name}' has the name of a built-in metric; give it another.", nameof(Metrics));
            if (metric is null) throw new ArgumentException($"The user metric '{name}' has no function.", nameof(Metrics));
        }
    }
}

/// <summary>The metrics of one slice of the rows, with bootstrap intervals by metric name.</summary>
/// <param name="Slice">
/// The slice: a group (intersection of sensitive values), a client, "client / group", or "all rows" (the whole data,
/// or a whole control stratum).
/// </param>
/// <param name="Stratum">The control stratum the slice lies in (null without control features, and for slices across strata).</param>
/// <param name="Metrics">The built-in metrics.</param>
/// <param name="Values">Every metric by name, built-in ones first, then the user metrics (<see cref="MetricFrame.MetricNames"/>).</param>
/// <param name="Intervals">
/// Bootstrap intervals by metric name (empty without bootstrap). Replicates where a metric is undefined (e.g. recall of
/// a group that drew no positive) are left out, so for small groups the intervals are conditional on it being defined.
/// </param>
public sealed record SliceMetrics(string Slice, string? Stratum, BinaryMetrics Metrics, IReadOnlyDictionary<string, double> Values,
    IReadOnlyDictionary<string, Interval> Intervals);

/// <summary>
/// How far apart the groups are on one metric, in both of Fairlearn's methods (<see cref="DisparityMethod"/>), within
/// one control stratum, within all rows without control features, or (<see cref="Stratum"/> null with control
/// features) the worst over strata: the smallest group minimum and ratios, the largest group maximum and differences.
/// </summary>
/// <remarks>
/// Only groups with a defined value are compared; with fewer than two, the differences and ratios are NaN (there is
/// nothing to compare). Ratios are defined for metrics that are ≥ 0, and NaN when the denominator is 0 (every compared
/// group, or the overall value, is 0).
/// </remarks>
/// <param name="Metric">The metric's name.</param>
/// <param name="Stratum">The control stratum; null for all rows, or for the worst over strata when there are control features.</param>
/// <param name="GroupMin">The smallest group value (Fairlearn's <c>group_min</c>).</param>
/// <param name="GroupMax">The largest group value (<c>group_max</c>).</param>
/// <param name="Difference">Between groups: <see cref="GroupMax"/> − <see cref="GroupMin"/>; over strata, the largest.</param>
/// <param name="Ratio">Between groups: <see cref="GroupMin"/> / <see cref="GroupMax"/>; over strata, the smallest.</param>
/// <param name="DifferenceToOverall">To overall: the largest |group − overall|, overall being the stratum's (or all rows') value.</param>
/// <param name="RatioToOverall">To overall: the smallest group / overall, or overall / group where the group is above.</param>
/// <param name="ExcludedReplicates">
/// Bootstrap replicates left out of the intervals because a group that the estimate compares, or the overall value it
/// is compared to, had no defined value in them (the group drew no weight, or e.g. no positives for recall): counting
/// them would compare fewer groups than the estimate does, and pull the difference's interval towards the spread of the
/// remaining groups. The intervals are therefore conditional on every compared group being present; many exclusions
/// mean a group is too small to say much. Over strata, a replicate is left out when it is in any stratum.
/// </param>
public sealed record MetricDisparity(string Metric, string? Stratum, double GroupMin, double GroupMax, double Difference, double Ratio,
    double DifferenceToOverall, double RatioToOverall, int ExcludedReplicates)
{
    /// <summary>Bootstrap interval of <see cref="GroupMin"/>; null without bootstrap (or fewer than two replicates kept).</summary>
    public Interval? GroupMinInterval { get; init; }

    /// <summary>Bootstrap interval of <see cref="GroupMax"/>.</summary>
    public Interval? GroupMaxInterval { get; init; }

    /// <summary>Bootstrap interval of <see cref="Difference"/>.</summary>
    public Interval? DifferenceInterval { get; init; }

    /// <summary>Bootstrap interval of <see cref="Ratio"/>.</summary>
    public Interval? RatioInterval { get; init; }

    /// <summary>Bootstrap interval of <see cref="DifferenceToOverall"/>.</summary>
    public Interval? DifferenceToOverallInterval { get; init; }

    /// <summary>Bootstrap interval of <see cref="RatioToOverall"/>.</summary>
    public Interval? RatioToOverallInterval { get; init; }

    /// <summary>The difference by <paramref name="method"/>.</summary>
    public double DifferenceBy(DisparityMethod method) => method == DisparityMethod.ToOverall ? DifferenceToOverall : Difference;

    /// <summary>The ratio by <paramref name="method"/>.</summary>
    public double RatioBy(DisparityMethod method) => method == DisparityMethod.ToOverall ? RatioToOverall : Ratio;
}

/// <summary>
/// Any binary metric, and any user metric, broken down by sensitive group (and their intersections), by client and by
/// client and group, with group minimum and maximum, differences and ratios between groups and to the overall value,
/// and seeded bootstrap intervals of all of them: the ML.NET counterpart of Fairlearn's <c>MetricFrame</c>.
/// </summary>
/// <remarks>
/// <para><b>Input columns.</b> A <see cref="bool"/> label and prediction, an optional <see cref="float"/> score (for
/// AUC) and example weight, one or more sensitive columns, an optional client column and optional control columns
/// (text, Boolean, key or number). Missing values are errors naming the column and row.</para>
/// <para><b>Control features.</b> With <see cref="MetricFrameOptions.ControlColumnNames"/>, groups are compared within
/// each stratum: <see cref="OverallByStratum"/> and <see cref="DisparitiesByStratum"/> hold Fairlearn's per-stratum
/// <c>overall</c>, <c>group_min</c>, <c>group_max</c>, <c>difference</c> and <c>ratio</c>; <see cref="Disparities"/>
/// holds their worst over strata (the aggregate, not a comparison across strata); <see cref="Overall"/> stays all rows.</para>
/// <para><b>Bootstrap.</b> Every replicate multiplies each row's weight by a Poisson(1) draw, the same draw for every
/// slice. Intervals are percentile intervals. A slice's interval leaves out replicates where its metric is undefined; a
/// disparity's leaves out (and counts, <see cref="MetricDisparity.ExcludedReplicates"/>) replicates that lose a group it
/// compares.</para>
/// </remarks>
public sealed class MetricFrame
{
    internal MetricFrame(IReadOnlyList<string> metricNames, IReadOnlyList<string> strata, SliceMetrics overall, IReadOnlyList<SliceMetrics> overallByStratum,
        IReadOnlyList<SliceMetrics> byGroup, IReadOnlyList<SliceMetrics> byClient, IReadOnlyList<SliceMetrics> byClientAndGroup,
        IReadOnlyList<MetricDisparity> disparities, IReadOnlyList<MetricDisparity> disparitiesByStratum)
    {
        MetricNames = metricNames;
        Strata = strata;
        Overall = overall;
        OverallByStratum = overallByStratum;
        ByGroup = byGroup;
        ByClient = byClient;
        ByClientAndGroup = byClientAndGroup;
        Disparities = disparities;
        DisparitiesByStratum = disparitiesByStratum;
    }

    /// <summary>The metrics' names: the built-in ones (AUC only with a score column), then the user metrics.</summary>
    public IReadOnlyList<string> MetricNames { get; }

    /// <summary>The control strata, in ordinal order (Fairlearn's <c>control_levels</c> values); empty without control features.</summary>
    public IReadOnlyList<string> Strata { get; }

    /// <summary>All rows.</summary>
    public SliceMetrics Overall { get; }

    /// <summary>All rows of each control stratum (Fairlearn's <c>overall</c> with control features); empty without control features.</summary>
    public IReadOnlyList<SliceMetrics> OverallByStratum { get; }

    /// <summary>Per group (per control stratum when there are control features).</summary>
    public IReadOnlyList<SliceMetrics> ByGroup { get; }

    /// <summary>Per client (empty without a client column).</summary>
    public IReadOnlyList<SliceMetrics> ByClient { get; }

    /// <summary>Per client and group (empty without a client column).</summary>
    public IReadOnlyList<SliceMetrics> ByClientAndGroup { get; }

    /// <summary>
    /// Per metric, how far apart the groups are (<see cref="MetricDisparity.Stratum"/> null): over all rows, or with
    /// control features the worst over strata (largest differences, smallest ratios).
    /// </summary>
    public IReadOnlyList<MetricDisparity> Disparities { get; }

    /// <summary>Per control stratum and metric, how far apart the stratum's groups are; empty without control features.</summary>
    public IReadOnlyList<MetricDisparity> DisparitiesByStratum { get; }

    /// <summary>The disparity of <paramref name="metric"/>: in <paramref name="stratum"/>, or (null) over all rows or the worst over strata.</summary>
    /// <exception cref="ArgumentException">An unknown metric or stratum, named.</exception>
    public MetricDisparity Disparity(string metric, string? stratum = null)
    {
        RequireMetric(metric);
        if (stratum is null) return Disparities.Single(d => d.Metric == metric);
        if (!Strata.Contains(stratum))
            throw new ArgumentException(Strata.Count == 0 ? $"The frame has no control features, so no stratum '{stratum}'; pass null."
                : $"No control stratum '{stratum}'; the strata are {string.Join(", ", Strata.Select(s => $"'{s}'"))}.", nameof(stratum));
        return DisparitiesByStratum.Single(d => d.Metric == metric && d.Stratum == stratum);
    }

    /// <summary>The smallest group value of <paramref name="metric"/> (Fairlearn's <c>group_min</c>), in <paramref name="stratum"/> or overall.</summary>
    public double GroupMin(string metric, string? stratum = null) => Disparity(metric, stratum).GroupMin;

    /// <summary>The largest group value of <paramref name="metric"/> (Fairlearn's <c>group_max</c>), in <paramref name="stratum"/> or overall.</summary>
    public double GroupMax(string metric, string? stratum = null) => Disparity(metric, stratum).GroupMax;

    /// <summary>Fairlearn's <c>difference(method)</c> of <paramref name="metric"/>, in <paramref name="stratum"/> or the worst over strata.</summary>
    public double Difference(string metric, DisparityMethod method = DisparityMethod.BetweenGroups, string? stratum = null) => Disparity(metric, stratum).DifferenceBy(method);

    /// <summary>Fairlearn's <c>ratio(method)</c> of <paramref name="metric"/>, in <paramref name="stratum"/> or the worst over strata.</summary>
    public double Ratio(string metric, DisparityMethod method = DisparityMethod.BetweenGroups, string? stratum = null) => Disparity(metric, stratum).RatioBy(method);

    internal void RequireMetric(string metric, string parameter = "metric")
    {
        ArgumentNullException.ThrowIfNull(metric, parameter);
        if (!MetricNames.Contains(metric))
            throw new ArgumentException($"The frame has no metric '{metric}'; it has {string.Join(", ", MetricNames)}.", parameter);
    }

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals, PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
    };

    /// <summary>The frame as JSON: the same fields as the properties, camel-cased; NaN as "NaN".</summary>
    public string ToJson() => JsonSerializer.Serialize(new
    {
        metricNames = MetricNames, strata = Strata, overall = Overall, overallByStratum = OverallByStratum, byGroup = ByGroup, byClient = ByClient,
        byClientAndGroup = ByClientAndGroup, disparities = Disparities, disparitiesByStratum = DisparitiesByStratum,
    }, Json);

    private static string F(double v) => double.IsNaN(v) ? "–" : v.ToString("0.000", CultureInfo.InvariantCulture);

    private static string WithInterval(double v, Interval? i) => i is { } x ? $"{F(v)} [{F(x.Lower)}, {F(x.Upper)}]" : F(v);

    /// <summary>
    /// The frame as a Markdown document: one table of metrics per breakdown (with intervals), then the disparities
    /// between groups and to overall, per metric (and per stratum with control features).
    /// </summary>
    public string ToMarkdown()
    {
        var md = new StringBuilder("# Metric frame\n\n");
        void Table(string title, IEnumerable<SliceMetrics> slices)
        {
            var list = slices.ToList();
            if (list.Count == 0) return;
            md.Append("## ").Append(title).Append("\n\n| slice | rows | ").Append(string.Join(" | ", MetricNames)).Append(" |\n|---|---|")
                .Append(string.Concat(MetricNames.Select(_ => "---|"))).Append('\n');
            foreach (var s in list)
            {
                md.Append("| ").Append(s.Stratum is null ? s.Slice : $"{s.Slice} ({s.Stratum})").Append(" | ").Append(s.Metrics.Weight.ToString("0.#", CultureInfo.InvariantCulture));
                foreach (var n in MetricNames)
                    md.Append(" | ").Append(WithInterval(s.Values[n], s.Intervals.TryGetValue(n, out var i) ? i : null));
                md.Append(" |\n");
            }
            md.Append('\n');
        }
        Table("Overall", [Overall]);
        Table("Overall by stratum", OverallByStratum);
        Table("By group", ByGroup);
        Table("By client", ByClient);
        Table("By client and group", ByClientAndGroup);
        var rows = MetricNames.SelectMany(m => Disparities.Where(d => d.Metric == m).Concat(DisparitiesByStratum.Where(d => d.Metric == m))).ToList();
        string Scope(MetricDisparity d) => d.Stratum ?? (Strata.Count > 0 ? "worst over strata" : "all rows");
        md.Append("## Between groups\n\n| metric | stratum | group min | group max | difference (max − min) | ratio (min / max) | replicates left out |\n|---|---|---|---|---|---|---|\n");
        foreach (var d in rows)
            md.Append($"| {d.Metric} | {Scope(d)} | {WithInterval(d.GroupMin, d.GroupMinInterval)} | {WithInterval(d.GroupMax, d.GroupMaxInterval)} | " +
                      $"{WithInterval(d.Difference, d.DifferenceInterval)} | {WithInterval(d.Ratio, d.RatioInterval)} | {d.ExcludedReplicates} |\n");
        md.Append("\n## To overall\n\n| metric | stratum | difference (largest \\|group − overall\\|) | ratio (smallest group / overall, ≤ 1) | replicates left out |\n|---|---|---|---|---|\n");
        foreach (var d in rows)
            md.Append($"| {d.Metric} | {Scope(d)} | {WithInterval(d.DifferenceToOverall, d.DifferenceToOverallInterval)} | " +
                      $"{WithInterval(d.RatioToOverall, d.RatioToOverallInterval)} | {d.ExcludedReplicates} |\n");
        return md.ToString();
    }

    /// <summary>
    /// The frame as one long CSV table, a line per figure: <c>table,stratum,slice,metric,value,lower,upper,weight</c>.
    /// Slices have table <c>overall</c>, <c>overallByStratum</c>, <c>byGroup</c>, <c>byClient</c> or
    /// <c>byClientAndGroup</c> and their rows (or summed weight) in <c>weight</c>; disparities have table
    /// <c>disparity</c>, the figure (<c>GroupMin</c>, <c>GroupMax</c>, <c>Difference</c>, <c>Ratio</c>,
    /// <c>DifferenceToOverall</c>, <c>RatioToOverall</c>, <c>ExcludedReplicates</c>) in <c>slice</c> and an empty
    /// stratum for the aggregate. Empty fields: no interval, no stratum; NaN: undefined.
    /// </summary>
    public string ToCsv()
    {
        static string C(string? text) => text is null ? "" : FairnessCsv.Quote(text);
        static string N(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        var csv = new StringBuilder("table,stratum,slice,metric,value,lower,upper,weight\n");
        void Line(string table, string? stratum, string slice, string metric, double value, Interval? interval, double? weight) =>
            csv.Append(table).Append(',').Append(C(stratum)).Append(',').Append(C(slice)).Append(',').Append(C(metric)).Append(',').Append(N(value)).Append(',')
                .Append(interval is { } i ? N(i.Lower) : "").Append(',').Append(interval is { } j ? N(j.Upper) : "").Append(',')
                .Append(weight is { } w ? N(w) : "").Append('\n');
        foreach (var (table, slices) in new[] { ("overall", (IReadOnlyList<SliceMetrics>)[Overall]), ("overallByStratum", OverallByStratum), ("byGroup", ByGroup),
                     ("byClient", ByClient), ("byClientAndGroup", ByClientAndGroup) })
            foreach (var s in slices)
                foreach (var n in MetricNames)
                    Line(table, s.Stratum, s.Slice, n, s.Values[n], s.Intervals.TryGetValue(n, out var i) ? i : null, s.Metrics.Weight);
        foreach (var d in Disparities.Concat(DisparitiesByStratum))
        {
            Line("disparity", d.Stratum, nameof(MetricDisparity.GroupMin), d.Metric, d.GroupMin, d.GroupMinInterval, null);
            Line("disparity", d.Stratum, nameof(MetricDisparity.GroupMax), d.Metric, d.GroupMax, d.GroupMaxInterval, null);
            Line("disparity", d.Stratum, nameof(MetricDisparity.Difference), d.Metric, d.Difference, d.DifferenceInterval, null);
            Line("disparity", d.Stratum, nameof(MetricDisparity.Ratio), d.Metric, d.Ratio, d.RatioInterval, null);
            Line("disparity", d.Stratum, nameof(MetricDisparity.DifferenceToOverall), d.Metric, d.DifferenceToOverall, d.DifferenceToOverallInterval, null);
            Line("disparity", d.Stratum, nameof(MetricDisparity.RatioToOverall), d.Metric, d.RatioToOverall, d.RatioToOverallInterval, null);
            Line("disparity", d.Stratum, nameof(MetricDisparity.ExcludedReplicates), d.Metric, d.ExcludedReplicates, null, null);
        }
        return csv.ToString();
    }
}
