using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Fairness;
using MLExtensions.Fairness.Information;
using Xunit;

namespace MLExtensions.Tests.Fairness;

/// <summary>Column types, value spaces and table hygiene of the audit.</summary>
public class AuditInputTests
{
    private static readonly MLContext Ml = new(1);

    [Fact]
    public void Keys_of_every_storage_width_are_read()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllLines(path, Enumerable.Range(0, 300).Select(i => $"{i % 3},{i % 2},{(i % 4 == 0 ? 1 : 0)}"));
            var loader = Ml.Data.CreateTextLoader([
                new TextLoader.Column("Client", DataKind.Byte, 0) { KeyCount = new KeyCount(3) },
                new TextLoader.Column("Group", DataKind.UInt16, 1) { KeyCount = new KeyCount(2) },
                new TextLoader.Column("Predicted", DataKind.UInt64, 2) { KeyCount = new KeyCount(2) },
            ], separatorChar: ',');
            var data = loader.Load(path);
            Assert.Equal(typeof(byte), data.Schema["Client"].Type.RawType);
            var report = Ml.Fairness().Audit("Group", "Predicted", "Client", bootstrapSamples: 0).Fit(data).Report;
            Assert.Equal(["1", "2", "3"], report.Clients.Select(c => c.Client));
            Assert.Equal(300, report.Rows);
        }
        finally
        {
            File.Delete(path);
        }
    }

    public sealed class ScoreRow
    {
        public string Group { get; set; } = "";
        public string Client { get; set; } = "";
        public float Score { get; set; }
        public float Label { get; set; }
    }

    [Fact]
    public void A_numeric_label_is_positive_when_above_zero_whatever_the_score_threshold()
    {
        // Raw scores thresholded at 0; labels 0/1 as floats. Reading the label with the score's threshold would call
        // every label 0 positive (0 ≥ 0).
        var random = new Random(2);
        var rows = Enumerable.Range(0, 400).Select(i =>
        {
            bool positive = random.NextDouble() < 0.5;
            float score = (positive ? 1f : -1f) * (random.NextDouble() < 0.8 ? 1 : -1);
            return new ScoreRow { Group = i % 2 == 0 ? "a" : "b", Client = "c" + i % 2, Score = score, Label = positive ? 1 : 0 };
        }).ToArray();
        var report = Ml.Fairness().Audit("Group", "Score", "Client", "Label", threshold: 0f, bootstrapSamples: 0).Fit(Ml.Data.LoadFromEnumerable(rows)).Report;
        double expected = rows.Count(r => (r.Score >= 0) == (r.Label > 0)) / 400.0;
        Assert.Equal(expected, report.Accuracy!.Value, 12);
    }

    public sealed class TextRow
    {
        public string Group { get; set; } = "";
        public string Client { get; set; } = "";
        public string Decision { get; set; } = "";
        public string Truth { get; set; } = "";
    }

    [Fact]
    public void The_positive_prediction_can_be_named_and_labels_must_share_the_predictions_values()
    {
        var rows = new[]
        {
            new TextRow { Group = "f", Client = "x", Decision = "approve", Truth = "approve" },
            new TextRow { Group = "f", Client = "x", Decision = "approve", Truth = "deny" },
            new TextRow { Group = "m", Client = "x", Decision = "deny", Truth = "deny" },
            new TextRow { Group = "m", Client = "y", Decision = "approve", Truth = "approve" },
            new TextRow { Group = "m", Client = "y", Decision = "deny", Truth = "approve" },
        };
        var data = Ml.Data.LoadFromEnumerable(rows);
        // Ordinal default: "deny" (the later value) is positive; naming "approve" flips the parity difference's sign.
        var byDefault = Ml.Fairness().Audit("Group", "Decision", "Client", "Truth", bootstrapSamples: 0).Fit(data).Report;
        var named = Ml.Fairness().Audit("Group", "Decision", "Client", "Truth", bootstrapSamples: 0, positivePrediction: "approve").Fit(data).Report;
        Assert.Equal(-byDefault.StatisticalParityDifference!.Value, named.StatisticalParityDifference!.Value, 12);
        Assert.Equal(1.0 / 3 - 1, named.StatisticalParityDifference!.Value, 12); // P(approve|m) − P(approve|f)
        Assert.Equal(3 / 5.0, named.Accuracy!.Value, 12);

        var strangers = rows.Select(r => new TextRow { Group = r.Group, Client = r.Client, Decision = r.Decision, Truth = r.Truth == "approve" ? "yes" : "no" });
        var error = Assert.Throws<InvalidDataException>(() => Ml.Fairness().Audit("Group", "Decision", "Client", "Truth").Fit(Ml.Data.LoadFromEnumerable(strangers)));
        Assert.Contains("share no value", error.Message);
    }

    [Fact]
    public void Count_tables_reject_mixed_labelling_ignore_zero_counts_and_reports_keep_their_own_copy()
    {
        var counts = new FairnessCounts();
        counts.Add("a", "f", "1", "1", 0);
        Assert.Empty(counts.Cells);
        counts.Add("a", "f", "1", "1", 5);
        counts.Add("a", "m", "0", "1", 5);
        Assert.Throws<ArgumentException>(() => counts.Add("a", "m", "0", null));
        Assert.Throws<ArgumentException>(() => counts.Add("", "m", "0", "1"));

        var report = FairnessReportBuilder.Build(counts, bootstrapSamples: 0);
        counts.Add("b", "m", "1", "0", 100);
        Assert.Equal(10, report.Rows);
        Assert.Equal(10, report.Counts.Rows);
    }

    [Fact]
    public void Solver_settings_and_huge_counts_are_checked()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => PartialInformationDecomposition.Compute(new double[2, 2, 2] { { { 1, 1 }, { 1, 1 } }, { { 1, 1 }, { 1, 1 } } },
            new PidOptions { Tolerance = double.NaN }));
        Assert.Throws<ArgumentOutOfRangeException>(() => Ml.Fairness().Audit("a", "b", "c", options: new PidOptions { MaximumIterations = 0 }));
        // Counts near double's range must not overflow to NaN.
        var huge = new double[2, 2, 2] { { { 1e308, 0 }, { 0, 1e308 } }, { { 0, 1e308 }, { 1e308, 0 } } };
        var result = PartialInformationDecomposition.Compute(huge);
        Assert.Equal(0, result.GlobalDisparity, 12);
        Assert.Equal(1, result.LocalDisparity, 9);
        Assert.Equal(1, result.Synergistic, 6);
        Assert.Equal(1, InformationMeasures.Entropy([1e308, 1e308]), 12);
    }

    [Fact]
    public void A_report_without_labels_exports_json_with_its_figures_and_no_accuracy()
    {
        // Ŷ = Z within one client: one bit of global disparity, all of it unique.
        var counts = new FairnessCounts();
        counts.Add("a", "f", "1", null, 3);
        counts.Add("a", "m", "0", null, 3);
        var report = FairnessReportBuilder.Build(counts, bootstrapSamples: 0);
        using var json = System.Text.Json.JsonDocument.Parse(report.ToJson());
        Assert.Equal(1.0, json.RootElement.GetProperty("globalDisparity").GetDouble(), 12);
        Assert.Equal(1.0, json.RootElement.GetProperty("uniqueDisparity").GetDouble(), 9);
        Assert.Equal(System.Text.Json.JsonValueKind.Null, json.RootElement.GetProperty("accuracy").ValueKind);
    }
}
