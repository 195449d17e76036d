using Microsoft.ML;
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
