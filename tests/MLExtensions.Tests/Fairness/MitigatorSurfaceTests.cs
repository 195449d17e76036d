using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Plotting;
using MLExtensions.Fairness;
using Xunit;

namespace MLExtensions.Tests.Fairness;

/// <summary>
/// The mitigator's public surface: several sensitive columns, key- and other-typed cell columns, exact 64-bit row
/// keys, rows with identical features, the ROC plot, and models saved by earlier versions.
/// </summary>
public class MitigatorSurfaceTests
{
    public sealed class Row
    {
        public string Client { get; set; } = "";
        public string Sex { get; set; } = "";
        public string Race { get; set; } = "";
        /// <summary>Sex and Race joined as the mitigator joins several sensitive columns.</summary>
        public string Both { get; set; } = "";
        public bool Label { get; set; }
        public float Probability { get; set; }
        public string Id { get; set; } = "";
    }

    /// <summary>Two clients, two sexes, two races, a calibrated model whose bias depends on all three.</summary>
    private static Row[] Rows(int n, int seed)
    {
        var random = new Random(seed);
        var rows = new Row[n];
        for (int i = 0; i < n; i++)
        {
            string client = random.NextDouble() < 0.5 ? "A" : "B", sex = random.NextDouble() < 0.55 ? "m" : "f", race = random.NextDouble() < 0.7 ? "w" : "b";
            double x = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
            double bias = (sex == "m" ? 0.6 : -0.4) + (race == "w" ? 0.5 : -0.5) + (client == "A" ? 0.2 : -0.2);
            double p = 1 / (1 + Math.Exp(-(1.5 * x + bias)));
            rows[i] = new Row
            {
                Client = client, Sex = sex, Race = race, Both = $"{sex} & {race}", Label = random.NextDouble() < p, Probability = (float)p, Id = $"{seed}-{i}",
            };
        }
        return rows;
    }

    private static FairnessMitigator.Options Options(string[]? sensitive = null) => new()
    {
        SensitiveColumnName = sensitive is null ? "Both" : "Sensitive", SensitiveColumnNames = sensitive, ClientColumnName = "Client", LabelColumnName = "Label",
        ScoreColumnName = "Probability", GlobalBudget = 0.001, LocalBudget = 0.001, RowKeyColumnName = "Id", ShrinkageRows = 30, CrossFitFolds = 0, Seed = 5,
    };

    private static bool[] Decisions(ITransformer model, IDataView data) => model.Transform(data).GetColumn<bool>("FairPredictedLabel").ToArray();

    private static void AssertSameRules(FairnessMitigatorModel expected, FairnessMitigatorModel actual)
    {
        Assert.Equal(expected.Rules.Count, actual.Rules.Count);
        for (int i = 0; i < expected.Rules.Count; i++)
        {
            Assert.Equal((expected.Rules[i].Client, expected.Rules[i].Group, expected.Rules[i].PositiveRate), (actual.Rules[i].Client, actual.Rules[i].Group, actual.Rules[i].PositiveRate));
            Assert.Equal(expected.Rules[i].Branches.ToArray(), actual.Rules[i].Branches.ToArray());
        }
    }

    [Fact]
    public void Several_sensitive_columns_fit_their_intersection_and_the_saved_model_scores_the_same_intersection()
    {
        var ml = new MLContext(1);
        var train = ml.Data.LoadFromEnumerable(Rows(3000, 1));
        var test = ml.Data.LoadFromEnumerable(Rows(500, 2));
        var several = ml.Fairness().Mitigate(Options(["Sex", "Race"])).Fit(train);
        // The intersection is the group: the same fit as on a column that holds "sex & race".
        var joined = ml.Fairness().Mitigate(Options()).Fit(train);
        Assert.Equal(8, several.Rules.Count);
        Assert.Contains(several.Rules, r => r.Group == "f & b");
        AssertSameRules(joined, several);
        var decisions = Decisions(several, test);
        Assert.Equal(Decisions(joined, test), decisions);
        Assert.Equal(decisions, ModelRoundTrip.SaveLoadAndScore<bool>(several, test, "FairPredictedLabel"));
        // An estimator chain checks the promised schema first: the several columns are required there too.
        var chained = ml.Transforms.CopyColumns("Copy", "Probability").Append(ml.Fairness().Mitigate(Options(["Sex", "Race"]))).Fit(train);
        Assert.Equal(decisions, Decisions(chained, test));
        Assert.Contains("'Race'", Assert.ThrowsAny<ArgumentException>(() => ml.Fairness().Mitigate(Options(["Sex", "Race"]))
            .GetOutputSchema(EstimatorContractTests.ShapeOf(ml.Data.LoadFromEnumerable(new[] { new { Client = "A", Sex = "m", Probability = 0.5f } }).Schema))).Message);

        // Values that would name their group ambiguously are refused: at fitting by column and row, at scoring by value.
        var ambiguous = Rows(300, 3);
        ambiguous[17].Race = "w & b";
        var fitError = Assert.Throws<InvalidDataException>(() => ml.Fairness().Mitigate(Options(["Sex", "Race"])).Fit(ml.Data.LoadFromEnumerable(ambiguous)));
        Assert.Contains("Row 17", fitError.Message);
        Assert.Contains("'Race'", fitError.Message);
        var blank = Rows(300, 3);
        blank[4].Sex = " ";
        Assert.Contains("Row 4", Assert.Throws<InvalidDataException>(() => ml.Fairness().Mitigate(Options(["Sex", "Race"])).Fit(ml.Data.LoadFromEnumerable(blank))).Message);
        var scoreError = Assert.ThrowsAny<Exception>(() => Decisions(several, ml.Data.LoadFromEnumerable(ambiguous)));
        Assert.Contains("'w & b'", Flatten(scoreError));
        // An unseen group is refused naming both columns and the value.
        var unseen = Rows(20, 4);
        (unseen[3].Sex, unseen[3].Race) = ("m", "x");
        Assert.Contains("Sex & Race value 'm & x'", Flatten(Assert.ThrowsAny<Exception>(() => Decisions(several, ml.Data.LoadFromEnumerable(unseen)))));
    }

    [Fact]
    public void Several_sensitive_columns_are_checked_as_options()
    {
        var ml = new MLContext(1);
        foreach (var (names, expected) in new (string[], string)[] { ([], "empty"), (["Sex", " "], "[1]"), (["Sex", "Race", "Sex"], "twice") })
            Assert.Contains(expected, Assert.Throws<ArgumentException>(() => ml.Fairness().Mitigate(Options(names))).Message);
        var conflicting = Options(["Sex", "Race"]);
        conflicting.SensitiveColumnName = "Gender";
        Assert.Equal("SensitiveColumnNames", Assert.Throws<ArgumentException>(() => ml.Fairness().Mitigate(conflicting)).ParamName);
        var output = Options(["Sex", "Race"]);
        output.OutputColumnName = "Race";
        Assert.Contains("Race", Assert.Throws<ArgumentException>(() => ml.Fairness().Mitigate(output)).Message);
    }

    [Fact]
    public void Histograms_record_the_sensitive_columns_and_refuse_other_columns_when_merged_or_fitted()
    {
        var ml = new MLContext(1);
        var rows = Rows(2000, 6);
        var options = Options(["Sex", "Race"]);
        options.CrossFitFolds = 0;
        var mitigator = ml.Fairness().Mitigate(options);
        var partyA = mitigator.ScoreHistograms(ml.Data.LoadFromEnumerable(rows.Where(r => r.Client == "A").ToArray()));
        var partyB = mitigator.ScoreHistograms(ml.Data.LoadFromEnumerable(rows.Where(r => r.Client == "B").ToArray()));
        Assert.Equal(["Sex", "Race"], partyA.SensitiveColumnNames!);
        // The names travel through JSON and CSV.
        var viaJson = FairnessScoreHistograms.FromJson(partyA.ToJson());
        var viaCsv = FairnessScoreHistograms.FromCsv(new StringReader(partyB.ToCsv()));
        Assert.Equal(["Sex", "Race"], viaJson.SensitiveColumnNames!);
        Assert.Equal(["Sex", "Race"], viaCsv.SensitiveColumnNames!);
        var merged = FairnessScoreHistograms.Merge(viaJson, viaCsv);
        Assert.Equal(["Sex", "Race"], merged.SensitiveColumnNames!);
        Assert.Equal(rows.Length, merged.Rows);
        // A party that counted other columns is refused, naming both.
        var other = ml.Fairness().Mitigate(Options(["Race", "Sex"])).ScoreHistograms(ml.Data.LoadFromEnumerable(rows.Take(50).ToArray()));
        var mergeError = Assert.Throws<ArgumentException>(() => FairnessScoreHistograms.Merge(partyA, other));
        Assert.Contains("'Race', 'Sex'", mergeError.Message);
        // A table that states nothing joins, but its values must be intersections of the stated columns.
        var unstated = new FairnessScoreHistograms();
        unstated.Add("A", "f", true, 0.5);
        Assert.Contains("intersection", Assert.Throws<ArgumentException>(() => FairnessScoreHistograms.Merge(partyA, unstated)).Message);
        var statedByHand = new FairnessScoreHistograms { SensitiveColumnNames = ["Sex", "Race"] };
        Assert.Throws<ArgumentException>(() => statedByHand.Add("A", "f", true, 0.5));
        statedByHand.Add("A", " f &  b ", true, 0.5);
        Assert.Equal("f & b", statedByHand.Cells.Keys.Single().Sensitive);
        // Fitting from histograms of other columns is refused; of the same columns, it scores the intersection.
        var single = ml.Fairness().Mitigate(Options());
        Assert.Contains("'Sex', 'Race'", Assert.Throws<ArgumentException>(() => single.Fit(merged)).Message);
        var fromHistograms = mitigator.Fit(merged, ml.Data.LoadFromEnumerable(rows).Schema);
        Assert.Equal(8, fromHistograms.Rules.Count);
        Assert.Equal(rows.Length, Decisions(fromHistograms, ml.Data.LoadFromEnumerable(rows)).Length);
        var withoutSchema = mitigator.Fit(merged);
        Assert.Equal(Decisions(fromHistograms, ml.Data.LoadFromEnumerable(rows)), Decisions(withoutSchema, ml.Data.LoadFromEnumerable(rows)));
    }

    public sealed class TypedRow
    {
        public int ClientNumber { get; set; }
        public bool Female { get; set; }
        public string Client { get; set; } = "";
        public string Sensitive { get; set; } = "";
        public bool Label { get; set; }
        public float Probability { get; set; }
        public string Id { get; set; } = "";
        [KeyType(4)] public uint RawKey { get; set; }
        public double Age { get; set; }
    }

    private static TypedRow[] TypedRows(int n, int seed) => MitigatorTests.Rows(n, seed).Select((r, i) => new TypedRow
    {
        ClientNumber = r.Client == "A" ? 1 : 2, Female = r.Sensitive == "f", Client = r.Client, Sensitive = r.Sensitive, Label = r.Label,
        Probability = r.Probability, Id = r.Id, RawKey = (uint)(1 + i % 2), Age = r.Sensitive == "f" ? 30.5 : 50,
    }).ToArray();

    private static FairnessMitigator.Options TypedOptions(string client, string sensitive) => new()
    {
        ClientColumnName = client, SensitiveColumnName = sensitive, LabelColumnName = "Label", ScoreColumnName = "Probability",
        GlobalBudget = 0.001, LocalBudget = 0.001, RowKeyColumnName = "Id", ShrinkageRows = 30, CrossFitFolds = 0, Seed = 2,
    };

    [Fact]
    public void Key_typed_client_and_sensitive_columns_from_MapValueToKey_fit_and_score_as_their_text()
    {
        var ml = new MLContext(1);
        var train = ml.Data.LoadFromEnumerable(TypedRows(3000, 11));
        var test = ml.Data.LoadFromEnumerable(TypedRows(600, 12));
        var text = ml.Fairness().Mitigate(TypedOptions("Client", "Sensitive")).Fit(train);
        var keys = ml.Transforms.Conversion.MapValueToKey("ClientKey", "Client").Append(ml.Transforms.Conversion.MapValueToKey("SensitiveKey", "Sensitive"));
        var pipeline = keys.Append(ml.Fairness().Mitigate(TypedOptions("ClientKey", "SensitiveKey"))).Fit(train);
        var keyed = (FairnessMitigatorModel)pipeline.LastTransformer;
        AssertSameRules(text, keyed);
        var decisions = Decisions(text, test);
        Assert.Equal(decisions, Decisions(pipeline, test));
        Assert.Equal(decisions, ModelRoundTrip.SaveLoadAndScore<bool>(pipeline, test, "FairPredictedLabel"));
        // Keys of several sensitive columns are joined by their values too.
        var severalKeys = ml.Transforms.Conversion.MapValueToKey("ClientKey", "Client").Append(ml.Transforms.Conversion.MapValueToKey("SensitiveKey", "Sensitive"))
            .Append(ml.Transforms.Conversion.MapValueToKey("FemaleKey", "Female"));
        var severalOptions = TypedOptions("ClientKey", "Sensitive");
        severalOptions.SensitiveColumnNames = ["SensitiveKey", "Female"];
        var several = severalKeys.Append(ml.Fairness().Mitigate(severalOptions)).Fit(train);
        Assert.Equal(["f & True", "m & False"], ((FairnessMitigatorModel)several.LastTransformer).Rules.Select(r => r.Group).Distinct().Order(StringComparer.Ordinal));
        Assert.Equal(decisions, ModelRoundTrip.SaveLoadAndScore<bool>(several, test, "FairPredictedLabel"));
    }

    [Fact]
    public void Boolean_and_numeric_cell_columns_are_read_as_their_values_and_keys_without_values_are_refused_by_name()
    {
        var ml = new MLContext(1);
        var train = ml.Data.LoadFromEnumerable(TypedRows(3000, 13));
        var test = ml.Data.LoadFromEnumerable(TypedRows(400, 14));
        var typed = ml.Fairness().Mitigate(TypedOptions("ClientNumber", "Female")).Fit(train);
        Assert.Equal(["1", "2"], typed.Rules.Select(r => r.Client).Distinct().Order(StringComparer.Ordinal));
        Assert.Equal(["False", "True"], typed.Rules.Select(r => r.Group).Distinct().Order(StringComparer.Ordinal));
        var decisions = Decisions(typed, test);
        Assert.Equal(decisions, ModelRoundTrip.SaveLoadAndScore<bool>(typed, test, "FairPredictedLabel"));
        // The same cells as the text columns name them: the same rates (the groups sort the other way round).
        var text = ml.Fairness().Mitigate(TypedOptions("Client", "Sensitive")).Fit(train);
        foreach (var rule in text.Rules)
        {
            var same = typed.Rules.Single(r => r.Client == (rule.Client == "A" ? "1" : "2") && r.Group == (rule.Group == "f" ? "True" : "False"));
            Assert.True(Math.Abs(same.PositiveRate - rule.PositiveRate) < 1e-6, $"{rule} against {same}");
        }
        // A key of numbers is read as its numbers; NaN, a number's missing value, is refused by column and row.
        var ages = ml.Transforms.Conversion.MapValueToKey("AgeKey", "Age").Append(ml.Fairness().Mitigate(TypedOptions("Client", "AgeKey"))).Fit(train);
        Assert.Equal(["30.5", "50"], ((FairnessMitigatorModel)ages.LastTransformer).Rules.Select(r => r.Group).Distinct().Order(StringComparer.Ordinal));
        Assert.Equal(decisions, Decisions(ages, test));
        var withNaN = TypedRows(500, 15);
        withNaN[7].Age = double.NaN;
        var nanError = Assert.Throws<InvalidDataException>(() => ml.Fairness().Mitigate(TypedOptions("Client", "Age")).Fit(ml.Data.LoadFromEnumerable(withNaN)));
        Assert.Contains("Row 7", nanError.Message);
        Assert.Contains("'Age'", nanError.Message);
        var error = Assert.Throws<ArgumentException>(() => ml.Fairness().Mitigate(TypedOptions("Client", "RawKey")).Fit(train));
        Assert.Contains("'RawKey'", error.Message);
        Assert.Contains("MapValueToKey", error.Message);
        Assert.Equal("SensitiveColumnName", error.ParamName);
    }

    public sealed class LongKeyRow
    {
        public string Client { get; set; } = "";
        public string Sensitive { get; set; } = "";
        public bool Label { get; set; }
        public float Probability { get; set; }
        public long Id { get; set; }
        public double DoubleId { get; set; }
    }

    [Fact]
    public void Row_keys_above_two_to_the_53_that_differ_only_in_their_low_bits_draw_independently()
    {
        // Adjacent longs above 2^53 round to the same double: hashed as doubles, every such pair would share its draw.
        Assert.Equal((double)((1L << 60) + 1), (double)((1L << 60) + 2));
        Assert.NotEqual(MitigationDecision.KeyBytes((1L << 60) + 1), MitigationDecision.KeyBytes((1L << 60) + 2));
        Assert.NotEqual(MitigationDecision.KeyBytes((1UL << 63) + 1), MitigationDecision.KeyBytes((1UL << 63) + 2));
        // A long whose eight bytes are those of a small key's double is still another key.
        Assert.NotEqual(MitigationDecision.KeyBytes(5L), MitigationDecision.KeyBytes(BitConverter.DoubleToInt64Bits(5.0)));

        var ml = new MLContext(1);
        var training = MitigatorTests.Rows(3000, 21).Select((r, i) => new LongKeyRow
        {
            Client = r.Client, Sensitive = r.Sensitive, Label = r.Label, Probability = r.Probability, Id = i, DoubleId = i,
        }).ToArray();
        var options = new FairnessMitigator.Options
        {
            LabelColumnName = "Label", ScoreColumnName = "Probability", GlobalBudget = 0.001, LocalBudget = 0.001, RowKeyColumnName = "Id",
            ShrinkageRows = 30, CrossFitFolds = 0, Seed = 4,
        };
        var model = ml.Fairness().Mitigate(options).Fit(ml.Data.LoadFromEnumerable(training));
        // Keys a double holds exactly draw as the numeric key always drew (the same decisions as the keys as doubles).
        options.RowKeyColumnName = "DoubleId";
        var asDoubles = ml.Fairness().Mitigate(options).Fit(ml.Data.LoadFromEnumerable(training));
        Assert.Equal(Decisions(asDoubles, ml.Data.LoadFromEnumerable(training)), Decisions(model, ml.Data.LoadFromEnumerable(training)));

        // Pairs of rows alike in all but the key's lowest bit, in a randomised cell at a score its rule randomises.
        var (rule, score) = model.Rules.Where(r => r.IsRandomised)
            .SelectMany(r => Enumerable.Range(1, 999).Select(k => (Rule: r, Score: k / 1000f)))
            .First(c => c.Rule.PositiveProbability(c.Score) is > 0.2 and < 0.8);
        var pairs = Enumerable.Range(0, 200).SelectMany(i => new[] { (1L << 60) + 2 * i, (1L << 60) + 2 * i + 1 })
            .Select(id => new LongKeyRow { Client = rule.Client, Sensitive = rule.Group, Probability = score, Id = id }).ToArray();
        var data = ml.Data.LoadFromEnumerable(pairs);
        var decisions = Decisions(model, data);
        int differing = Enumerable.Range(0, 200).Count(i => decisions[2 * i] != decisions[2 * i + 1]);
        Assert.True(differing > 20, $"only {differing} of 200 pairs of keys differ in their decision");
        Assert.Equal(decisions, ModelRoundTrip.SaveLoadAndScore<bool>(model, data, "FairPredictedLabel"));
    }

    public sealed class FeatureRow
    {
        public string Client { get; set; } = "";
        public string Sensitive { get; set; } = "";
        public bool Label { get; set; }
        public float Probability { get; set; }
        [VectorType(2)] public float[] Features { get; set; } = [];
        public string Id { get; set; } = "";
    }

    /// <summary>A model of one coarse feature (a tenth of a unit), so many rows are identical unless a second feature tells them apart.</summary>
    private static FeatureRow[] FeatureRows(int n, int seed, bool distinct)
    {
        var random = new Random(seed);
        return MitigatorTests.Rows(n, seed).Select((r, i) =>
        {
            float x = MathF.Round(r.Features[0] * 10) / 10;
            double bias = (r.Client == "A") == (r.Sensitive == "m") ? 1.0 : -1.0;
            double p = 1 / (1 + Math.Exp(-(1.5 * x + bias)));
            return new FeatureRow
            {
                Client = r.Client, Sensitive = r.Sensitive, Label = random.NextDouble() < p, Probability = (float)p,
                Features = [x, distinct ? (float)random.NextDouble() : 0f], Id = r.Id,
            };
        }).ToArray();
    }

    [Fact]
    public void Rows_hashed_by_identical_features_that_would_share_a_randomised_draw_are_refused_unless_a_row_key_tells_them_apart()
    {
        var ml = new MLContext(1);
        var options = new FairnessMitigator.Options
        {
            LabelColumnName = "Label", ScoreColumnName = "Probability", GlobalBudget = 0.001, LocalBudget = 0.001, ShrinkageRows = 30, CrossFitFolds = 0, Seed = 3,
        };
        var duplicated = ml.Data.LoadFromEnumerable(FeatureRows(4000, 31, distinct: false));
        var error = Assert.Throws<InvalidDataException>(() => ml.Fairness().Mitigate(options).Fit(duplicated));
        Assert.Contains("'Features'", error.Message);
        Assert.Contains("RowKeyColumnName", error.Message);
        // Features that tell the rows apart fit, and their draws are the scoring chain's: the realised rates follow the rules.
        var distinct = ml.Data.LoadFromEnumerable(FeatureRows(4000, 31, distinct: true));
        var model = ml.Fairness().Mitigate(options).Fit(distinct);
        Assert.Contains(model.Rules, r => r.IsRandomised);
        var rows = FeatureRows(4000, 31, distinct: true);
        var decisions = Decisions(model, distinct);
        foreach (var rule in model.Rules)
        {
            var cell = Enumerable.Range(0, rows.Length).Where(i => rows[i].Client == rule.Client && rows[i].Sensitive == rule.Group).ToArray();
            double rate = cell.Count(i => decisions[i]) / (double)cell.Length;
            Assert.True(Math.Abs(rate - rule.PositiveRate) < 0.03, $"{rule}: rate {rate:F3} on the fitting rows, promised {rule.PositiveRate:F3}");
        }
        // A row key tells duplicates apart.
        options.RowKeyColumnName = "Id";
        Assert.NotEmpty(ml.Fairness().Mitigate(options).Fit(duplicated).Rules);
    }

    [Fact]
    public void The_ROC_plot_shows_each_cells_hull_and_operating_point_and_refuses_a_bad_path()
    {
        var ml = new MLContext(1);
        var train = ml.Data.LoadFromEnumerable(MitigatorTests.Rows(2000, 41));
        foreach (var constraint in new[] { FairnessConstraint.DemographicParity, FairnessConstraint.EqualizedOdds })
        {
            var options = new FairnessMitigator.Options
            {
                LabelColumnName = "Label", ScoreColumnName = "Probability", GlobalBudget = 0.001, LocalBudget = 0.001, Constraint = constraint,
                RowKeyColumnName = "Id", ShrinkageRows = 30, CrossFitFolds = 0,
            };
            var model = ml.Fairness().Mitigate(options).Fit(train);
            Assert.Equal(model.Rules.Select(r => (r.Client, r.Group)), model.RocCurves.Select(c => (c.Client, c.Group)));
            foreach (var curve in model.RocCurves)
            {
                var cell = model.Solution.Cells.Single(c => c.Client == curve.Client && c.Group == curve.Group);
                // The point is the rule's: its rates give the cell's positive rate, and (equalized odds) the solver's rates.
                double rate = cell.LabelPositiveRate * curve.TruePositiveRate + (1 - cell.LabelPositiveRate) * curve.FalsePositiveRate;
                Assert.True(Math.Abs(rate - cell.PredictedPositiveRate) < 1e-6, $"{curve}: rate {rate}, solver {cell.PredictedPositiveRate}");
                if (constraint == FairnessConstraint.EqualizedOdds)
                {
                    Assert.True(Math.Abs(curve.FalsePositiveRate - cell.FalsePositiveRate) < 1e-6, curve.ToString());
                    Assert.True(Math.Abs(curve.TruePositiveRate - cell.TruePositiveRate) < 1e-6, curve.ToString());
                }
                Assert.Contains((0.0, 0.0), curve.Hull);
                Assert.Contains((1.0, 1.0), curve.Hull);
            }
            var folder = Path.Combine(Path.GetTempPath(), "mlx-roc-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(folder);
            try
            {
                foreach (var file in new[] { "roc.png", "roc.svg" })
                {
                    var path = Path.Combine(folder, file);
                    model.SaveRocPlot(path);
                    Assert.True(new FileInfo(path).Length > 1000, $"{file} is {new FileInfo(path).Length} bytes");
                }
                Assert.Contains("B / f", File.ReadAllText(Path.Combine(folder, "roc.svg")));
                Assert.Contains("<svg", model.RocPlotSvg("A"));
                Assert.Contains("'nobody'", Assert.Throws<ArgumentException>(() => model.SaveRocPlot(Path.Combine(folder, "x.svg"), "nobody")).Message);
                Assert.Contains("x.gif", Assert.Throws<ArgumentException>(() => model.SaveRocPlot(Path.Combine(folder, "x.gif"))).Message);
                var missing = Path.Combine(folder, "no such folder", "roc.png");
                Assert.Contains("no such folder", Assert.Throws<DirectoryNotFoundException>(() => model.SaveRocPlot(missing)).Message);
                Assert.Throws<ArgumentException>(() => model.SaveRocPlot(" "));
                Assert.False(File.Exists(Path.Combine(folder, "x.svg")));
            }
            finally
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    private static string Flatten(Exception e) => e.InnerException is null ? e.Message : e.Message + " | " + Flatten(e.InnerException);
}
