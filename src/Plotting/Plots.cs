using System.Globalization;
using MLExtensions.Fairness;
using MLExtensions.Fairness.Tradeoff;
using MLExtensions.Ordinal;

namespace MLExtensions.Plotting;

/// <summary>
/// Charts of MLExtensions results, as SVG documents or files (SVG for ".svg", PNG for ".png"), drawn with ScottPlot:
/// the accuracy–fairness trade-off, a metric frame's metric per group, the mitigator's ROC hulls, and PRESTO's
/// coefficient paths and cross-validation curve. Extension methods, so <c>using MLExtensions.Plotting;</c> puts them on
/// the results themselves.
/// </summary>
/// <remarks>
/// A file is written whole or not at all where the folder allows it; a path that is blank, has another extension or
/// sits in a folder that does not exist is refused with an exception naming it.
/// </remarks>
public static class Plots
{
    /// <summary>A plot of accuracy against ε_g, one line per ε_l, as an SVG document.</summary>
    public static string ToSvg(this ParetoSurface surface) => Chart(surface).ToSvg();

    /// <summary>Writes the plot of <see cref="ToSvg(ParetoSurface)"/> to <paramref name="path"/> as SVG, whatever its extension.</summary>
    public static void SaveSvg(this ParetoSurface surface, string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        File.WriteAllText(path, surface.ToSvg());
    }

    /// <summary>Writes the plot of <see cref="ToSvg(ParetoSurface)"/> to <paramref name="path"/>: SVG for ".svg", PNG for ".png".</summary>
    /// <exception cref="ArgumentException">The path is blank or has another extension.</exception>
    /// <exception cref="DirectoryNotFoundException">The path's folder does not exist.</exception>
    public static void SavePlot(this ParetoSurface surface, string path) => Chart(surface).Save(path);

    private static LineChart Chart(ParetoSurface surface)
    {
        ArgumentNullException.ThrowIfNull(surface);
        var chart = new LineChart("Accuracy–fairness trade-off", "global disparity budget ε_g (bits)", "best accuracy", ScottPlot.Alignment.LowerRight);
        for (int l = 0; l < surface.LocalBudgets.Count; l++)
            chart.Add($"ε_l = {surface.LocalBudgets[l].ToString("0.0000", CultureInfo.InvariantCulture)}", surface.GlobalBudgets.ToArray(),
                surface.GlobalBudgets.Select((_, g) => surface[g, l].Accuracy).ToArray());
        return chart;
    }

    /// <summary>
    /// A plot of <paramref name="metric"/> per group, with its bootstrap interval as an error bar, and the overall
    /// value as the last category; with control features, one series per stratum (side by side, each with its own
    /// overall). As an SVG document.
    /// </summary>
    /// <exception cref="ArgumentException">An unknown metric, named.</exception>
    /// <exception cref="InvalidOperationException">The metric is undefined (NaN) in every group.</exception>
    public static string ToSvg(this MetricFrame frame, string metric) => Chart(frame, metric).ToSvg();

    /// <summary>Writes the plot of <see cref="ToSvg(MetricFrame, string)"/> to <paramref name="path"/> as SVG, whatever its extension.</summary>
    public static void SaveSvg(this MetricFrame frame, string metric, string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        File.WriteAllText(path, frame.ToSvg(metric));
    }

    /// <summary>Writes the plot of <see cref="ToSvg(MetricFrame, string)"/> to <paramref name="path"/>: SVG for ".svg", PNG for ".png".</summary>
    /// <exception cref="ArgumentException">An unknown metric, or another extension.</exception>
    public static void SavePlot(this MetricFrame frame, string metric, string path) => Chart(frame, metric).Save(path);

    private static LineChart Chart(MetricFrame frame, string metric)
    {
        ArgumentNullException.ThrowIfNull(frame);
        frame.RequireMetric(metric);
        if (frame.ByGroup.All(g => double.IsNaN(g.Values[metric])))
            throw new InvalidOperationException($"The metric '{metric}' is undefined in every group; there is nothing to plot.");
        var groups = frame.ByGroup.Select(g => g.Slice).Distinct().Order(StringComparer.Ordinal).ToList();
        bool intervals = frame.ByGroup.Any(g => g.Intervals.ContainsKey(metric));
        var chart = new LineChart($"{metric} by group", intervals ? "group (bars: bootstrap intervals)" : "group", metric).Categories([.. groups, "overall"]);
        var scopes = frame.Strata.Count == 0 ? [(Name: (string?)null, frame.Overall)] : frame.OverallByStratum.Select(o => (Name: o.Stratum, Overall: o)).ToList();
        for (int k = 0; k < scopes.Count; k++)
        {
            var (stratum, overall) = scopes[k];
            double offset = scopes.Count == 1 ? 0 : -0.15 + 0.3 * k / (scopes.Count - 1);
            var slices = groups.Select(g => frame.ByGroup.FirstOrDefault(s => s.Slice == g && s.Stratum == stratum)).Append(overall).ToArray();
            double Value(SliceMetrics? s) => s?.Values[metric] ?? double.NaN;
            Interval? Bounds(SliceMetrics? s) => s is not null && s.Intervals.TryGetValue(metric, out var i) ? i : null;
            chart.AddPoints(stratum, slices.Select((_, i) => i + offset).ToArray(), slices.Select(Value).ToArray(),
                slices.Select(s => Bounds(s)?.Lower ?? double.NaN).ToArray(), slices.Select(s => Bounds(s)?.Upper ?? double.NaN).ToArray());
        }
        return chart;
    }

    /// <summary>
    /// A plot of each cell's ROC hull with its chosen operating point (Fairlearn's <c>plot_threshold_optimizer</c>),
    /// as an SVG document: one colour per cell, the hull a closed line, the operating point a dot. A loaded model is a
    /// plain chain without the curves: plot before saving.
    /// </summary>
    /// <param name="model">The fitted mitigator.</param>
    /// <param name="client">Only this client's cells; null for every cell. Default: null.</param>
    /// <exception cref="ArgumentException">The model has no cell of <paramref name="client"/> (the message lists the clients).</exception>
    public static string RocPlotSvg(this FairnessMitigatorModel model, string? client = null) => Chart(model, client).ToSvg();

    /// <summary>Writes the plot of <see cref="RocPlotSvg"/> to <paramref name="path"/>: SVG for ".svg", PNG for ".png".</summary>
    /// <param name="model">The fitted mitigator.</param>
    /// <param name="path">The file to write (replaced if it exists); its folder must exist.</param>
    /// <param name="client">Only this client's cells; null for every cell. Default: null.</param>
    /// <exception cref="ArgumentException">The path is blank or neither ".svg" nor ".png", or the model has no cell of <paramref name="client"/>.</exception>
    /// <exception cref="DirectoryNotFoundException">The path's folder does not exist (the message names it).</exception>
    public static void SaveRocPlot(this FairnessMitigatorModel model, string path, string? client = null)
    {
        LineChart.CheckPath(path);
        Chart(model, client).Save(path);
    }

    private static LineChart Chart(FairnessMitigatorModel model, string? client)
    {
        ArgumentNullException.ThrowIfNull(model);
        var curves = model.RocCurves;
        var shown = client is null ? curves : curves.Where(c => c.Client == client).ToArray();
        if (shown.Count == 0)
            throw new ArgumentException($"The mitigator has no cell of the client '{client}'. Its clients: " +
                                        $"{string.Join(", ", curves.Select(c => $"'{c.Client}'").Distinct())}; or pass null for every cell.", nameof(client));
        var chart = new LineChart(
            client is null ? "ROC hull of each cell (line) and its chosen operating point (dot)" : $"Client {client}: ROC hull of each group (line) and its chosen operating point (dot)",
            "false positive rate", "true positive rate", ScottPlot.Alignment.LowerRight);
        chart.AddDashed("chance", [0, 1], [0, 1]);
        foreach (var curve in shown)
        {
            var closed = curve.Hull.Append(curve.Hull[0]).ToArray();
            chart.Add(client is null ? $"{curve.Client} / {curve.Group}" : curve.Group, closed.Select(v => v.FalsePositiveRate).ToArray(), closed.Select(v => v.TruePositiveRate).ToArray());
            chart.AddMarkers(null, [curve.FalsePositiveRate], [curve.TruePositiveRate]);
        }
        return chart;
    }

    /// <summary>
    /// Plots every coefficient's path against log10 λ, the chosen λ marked: one line per feature and boundary
    /// (β_1, then the differences). SVG for ".svg", PNG for ".png".
    /// </summary>
    /// <exception cref="InvalidOperationException">The model was fitted at one λ only.</exception>
    public static void SavePathPlot(this PrestoParameters parameters, string path)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var diagnostics = parameters.PathDiagnostics;
        if (diagnostics.Count < 2) throw new InvalidOperationException("The model was fitted at a single λ; fit a path (Lambda = null or LambdaSequence) to plot it.");
        var x = diagnostics.Select(p => Math.Log10(p.Lambda)).ToArray();
        var chart = new LineChart("PRESTO coefficient paths", "log10 λ", "coefficient (original scale)");
        int boundaries = diagnostics[0].Differences.Count, features = diagnostics[0].Differences[0].Count;
        for (int k = 0; k < boundaries; k++)
            for (int j = 0; j < features; j++)
                chart.Add(features * boundaries <= 12 ? (k == 0 ? $"β1[{j}]" : $"ψ{k + 1}[{j}]") : null, x, diagnostics.Select(p => p.Differences[k][j]).ToArray());
        chart.Mark(Math.Log10(parameters.Lambda), "chosen λ").Save(path);
    }

    /// <summary>
    /// Plots the cross-validation curve with ±1 standard error bars against log10 λ, the chosen λ marked; with the
    /// relaxed lasso, that curve is the chosen γ's and every other γ adds a line. SVG for ".svg", PNG for ".png".
    /// </summary>
    /// <exception cref="InvalidOperationException">λ was not chosen by cross-validation.</exception>
    public static void SaveCrossValidationPlot(this PrestoParameters parameters, string path)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (parameters.CrossValidationScores.Count == 0) throw new InvalidOperationException("λ was given, not cross-validated: there is no curve to plot.");
        var x = parameters.LambdaPath.Select(Math.Log10).ToArray();
        var chart = new LineChart("PRESTO cross-validation", "log10 λ", "held-out score (lower is better)")
            .Add(parameters.Gammas.Count == 0 ? "mean over folds ± 1 SE" : $"γ = {parameters.Gamma} (chosen): mean over folds ± 1 SE", x,
                parameters.CrossValidationScores.ToArray(), parameters.CrossValidationStandardErrors.ToArray());
        for (int g = 0; g < parameters.Gammas.Count; g++)
            if (parameters.Gammas[g] != parameters.Gamma) chart.Add($"γ = {parameters.Gammas[g]}", x, parameters.RelaxedCrossValidationScores[g].ToArray());
        chart.Mark(Math.Log10(parameters.Lambda), "chosen λ").Save(path);
    }
}
