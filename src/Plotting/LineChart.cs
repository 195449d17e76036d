using ScottPlot;

namespace MLExtensions.Plotting;

/// <summary>
/// The one plotting helper of the library: line series (optionally with error bars), point series with interval bars,
/// categorical x ticks and vertical markers, written as SVG or PNG by ScottPlot, chosen by the file's extension.
/// PRESTO's paths, the fairness trade-off and the metric frame use it.
/// </summary>
internal sealed class LineChart(string title, string xLabel, string yLabel, Alignment legend = Alignment.UpperRight)
{
    private const int Width = 800, Height = 500;
    private readonly List<Series> _series = [];

    /// <summary>One series: its points, optional error bars, whether a line joins them, and its style.</summary>
    private sealed record Series(string? Name, double[] X, double[] Y, double[]? Below, double[]? Above, bool Line, bool Dashed = false, bool MatchPrevious = false);
    private readonly List<(double X, string Name)> _markers = [];
    private string[]? _categories;

    /// <summary>Adds a line through (<paramref name="x"/>, <paramref name="y"/>); non-finite points are left out.</summary>
    public LineChart Add(string? name, double[] x, double[] y, double[]? errors = null) => Add(name, x, y, errors, errors, line: true);

    /// <summary>
    /// Adds points (no line) at (<paramref name="x"/>, <paramref name="y"/>), each with a bar from
    /// <paramref name="lower"/> to <paramref name="upper"/> (NaN: no bar on that side); non-finite points are left out.
    /// </summary>
    public LineChart AddPoints(string? name, double[] x, double[] y, double[] lower, double[] upper) =>
        Add(name, x, y, y.Select((v, i) => double.IsFinite(lower[i]) ? Math.Max(0, v - lower[i]) : 0).ToArray(),
            y.Select((v, i) => double.IsFinite(upper[i]) ? Math.Max(0, upper[i] - v) : 0).ToArray(), line: false);

    /// <summary>Labels the x axis with <paramref name="labels"/> at 0, 1, 2, … instead of numbers.</summary>
    public LineChart Categories(IReadOnlyList<string> labels)
    {
        _categories = labels.ToArray();
        return this;
    }

    private LineChart Add(string? name, double[] x, double[] y, double[]? below, double[]? above, bool line, bool dashed = false, bool matchPrevious = false)
    {
        var keep = Enumerable.Range(0, x.Length).Where(i => double.IsFinite(x[i]) && double.IsFinite(y[i])).ToArray();
        double[]? Kept(double[]? values) => values is null ? null : keep.Select(i => values[i]).ToArray();
        _series.Add(new Series(name, Kept(x)!, Kept(y)!, Kept(below), Kept(above), line, dashed, matchPrevious));
        return this;
    }

    /// <summary>Adds a dashed line through (<paramref name="x"/>, <paramref name="y"/>), e.g. a reference such as a diagonal.</summary>
    public LineChart AddDashed(string? name, double[] x, double[] y) => Add(name, x, y, null, null, line: true, dashed: true);

    /// <summary>
    /// Adds points (no line) in the colour of the series added just before, e.g. a curve's chosen point; non-finite
    /// points are left out.
    /// </summary>
    public LineChart AddMarkers(string? name, double[] x, double[] y) => Add(name, x, y, null, null, line: false, matchPrevious: true);

    /// <summary>Adds a labelled vertical line at <paramref name="x"/>.</summary>
    public LineChart Mark(double x, string name)
    {
        if (double.IsFinite(x)) _markers.Add((x, name));
        return this;
    }

    public int SeriesCount => _series.Count;

    private Plot Build()
    {
        var plot = new Plot();
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        ScottPlot.Color? previous = null;
        foreach (var (name, x, y, below, above, drawLine, dashed, matchPrevious) in _series)
        {
            if (x.Length == 0) continue;
            var line = plot.Add.Scatter(x, y);
            if (matchPrevious && previous is { } colour) line.Color = colour;
            previous = line.Color;
            if (dashed) line.LinePattern = LinePattern.Dashed;
            if (!drawLine)
            {
                line.LineWidth = 0;
                line.MarkerSize = 9;
            }
            if (name is not null) line.LegendText = name;
            if (below is not null && above is not null)
            {
                var bars = plot.Add.ErrorBar(x, y, above);
                bars.YErrorNegative = below;
                bars.Color = line.Color;
            }
        }
        if (_categories is not null)
            plot.Axes.Bottom.SetTicks(Enumerable.Range(0, _categories.Length).Select(i => (double)i).ToArray(), _categories);
        foreach (var (x, name) in _markers)
        {
            var marker = plot.Add.VerticalLine(x);
            marker.LegendText = name;
            marker.LinePattern = LinePattern.Dashed;
        }
        if (_series.Any(s => s.Name is not null) || _markers.Count > 0) plot.ShowLegend(legend);
        return plot;
    }

    /// <summary>The chart as an SVG document.</summary>
    public string ToSvg() => Build().GetSvgXml(Width, Height);

    /// <summary>Writes the chart to <paramref name="path"/>: SVG for ".svg", PNG for ".png".</summary>
    /// <exception cref="ArgumentException">The path is blank or has another extension.</exception>
    /// <exception cref="DirectoryNotFoundException">The path's folder does not exist (the message names it).</exception>
    public void Save(string path)
    {
        CheckPath(path);
        switch (Path.GetExtension(path).ToLowerInvariant())
        {
            case ".svg":
                File.WriteAllText(path, ToSvg());
                break;
            default:
                Build().SavePng(path, Width, Height);
                break;
        }
    }

    /// <summary>Checks a plot's path: not blank, ".svg" or ".png", in a folder that exists; messages name the path.</summary>
    public static void CheckPath(string path, string parameter = "path")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path, parameter);
        if (Path.GetExtension(path).ToLowerInvariant() is not (".svg" or ".png"))
            throw new ArgumentException($"Plots are written as .svg or .png; '{path}' has neither extension.", parameter);
        var folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(folder) && !Directory.Exists(folder))
            throw new DirectoryNotFoundException($"Cannot write the plot '{path}': its folder '{folder}' does not exist. Create it first, or choose another path.");
    }
}
