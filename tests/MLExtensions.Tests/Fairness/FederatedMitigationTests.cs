using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Fairness;
using Xunit;
using Xunit.Abstractions;

namespace MLExtensions.Tests.Fairness;

/// <summary>
/// The mitigator fitted from merged score histograms, without moving rows: parties count, a coordinator merges and
/// fits, and the rules are those of the pooled rows with their scores at their bins' lower edges.
/// </summary>
public class FederatedMitigationTests(ITestOutputHelper output)
{
    public sealed class Row
    {
        public string Client { get; set; } = "";
        public string Sensitive { get; set; } = "";
        public bool Label { get; set; }
        public float Probability { get; set; }
        public string Id { get; set; } = "";
    }

    private static readonly string[] Clients = ["north", "south", "east"];

    /// <summary>
    /// Three clients, one per party, with different group shares and biases (so cells differ), and a calibrated model:
    /// probability sigmoid(1.5·x + bias(client, group)).
    /// </summary>
    public static Row[] Rows(int perClient, int seed)
    {
        var random = new Random(seed);
        var rows = new List<Row>();
        for (int c = 0; c < Clients.Length; c++)
            for (int i = 0; i < perClient; i++)
            {
                string group = random.NextDouble() < 0.4 + 0.15 * c ? "m" : "f";
                double x = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
                double bias = (group == "m" ? 0.9 : -0.6) + 0.4 * (c - 1);
                double p = 1 / (1 + Math.Exp(-(1.5 * x + bias)));
                rows.Add(new Row { Client = Clients[c], Sensitive = group, Label = random.NextDouble() < p, Probability = (float)p, Id = $"{seed}-{c}-{i}" });
            }
        return [.. rows];
    }

    private static FairnessMitigator.Options Options(double? shrinkage, FairnessConstraint constraint = FairnessConstraint.DemographicParity) => new()
    {
        SensitiveColumnName = "Sensitive", ClientColumnName = "Client", LabelColumnName = "Label", ScoreColumnName = "Probability",
        GlobalBudget = 0.002, LocalBudget = 0.002, Constraint = constraint, ShrinkageRows = shrinkage, RowKeyColumnName = "Id", Seed = 3,
    };

    /// <summary>Each party counts its rows alone (own MLContext, own task) and sends text: JSON from two, CSV from the third.</summary>
    private static async Task<FairnessScoreHistograms> FederatedHistograms(Row[] rows, FairnessMitigator.Options options, IReadOnlyList<double>? edges)
    {
        var sent = await Task.WhenAll(rows.GroupBy(r => r.Client).Select((party, index) => Task.Run(() =>
        {
            var ml = new MLContext(100 + index);
            var histograms = ml.Fairness().Mitigate(options).ScoreHistograms(ml.Data.LoadFromEnumerable(party.ToArray()), edges);
            return (Csv: index == 2, Text: index == 2 ? histograms.ToCsv() : histograms.ToJson());
        })));
        Assert.Equal(3, sent.Length);
        return FairnessScoreHistograms.Merge(sent.Select(m => m.Csv ? FairnessScoreHistograms.FromCsv(new StringReader(m.Text)) : FairnessScoreHistograms.FromJson(m.Text)).ToArray());
    }

    /// <summary>The same solution and rates per cell; with <paramref name="sameThresholds"/>, the same rules too.</summary>
    private static void AssertSameRules(FairnessMitigatorModel expected, FairnessMitigatorModel actual, bool sameThresholds = true)
    {
        Assert.Equal(expected.Rules.Count, actual.Rules.Count);
        for (int i = 0; i < expected.Rules.Count; i++)
        {
            var (e, a) = (expected.Rules[i], actual.Rules[i]);
            Assert.Equal((e.Client, e.Group, e.PositiveRate), (a.Client, a.Group, a.PositiveRate));
            if (sameThresholds) Assert.Equal(e.Branches.ToArray(), a.Branches.ToArray());
            else Assert.Equal(e.Branches.Select(b => b.Probability).ToArray(), a.Branches.Select(b => b.Probability).ToArray());
        }
        Assert.Equal(expected.PooledRule.Branches.ToArray(), actual.PooledRule.Branches.ToArray());
        Assert.Equal(expected.Solution.Accuracy, actual.Solution.Accuracy);
        Assert.Equal(expected.Shrinkage, actual.Shrinkage);
    }

    private static bool[] Decisions(ITransformer model, IDataView data) => model.Transform(data).GetColumn<bool>("FairPredictedLabel").ToArray();

    private static double Accuracy(bool[] decisions, Row[] rows) => decisions.Zip(rows, (d, r) => d == r.Label ? 1.0 : 0).Average();

    [Theory]
    [InlineData(30.0, FairnessConstraint.DemographicParity)]
    [InlineData(0.0, FairnessConstraint.EqualizedOdds)]
    [InlineData(null, FairnessConstraint.DemographicParity)]
    public async Task Merged_party_histograms_fit_the_pooled_rows_moved_to_their_bins_lower_edges(double? shrinkage, FairnessConstraint constraint)
    {
        var ml = new MLContext(1);
        var rows = Rows(3000, 31);
        var test = ml.Data.LoadFromEnumerable(Rows(1500, 32));
        // 1,024 bins: every edge k/1024 is a float, so the pooled rows can carry it in their Single score column exactly.
        var edges = FairnessScoreHistograms.UniformEdges(0, 1, 1024);
        var options = Options(shrinkage, constraint);
        var merged = await FederatedHistograms(rows, options, edges);
        Assert.Equal(rows.Length, merged.Rows);

        var pooled = ml.Data.LoadFromEnumerable(rows);
        var federated = ml.Fairness().Mitigate(options).Fit(merged, pooled.Schema);
        var binning = new FairnessScoreHistograms(edges);
        var moved = rows.Select(r => new Row { Client = r.Client, Sensitive = r.Sensitive, Label = r.Label, Id = r.Id, Probability = (float)edges[binning.BinOf(r.Probability)] }).ToArray();
        Assert.Contains(rows, r => (float)edges[binning.BinOf(r.Probability)] != r.Probability); // the scores did move

        if (shrinkage is null)
        {
            // Cross-validation folds differ between single rows and bins; the pooled rows' histogram folds as the merged one does.
            var onePool = ml.Fairness().Mitigate(options).Fit(ml.Fairness().Mitigate(options).ScoreHistograms(pooled, edges), pooled.Schema);
            AssertSameRules(onePool, federated);
            Assert.Equal(onePool.CrossFitted, federated.CrossFitted);
            options.ShrinkageRows = federated.Shrinkage; // what cross-validation chose: the rules on single rows given it
        }
        // The pooled rows moved to their bins' lower edges pose the same problem: the same solution and mixtures. Only
        // where a threshold sits inside a gap between the cell's scores may differ (rows place it at the group's
        // calibrated ½ point, bins keep it on an edge), so the moved rows themselves are decided alike.
        var movedData = ml.Data.LoadFromEnumerable(moved);
        var reference = ml.Fairness().Mitigate(options).Fit(movedData);
        AssertSameRules(reference, federated, sameThresholds: false);
        Assert.Contains(federated.Rules, r => r.Branches.Any(b => double.IsFinite(b.Rule.Threshold))); // real thresholds, not all never/always
        Assert.Equal(Decisions(reference, movedData), Decisions(federated, movedData));

        var decisions = Decisions(federated, test);
        Assert.Equal(decisions, ModelRoundTrip.SaveLoadAndScore<bool>(federated, test, "FairPredictedLabel"));
        // Without a schema the chain is built from the options (text key "Id"): it scores the same.
        Assert.Equal(decisions, Decisions(ml.Fairness().Mitigate(options).Fit(merged), test));
    }

    [Theory]
    [InlineData(30.0)]
    [InlineData(null)]
    public async Task At_a_thousand_bins_the_federated_fit_is_within_half_a_point_of_the_unbinned_pooled_fit(double? shrinkage)
    {
        var ml = new MLContext(1);
        var rows = Rows(3000, 41);
        var testRows = Rows(3000, 42);
        var test = ml.Data.LoadFromEnumerable(testRows);
        var options = Options(shrinkage);
        var federated = ml.Fairness().Mitigate(options).Fit(await FederatedHistograms(rows, options, edges: null));
        var unbinned = ml.Fairness().Mitigate(options).Fit(ml.Data.LoadFromEnumerable(rows));
        Assert.Equal(1000, FairnessScoreHistograms.DefaultBinEdges.Count - 1);

        double federatedAccuracy = Accuracy(Decisions(federated, test), testRows), unbinnedAccuracy = Accuracy(Decisions(unbinned, test), testRows);
        output.WriteLine($"held-out accuracy federated {federatedAccuracy:F4}, unbinned {unbinnedAccuracy:F4}; promised {federated.Solution.Accuracy:F4} / {unbinned.Solution.Accuracy:F4}; " +
                         $"cross-fitted {federated.CrossFitted.Accuracy:F4} / {unbinned.CrossFitted.Accuracy:F4}; shrinkage {federated.Shrinkage} / {unbinned.Shrinkage}");
        Assert.True(Math.Abs(federatedAccuracy - unbinnedAccuracy) <= 0.005, $"held-out accuracy federated {federatedAccuracy:F4}, unbinned {unbinnedAccuracy:F4}");
        Assert.True(Math.Abs(federated.Solution.Accuracy - unbinned.Solution.Accuracy) <= 0.005, $"promised {federated.Solution.Accuracy:F4} vs {unbinned.Solution.Accuracy:F4}");
        // The cross-fitted estimate from bins divided among folds tells the same story as the one from single rows.
        Assert.True(Math.Abs(federated.CrossFitted.Accuracy - unbinned.CrossFitted.Accuracy) <= 0.01,
            $"cross-fitted federated {federated.CrossFitted.Accuracy:F4}, unbinned {unbinned.CrossFitted.Accuracy:F4}");
        Assert.True(Math.Abs(federated.CrossFitted.Accuracy - federatedAccuracy) <= 0.02, $"cross-fitted {federated.CrossFitted.Accuracy:F4}, held-out {federatedAccuracy:F4}");
    }

    [Fact]
    public async Task With_coarse_bins_every_threshold_is_a_bin_edge_so_each_cell_scores_the_rate_it_was_fitted_to()
    {
        var ml = new MLContext(1);
        var rows = Rows(4000, 51);
        var options = Options(shrinkage: null);
        var edges = FairnessScoreHistograms.UniformEdges(0, 1, 20);
        var model = ml.Fairness().Mitigate(options).Fit(await FederatedHistograms(rows, options, edges));
        foreach (var rule in model.Rules)
            foreach (var branch in rule.Branches.Where(b => double.IsFinite(b.Rule.Threshold)))
            {
                // "score ≥ e" or its complement "score < e" (stored as −score ≥ −e⁻): either way e is an edge.
                double threshold = branch.Rule.Sign > 0 ? branch.Rule.Threshold : Math.BitIncrement(-branch.Rule.Threshold);
                Assert.Contains(edges, e => e == threshold);
            }
        // The fitting rows themselves, unbinned: each cell's expected positive rate is the solver's.
        foreach (var rule in model.Rules)
        {
            var cell = rows.Where(r => r.Client == rule.Client && r.Sensitive == rule.Group).ToArray();
            double rate = cell.Average(r => rule.PositiveProbability(r.Probability));
            Assert.True(Math.Abs(rate - rule.PositiveRate) < 1e-9, $"({rule.Client}, {rule.Group}): unbinned rows' rate {rate:F6}, fitted {rule.PositiveRate:F6}");
        }
    }

    [Fact]
    public void Json_and_csv_round_trip_awkward_values_text_labels_and_custom_edges()
    {
        double[] edges = [-7.5, -2, -0.125, 0, 0.3, 1.0 / 3, 4, 12.25];
        var table = new FairnessScoreHistograms(edges, positiveLabel: "approve", negativeLabel: "deny");
        string[] clients = ["bank, north", "bank \"A\"", "two\nlines", "Zürich 東京", " padded "];
        string[] groups = ["f, 40+", "m\r\n\"x\""];
        var random = new Random(5);
        foreach (var client in clients)
            foreach (var group in groups)
                for (int i = 0; i < 30; i++)
                    table.Add(client, group, random.NextDouble() < 0.4, -10 + 25 * random.NextDouble(), random.Next(1, 1_000_000));
        table.Add("big", "f", true, 0.3, long.MaxValue / 2);

        var fromJson = FairnessScoreHistograms.FromJson(table.ToJson());
        var fromCsv = FairnessScoreHistograms.FromCsv(new StringReader(table.ToCsv()));
        foreach (var again in new[] { fromJson, fromCsv })
        {
            Assert.Equal(table.Cells.OrderBy(c => c.Key), again.Cells.OrderBy(c => c.Key));
            Assert.Equal(edges, again.BinEdges);
            Assert.Equal(("approve", "deny"), (again.PositiveLabel, again.NegativeLabel));
            Assert.Equal(table.Rows, again.Rows);
            Assert.Equal(table.ToJson(), again.ToJson());
            Assert.Equal(table.ToCsv(), again.ToCsv());
        }
        Assert.Contains(table.Cells.Keys, k => k.Client == " padded "); // values are kept as given, spaces too
        Assert.Contains(",approve,", table.ToCsv());
        Assert.Contains(",deny,", table.ToCsv());
    }

    [Fact]
    public void A_warehouse_group_by_reads_with_the_agreed_edges_and_its_own_label_values()
    {
        // What SELECT client, sensitive, label, LEAST(GREATEST(FLOOR(score * 1000), 0), 999) / 1000.0 AS bin_lower, COUNT(*) ... returns.
        var random = new Random(9);
        var expected = new FairnessScoreHistograms(positiveLabel: "approve", negativeLabel: "deny");
        var byLine = new Dictionary<(string, string, string, double), long>();
        for (int i = 0; i < 5000; i++)
        {
            string client = random.NextDouble() < 0.5 ? "c1" : "c,2";
            string group = random.NextDouble() < 0.5 ? "f" : "m";
            bool label = random.NextDouble() < 0.3;
            double score = (float)(random.NextDouble() * 1.2 - 0.1); // some outside [0, 1]: the end bins take them
            expected.Add(client, group, label, score);
            double lower = Math.Clamp(Math.Floor(score * 1000), 0, 999) / 1000.0;
            var key = (client, group, label ? "approve" : "deny", lower);
            byLine[key] = byLine.GetValueOrDefault(key) + 1;
        }
        var csv = "client,sensitive,label,bin_lower,count\n" + string.Concat(byLine.Select(e =>
            $"\"{e.Key.Item1}\",{e.Key.Item2},{e.Key.Item3},{e.Key.Item4.ToString(System.Globalization.CultureInfo.InvariantCulture)},{e.Value}\n"));
        var read = FairnessScoreHistograms.FromCsv(new StringReader(csv), binEdges: null, positiveLabel: "approve");
        Assert.Equal(expected.Cells.OrderBy(c => c.Key), read.Cells.OrderBy(c => c.Key));
        Assert.Equal(("approve", "deny"), (read.PositiveLabel, read.NegativeLabel));
        Assert.True(expected.Cells.Keys.Any(k => k.Bin == 0) && expected.Cells.Keys.Any(k => k.Bin == 999));

        // Boolean labels need no positive label: true/false in any casing, or 1/0.
        var booleans = FairnessScoreHistograms.FromCsv(new StringReader("client,sensitive,label,bin_lower,count\na,f,TRUE,0.5,2\na,f,0,0.5,3\na,m,1,0.25,4\n"));
        Assert.Equal(2, booleans.Cells[("a", "f", true, 500)]);
        Assert.Equal(3, booleans.Cells[("a", "f", false, 500)]);
        Assert.Equal(4, booleans.Cells[("a", "m", true, 250)]);
    }

    [Fact]
    public void Merge_refuses_other_edges_and_counts_that_overflow()
    {
        var a = new FairnessScoreHistograms();
        a.Add("c", "f", true, 0.5, 10);
        var other = new FairnessScoreHistograms(FairnessScoreHistograms.UniformEdges(0, 1, 100));
        var error = Assert.Throws<ArgumentException>(() => FairnessScoreHistograms.Merge(a, other));
        Assert.Contains("table 1", error.Message);
        Assert.Contains("100 bins", error.Message);
        var shifted = FairnessScoreHistograms.DefaultBinEdges.ToArray();
        shifted[500] = 0.5001;
        Assert.Contains("edge 500", Assert.Throws<ArgumentException>(() => FairnessScoreHistograms.Merge(a, new FairnessScoreHistograms(shifted))).Message);
        Assert.Throws<ArgumentNullException>(() => FairnessScoreHistograms.Merge(a, null!));

        var full = new FairnessScoreHistograms();
        full.Add("c", "f", true, 0.5, long.MaxValue - 5);
        var overflow = Assert.Throws<OverflowException>(() => FairnessScoreHistograms.Merge(full, a));
        Assert.Contains("table 1", overflow.Message);
        Assert.Contains("client 'c'", overflow.Message);
        Assert.Throws<OverflowException>(() => full.Add("d", "m", false, 0.1, 6)); // the total, in another bin
        Assert.Equal(long.MaxValue - 5, full.Rows);                               // nothing half-added
        var merged = FairnessScoreHistograms.Merge(a, a);
        Assert.Equal(20, merged.Cells[("c", "f", true, 500)]);
    }

    [Fact]
    public async Task Bad_input_is_refused_naming_the_column_option_or_line()
    {
        var ml = new MLContext(1);
        Assert.Contains("edge 2", Assert.Throws<ArgumentException>(() => new FairnessScoreHistograms([0, 0.5, 0.5, 1])).Message);
        Assert.Contains("binEdges", Assert.Throws<ArgumentException>(() => new FairnessScoreHistograms([0, double.NaN])).ParamName);
        Assert.Equal("score", Assert.Throws<ArgumentException>(() => new FairnessScoreHistograms().Add("c", "f", true, double.NaN)).ParamName);
        Assert.Equal("client", Assert.Throws<ArgumentException>(() => new FairnessScoreHistograms().Add("", "f", true, 0.5)).ParamName);

        string Csv(string body) => "client,sensitive,label,bin_lower,count\n" + body;
        InvalidDataException Refused(string csv, string? positive = null) => Assert.Throws<InvalidDataException>(() => FairnessScoreHistograms.FromCsv(new StringReader(csv), positiveLabel: positive));
        Assert.Contains("Line 3", Refused(Csv("a,f,true,0.5,2\na,f,true,0.5005,2\n")).Message);            // not an edge
        Assert.Contains("bin_lower", Refused(Csv("a,f,true,0.5,2\na,f,true,1,2\n")).Message);              // the upper end is no bin's lower edge
        Assert.Contains("Line 3", Refused(Csv("a,f,true,0.5,2\na,f,maybe,0.5,2\n")).Message);              // not a Boolean
        Assert.Contains("neither", Refused(Csv("a,f,approve,0.5,2\na,f,deny,0.5,2\na,m,hold,0.5,1\n"), "approve").Message);
        Assert.Contains("Line 2", Refused(Csv("a,f,true,0.5,-2\n")).Message);                              // negative count
        Assert.Contains("lines 2 and 3", Refused(Csv("a,f,true,0.5,2\na,f,true,0.5,2\n")).Message);       // appended twice
        Assert.Contains("header", Refused("a,f,true,0.5,2\n").Message);
        Assert.Contains("bin edge 1", Refused("# binEdges=0,x,1\n" + Csv("")).Message);
        Assert.Contains("positive label", Assert.Throws<ArgumentException>(() =>
            FairnessScoreHistograms.FromCsv(new StringReader("# positiveLabel=yes\n" + Csv("a,f,yes,0.5,1\n")), positiveLabel: "approve")).Message);
        Assert.Throws<InvalidDataException>(() => FairnessScoreHistograms.FromJson("{\"format\":\"other\"}"));
        Assert.Contains("cell 0", Assert.Throws<InvalidDataException>(() => FairnessScoreHistograms.FromJson(
            "{\"format\":\"mlextensions.fairness-score-histograms/1\",\"binEdges\":[0,1],\"cells\":[{\"client\":\"a\",\"sensitive\":\"f\",\"label\":true,\"bin\":1,\"count\":1}]}")).Message);

        // The party's rows: a score that is not finite is refused by row and column; histograms need a score column.
        var rows = Rows(50, 7);
        rows[7].Probability = float.PositiveInfinity;
        var message = Assert.Throws<InvalidDataException>(() => ml.Fairness().Mitigate(Options(30)).ScoreHistograms(ml.Data.LoadFromEnumerable(rows))).Message;
        Assert.Contains("Row 7", message);
        Assert.Contains("'Probability'", message);
        var noScore = Options(30);
        noScore.ScoreColumnName = null;
        Assert.Equal("ScoreColumnName", Assert.Throws<ArgumentException>(() => ml.Fairness().Mitigate(noScore).ScoreHistograms(ml.Data.LoadFromEnumerable(Rows(5, 1)))).ParamName);

        // The coordinator: empty or one-label histograms, too many folds, a scoring schema without the score.
        var options = Options(30);
        Assert.Contains("no rows", Assert.Throws<InvalidDataException>(() => ml.Fairness().Mitigate(options).Fit(new FairnessScoreHistograms())).Message);
        var oneLabel = new FairnessScoreHistograms(positiveLabel: "approve", negativeLabel: "deny");
        oneLabel.Add("c", "f", true, 0.3, 50);
        oneLabel.Add("c", "m", true, 0.7, 50);
        Assert.Contains("approve", Assert.Throws<InvalidDataException>(() => ml.Fairness().Mitigate(options).Fit(oneLabel)).Message);
        var tiny = new FairnessScoreHistograms();
        tiny.Add("c", "f", true, 0.3);
        tiny.Add("c", "m", false, 0.7, 2);
        Assert.Equal("CrossFitFolds", Assert.Throws<ArgumentOutOfRangeException>(() => ml.Fairness().Mitigate(options).Fit(tiny)).ParamName);
        var merged = await FederatedHistograms(Rows(200, 8), options, edges: null);
        var schemaWithout = ml.Data.LoadFromEnumerable(Rows(5, 1).Select(r => new Unscored { Client = r.Client, Sensitive = r.Sensitive, Id = r.Id })).Schema;
        Assert.Contains("'Probability'", Assert.ThrowsAny<ArgumentException>(() => ml.Fairness().Mitigate(options).Fit(merged, schemaWithout)).Message);
    }

    public sealed class Unscored
    {
        public string Client { get; set; } = "";
        public string Sensitive { get; set; } = "";
        public string Id { get; set; } = "";
    }

    [Fact]
    public void Single_rows_keep_their_folds_and_bins_are_divided_among_the_folds_by_their_counts()
    {
        var rows = new List<MitigationRow>();
        var random = new Random(4);
        for (int i = 0; i < 3000; i++)
            rows.Add(new MitigationRow("c", "f", i % 2 == 0, random.NextDouble(), i % 3 == 0 ? 1 + random.Next(1, 5000) : 1));
        rows.Add(new MitigationRow("c", "m", true, 0.5, 1e12));
        var folds = MitigationFolds.Of(rows, 5, seed: 11);
        var stream = new Random(11);
        var totals = new double[5];
        for (int i = 0; i < rows.Count; i++)
        {
            if (rows[i].Weight == 1)
            {
                // As before histograms: one Next(5) per single row, in order, from the seed's stream.
                int fold = stream.Next(5);
                for (int f = 0; f < 5; f++) Assert.Equal(f == fold ? 1.0 : 0.0, folds.WeightIn(i, 1, f));
                Assert.False(folds.IsDivided(i));
            }
            else
            {
                var shares = Enumerable.Range(0, 5).Select(f => folds.WeightIn(i, rows[i].Weight, f)).ToArray();
                Assert.Equal(rows[i].Weight, shares.Sum());
                Assert.All(shares, s => Assert.Equal(Math.Floor(s), s));
                if (rows[i].Weight < 1e12) for (int f = 0; f < 5; f++) totals[f] += shares[f];
                else Assert.All(shares, s => Assert.InRange(s, 2e11 - 5e6, 2e11 + 5e6)); // sd √(1e12·0.16) = 4e5
            }
        }
        double total = totals.Sum();
        Assert.All(totals, t => Assert.InRange(t / total, 0.19, 0.21));
        var training = folds.Training(rows, 2);
        Assert.Equal(rows.Sum(r => r.Weight) - Enumerable.Range(0, rows.Count).Sum(i => folds.WeightIn(i, rows[i].Weight, 2)), training.Sum(r => r.Weight));
    }

    [Theory]
    [InlineData(7, 0.2)]        // inversion
    [InlineData(12, 1.0 / 3)]   // inversion
    [InlineData(60, 0.5)]       // transformed rejection
    [InlineData(400, 0.25)]     // transformed rejection
    public void Binomial_draws_follow_the_binomial_distribution(int n, double p)
    {
        var random = new Random(n);
        const int draws = 40_000;
        var counts = new long[n + 1];
        for (int i = 0; i < draws; i++) counts[Binomial.Sample(n, p, random)]++;
        // Pearson's χ² against the exact probabilities, cells of expectation below 5 pooled into their neighbours.
        double chi2 = 0, expectedPool = 0, observedPool = 0;
        int cells = 0;
        for (int k = 0; k <= n; k++)
        {
            expectedPool += draws * Math.Exp(Binomial.LogFactorial(n) - Binomial.LogFactorial(k) - Binomial.LogFactorial(n - k) + k * Math.Log(p) + (n - k) * Math.Log(1 - p));
            observedPool += counts[k];
            if (expectedPool >= 5 || k == n)
            {
                chi2 += (observedPool - expectedPool) * (observedPool - expectedPool) / Math.Max(expectedPool, 1e-300);
                cells++;
                (expectedPool, observedPool) = (0, 0);
            }
        }
        // The 99.9 % point of χ² with d degrees of freedom is below d + 3.1·√(2d) + 10 for every d here.
        int df = cells - 1;
        Assert.True(chi2 < df + 3.1 * Math.Sqrt(2 * df) + 10, $"χ² {chi2:F1} on {df} degrees of freedom");
    }

    [Fact]
    public void Binomial_draws_of_huge_counts_have_the_binomial_mean_and_variance()
    {
        var random = new Random(3);
        foreach (var (n, p) in new[] { (1_000_000_000L, 0.25), (3_000_000L, 1e-6) })
        {
            const int draws = 20_000;
            var x = Enumerable.Range(0, draws).Select(_ => (double)Binomial.Sample(n, p, random)).ToArray();
            double mean = x.Average(), variance = x.Sum(v => (v - mean) * (v - mean)) / (draws - 1), expected = n * p * (1 - p);
            Assert.InRange(mean, n * p - 4 * Math.Sqrt(expected / draws), n * p + 4 * Math.Sqrt(expected / draws));
            Assert.InRange(variance / expected, 0.95, 1.05);
        }
    }
}
