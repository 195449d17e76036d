using ScottPlot;

namespace MLExtensions.Plotting;

/// <summary>
/// The one plotting helper of the library: line series (optionally with error bars) and vertical markers, written as
/// SVG or PNG by ScottPlot, chosen by the file's extension. PRESTO's paths and the fairness trade-off use it.
/// </summary>
internal sealed class LineChart(string title, string xLabel, string yLabel, Alignment legend = Alignment.UpperRight)
{
    private const int Width = 800, Height = 500;
    private readonly List<(string? Name, double[] X, double[] Y, double[]? Errors)> _series = [];
    private readonly List<(double X, string Name)> _markers = [];

    /// <summary>Adds a line through (<paramref name="x"/>, <paramref name="y"/>); non-finite points are left out.</summary>
    public LineChart Add(string? name, double[] x, double[] y, double[]? errors = null)
    {
        var keep = Enumerable.Range(0, x.Length).Where(i => double.IsFinite(x[i]) && double.IsFinite(y[i])).ToArray();
        _series.Add((name, keep.Select(i => x[i]).ToArray(), keep.Select(i => y[i]).ToArray(), errors is null ? null : keep.Select(i => errors[i]).ToArray()));
        return this;
    }

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
        foreach (var (name, x, y, errors) in _series)
        {
            if (x.Length == 0) continue;
            var line = plot.Add.Scatter(x, y);
            if (name is not null) line.LegendText = name;
            if (errors is not null) plot.Add.ErrorBar(x, y, errors).Color = line.Color;
        }
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
    /// <exception cref="ArgumentException">Another extension.</exception>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        switch (Path.GetExtension(path).ToLowerInvariant())
        {
            case ".svg":
                File.WriteAllText(path, ToSvg());
                break;
            case ".png":
                Build().SavePng(path, Width, Height);
                break;
            default:
                throw new ArgumentException($"Plots are written as .svg or .png; '{path}' has neither extension.", nameof(path));
        }
    }
}
