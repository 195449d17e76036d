using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Ordinal;

namespace MLExtensions.Bench;

/// <summary>
/// Issue #24 item 5: PRESTO tuned on the all-class Brier score and on the named rare class's Brier score, against
/// proportional odds and maximum-likelihood logistic regression, on random 90/10 splits of the soup survey (the
/// paper's section 4.3) and the World Values Survey. Held-out metrics of the rare class: Brier score, the paper's
/// equal-frequency squared calibration error (OSCE, max(round(n/100), 10) bins) as intended (each row's prediction
/// against its bin's observed rate), and the same as the official R code computes it (which pairs the observed rate of
/// sorted position j with the prediction of unsorted row j).
/// </summary>
public static class PrestoRareBench
{
    private sealed record Case(string Name, float[][] X, int[] Y, int Classes, int Rare);

    private sealed class Row
    {
        public float[] Features { get; set; } = [];
        public float Label { get; set; }
        public bool Rare { get; set; }
    }

    private static readonly string[] Metrics = ["Brier", "OSCE", "OSCE (R code)"];

    private static bool _paperTuning;

    /// <param name="splits">Random 90/10 splits per data set.</param>
    /// <param name="soupCsv">The soup CSV, or null to export it with R.</param>
    /// <param name="wvsCsv">wvs.csv, or null for ../shared/data/wvs.csv.</param>
    /// <param name="cases">Which cases to run (indices into the list printed), or null for all.</param>
    /// <param name="paperTuning">Also run PRESTO with the paper's tuning grid (100 λ down to 1e-4·λ_max).</param>
    public static void Run(int splits, string? soupCsv, string? wvsCsv, int[]? cases = null, bool paperTuning = false)
    {
        var all = new List<Case>();
        soupCsv ??= Path.Combine(Directory.CreateTempSubdirectory("presto-rare").FullName, "soup.csv");
        if (File.Exists(soupCsv) || PrestoSpeedBench.ExportSoup(soupCsv))
        {
            var (x, y) = ReadSoup(soupCsv);
            all.Add(new Case("soup, rare = SURENESS 1 (paper's; first class)", x, y, 6, 0));
            all.Add(new Case("soup, SURENESS 1 reversed to last (paper's protocol)", x, y.Select(v => 5 - v).ToArray(), 6, 5));
            all.Add(new Case("soup, 'rare' = SURENESS 6 (issue's; 47% of rows)", x, y, 6, 5));
        }
        else Console.WriteLine("soup: R's ordinal package not installed (apt-get install r-cran-ordinal); skipped");
        wvsCsv ??= "../shared/data/wvs.csv";
        if (File.Exists(wvsCsv))
        {
            var (x, y) = ReadWvs(wvsCsv);
            all.Add(new Case("WVS, rare = Too Much (last)", x, y, 3, 2));
        }
        else Console.WriteLine($"WVS: {wvsCsv} not found; skipped");

        _paperTuning = paperTuning;
        Console.WriteLine($"{splits} random 90/10 splits; mean ± standard error over splits; lower is better");
        Console.WriteLine("| data | method | rare-class Brier | OSCE | OSCE (R code) | chosen λ / λ_max (median) |");
        Console.WriteLine("|---|---|---|---|---|---|");
        for (int i = 0; i < all.Count; i++)
            if (cases is null || cases.Contains(i)) Study(all[i], splits);
    }

    private static void Study(Case c, int splits)
    {
        var methods = new[] { "PRESTO, all-class Brier CV (default)", "PRESTO, RareClass CV", "PRESTO, paper's tuning (100 λ to 1e-4, all-class Brier)",
            "proportional odds", "logistic regression (ML)" };
        var results = methods.Select(_ => Metrics.Select(_ => new List<double>()).ToArray()).ToArray();
        var lambdaRatios = methods.Select(_ => new List<double>()).ToArray();
        var ml = new MLContext(seed: 1);
        string rareName = (c.Rare + 1).ToString(CultureInfo.InvariantCulture);
        for (int s = 0; s < splits; s++)
        {
            Console.Error.WriteLine($"{c.Name}: split {s + 1}/{splits}");
            var order = Enumerable.Range(0, c.Y.Length).ToArray();
            new Random(1000 + s).Shuffle(order);
            int testCount = (int)Math.Round(0.1 * c.Y.Length);
            var test = order.Take(testCount).ToArray();
            var train = ml.Data.LoadFromEnumerable(View(c, order.Skip(testCount)), Schema(c));
            var actual = test.Select(i => c.Y[i] == c.Rare ? 1.0 : 0.0).ToArray();
            for (int m = 0; m < methods.Length; m++)
            {
                if (m == 2 && !_paperTuning) continue;
                double[] predicted;
                if (m == 4)
                {
                    var lr = ml.BinaryClassification.Trainers.LbfgsLogisticRegression(new Microsoft.ML.Trainers.LbfgsLogisticRegressionBinaryTrainer.Options
                    {
                        LabelColumnName = "Rare", FeatureColumnName = "Features", L1Regularization = 0, L2Regularization = 0, OptimizationTolerance = 1e-7f,
                    }).Fit(train);
                    var scored = lr.Transform(ml.Data.LoadFromEnumerable(View(c, test), Schema(c)));
                    predicted = scored.GetColumn<float>("Probability").Select(p => (double)p).ToArray();
                }
                else
                {
                    using var model = m == 3
                        ? ml.Ordinal().Trainers.ProportionalOdds(new ProportionalOddsTrainer.Options { Seed = s })
                            .Fit(train)
                        : ml.Ordinal().Trainers.Presto(Options(m, s, rareName)).Fit(train);
                    if (m < 3) lambdaRatios[m].Add(model.Parameters.Lambda / model.Parameters.LambdaMax);
                    predicted = test.Select(i => model.PredictProbabilities(c.X[i])[c.Rare]).ToArray();
                }
                results[m][0].Add(actual.Zip(predicted, (a, p) => (a - p) * (a - p)).Average());
                results[m][1].Add(Osce(actual, predicted, asInRCode: false));
                results[m][2].Add(Osce(actual, predicted, asInRCode: true));
            }
        }
        for (int m = 0; m < methods.Length; m++)
            if (results[m][0].Count > 0)
                Console.WriteLine($"| {c.Name} | {methods[m]} | {string.Join(" | ", results[m].Select(Summary))} | " +
                              $"{(lambdaRatios[m].Count > 0 ? lambdaRatios[m].Order().ElementAt(lambdaRatios[m].Count / 2).ToString("G3", CultureInfo.InvariantCulture) : "")} |");
        // Paired: PRESTO (rare-class CV) minus each other method, per split, on each metric.
        foreach (int other in new[] { 0, 3, 4 })
            Console.WriteLine($"|  | paired: RareClass CV − {methods[other]} | " +
                              string.Join(" | ", Metrics.Select((_, k) => Summary(results[1][k].Zip(results[other][k], (a, b) => a - b).ToList()))) + " |  |");
    }

    private static PrestoTrainer.Options Options(int method, int seed, string rare) => method switch
    {
        0 => new PrestoTrainer.Options { Seed = seed, TestProportionalOdds = false },
        1 => new PrestoTrainer.Options { Seed = seed, TestProportionalOdds = false, RareClass = rare },
        _ => new PrestoTrainer.Options { Seed = seed, TestProportionalOdds = false, NumberOfLambdas = 100, LambdaMinRatio = 1e-4 },
    };

    private static string Summary(List<double> values)
    {
        double mean = values.Average();
        double se = Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1) / values.Count);
        return $"{mean:0.00000} ± {se:0.00000}";
    }

    /// <summary>
    /// The paper's observed squared calibration error: rows sorted by prediction, cut into equal-frequency bins (the first
    /// n mod B bins one row larger), each row's squared difference from its bin's observed rate, averaged over rows.
    /// <paramref name="asInRCode"/> pairs bin position j with the prediction of row j in the original order, as the
    /// official code's <c>predicted[j]</c> does.
    /// </summary>
    private static double Osce(double[] actual, double[] predicted, bool asInRCode)
    {
        int n = actual.Length, bins = Math.Min(n, Math.Max((int)Math.Round(n / 100.0, MidpointRounding.ToEven), 10));
        var sorted = Enumerable.Range(0, n).OrderBy(i => predicted[i]).ToArray();
        int quotient = n / bins, remainder = n % bins, start = 0;
        double total = 0;
        for (int b = 0; b < bins; b++)
        {
            int size = quotient + (b < remainder ? 1 : 0);
            double observed = 0;
            for (int j = start; j < start + size; j++) observed += actual[sorted[j]];
            observed /= size;
            for (int j = start; j < start + size; j++)
            {
                double p = asInRCode ? predicted[j] : predicted[sorted[j]];
                total += (p - observed) * (p - observed);
            }
            start += size;
        }
        return total / n;
    }

    private static IEnumerable<Row> View(Case c, IEnumerable<int> rows) =>
        rows.Select(i => new Row { Features = c.X[i], Label = c.Y[i] + 1, Rare = c.Y[i] == c.Rare }).ToArray();

    private static SchemaDefinition Schema(Case c)
    {
        var schema = SchemaDefinition.Create(typeof(Row));
        schema[nameof(Row.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, c.X[0].Length);
        return schema;
    }

    /// <summary>The soup CSV of <see cref="PrestoSpeedBench.ExportSoup"/>: y (1–6), then the 22 dummy-coded columns.</summary>
    private static (float[][] X, int[] Y) ReadSoup(string path)
    {
        var lines = File.ReadLines(path).Skip(1).Select(l => l.Split(',')).ToArray();
        return (lines.Select(f => f.Skip(1).Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray()).ToArray(),
            lines.Select(f => int.Parse(f[0], CultureInfo.InvariantCulture) - 1).ToArray());
    }

    /// <summary>
    /// wvs.csv: poverty (Too Little &lt; About Right &lt; Too Much), then religion, degree, country, age, gender, coded as
    /// religion = yes, degree = yes, country (Norway, Sweden, USA against Australia), age / 10, gender = male.
    /// </summary>
    private static (float[][] X, int[] Y) ReadWvs(string path)
    {
        string[] levels = ["Too Little", "About Right", "Too Much"], countries = ["Norway", "Sweden", "USA"];
        var rows = File.ReadLines(path).Skip(1).Select(l => l.Split(',').Select(v => v.Trim('"')).ToArray()).ToArray();
        var x = rows.Select(f => new[] { f[1] == "yes" ? 1f : 0f, f[2] == "yes" ? 1f : 0f }
            .Concat(countries.Select(country => f[3] == country ? 1f : 0f))
            .Concat([float.Parse(f[4], CultureInfo.InvariantCulture) / 10, f[5] == "male" ? 1f : 0f]).ToArray()).ToArray();
        return (x, rows.Select(f => Array.IndexOf(levels, f[0])).ToArray());
    }
}
