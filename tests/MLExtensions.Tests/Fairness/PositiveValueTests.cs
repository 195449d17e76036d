using Microsoft.ML;
using MLExtensions.Fairness;
using Xunit;

namespace MLExtensions.Tests.Fairness;

/// <summary>
/// A positive prediction other than the ordinal default survives every road a count table travels (JSON, CSV with its
/// comment line, a group-by CSV with the argument) and gives the same report, parity sign included; and the audit's
/// rows and the count table's text spell values alike.
/// </summary>
public class PositiveValueTests
{
    private static readonly MLContext Ml = new(1);

    public sealed class LoanRow
    {
        public string Group { get; set; } = "";
        public string Client { get; set; } = "";
        public string Decision { get; set; } = "";
        public string Truth { get; set; } = "";
    }

    public sealed class NumericRow
    {
        public string Group { get; set; } = "";
        public string Client { get; set; } = "";
        public int Decision { get; set; }
        public int Truth { get; set; }
    }

    /// <summary>Group f is approved less often than m; decisions follow the truth 80 % of the time.</summary>
    private static LoanRow[] Loans(int n, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, n).Select(i =>
        {
            string group = random.NextDouble() < 0.4 ? "f" : "m";
            bool deserves = random.NextDouble() < (group == "f" ? 0.35 : 0.6);
            bool approved = random.NextDouble() < 0.8 ? deserves : !deserves;
            return new LoanRow
            {
                Group = group, Client = i % 3 == 0 ? "bank, north" : "bank south", Decision = approved ? "approve" : "deny", Truth = deserves ? "approve" : "deny",
            };
        }).ToArray();
    }

    /// <summary>The report of a count table on every road: as counted, via JSON, via CSV, and via a group-by CSV given the positive value.</summary>
    private static FairnessReport[] Roads(FairnessCounts counts, string positive)
    {
        var groupBy = string.Join("\n", counts.ToCsv().Split('\n').Where(l => !l.StartsWith("# positivePrediction")));
        Assert.DoesNotContain("positivePrediction", groupBy);
        return new[]
        {
            counts, FairnessCounts.FromJson(counts.ToJson()), FairnessCounts.FromCsv(new StringReader(counts.ToCsv())),
            FairnessCounts.FromCsv(new StringReader(groupBy), positivePrediction: positive),
        }.Select(c => Ml.Fairness().Report(c, bootstrapSamples: 30, seed: 4)).ToArray();
    }

    private static void AllAlike(FairnessReport[] reports, string positive)
    {
        foreach (var report in reports)
        {
            Assert.Equal(positive, report.PositivePrediction);
            Assert.Equal(positive, report.Counts.PositivePrediction);
            Assert.Equal(reports[0].ToJson(), report.ToJson());
        }
    }

    [Fact]
    public void A_text_prediction_whose_positive_is_the_ordinal_first_value_keeps_its_sign_on_every_road()
    {
        var rows = Loans(900, 1);
        var data = Ml.Data.LoadFromEnumerable(rows);
        var counts = Ml.Fairness().Audit("Group", "Decision", "Client", "Truth", positivePrediction: "approve").Count(data);
        var reports = Roads(counts, "approve");
        AllAlike(reports, "approve");

        // Computed from the rows: P(approve | m) − P(approve | f) > 0 (m, the later group, is approved more).
        double Rate(string g) => rows.Count(r => r.Group == g && r.Decision == "approve") / (double)rows.Count(r => r.Group == g);
        double Tpr(string g) => rows.Count(r => r.Group == g && r.Truth == "approve" && r.Decision == "approve") / (double)rows.Count(r => r.Group == g && r.Truth == "approve");
        Assert.True(Rate("m") - Rate("f") > 0.05);
        foreach (var report in reports)
        {
            Assert.Equal(Rate("m") - Rate("f"), report.StatisticalParityDifference!.Value, 12);
            Assert.Equal(Math.Abs(Tpr("m") - Tpr("f")), report.EqualOpportunityGap!.Value, 12);
        }

        // Without the statement the later value, deny, is positive: the sign flips and opportunity moves to the deny rows.
        var byDefault = Ml.Fairness().Report(FairnessCounts.FromCsv(new StringReader(string.Join("\n", counts.ToCsv().Split('\n').Where(l => !l.StartsWith('#'))))), bootstrapSamples: 0);
        Assert.Equal("deny", byDefault.PositivePrediction);
        Assert.Equal(-reports[0].StatisticalParityDifference!.Value, byDefault.StatisticalParityDifference!.Value, 12);
        Assert.NotEqual(reports[0].EqualOpportunityGlobalDisparity!.Value, byDefault.EqualOpportunityGlobalDisparity!.Value, 6);
        Assert.Equal(reports[0].EqualizedOddsGlobalDisparity!.Value, byDefault.EqualizedOddsGlobalDisparity!.Value, 12);
        Assert.Contains("positive prediction approve", reports[0].ToMarkdown());
    }

    [Fact]
    public void A_numeric_prediction_with_zero_positive_keeps_its_sign_on_every_road_and_through_a_merge()
    {
        var rows = Loans(900, 2).Select(r => new NumericRow { Group = r.Group, Client = r.Client, Decision = r.Decision == "approve" ? 0 : 1, Truth = r.Truth == "approve" ? 0 : 1 }).ToArray();
        var audit = Ml.Fairness().Audit("Group", "Decision", "Client", "Truth", positivePrediction: "0");
        var counts = audit.Count(Ml.Data.LoadFromEnumerable(rows));
        Assert.Contains("\"positivePrediction\":\"0\"", counts.ToJson());
        Assert.StartsWith("# positivePrediction=0\n", counts.ToCsv());
        var reports = Roads(counts, "0");
        AllAlike(reports, "0");

        double Rate(string g) => rows.Count(r => r.Group == g && r.Decision == 0) / (double)rows.Count(r => r.Group == g);
        Assert.Equal(Rate("m") - Rate("f"), reports[0].StatisticalParityDifference!.Value, 12);
        Assert.True(reports[0].StatisticalParityDifference > 0.05);
        var one = Ml.Fairness().Audit("Group", "Decision", "Client", "Truth", positivePrediction: "1", bootstrapSamples: 0).Fit(Ml.Data.LoadFromEnumerable(rows)).Report;
        Assert.Equal(-reports[0].StatisticalParityDifference!.Value, one.StatisticalParityDifference!.Value, 12);

        // Parties count alone; one ships a group-by without the statement. The merged table keeps "0" and the pooled report.
        var parties = rows.GroupBy(r => r.Client).Select(g => audit.Count(Ml.Data.LoadFromEnumerable(g.ToArray()))).ToArray();
        var bare = FairnessCounts.FromCsv(new StringReader(string.Join("\n", parties[1].ToCsv().Split('\n').Where(l => !l.StartsWith('#')))));
        Assert.Null(bare.PositivePrediction);
        var merged = FairnessCounts.Merge(FairnessCounts.FromJson(parties[0].ToJson()), bare);
        Assert.Equal("0", merged.PositivePrediction);
        Assert.Equal(reports[0].ToJson(), Ml.Fairness().Report(merged, bootstrapSamples: 30, seed: 4).ToJson());
    }

    [Fact]
    public void A_stated_positive_that_is_neither_prediction_is_warned_about()
    {
        var counts = Ml.Fairness().Audit("Group", "Decision", "Client", "Truth", positivePrediction: "aprove").Count(Ml.Data.LoadFromEnumerable(Loans(200, 3)));
        var report = Ml.Fairness().Report(counts, bootstrapSamples: 0);
        Assert.Null(report.StatisticalParityDifference);
        Assert.Contains(report.Warnings, w => w.Contains("'aprove' is neither of the predictions"));
    }

    // Value hygiene: the audit's rows and a count table's text agree on spellings.

    [Fact]
    public void Values_with_surrounding_white_space_count_alike_in_rows_keys_and_csv()
    {
        var rows = Loans(300, 5);
        var spaced = rows.Select((r, i) => new LoanRow
        {
            Group = i % 3 == 0 ? $" {r.Group}" : i % 3 == 1 ? $"{r.Group}\t" : r.Group,
            Client = i % 2 == 0 ? $"  {r.Client} " : r.Client,
            Decision = i % 4 == 0 ? $"{r.Decision} " : r.Decision,
            Truth = i % 5 == 0 ? $" {r.Truth}" : r.Truth,
        }).ToArray();
        var audit = Ml.Fairness().Audit("Group", "Decision", "Client", "Truth", positivePrediction: " approve ");
        var clean = audit.Count(Ml.Data.LoadFromEnumerable(rows));
        var fromSpaced = audit.Count(Ml.Data.LoadFromEnumerable(spaced));
        Assert.Equal(clean.ToJson(), fromSpaced.ToJson());
        Assert.Equal(2, fromSpaced.Cells.Keys.Select(k => k.Client).Distinct().Count());

        // The same rows through key columns (ValueToKey keeps each spelling as its own key value).
        var keyed = Ml.Transforms.Conversion.MapValueToKey([new("Group"), new("Client")]).Fit(Ml.Data.LoadFromEnumerable(spaced)).Transform(Ml.Data.LoadFromEnumerable(spaced));
        Assert.True(keyed.Schema["Client"].Type is Microsoft.ML.Data.KeyDataViewType { Count: > 2 });
        var fromKeys = audit.Count(keyed);
        Assert.Equal(clean.ToJson(), fromKeys.ToJson());

        // And as a warehouse writes them, quoted with the spaces kept.
        var csv = new System.Text.StringBuilder("# positivePrediction= approve\nclient,sensitive,prediction,label,count\n");
        foreach (var g in spaced.GroupBy(r => (r.Client, r.Group, r.Decision, r.Truth)))
            csv.Append($"\"{g.Key.Client}\",\"{g.Key.Group}\",\"{g.Key.Decision}\",\"{g.Key.Truth}\",{g.Count()}\n");
        Assert.Equal(clean.Cells.OrderBy(c => c.Key), FairnessCounts.FromCsv(new StringReader(csv.ToString())).Cells.OrderBy(c => c.Key));
        Assert.Equal(Ml.Fairness().Report(clean, bootstrapSamples: 0).ToJson(),
            Ml.Fairness().Report(FairnessCounts.Merge(FairnessCounts.FromCsv(new StringReader(csv.ToString())), new FairnessCounts { SensitiveColumnNames = ["Group"] }), bootstrapSamples: 0).ToJson());
    }

    [Fact]
    public void Intersection_parts_with_surrounding_white_space_count_alike_in_rows_and_csv()
    {
        var rows = IntersectionalAuditTests.Rows(400, 7);
        var spaced = rows.Select((r, i) => new IntersectionalAuditTests.Row
        {
            Sex = i % 2 == 0 ? $" {r.Sex} " : r.Sex, Race = i % 3 == 0 ? $"{r.Race}  " : r.Race, Client = i % 5 == 0 ? $"\t{r.Client}" : r.Client,
            Predicted = r.Predicted, Label = r.Label,
        }).ToArray();
        var audit = Ml.Fairness().Audit(["Sex", "Race"], "Predicted", "Client", "Label");
        var clean = audit.Count(Ml.Data.LoadFromEnumerable(rows));
        Assert.Equal(clean.ToJson(), audit.Count(Ml.Data.LoadFromEnumerable(spaced)).ToJson());

        // A warehouse's concatenation with its own spacing and casing of true/false.
        var csv = new System.Text.StringBuilder("# sensitiveColumnNames=Sex,Race\n# positivePrediction=True\nclient,sensitive,prediction,label,count\n");
        foreach (var g in spaced.GroupBy(r => (r.Client, r.Sex, r.Race, r.Predicted, r.Label)))
            csv.Append($"\"{g.Key.Client} \",\"{g.Key.Sex}  &  {g.Key.Race}\",{g.Key.Predicted.ToString().ToLowerInvariant()},{g.Key.Label.ToString().ToUpperInvariant()},{g.Count()}\n");
        Assert.Equal(clean.ToJson(), FairnessCounts.FromCsv(new StringReader(csv.ToString())).ToJson());
    }
}
