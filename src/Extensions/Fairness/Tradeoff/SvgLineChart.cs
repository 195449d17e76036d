using System.Globalization;
using System.Net;
using System.Text;

namespace MLExtensions.Fairness.Tradeoff;

/// <summary>A small dependency-free line chart written as SVG (no native graphics libraries needed on servers).</summary>
internal sealed class SvgLineChart(string title, string xLabel, string yLabel)
{
    private const int Width = 760, Height = 480, Left = 80, Right = 190, Top = 50, Bottom = 60;
    private static readonly string[] Colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
    private readonly List<(string Name, (double X, double Y)[] Points)> _series = [];

    public void Add(string name, (double X, double Y)[] points) => _series.Add((name, points));

    public string Render()
    {
        var all = _series.SelectMany(s => s.Points).Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).ToArray();
        var (x0, x1) = Range(all.Select(p => p.X));
        var (y0, y1) = Range(all.Select(p => p.Y));
        double plotWidth = Width - Left - Right, plotHeight = Height - Top - Bottom;
        double Sx(double x) => Left + (x - x0) / (x1 - x0) * plotWidth;
        double Sy(double y) => Top + (1 - (y - y0) / (y1 - y0)) * plotHeight;

        var svg = new StringBuilder();
        svg.AppendLine($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" font-family=\"sans-serif\" font-size=\"12\">");
        svg.AppendLine($"<rect width=\"{Width}\" height=\"{Height}\" fill=\"white\"/>");
        svg.AppendLine($"<text x=\"{Width / 2}\" y=\"28\" text-anchor=\"middle\" font-size=\"16\">{Escape(title)}</text>");
        svg.AppendLine($"<rect x=\"{Left}\" y=\"{Top}\" width=\"{N(plotWidth)}\" height=\"{N(plotHeight)}\" fill=\"none\" stroke=\"#333\"/>");
        for (int i = 0; i <= 5; i++)
        {
            double x = x0 + (x1 - x0) * i / 5, y = y0 + (y1 - y0) * i / 5;
            svg.AppendLine($"<line x1=\"{N(Sx(x))}\" y1=\"{Top}\" x2=\"{N(Sx(x))}\" y2=\"{Top + plotHeight}\" stroke=\"#ddd\"/>");
            svg.AppendLine($"<text x=\"{N(Sx(x))}\" y=\"{N(Top + plotHeight + 18)}\" text-anchor=\"middle\">{Tick(x, x1 - x0)}</text>");
            svg.AppendLine($"<line x1=\"{Left}\" y1=\"{N(Sy(y))}\" x2=\"{N(Left + plotWidth)}\" y2=\"{N(Sy(y))}\" stroke=\"#ddd\"/>");
            svg.AppendLine($"<text x=\"{Left - 6}\" y=\"{N(Sy(y) + 4)}\" text-anchor=\"end\">{Tick(y, y1 - y0)}</text>");
        }
        svg.AppendLine($"<text x=\"{N(Left + plotWidth / 2)}\" y=\"{Height - 15}\" text-anchor=\"middle\">{Escape(xLabel)}</text>");
        svg.AppendLine($"<text transform=\"translate(20 {N(Top + plotHeight / 2)}) rotate(-90)\" text-anchor=\"middle\">{Escape(yLabel)}</text>");
        for (int s = 0; s < _series.Count; s++)
        {
            string colour = Colours[s % Colours.Length];
            var points = _series[s].Points.Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).OrderBy(p => p.X).ToArray();
            svg.AppendLine($"<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{string.Join(' ', points.Select(p => $"{N(Sx(p.X))},{N(Sy(p.Y))}"))}\"/>");
            foreach (var p in points) svg.AppendLine($"<circle cx=\"{N(Sx(p.X))}\" cy=\"{N(Sy(p.Y))}\" r=\"3\" fill=\"{colour}\"/>");
            double ly = Top + 10 + 20 * s;
            svg.AppendLine($"<line x1=\"{Width - Right + 15}\" y1=\"{N(ly)}\" x2=\"{Width - Right + 40}\" y2=\"{N(ly)}\" stroke=\"{colour}\" stroke-width=\"2\"/>");
            svg.AppendLine($"<text x=\"{Width - Right + 46}\" y=\"{N(ly + 4)}\">{Escape(_series[s].Name)}</text>");
        }
        svg.AppendLine("</svg>");
        return svg.ToString();
    }

    private static (double Low, double High) Range(IEnumerable<double> values)
    {
        var v = values.ToArray();
        if (v.Length == 0) return (0, 1);
        double low = v.Min(), high = v.Max();
        if (high - low < 1e-12) { low -= 0.5 * Math.Max(1e-3, Math.Abs(low) * 0.01); high = low + Math.Max(1e-3, Math.Abs(low) * 0.02); }
        return (low, high);
    }

    private static string Tick(double value, double span) =>
        value.ToString(span < 0.01 ? "0.#####" : span < 0.1 ? "0.####" : "0.###", CultureInfo.InvariantCulture);

    private static string N(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);

    private static string Escape(string text) => WebUtility.HtmlEncode(text);
}
