using Microsoft.ML;
using MLExtensions.Plotting;
using MLExtensions.Fairness;
using Xunit;

namespace MLExtensions.Tests.Fairness;

/// <summary>The metric frame: exact metrics per slice from known counts, intersections, controls, weights, AUC and intervals.</summary>
public class MetricFrameTests
{
    public sealed class Row
    {
        public bool Label { get; set; }
        public bool PredictedLabel { get; set; }
        public float Score { get; set; }
        public string Sex { get; set; } = "";
        public string Race { get; set; } = "";
        public string Client { get; set; } = "";
        public string Age { get; set; } = "";
        public float Weight { get; set; } = 1;
    }

    private static IEnumerable<Row> Cells(string sex, string race, string client, string age, int tp, int fp, int tn, int fn)
    {
        for (int i = 0; i < tp; i++) yield return new Row { Label = true, PredictedLabel = true, Sex = sex, Race = race, Client = client, Age = age };
        for (int i = 0; i < fp; i++) yield return new Row { Label = false, PredictedLabel = true, Sex = sex, Race = race, Client = client, Age = age };
        for (int i = 0; i < tn; i++) yield return new Row { Label = false, PredictedLabel = false, Sex = sex, Race = race, Client = client, Age = age };
        for (int i = 0; i < fn; i++) yield return new Row { Label = true, PredictedLabel = false, Sex = sex, Race = race, Client = client, Age = age };
    }

    private static readonly MLContext Ml = new(1);

    [Fact]
    public void Metrics_per_group_intersection_and_client_are_the_confusion_counts_rates_and_disparities_their_spread()
    {
        var rows = Cells("F", "a", "c1", "young", 10, 5, 30, 5).Concat(Cells("M", "a", "c1", "young", 20, 10, 15, 5))
            .Concat(Cells("F", "b", "c2", "old", 6, 2, 10, 2)).Concat(Cells("M", "b", "c2", "old", 8, 8, 8, 8)).ToArray();
        var frame = Ml.Fairness().MetricFrame(Ml.Data.LoadFromEnumerable(rows), new MetricFrameOptions
        {
            SensitiveColumnNames = ["Sex"], ClientColumnName = "Client", BootstrapSamples = 0,
        });
        var female = frame.ByGroup.Single(g => g.Slice == "F").Metrics;
        // F: TP 16, FP 7, TN 40, FN 7.
        Assert.Equal(70, female.Weight);
        Assert.Equal(56.0 / 70, female.Accuracy, 12);
        Assert.Equal(16.0 / 23, female.Precision, 12);
        Assert.Equal(16.0 / 23, female.Recall, 12);
        Assert.Equal(7.0 / 47, female.FalsePositiveRate, 12);
        Assert.Equal(7.0 / 23, female.FalseNegativeRate, 12);
        Assert.Equal(23.0 / 70, female.SelectionRate, 12);
        var male = frame.ByGroup.Single(g => g.Slice == "M").Metrics; // TP 28, FP 18, TN 23, FN 13
        var selection = frame.Disparities.Single(d => d.Metric == nameof(BinaryMetrics.SelectionRate));
        Assert.Equal(46.0 / 82 - 23.0 / 70, selection.Difference, 12);
        Assert.Equal(23.0 / 70 / (46.0 / 82), selection.Ratio, 12);
        Assert.Equal(male.SelectionRate - female.SelectionRate, selection.Difference, 12);
        Assert.Equal(female.SelectionRate, frame.GroupMin(nameof(BinaryMetrics.SelectionRate)), 12);
        Assert.Equal(male.SelectionRate, frame.GroupMax(nameof(BinaryMetrics.SelectionRate)), 12);
        // To overall (69 of 152 selected): the farther group from the overall rate, and the smaller of group/overall, overall/group.
        double overall = 69.0 / 152;
        Assert.Equal(overall, frame.Overall.Metrics.SelectionRate, 12);
        Assert.Equal(Math.Max(overall - 23.0 / 70, 46.0 / 82 - overall), frame.Difference(nameof(BinaryMetrics.SelectionRate), DisparityMethod.ToOverall), 12);
        Assert.Equal(Math.Min(23.0 / 70 / overall, overall / (46.0 / 82)), frame.Ratio(nameof(BinaryMetrics.SelectionRate), DisparityMethod.ToOverall), 12);
        Assert.Equal(selection.Difference, frame.Difference(nameof(BinaryMetrics.SelectionRate)), 12);
        Assert.Empty(frame.Strata);
        Assert.Empty(frame.OverallByStratum);
        Assert.Empty(frame.DisparitiesByStratum);
        Assert.Equal(["c1", "c2"], frame.ByClient.Select(c => c.Slice));
        Assert.Equal(4, frame.ByClientAndGroup.Count);
        Assert.Null(frame.Overall.Metrics.AreaUnderRocCurve);

        var intersections = Ml.Fairness().MetricFrame(Ml.Data.LoadFromEnumerable(rows), new MetricFrameOptions { SensitiveColumnNames = ["Sex", "Race"], BootstrapSamples = 0 });
        Assert.Equal(["F & a", "F & b", "M & a", "M & b"], intersections.ByGroup.Select(g => g.Slice));

        // Control features: groups are compared within each age stratum; the disparity is the worse stratum's.
        var controlled = Ml.Fairness().MetricFrame(Ml.Data.LoadFromEnumerable(rows), new MetricFrameOptions
        {
            SensitiveColumnNames = ["Sex"], ControlColumnNames = ["Age"], BootstrapSamples = 0,
        });
        double young = 30.0 / 50 - 15.0 / 50, old = 16.0 / 32 - 8.0 / 20;
        Assert.Equal(Math.Max(young, old), controlled.Disparities.Single(d => d.Metric == nameof(BinaryMetrics.SelectionRate)).Difference, 12);
        Assert.Equal(4, controlled.ByGroup.Count);
        Assert.Contains("## Between groups", controlled.ToMarkdown());
        Assert.Contains("\"disparities\"", controlled.ToJson());
    }

    [Fact]
    public void Control_features_give_overall_and_disparities_per_stratum_and_their_worst_as_the_aggregate()
    {
        // Young: F selects 15 of 50, M 30 of 50 (overall 45 of 100). Old: F 8 of 20, M 16 of 32 (overall 24 of 52).
        var rows = Cells("F", "a", "c1", "young", 10, 5, 30, 5).Concat(Cells("M", "a", "c1", "young", 20, 10, 15, 5))
            .Concat(Cells("F", "b", "c2", "old", 6, 2, 10, 2)).Concat(Cells("M", "b", "c2", "old", 8, 8, 8, 8)).ToArray();
        var frame = Ml.Fairness().MetricFrame(Ml.Data.LoadFromEnumerable(rows), new MetricFrameOptions
        {
            SensitiveColumnNames = ["Sex"], ControlColumnNames = ["Age"], BootstrapSamples = 0,
        });
        const string selection = nameof(BinaryMetrics.SelectionRate);
        Assert.Equal(["old", "young"], frame.Strata);
        var expected = new Dictionary<string, (double F, double M, double Overall)>
        {
            ["young"] = (15.0 / 50, 30.0 / 50, 45.0 / 100), ["old"] = (8.0 / 20, 16.0 / 32, 24.0 / 52),
        };
        Assert.Equal(["old", "young"], frame.OverallByStratum.Select(o => o.Stratum));
        foreach (var (stratum, (f, m, overall)) in expected)
        {
            Assert.Equal(overall, frame.OverallByStratum.Single(o => o.Stratum == stratum).Metrics.SelectionRate, 12);
            var d = frame.Disparity(selection, stratum);
            Assert.Equal(stratum, d.Stratum);
            Assert.Equal(f, d.GroupMin, 12);
            Assert.Equal(m, d.GroupMax, 12);
            Assert.Equal(m - f, d.Difference, 12);
            Assert.Equal(f / m, d.Ratio, 12);
            // Compared with the stratum's own overall, not all rows' (69 of 152).
            Assert.Equal(Math.Max(overall - f, m - overall), d.DifferenceToOverall, 12);
            Assert.Equal(Math.Min(f / overall, overall / m), d.RatioToOverall, 12);
        }
        Assert.Equal(frame.Strata.Count * frame.MetricNames.Count, frame.DisparitiesByStratum.Count);
        // The aggregate is the worst stratum on each figure: it need not be one stratum's row.
        var worst = frame.Disparity(selection);
        Assert.Null(worst.Stratum);
        Assert.Equal(expected.Values.Max(e => e.M - e.F), worst.Difference, 12);
        Assert.Equal(expected.Values.Min(e => e.F / e.M), worst.Ratio, 12);
        Assert.Equal(expected.Values.Max(e => Math.Max(e.Overall - e.F, e.M - e.Overall)), worst.DifferenceToOverall, 12);
        Assert.Equal(expected.Values.Min(e => Math.Min(e.F / e.Overall, e.Overall / e.M)), worst.RatioToOverall, 12);
        Assert.Equal(expected.Values.Min(e => e.F), worst.GroupMin, 12);
        Assert.Equal(expected.Values.Max(e => e.M), worst.GroupMax, 12);
        Assert.Equal(152, frame.Overall.Metrics.Weight);

        Assert.Equal("stratum", Assert.Throws<ArgumentException>(() => frame.Disparity(selection, "middle")).ParamName);
        Assert.Equal("metric", Assert.Throws<ArgumentException>(() => frame.Difference("Nope")).ParamName);
        Assert.Equal("stratum", Assert.Throws<ArgumentException>(() => Ml.Fairness().MetricFrame(Ml.Data.LoadFromEnumerable(rows),
            new MetricFrameOptions { SensitiveColumnNames = ["Sex"], BootstrapSamples = 0 }).Disparity(selection, "old")).ParamName);
    }

    [Fact]
    public void Per_stratum_bootstrap_intervals_cover_their_estimates_and_the_aggregate_excludes_what_any_stratum_excludes()
    {
        // Stratum "s" has a one-row group B that Poisson replicates often miss; stratum "t" has only large groups.
        var rows = Cells("A", "x", "c", "s", 20, 20, 80, 80).Concat(Cells("B", "x", "c", "s", 1, 0, 0, 0))
            .Concat(Cells("A", "x", "c", "t", 30, 10, 50, 10)).Concat(Cells("B", "x", "c", "t", 20, 30, 30, 20)).ToArray();
        var frame = Ml.Fairness().MetricFrame(Ml.Data.LoadFromEnumerable(rows), new MetricFrameOptions
        {
            SensitiveColumnNames = ["Sex"], ControlColumnNames = ["Age"], BootstrapSamples = 200,
        });
        const string selection = nameof(BinaryMetrics.SelectionRate);
        var s = frame.Disparity(selection, "s");
        var t = frame.Disparity(selection, "t");
        var worst = frame.Disparity(selection);
        Assert.Equal(0, t.ExcludedReplicates);
        Assert.True(s.ExcludedReplicates > 0, "a one-row group is missed by about e⁻¹ of the replicates");
        Assert.Equal(s.ExcludedReplicates, worst.ExcludedReplicates);
        foreach (var d in new[] { s, t, worst })
            foreach (var (value, interval) in new[] { (d.Difference, d.DifferenceInterval), (d.Ratio, d.RatioInterval), (d.DifferenceToOverall, d.DifferenceToOverallInterval),
                         (d.RatioToOverall, d.RatioToOverallInterval), (d.GroupMin, d.GroupMinInterval), (d.GroupMax, d.GroupMaxInterval) })
                Assert.True(interval!.Value.Contains(value) || Math.Abs(value - interval.Value.Lower) < 1e-12 || Math.Abs(value - interval.Value.Upper) < 1e-12,
                    $"{d.Stratum}: {value} outside {interval}");
        foreach (var o in frame.OverallByStratum)
            Assert.True(o.Intervals[selection].Contains(o.Metrics.SelectionRate));
    }

    [Fact]
    public void User_metrics_get_the_same_breakdown_intervals_and_disparities_as_built_in_ones()
    {
        var random = new Random(5);
        var rows = Enumerable.Range(0, 600).Select(i =>
        {
            bool label = random.NextDouble() < 0.4;
            float score = (float)(random.NextDouble() + (label ? 0.3 : 0));
            return new Row
            {
                Label = label, Score = score, PredictedLabel = score > 0.6 + (i % 3 == 0 ? 0.2 : 0), Sex = i % 3 == 0 ? "F" : "M", Age = i % 2 == 0 ? "young" : "old",
                Client = $"c{i % 4}", Weight = 1 + i % 3,
            };
        }).ToArray();
        var options = new MetricFrameOptions
        {
            SensitiveColumnNames = ["Sex"], ControlColumnNames = ["Age"], ClientColumnName = "Client", ScoreColumnName = "Score", ExampleWeightColumnName = "Weight",
            BootstrapSamples = 60,
        };
        // The built-in selection rate and recall, written as user metrics: every figure must match the built-in one.
        options.Metrics.Add("my selection", s => Enumerable.Range(0, s.Count).Where(i => s.Predictions[i]).Sum(i => s.Weights[i]) / s.Weights.Sum());
        options.Metrics.Add("my recall", s =>
        {
            double positives = Enumerable.Range(0, s.Count).Where(i => s.Labels[i]).Sum(i => s.Weights[i]);
            return positives > 0 ? Enumerable.Range(0, s.Count).Where(i => s.Labels[i] && s.Predictions[i]).Sum(i => s.Weights[i]) / positives : double.NaN;
        });
        options.Metrics.Add("mean score", s => Enumerable.Range(0, s.Count).Sum(i => s.Weights[i] * s.Scores![i]) / s.Weights.Sum());
        var frame = Ml.Fairness().MetricFrame(Ml.Data.LoadFromEnumerable(rows), options);
        Assert.Equal([.. frame.Overall.Metrics.ByName().Keys, "my selection", "my recall", "mean score"], frame.MetricNames);
        foreach (var (mine, builtIn) in new[] { ("my selection", nameof(BinaryMetrics.SelectionRate)), ("my recall", nameof(BinaryMetrics.Recall)) })
        {
            foreach (var slice in new[] { frame.Overall }.Concat(frame.OverallByStratum).Concat(frame.ByGroup).Concat(frame.ByClient).Concat(frame.ByClientAndGroup))
            {
                Assert.Equal(slice.Values[builtIn], slice.Values[mine], 12);
                Assert.Equal(slice.Intervals[builtIn].Lower, slice.Intervals[mine].Lower, 12);
                Assert.Equal(slice.Intervals[builtIn].Upper, slice.Intervals[mine].Upper, 12);
            }
            foreach (var d in frame.Disparities.Concat(frame.DisparitiesByStratum).Where(d => d.Metric == builtIn))
            {
                var u = frame.Disparity(mine, d.Stratum);
                Assert.Equal(d.ExcludedReplicates, u.ExcludedReplicates);
                foreach (var method in new[] { DisparityMethod.BetweenGroups, DisparityMethod.ToOverall })
                {
                    Assert.Equal(d.DifferenceBy(method), u.DifferenceBy(method), 12);
                    Assert.Equal(d.RatioBy(method), u.RatioBy(method), 12);
                }
                Assert.Equal(d.GroupMin, u.GroupMin, 12);
                Assert.Equal(d.GroupMax, u.GroupMax, 12);
                foreach (var (a, b) in new[] { (d.DifferenceInterval, u.DifferenceInterval), (d.RatioToOverallInterval, u.RatioToOverallInterval), (d.GroupMaxInterval, u.GroupMaxInterval) })
                {
                    Assert.Equal(a!.Value.Lower, b!.Value.Lower, 12);
                    Assert.Equal(a.Value.Upper, b.Value.Upper, 12);
                }
            }
        }
        var female = frame.ByGroup.First(g => g.Slice == "F");
        Assert.True(female.Intervals["mean score"].Lower < female.Values["mean score"] && female.Values["mean score"] < female.Intervals["mean score"].Upper);
        Assert.Contains("mean score", frame.ToMarkdown());
        Assert.Contains("\"mean score\"", frame.ToJson());
        Assert.Equal(frame.ByGroup.Count, frame.ToCsv().Split('\n').Count(l => l.StartsWith("byGroup,") && l.Contains(",mean score,")));
    }

    [Fact]
    public void A_user_metric_that_fails_or_collides_is_named()
    {
        var rows = Cells("F", "a", "c1", "y", 5, 5, 5, 5).Concat(Cells("M", "a", "c1", "y", 5, 5, 5, 5)).ToArray();
        var data = Ml.Data.LoadFromEnumerable(rows);
        MetricFrameOptions With(string name, MetricFunction metric)
        {
            var o = new MetricFrameOptions { SensitiveColumnNames = ["Sex"], BootstrapSamples = 5 };
            o.Metrics.Add(name, metric);
            return o;
        }
        var thrown = Assert.Throws<InvalidOperationException>(() => Ml.Fairness().MetricFrame(data, With("boom", s => s.Name == "M" ? throw new InvalidCastException("bad") : 1)));
        Assert.Contains("'boom'", thrown.Message);
        Assert.Contains("'M'", thrown.Message);
        Assert.IsType<InvalidCastException>(thrown.InnerException);
        Assert.Contains("NaN where", Assert.Throws<InvalidOperationException>(() => Ml.Fairness().MetricFrame(data, With("inf", _ => double.PositiveInfinity))).Message);
        // A metric that fails only in a replicate says which.
        int calls = 0;
        Assert.Contains("bootstrap replicate", Assert.Throws<InvalidOperationException>(() => Ml.Fairness().MetricFrame(data, With("late", _ => ++calls > 3 ? throw new InvalidOperationException("x") : 1))).Message);
        var collision = Assert.Throws<ArgumentException>(() => Ml.Fairness().MetricFrame(data, With(nameof(BinaryMetrics.Recall), _ => 1)));
        Assert.Equal(nameof(MetricFrameOptions.Metrics), collision.ParamName);
        Assert.Equal(nameof(MetricFrameOptions.Metrics), Assert.Throws<ArgumentException>(() => Ml.Fairness().MetricFrame(data, With(" ", _ => 1))).ParamName);
        Assert.Equal(nameof(MetricFrameOptions.Metrics), Assert.Throws<ArgumentException>(() => Ml.Fairness().MetricFrame(data, With("null", null!))).ParamName);
        Assert.Equal(nameof(MetricFrameOptions.Metrics), Assert.Throws<ArgumentException>(() => Ml.Fairness().MetricFrame(data,
            new MetricFrameOptions { SensitiveColumnNames = ["Sex"], Metrics = null! })).ParamName);
    }

    [Fact]
    public void Csv_json_and_markdown_carry_every_slice_and_figure()
    {
        var rows = Cells("F", "a", "c1", "young", 10, 5, 30, 5).Concat(Cells("M", "a", "c1", "young", 20, 10, 15, 5))
            .Concat(Cells("F", "b", "c2", "old", 6, 2, 10, 2)).Concat(Cells("M", "b", "c2", "old", 8, 8, 8, 8)).ToArray();
        var frame = Ml.Fairness().MetricFrame(Ml.Data.LoadFromEnumerable(rows), new MetricFrameOptions
        {
            SensitiveColumnNames = ["Sex"], ControlColumnNames = ["Age"], ClientColumnName = "Client", BootstrapSamples = 20,
        });
        var lines = frame.ToCsv().TrimEnd('\n').Split('\n');
        int slices = 1 + frame.OverallByStratum.Count + frame.ByGroup.Count + frame.ByClient.Count + frame.ByClientAndGroup.Count;
        Assert.Equal(1 + slices * frame.MetricNames.Count + (frame.Disparities.Count + frame.DisparitiesByStratum.Count) * 7, lines.Length);
        var fields = lines.Skip(1).Select(l => l.Split(',')).ToList();
        var youngF = frame.ByGroup.Single(g => g.Slice == "F" && g.Stratum == "young");
        var line = fields.Single(f => f[0] == "byGroup" && f[1] == "young" && f[2] == "F" && f[3] == nameof(BinaryMetrics.SelectionRate));
        Assert.Equal(youngF.Metrics.SelectionRate, double.Parse(line[4], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(youngF.Intervals[nameof(BinaryMetrics.SelectionRate)].Lower, double.Parse(line[5], System.Globalization.CultureInfo.InvariantCulture));
        var oldRatio = fields.Single(f => f[0] == "disparity" && f[1] == "old" && f[2] == nameof(MetricDisparity.RatioToOverall) && f[3] == nameof(BinaryMetrics.SelectionRate));
        Assert.Equal(frame.Ratio(nameof(BinaryMetrics.SelectionRate), DisparityMethod.ToOverall, "old"), double.Parse(oldRatio[4], System.Globalization.CultureInfo.InvariantCulture));

        using var json = System.Text.Json.JsonDocument.Parse(frame.ToJson());
        Assert.Equal(frame.OverallByStratum.Count, json.RootElement.GetProperty("overallByStratum").GetArrayLength());
        var jsonYoung = json.RootElement.GetProperty("disparitiesByStratum").EnumerateArray()
            .Single(d => d.GetProperty("stratum").GetString() == "young" && d.GetProperty("metric").GetString() == nameof(BinaryMetrics.SelectionRate));
        Assert.Equal(frame.Difference(nameof(BinaryMetrics.SelectionRate), DisparityMethod.ToOverall, "young"), jsonYoung.GetProperty("differenceToOverall").GetDouble(), 12);
        Assert.True(jsonYoung.TryGetProperty("ratioToOverallInterval", out _));

        var md = frame.ToMarkdown();
        Assert.Contains("## Overall by stratum", md);
        Assert.Contains("## To overall", md);
        Assert.Contains("| SelectionRate | worst over strata |", md);
        Assert.Contains("| SelectionRate | young |", md);
    }

    [Fact]
    public void A_metric_is_plotted_per_group_with_its_intervals_as_png_or_svg()
    {
        var rows = Cells("F", "a", "c1", "young", 10, 5, 30, 5).Concat(Cells("M", "a", "c1", "young", 20, 10, 15, 5))
            .Concat(Cells("F", "b", "c2", "old", 6, 2, 10, 2)).Concat(Cells("M", "b", "c2", "old", 8, 8, 8, 8)).ToArray();
        var frame = Ml.Fairness().MetricFrame(Ml.Data.LoadFromEnumerable(rows), new MetricFrameOptions { SensitiveColumnNames = ["Sex"], BootstrapSamples = 50 });
        var controlled = Ml.Fairness().MetricFrame(Ml.Data.LoadFromEnumerable(rows), new MetricFrameOptions
        {
            SensitiveColumnNames = ["Sex"], ControlColumnNames = ["Age"], BootstrapSamples = 50,
        });
        var folder = Directory.CreateTempSubdirectory("metric-frame-plots").FullName;
        try
        {
            SkiaSharp.SKBitmap Png(MetricFrame f, string metric)
            {
                var file = Path.Combine(folder, $"{metric}-{f.Strata.Count}.png");
                f.SavePlot(metric, file);
                var bytes = File.ReadAllBytes(file);
                Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes.Take(4).ToArray());
                return SkiaSharp.SKBitmap.Decode(bytes);
            }
            using var selection = Png(frame, nameof(BinaryMetrics.SelectionRate));
            using var accuracy = Png(frame, nameof(BinaryMetrics.Accuracy));
            Assert.True(selection.Width > 100 && selection.Height > 100);
            // Not a blank canvas: axes, labels, points and bars in several colours, and another metric draws another picture.
            Assert.True(selection.Pixels.Distinct().Count() > 20, "the plot has hardly any colours");
            Assert.NotEqual(selection.Pixels, accuracy.Pixels);

            var svgFile = Path.Combine(folder, "selection.svg");
            controlled.SaveSvg(nameof(BinaryMetrics.SelectionRate), svgFile);
            var svg = File.ReadAllText(svgFile);
            Assert.Contains("<svg", svg);
            var texts = System.Text.RegularExpressions.Regex.Matches(svg, "<text[^>]*>(.*?)</text>", System.Text.RegularExpressions.RegexOptions.Singleline)
                .Select(m => m.Groups[1].Value.Trim()).ToHashSet();
            // Group ticks, the overall category, one legend entry per stratum, title and axis labels.
            foreach (var label in new[] { "F", "M", "overall", "old", "young", "SelectionRate by group", "group (bars: bootstrap intervals)", "SelectionRate" })
                Assert.Contains(label, texts);
            // A point per group and overall in each of the two strata.
            Assert.True(System.Text.RegularExpressions.Regex.Matches(svg, "<ellipse").Count >= 6);
            Assert.Equal("metric", Assert.Throws<ArgumentException>(() => frame.SavePlot("Nope", Path.Combine(folder, "x.png"))).ParamName);
            Assert.Throws<ArgumentException>(() => frame.SavePlot(nameof(BinaryMetrics.Accuracy), Path.Combine(folder, "x.gif")));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
        // Only positives: the false positive rate is undefined in every group.
        var positives = Ml.Fairness().MetricFrame(Ml.Data.LoadFromEnumerable(Cells("F", "a", "c", "y", 5, 0, 0, 5).Concat(Cells("M", "a", "c", "y", 3, 0, 0, 7))),
            new MetricFrameOptions { SensitiveColumnNames = ["Sex"], BootstrapSamples = 0 });
        Assert.Contains("'FalsePositiveRate'", Assert.Throws<InvalidOperationException>(() => positives.ToSvg(nameof(BinaryMetrics.FalsePositiveRate))).Message);
    }

    [Fact]
    public void Weights_count_as_repeated_rows_and_auc_matches_ml_net()
    {
        var random = new Random(3);
        var rows = Enumerable.Range(0, 400).Select(i =>
        {
            bool label = random.NextDouble() < 0.4;
            float score = (float)(random.NextDouble() + (label ? 0.4 : 0));
            return new Row { Label = label, Score = score, PredictedLabel = score > 0.7, Sex = i % 3 == 0 ? "F" : "M", Weight = 1 + i % 2 };
        }).ToArray();
        var repeated = rows.SelectMany(r => Enumerable.Repeat(r, (int)r.Weight)).Select(r => new Row { Label = r.Label, Score = r.Score, PredictedLabel = r.PredictedLabel, Sex = r.Sex }).ToArray();
        var weighted = Ml.Fairness().MetricFrame(Ml.Data.LoadFromEnumerable(rows), new MetricFrameOptions
        {
            SensitiveColumnNames = ["Sex"], ScoreColumnName = "Score", ExampleWeightColumnName = "Weight", BootstrapSamples = 0,
        });
        var expanded = Ml.Fairness().MetricFrame(Ml.Data.LoadFromEnumerable(repeated), new MetricFrameOptions { SensitiveColumnNames = ["Sex"], ScoreColumnName = "Score", BootstrapSamples = 0 });
        Assert.Equal(expanded.Overall.Metrics, weighted.Overall.Metrics);
        Assert.Equal(expanded.ByGroup.Select(g => g.Metrics), weighted.ByGroup.Select(g => g.Metrics));
        var mlNet = Ml.BinaryClassification.EvaluateNonCalibrated(Ml.Data.LoadFromEnumerable(repeated), "Label", "Score");
        Assert.Equal(mlNet.AreaUnderRocCurve, expanded.Overall.Metrics.AreaUnderRocCurve!.Value, 6);
    }

    [Fact]
    public void Bootstrap_intervals_are_seeded_and_cover_the_estimates()
    {
        var rows = Cells("F", "a", "c1", "y", 40, 20, 120, 20).Concat(Cells("M", "a", "c1", "y", 80, 40, 60, 20)).ToArray();
        MetricFrame Frame(int seed) => Ml.Fairness().MetricFrame(Ml.Data.LoadFromEnumerable(rows), new MetricFrameOptions { SensitiveColumnNames = ["Sex"], Seed = seed, BootstrapSamples = 100 });
        var frame = Frame(1);
        Assert.Equal(frame.ToJson(), Frame(1).ToJson());
        Assert.NotEqual(frame.ToJson(), Frame(2).ToJson());
        foreach (var group in frame.ByGroup)
            foreach (var (name, value) in group.Metrics.ByName())
                Assert.True(group.Intervals[name].Contains(value), $"{group.Slice} {name}: {value} outside {group.Intervals[name]}");
        var selection = frame.Disparities.Single(d => d.Metric == nameof(BinaryMetrics.SelectionRate));
        Assert.True(selection.DifferenceInterval!.Value.Contains(selection.Difference));
        Assert.True(selection.DifferenceInterval.Value.Lower > 0, "the groups' selection rates (0.30 and 0.60) differ clearly");
    }

    [Fact]
    public void A_replicate_that_draws_no_weight_for_a_group_does_not_shrink_the_difference_to_fewer_groups()
    {
        // A single-row group selected (rate 1) between two large groups (rates 0.2 and 0.5): every Poisson replicate
        // draws that row with probability 1 − e⁻¹ only. The difference over all three groups is 1 − rate(A) in every
        // replicate that has the row; a replicate without it would report rate(C) − rate(A) ≈ 0.3 instead.
        var rows = Cells("A", "x", "c", "y", 20, 20, 80, 80).Concat(Cells("B", "x", "c", "y", 1, 0, 0, 0))
            .Concat(Cells("C", "x", "c", "y", 50, 50, 50, 50)).ToArray();
        var frame = Ml.Fairness().MetricFrame(Ml.Data.LoadFromEnumerable(rows), new MetricFrameOptions { SensitiveColumnNames = ["Sex"], BootstrapSamples = 200 });
        var a = frame.ByGroup.Single(g => g.Slice == "A");
        var selection = frame.Disparities.Single(d => d.Metric == nameof(BinaryMetrics.SelectionRate));
        Assert.Equal(1 - a.Metrics.SelectionRate, selection.Difference, 12);
        var interval = selection.DifferenceInterval!.Value;
        // Within the replicates that keep every group, the difference is 1 − rate(A): its interval mirrors A's.
        Assert.True(interval.Lower >= 1 - a.Intervals[nameof(BinaryMetrics.SelectionRate)].Upper - 0.05,
            $"difference interval {interval} reaches below 1 − A's upper bound: replicates without group B were counted over two groups");
        // About e⁻¹ of the replicates miss group B; they are counted, not hidden.
        Assert.InRange(selection.ExcludedReplicates, 40, 110);
        Assert.Equal(selection.ExcludedReplicates, frame.Disparities.Single(d => d.Metric == nameof(BinaryMetrics.Accuracy)).ExcludedReplicates);
        // B has no negatives, so its false positive rate is undefined in the estimate too: nothing to miss, nothing excluded.
        Assert.Equal(0, frame.Disparities.Single(d => d.Metric == nameof(BinaryMetrics.FalsePositiveRate)).ExcludedReplicates);
    }

    [Fact]
    public void Bad_input_is_named()
    {
        var rows = Cells("F", "a", "c1", "y", 5, 5, 5, 5).ToArray();
        var data = Ml.Data.LoadFromEnumerable(rows);
        Assert.Contains("'Nope'", Assert.ThrowsAny<ArgumentException>(() => Ml.Fairness().MetricFrame(data, new MetricFrameOptions { SensitiveColumnNames = ["Nope"] })).Message);
        Assert.Contains("'Score'", Assert.Throws<ArgumentException>(() => Ml.Fairness().MetricFrame(data, new MetricFrameOptions { SensitiveColumnNames = ["Sex"], LabelColumnName = "Score" })).Message);
        Assert.Contains("nothing to compare", Assert.Throws<InvalidDataException>(() => Ml.Fairness().MetricFrame(data, new MetricFrameOptions { SensitiveColumnNames = ["Sex"] })).Message);
        Assert.Throws<ArgumentException>(() => Ml.Fairness().MetricFrame(data, new MetricFrameOptions { SensitiveColumnNames = [] }));
    }
}
