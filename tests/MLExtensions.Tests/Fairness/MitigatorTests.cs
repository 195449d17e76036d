using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Fairness;
using MLExtensions.Fairness.Tradeoff;
using Xunit;

namespace MLExtensions.Tests.Fairness;

/// <summary>The post-processing mitigator: it keeps the budgets it promises on held-out data, and behaves as an ML.NET transformer.</summary>
public class MitigatorTests
{
    public sealed class Row
    {
        public string Client { get; set; } = "";
        public string Sensitive { get; set; } = "";
        public bool Label { get; set; }
        public float Probability { get; set; }
        public bool PredictedLabel { get; set; }
        [VectorType(2)] public float[] Features { get; set; } = [];
        public string Id { get; set; } = "";
    }

    /// <summary>
    /// Two clients that favour opposite groups (masked disparity: large within clients, small globally), and a
    /// calibrated model of the label: its probability sigmoid(1.5·x + bias(client, group)).
    /// </summary>
    public static Row[] Rows(int n, int seed)
    {
        var random = new Random(seed);
        var rows = new Row[n];
        for (int i = 0; i < n; i++)
        {
            string client = random.NextDouble() < 0.5 ? "A" : "B", group = random.NextDouble() < 0.6 ? "m" : "f";
            double x = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
            double bias = (client == "A") == (group == "m") ? 1.0 : -1.0;
            double p = 1 / (1 + Math.Exp(-(1.5 * x + bias)));
            rows[i] = new Row
            {
                Client = client, Sensitive = group, Label = random.NextDouble() < p, Probability = (float)p, PredictedLabel = p >= 0.5,
                Features = [(float)x, (float)random.NextDouble()], Id = $"row-{seed}-{i}",
            };
        }
        return rows;
    }

    private static FairnessMitigator.Options Options(double budget = 0.002) => new()
    {
        SensitiveColumnName = "Sensitive", ClientColumnName = "Client", LabelColumnName = "Label", ScoreColumnName = "Probability",
        GlobalBudget = budget, LocalBudget = budget, OutputColumnName = "FairPredictedLabel", Seed = 1,
    };

    private static FairnessReport Audit(MLContext ml, IDataView data, string prediction) =>
        ml.Fairness().Audit("Sensitive", prediction, "Client", "Label", bootstrapSamples: 0, seed: 1).Fit(data).Report;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Held_out_disparities_stay_within_the_budgets_and_accuracy_keeps_the_promise(bool fromScores)
    {
        var ml = new MLContext(1);
        var train = ml.Data.LoadFromEnumerable(Rows(8000, 1));
        var test = ml.Data.LoadFromEnumerable(Rows(8000, 2));
        var options = Options();
        if (!fromScores) options.ScoreColumnName = null;
        var fitted = ml.Fairness().Mitigate(options).Fit(train);
        var before = Audit(ml, test, "PredictedLabel");
        var after = Audit(ml, fitted.Transform(test), "FairPredictedLabel");

        Assert.True(before.LocalDisparity > 0.05, $"the test data should be unfair to begin with: {before.LocalDisparity:F4} bits");
        // Budgets hold up to sampling error: a plug-in information of a 2×2 table per client is biased upward by
        // about (cells − 1)/(2N ln 2) ≈ 1e-4 bits at this size, and the rates themselves vary by ~1/√N.
        Assert.True(after.GlobalDisparity <= options.GlobalBudget + 0.002, $"global {after.GlobalDisparity:F4} bits, budget {options.GlobalBudget}");
        Assert.True(after.LocalDisparity <= options.LocalBudget + 0.002, $"local {after.LocalDisparity:F4} bits, budget {options.LocalBudget}");
        Assert.True(Math.Abs(after.Accuracy!.Value - fitted.Solution.Accuracy) < 0.02, $"accuracy {after.Accuracy:F4}, promised {fitted.Solution.Accuracy:F4}");
        Assert.True(fitted.Solution.Gap < 1e-5, $"certificate gap {fitted.Solution.Gap}");
        // The cross-fitted estimate predicts the held-out figures.
        Assert.True(Math.Abs(after.Accuracy!.Value - fitted.CrossFitted.Accuracy) < 0.02, $"held-out {after.Accuracy:F4}, cross-fitted {fitted.CrossFitted.Accuracy:F4}");
        Assert.True(fitted.CrossFitted.LocalDisparity < options.LocalBudget + 0.002, $"cross-fitted local {fitted.CrossFitted.LocalDisparity:F4}");
        Assert.Equal(4, fitted.Rules.Count);
    }

    [Fact]
    public void A_pipeline_with_the_mitigator_saves_and_loads_and_the_same_seed_and_keys_give_the_same_decisions()
    {
        var ml = new MLContext(1);
        var train = ml.Data.LoadFromEnumerable(Rows(3000, 3));
        var test = ml.Data.LoadFromEnumerable(Rows(2000, 4));
        var options = Options(0.001);
        options.RowKeyColumnName = "Id";
        var pipeline = ml.Transforms.CopyColumns("ProbabilityCopy", "Probability").Append(ml.Fairness().Mitigate(options));
        var model = pipeline.Fit(train);
        var direct = model.Transform(test).GetColumn<bool>("FairPredictedLabel").ToArray();
        Assert.Equal(direct, ModelRoundTrip.SaveLoadAndScore<bool>(model, test, "FairPredictedLabel"));
        Assert.Equal(direct, ml.Fairness().Mitigate(options).Fit(train).Transform(test).GetColumn<bool>("FairPredictedLabel").ToArray());
        // The decision of a row depends on the row, not on its position: score the rows in reverse order.
        var reversed = ml.Data.LoadFromEnumerable(Rows(2000, 4).Reverse());
        Assert.Equal(direct.Reverse(), model.Transform(reversed).GetColumn<bool>("FairPredictedLabel").ToArray());
        // Another seed re-draws the randomised rows (some cells mix two thresholds at these budgets).
        options.Seed = 2;
        var reseeded = ml.Fairness().Mitigate(options).Fit(train).Transform(test).GetColumn<bool>("FairPredictedLabel").ToArray();
        Assert.NotEqual(direct, reseeded);
        // An estimator chain checks the promised schema before fitting: a step after the mitigator that reads its output.
        var chained = ml.Fairness().Mitigate(options).Append(ml.Transforms.Conversion.ConvertType("FairAsNumber", "FairPredictedLabel", DataKind.Single)).Fit(train);
        Assert.Equal(BooleanDataViewType.Instance, chained.Transform(test).Schema["FairPredictedLabel"].Type);
    }

    [Fact]
    public void Unknown_cells_are_refused_by_name_or_pooled_when_asked()
    {
        var ml = new MLContext(1);
        var train = ml.Data.LoadFromEnumerable(Rows(2000, 5));
        var unseen = Rows(50, 6);
        foreach (var r in unseen.Take(10)) r.Client = "C";
        var data = ml.Data.LoadFromEnumerable(unseen);
        var refusing = ml.Fairness().Mitigate(Options()).Fit(train);
        var error = Assert.ThrowsAny<Exception>(() => refusing.Transform(data).GetColumn<bool>("FairPredictedLabel").ToArray());
        Assert.Contains("Client value 'C'", Flatten(error));
        var options = Options();
        options.PoolUnknownCells = true;
        var pooling = ml.Fairness().Mitigate(options).Fit(train);
        Assert.Equal(50, pooling.Transform(data).GetColumn<bool>("FairPredictedLabel").Count());
    }

    [Fact]
    public void Bad_input_gets_clear_messages_naming_the_column_or_option()
    {
        var ml = new MLContext(1);
        var rows = Rows(500, 7);
        var data = ml.Data.LoadFromEnumerable(rows);
        foreach (var budget in new[] { -0.1, double.NaN })
        {
            var bad = Options();
            bad.LocalBudget = budget;
            Assert.Contains("LocalBudget", Assert.Throws<ArgumentOutOfRangeException>(() => ml.Fairness().Mitigate(bad)).Message);
        }
        var wrongLabel = Options();
        wrongLabel.LabelColumnName = "Probability";
        Assert.Contains("'Probability'", Assert.Throws<ArgumentException>(() => ml.Fairness().Mitigate(wrongLabel).Fit(data)).Message);
        // Any finite score is accepted (margins, log-odds); a score that is not a number is refused by row and column.
        var notFinite = ml.Data.LoadFromEnumerable(rows.Select((r, i) => { if (i == 7) r.Probability = float.NaN; return r; }).ToArray());
        var message = Assert.Throws<InvalidDataException>(() => ml.Fairness().Mitigate(Options()).Fit(notFinite)).Message;
        Assert.Contains("Row 7", message);
        Assert.Contains("'Probability'", message);
        var oneClass = ml.Data.LoadFromEnumerable(Rows(100, 8).Select(r => { r.Label = true; return r; }).ToArray());
        Assert.Contains("both classes", Assert.Throws<InvalidDataException>(() => ml.Fairness().Mitigate(Options()).Fit(oneClass)).Message);
        var missing = Options();
        missing.SensitiveColumnName = "Race";
        Assert.Contains("'Race'", Assert.ThrowsAny<ArgumentException>(() => ml.Fairness().Mitigate(missing).Fit(data)).Message);
    }

    public sealed class KeylessRow
    {
        public string Client { get; set; } = "";
        public string Sensitive { get; set; } = "";
        public bool Label { get; set; }
        public float Probability { get; set; }
    }

    [Fact]
    public void Without_a_row_key_or_features_tied_probabilities_in_a_randomised_band_are_refused()
    {
        var ml = new MLContext(1);
        // Probabilities on a coarse grid: a randomised band is one tie group, which a cell-and-score hash cannot split.
        var rows = Rows(4000, 9).Select(r => new KeylessRow
        {
            Client = r.Client, Sensitive = r.Sensitive, Label = r.Label, Probability = MathF.Round(r.Probability * 4) / 4,
        }).ToArray();
        var error = Assert.Throws<InvalidDataException>(() => ml.Fairness().Mitigate(Options()).Fit(ml.Data.LoadFromEnumerable(rows)));
        Assert.Contains("RowKeyColumnName", error.Message);
        Assert.Throws<ArgumentException>(() => MLExtensions.Fairness.Tradeoff.AccuracyFairnessProblem.FromCounts(new FairnessCounts(), ClassifierFamily.DerivedFromScores));
    }

    private static string Flatten(Exception e) => e.InnerException is null ? e.Message : e.Message + " | " + Flatten(e.InnerException);
}

/// <summary>The Miller–Madow correction removes the plug-in information's upward bias on small cells.</summary>
public class BiasCorrectionTests
{
    [Fact]
    public void Without_any_dependence_the_corrected_disparities_average_near_zero_while_the_plug_in_ones_do_not()
    {
        var random = new Random(11);
        double plugGlobal = 0, plugLocal = 0, corrGlobal = 0, corrLocal = 0;
        const int repetitions = 40, rows = 400;
        for (int r = 0; r < repetitions; r++)
        {
            var counts = new FairnessCounts();
            for (int i = 0; i < rows; i++)
                counts.Add($"c{random.Next(4)}", $"z{random.Next(3)}", random.NextDouble() < 0.4 ? "yes" : "no", null);
            var report = FairnessReportBuilder.Build(counts, bootstrapSamples: 0);
            (plugGlobal, plugLocal) = (plugGlobal + report.GlobalDisparity / repetitions, plugLocal + report.LocalDisparity / repetitions);
            (corrGlobal, corrLocal) = (corrGlobal + report.GlobalDisparityBiasCorrected / repetitions, corrLocal + report.LocalDisparityBiasCorrected / repetitions);
        }
        // Expected plug-in bias: (3−1)(2−1)/(2N ln 2) ≈ 0.0036 bits globally, 4× that locally.
        Assert.InRange(plugGlobal, 0.002, 0.006);
        Assert.InRange(plugLocal, 0.010, 0.020);
        Assert.InRange(corrGlobal, -0.0012, 0.0012);
        Assert.InRange(corrLocal, -0.003, 0.003);
    }

    [Fact]
    public void The_bootstrap_bias_correction_moves_the_decomposition_terms_towards_their_true_value_of_zero()
    {
        var random = new Random(13);
        double plugIn = 0, corrected = 0;
        const int repetitions = 12;
        for (int r = 0; r < repetitions; r++)
        {
            var counts = new FairnessCounts();
            for (int i = 0; i < 300; i++) counts.Add($"c{random.Next(3)}", random.NextDouble() < 0.5 ? "F" : "M", random.NextDouble() < 0.4 ? "yes" : "no", null);
            var report = FairnessReportBuilder.Build(counts, bootstrapSamples: 60, seed: r);
            plugIn += (report.LocalDisparity) / repetitions;
            corrected += report.BootstrapBiasCorrected["LocalDisparity"] / repetitions;
            Assert.True(report.BootstrapBiasCorrected.ContainsKey("MaskedDisparity"));
        }
        // No dependence at all: the plug-in local disparity is biased upward by ≈ 3/(2·300·ln 2) ≈ 0.007 bits.
        Assert.True(Math.Abs(corrected) < plugIn / 2, $"corrected {corrected:F5}, plug-in {plugIn:F5}");
    }
}
