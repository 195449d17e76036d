using Microsoft.ML;
using MLExtensions.Fairness;
using Xunit;

namespace MLExtensions.Tests.Fairness;

/// <summary>
/// The equalized-odds disparities I(Z;Ŷ|Y), I(Z;Ŷ|Y,S) and the equal-opportunity ones I(Z;Ŷ|Y=1), I(Z;Ŷ|S,Y=1):
/// checked against entropies summed by hand from the cells, not against the report's own formulas.
/// </summary>
public class ConditionalDisparityTests
{
    private static readonly MLContext Ml = new(1);

    private sealed record Cell(string Client, string Z, string Prediction, string Label, long Count);

    /// <summary>H of the margin <paramref name="key"/> picks, bits, on the cells <paramref name="rows"/> keeps.</summary>
    private static double H(IEnumerable<Cell> cells, Func<Cell, string> key)
    {
        var groups = cells.GroupBy(key).Select(g => (double)g.Sum(c => c.Count)).Where(n => n > 0).ToArray();
        double total = groups.Sum();
        return -groups.Sum(n => n / total * Math.Log2(n / total));
    }

    /// <summary>I(Z;Ŷ|C) = H(Z,C) + H(Ŷ,C) − H(Z,Ŷ,C) − H(C) on <paramref name="cells"/>; with <paramref name="millerMadow"/>, every entropy corrected by (m − 1)/(2N ln 2).</summary>
    private static double Cmi(Cell[] cells, Func<Cell, string> condition, bool millerMadow = false)
    {
        double n = cells.Sum(c => c.Count);
        double Entropy(Func<Cell, string> key) => H(cells, key)
            + (millerMadow ? (cells.Where(c => c.Count > 0).Select(key).Distinct().Count() - 1) / (2 * n * Math.Log(2)) : 0);
        return Entropy(c => c.Z + "|" + condition(c)) + Entropy(c => c.Prediction + "|" + condition(c))
               - Entropy(c => c.Z + "|" + c.Prediction + "|" + condition(c)) - Entropy(condition);
    }

    /// <summary>Three groups, two clients, binary labels and predictions, uneven counts and an empty cell.</summary>
    private static Cell[] HandBuilt() =>
    [
        new("north", "a", "no", "no", 40), new("north", "a", "yes", "no", 7), new("north", "a", "no", "yes", 5), new("north", "a", "yes", "yes", 30),
        new("north", "b", "no", "no", 22), new("north", "b", "yes", "no", 13), new("north", "b", "no", "yes", 11), new("north", "b", "yes", "yes", 9),
        new("north", "c", "no", "no", 3), new("north", "c", "yes", "no", 1), new("north", "c", "no", "yes", 2), new("north", "c", "yes", "yes", 6),
        new("south", "a", "no", "no", 12), new("south", "a", "yes", "no", 2), new("south", "a", "no", "yes", 8), new("south", "a", "yes", "yes", 19),
        new("south", "b", "no", "no", 31), new("south", "b", "yes", "no", 4), new("south", "b", "no", "yes", 6), new("south", "b", "yes", "yes", 0),
        new("south", "c", "no", "no", 9), new("south", "c", "yes", "no", 9), new("south", "c", "no", "yes", 1), new("south", "c", "yes", "yes", 14),
    ];

    private static FairnessCounts Counts(IEnumerable<Cell> cells, string? positive = null)
    {
        var counts = new FairnessCounts { PositivePrediction = positive };
        foreach (var c in cells) counts.Add(c.Client, c.Z, c.Prediction, c.Label, c.Count);
        return counts;
    }

    [Fact]
    public void Equalized_odds_and_equal_opportunity_disparities_equal_entropies_summed_from_the_cells()
    {
        var cells = HandBuilt();
        var report = Ml.Fairness().Report(Counts(cells), bootstrapSamples: 0);
        Assert.Equal("yes", report.PositivePrediction);
        var positives = cells.Where(c => c.Label == "yes").ToArray();

        Assert.Equal(Cmi(cells, c => c.Label), report.EqualizedOddsGlobalDisparity!.Value, 12);
        Assert.Equal(Cmi(cells, c => c.Label + "|" + c.Client), report.EqualizedOddsLocalDisparity!.Value, 12);
        Assert.Equal(Cmi(positives, _ => ""), report.EqualOpportunityGlobalDisparity!.Value, 12);
        Assert.Equal(Cmi(positives, c => c.Client), report.EqualOpportunityLocalDisparity!.Value, 12);
        Assert.True(report.EqualizedOddsGlobalDisparity > 0.01 && report.EqualOpportunityLocalDisparity > 0.01);

        Assert.Equal(Cmi(cells, c => c.Label, millerMadow: true), report.EqualizedOddsGlobalDisparityBiasCorrected!.Value, 12);
        Assert.Equal(Cmi(cells, c => c.Label + "|" + c.Client, millerMadow: true), report.EqualizedOddsLocalDisparityBiasCorrected!.Value, 12);
        Assert.Equal(Cmi(positives, _ => "", millerMadow: true), report.EqualOpportunityGlobalDisparityBiasCorrected!.Value, 12);
        Assert.Equal(Cmi(positives, c => c.Client, millerMadow: true), report.EqualOpportunityLocalDisparityBiasCorrected!.Value, 12);
        // The correction of the global and local disparity is the same formula: the existing figures stay as they were.
        Assert.Equal(Cmi(cells, _ => "", millerMadow: true), report.GlobalDisparityBiasCorrected, 12);
        Assert.Equal(Cmi(cells, c => c.Client, millerMadow: true), report.LocalDisparityBiasCorrected, 12);

        // Naming the other prediction positive moves equal opportunity to the other label's rows; equalized odds stays.
        var flipped = Ml.Fairness().Report(Counts(cells, positive: "no"), bootstrapSamples: 0);
        var negatives = cells.Where(c => c.Label == "no").ToArray();
        Assert.Equal(Cmi(negatives, _ => ""), flipped.EqualOpportunityGlobalDisparity!.Value, 12);
        Assert.Equal(Cmi(negatives, c => c.Client), flipped.EqualOpportunityLocalDisparity!.Value, 12);
        Assert.Equal(report.EqualizedOddsLocalDisparity!.Value, flipped.EqualizedOddsLocalDisparity!.Value, 12);
    }

    [Fact]
    public void The_figures_appear_in_json_and_markdown()
    {
        var report = Ml.Fairness().Report(Counts(HandBuilt()), bootstrapSamples: 50, seed: 2);
        using var json = System.Text.Json.JsonDocument.Parse(report.ToJson());
        var root = json.RootElement;
        Assert.Equal(report.EqualizedOddsGlobalDisparity!.Value, root.GetProperty("equalizedOddsGlobalDisparity").GetDouble(), 12);
        Assert.Equal(report.EqualizedOddsLocalDisparity!.Value, root.GetProperty("equalizedOddsLocalDisparity").GetDouble(), 12);
        Assert.Equal(report.EqualOpportunityGlobalDisparity!.Value, root.GetProperty("equalOpportunityGlobalDisparity").GetDouble(), 12);
        Assert.Equal(report.EqualOpportunityLocalDisparity!.Value, root.GetProperty("equalOpportunityLocalDisparity").GetDouble(), 12);
        Assert.Equal(report.EqualOpportunityLocalDisparityBiasCorrected!.Value, root.GetProperty("equalOpportunityLocalDisparityBiasCorrected").GetDouble(), 12);
        Assert.Equal("yes", root.GetProperty("positivePrediction").GetString());
        Assert.True(root.GetProperty("confidenceIntervals").TryGetProperty("EqualizedOddsGlobalDisparity", out _));

        var markdown = report.ToMarkdown();
        Assert.Contains("equalized-odds global disparity", markdown);
        Assert.Contains($"| equal-opportunity local disparity I(Z;Ŷ\\|S,Y=yes) | {report.EqualOpportunityLocalDisparity!.Value.ToString("0.0000", System.Globalization.CultureInfo.InvariantCulture)} [", markdown);
    }

    public sealed class Row
    {
        public string Group { get; set; } = "";
        public string Client { get; set; } = "";
        public bool Label { get; set; }
        public bool Predicted { get; set; }
    }

    /// <summary>
    /// Exact proportions: within each client and label the prediction rates are the same for both groups (TPR 0.8,
    /// FPR <paramref name="fprB"/> for group b, 0.1 for a), while base rates differ (60 % positive in a, 20 % in b).
    /// </summary>
    private static Row[] Classifier(double fprB)
    {
        var rows = new List<Row>();
        foreach (var client in new[] { "x", "y" })
            foreach (var (group, positives) in new[] { ("a", 600), ("b", 200) })
            {
                int negatives = 1000 - positives;
                int falsePositives = (int)Math.Round(negatives * (group == "a" ? 0.1 : fprB));
                for (int i = 0; i < positives; i++) rows.Add(new Row { Group = group, Client = client, Label = true, Predicted = i < positives * 8 / 10 });
                for (int i = 0; i < negatives; i++) rows.Add(new Row { Group = group, Client = client, Label = false, Predicted = i < falsePositives });
            }
        return rows.ToArray();
    }

    [Fact]
    public void A_classifier_independent_of_the_group_given_the_label_has_no_equalized_odds_disparity_but_a_parity_disparity()
    {
        var fair = Ml.Fairness().Audit("Group", "Predicted", "Client", "Label", bootstrapSamples: 0).Fit(Ml.Data.LoadFromEnumerable(Classifier(0.1))).Report;
        Assert.Equal(0, fair.EqualizedOddsGlobalDisparity!.Value, 12);
        Assert.Equal(0, fair.EqualizedOddsLocalDisparity!.Value, 12);
        Assert.Equal(0, fair.EqualOpportunityGlobalDisparity!.Value, 12);
        Assert.Equal(0, fair.EqualOpportunityLocalDisparity!.Value, 12);
        // Positive rates 0.8·0.6 + 0.1·0.4 = 0.52 for a, 0.8·0.2 + 0.1·0.8 = 0.24 for b: demographic parity is broken.
        Assert.True(fair.GlobalDisparity > 0.05, $"I(Z;Ŷ) = {fair.GlobalDisparity}");
        Assert.Equal(0.24 - 0.52, fair.StatisticalParityDifference!.Value, 12);

        // Unequal false-positive rates (0.3 for b) with equal true-positive rates: equalized odds sees it, equal opportunity does not.
        var unequal = Ml.Fairness().Audit("Group", "Predicted", "Client", "Label", bootstrapSamples: 0).Fit(Ml.Data.LoadFromEnumerable(Classifier(0.3))).Report;
        Assert.True(unequal.EqualizedOddsGlobalDisparity > 0.01, $"I(Z;Ŷ|Y) = {unequal.EqualizedOddsGlobalDisparity}");
        Assert.True(unequal.EqualizedOddsLocalDisparity > 0.01);
        Assert.Equal(0, unequal.EqualOpportunityGlobalDisparity!.Value, 12);
        Assert.Equal(0, unequal.EqualOpportunityLocalDisparity!.Value, 12);
    }

    [Fact]
    public void Without_labels_the_figures_are_null_and_left_out_of_markdown()
    {
        var counts = new FairnessCounts();
        counts.Add("a", "f", "1", null, 3);
        counts.Add("a", "m", "0", null, 4);
        var report = Ml.Fairness().Report(counts, bootstrapSamples: 20, seed: 1);
        Assert.Null(report.EqualizedOddsGlobalDisparity);
        Assert.Null(report.EqualizedOddsLocalDisparity);
        Assert.Null(report.EqualOpportunityGlobalDisparity);
        Assert.Null(report.EqualOpportunityLocalDisparity);
        Assert.Null(report.EqualizedOddsGlobalDisparityBiasCorrected);
        Assert.Null(report.EqualOpportunityLocalDisparityBiasCorrected);
        Assert.DoesNotContain(report.ConfidenceIntervals.Keys, k => k.StartsWith("Equal"));
        using var json = System.Text.Json.JsonDocument.Parse(report.ToJson());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, json.RootElement.GetProperty("equalizedOddsGlobalDisparity").ValueKind);
        Assert.DoesNotContain("equalized-odds global disparity", report.ToMarkdown());
        Assert.DoesNotContain("equal-opportunity local disparity", report.ToMarkdown());
    }

    [Fact]
    public void Equal_opportunity_needs_a_positive_value_that_some_label_takes()
    {
        // Three predictions and none stated: equalized odds is defined, equal opportunity is not.
        var cells = HandBuilt().Select(c => c with { Prediction = c.Z == "c" && c.Prediction == "yes" ? "maybe" : c.Prediction }).ToArray();
        var report = Ml.Fairness().Report(Counts(cells), bootstrapSamples: 20, seed: 1);
        Assert.Equal(Cmi(cells, c => c.Label), report.EqualizedOddsGlobalDisparity!.Value, 12);
        Assert.Null(report.EqualOpportunityGlobalDisparity);
        Assert.Null(report.EqualOpportunityLocalDisparityBiasCorrected);
        Assert.Contains(report.Warnings, w => w.Contains("equal-opportunity"));
        Assert.True(report.ConfidenceIntervals.ContainsKey("EqualizedOddsLocalDisparity"));
        Assert.False(report.ConfidenceIntervals.ContainsKey("EqualOpportunityGlobalDisparity"));

        // A stated positive no label takes.
        var noPositives = Ml.Fairness().Report(Counts(HandBuilt().Where(c => c.Label == "no")), bootstrapSamples: 0);
        Assert.Null(noPositives.EqualOpportunityGlobalDisparity);
        Assert.Contains(noPositives.Warnings, w => w.Contains("positive label 'yes'"));
    }

    [Fact]
    public void Bootstrap_intervals_of_the_conditional_disparities_are_seeded_cover_the_estimate_and_shrink()
    {
        FairnessReport Report(int scale, int seed) => Ml.Fairness().Report(Counts(HandBuilt().Select(c => c with { Count = c.Count * scale })), bootstrapSamples: 200, seed: seed);
        var small = Report(1, 4);
        var large = Report(25, 4);
        Assert.Equal(small.ConfidenceIntervals, Report(1, 4).ConfidenceIntervals);
        foreach (var name in new[] { "EqualizedOddsGlobalDisparity", "EqualizedOddsLocalDisparity", "EqualOpportunityGlobalDisparity", "EqualOpportunityLocalDisparity" })
        {
            var interval = small.ConfidenceIntervals[name];
            double estimate = name switch
            {
                "EqualizedOddsGlobalDisparity" => small.EqualizedOddsGlobalDisparity!.Value,
                "EqualizedOddsLocalDisparity" => small.EqualizedOddsLocalDisparity!.Value,
                "EqualOpportunityGlobalDisparity" => small.EqualOpportunityGlobalDisparity!.Value,
                _ => small.EqualOpportunityLocalDisparity!.Value,
            };
            Assert.True(interval.Contains(estimate), $"{name}: {interval} vs {estimate}");
            Assert.True(large.ConfidenceIntervals[name].Upper - large.ConfidenceIntervals[name].Lower < interval.Upper - interval.Lower, name);
            Assert.True(small.BootstrapBiasCorrected.ContainsKey(name), name);
        }
    }
}
