using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Fairness;
using MLExtensions.Fairness.Information;
using Xunit;

namespace MLExtensions.Tests.Fairness;

public class AuditTests
{
    private static readonly MLContext Ml = new(1);

    public sealed class Row
    {
        public string Gender { get; set; } = "";
        public string Client { get; set; } = "";
        public bool Predicted { get; set; }
        public bool Label { get; set; }
        public float Score { get; set; }
    }

    /// <summary>Three clients whose positive rates depend on gender differently (one client favours each group).</summary>
    internal static Row[] Rows(int n, int seed)
    {
        var random = new Random(seed);
        string[] clients = ["north", "south", "west"];
        return Enumerable.Range(0, n).Select(_ =>
        {
            var client = clients[random.Next(3)];
            bool female = random.NextDouble() < (client == "north" ? 0.7 : 0.4);
            double rate = client switch { "north" => female ? 0.6 : 0.3, "south" => female ? 0.2 : 0.5, _ => 0.4 };
            bool label = random.NextDouble() < rate;
            bool predicted = random.NextDouble() < 0.85 ? label : !label;
            return new Row { Gender = female ? "F" : "M", Client = client, Predicted = predicted, Label = label, Score = predicted ? 0.8f : 0.2f };
        }).ToArray();
    }

    [Fact]
    public void The_audit_equals_a_direct_computation_on_the_same_rows()
    {
        var rows = Rows(3000, 1);
        var report = Ml.Fairness().Audit("Gender", "Predicted", "Client", "Label").Fit(Ml.Data.LoadFromEnumerable(rows)).Report;

        string[] genders = ["F", "M"], predictions = ["False", "True"], clients = ["north", "south", "west"];
        var joint = new double[2, 2, 3];
        foreach (var r in rows) joint[Array.IndexOf(genders, r.Gender), r.Predicted ? 1 : 0, Array.IndexOf(clients, r.Client)]++;
        var expected = PartialInformationDecomposition.Compute(joint, FairnessReportBuilder.DefaultDecompositionOptions);
        Assert.Equal(expected, report.Decomposition);
        Assert.Equal(PartialInformationDecomposition.Compute(joint).Unique, report.UniqueDisparity, 7);
        Assert.Equal(InformationMeasures.MutualInformation(InformationMeasures.Marginal01(joint)), report.GlobalDisparity, 12);
        Assert.Equal(InformationMeasures.ConditionalMutualInformation(joint), report.LocalDisparity, 12);

        double Rate(IEnumerable<Row> group) => group.Count(r => r.Predicted) / (double)group.Count();
        Assert.Equal(Rate(rows.Where(r => r.Gender == "M")) - Rate(rows.Where(r => r.Gender == "F")), report.StatisticalParityDifference!.Value, 12);
        Assert.Equal(rows.Count(r => r.Predicted == r.Label) / (double)rows.Length, report.Accuracy!.Value, 12);
        double Tpr(string g) => rows.Count(r => r.Gender == g && r.Label && r.Predicted) / (double)rows.Count(r => r.Gender == g && r.Label);
        Assert.Equal(Math.Abs(Tpr("M") - Tpr("F")), report.EqualOpportunityGap!.Value, 12);

        var north = report.Clients.Single(c => c.Client == "north");
        var northRows = rows.Where(r => r.Client == "north").ToArray();
        Assert.Equal(northRows.Length, north.Rows);
        Assert.Equal(Rate(northRows.Where(r => r.Gender == "M")) - Rate(northRows.Where(r => r.Gender == "F")), north.StatisticalParityDifference!.Value, 12);
        var slice = new double[2, 2];
        foreach (var r in northRows) slice[Array.IndexOf(genders, r.Gender), r.Predicted ? 1 : 0]++;
        Assert.Equal(InformationMeasures.MutualInformation(slice), north.LocalDisparity, 12);

        Assert.Contains("\"globalDisparity\"", report.ToJson());
        Assert.Contains("| north |", report.ToMarkdown());
    }

    [Fact]
    public void Merged_client_counts_give_the_pooled_report()
    {
        var rows = Rows(2000, 2);
        var audit = Ml.Fairness().Audit("Gender", "Predicted", "Client", "Label", seed: 5);
        var pooled = audit.Fit(Ml.Data.LoadFromEnumerable(rows)).Report;
        // Each client counts its own rows; only the count tables travel.
        var tables = rows.GroupBy(r => r.Client).Select(g => audit.Count(Ml.Data.LoadFromEnumerable(g.ToArray()))).ToArray();
        var merged = FairnessReportBuilder.Build(FairnessCounts.Merge(tables), seed: 5);
        Assert.Equal(pooled.ToJson(), merged.ToJson());
        Assert.NotEmpty(pooled.ConfidenceIntervals);
    }

    [Fact]
    public void A_pipeline_with_the_audit_saves_loads_and_passes_rows_through()
    {
        var data = Ml.Data.LoadFromEnumerable(Rows(500, 3));
        var pipeline = Ml.Fairness().Audit("Gender", "Predicted", "Client").Append(Ml.Transforms.CopyColumns("GenderCopy", "Gender"));
        var model = pipeline.Fit(data);
        Assert.True(model.First() is FairnessAuditTransformer { Report.Rows: 500 });
        using var stream = new MemoryStream();
        Ml.Model.Save(model, data.Schema, stream);
        stream.Position = 0;
        var loaded = new MLContext().Model.Load(stream, out _);
        Assert.Equal(data.GetColumn<string>("Gender"), loaded.Transform(data).GetColumn<string>("GenderCopy"));
    }

    [Fact]
    public void Scores_need_a_threshold_and_then_match_boolean_predictions()
    {
        var data = Ml.Data.LoadFromEnumerable(Rows(800, 4));
        var error = Assert.Throws<ArgumentException>(() => Ml.Fairness().Audit("Gender", "Score", "Client").Fit(data));
        Assert.Contains("'Score'", error.Message);
        Assert.Contains("threshold", error.Message);
        var byScore = Ml.Fairness().Audit("Gender", "Score", "Client", threshold: 0.5f).Fit(data).Report;
        var byBool = Ml.Fairness().Audit("Gender", "Predicted", "Client").Fit(data).Report;
        Assert.Equal(byBool.Decomposition, byScore.Decomposition);
    }

    [Fact]
    public void A_single_sensitive_value_and_missing_values_are_named()
    {
        var rows = Rows(100, 5);
        foreach (var r in rows) r.Gender = "F";
        var single = Assert.Throws<InvalidDataException>(() => Ml.Fairness().Audit("Gender", "Predicted", "Client").Fit(Ml.Data.LoadFromEnumerable(rows)));
        Assert.Contains("single value", single.Message);

        rows = Rows(100, 6);
        rows[42].Client = "";
        var missing = Assert.Throws<InvalidDataException>(() => Ml.Fairness().Audit("Gender", "Predicted", "Client").Fit(Ml.Data.LoadFromEnumerable(rows)));
        Assert.Contains("Column 'Client', row 42", missing.Message);

        var report = Ml.Fairness().Audit("Gender", "Predicted", "Client").Fit(Ml.Data.LoadFromEnumerable(Rows(40, 7))).Report;
        Assert.Contains(report.Warnings, w => w.Contains("unstable"));
        Assert.All(report.Clients, c => Assert.False(double.IsNaN(c.LocalDisparity)));
    }

    private sealed class NumericRow
    {
        public int Region { get; set; }
        public uint Sex { get; set; }
        public bool Predicted { get; set; }
    }

    [Fact]
    public void Integer_sensitive_and_client_columns_are_categories()
    {
        var rows = Rows(600, 8);
        var numeric = rows.Select(r => new NumericRow { Region = r.Client.Length, Sex = r.Gender == "F" ? 0u : 1u, Predicted = r.Predicted }).ToArray();
        var byText = Ml.Fairness().Audit("Gender", "Predicted", "Client").Fit(Ml.Data.LoadFromEnumerable(rows.Select(r => new Row
        {
            Gender = r.Gender == "F" ? "0" : "1", Client = r.Client.Length.ToString(), Predicted = r.Predicted,
        }))).Report;
        var byNumber = Ml.Fairness().Audit("Sex", "Predicted", "Region").Fit(Ml.Data.LoadFromEnumerable(numeric)).Report;
        Assert.Equal(byText.Decomposition, byNumber.Decomposition);
        Assert.Equal(byText.Clients.Select(c => c.Client), byNumber.Clients.Select(c => c.Client));
    }

    [Fact]
    public void Bootstrap_intervals_are_seeded_cover_the_estimate_and_shrink_with_more_rows()
    {
        FairnessReport Report(int n, int seed) => Ml.Fairness().Audit("Gender", "Predicted", "Client", seed: seed).Fit(Ml.Data.LoadFromEnumerable(Rows(n, 9))).Report;
        var small = Report(1_000, 3);
        Assert.Equal(small.ConfidenceIntervals, Report(1_000, 3).ConfidenceIntervals);
        Assert.NotEqual(small.ConfidenceIntervals["LocalDisparity"], Report(1_000, 4).ConfidenceIntervals["LocalDisparity"]);
        var large = Report(20_000, 3);
        foreach (var name in new[] { "GlobalDisparity", "LocalDisparity", "StatisticalParityDifference", "UniqueDisparity", "RedundantDisparity", "MaskedDisparity" })
        {
            var interval = small.ConfidenceIntervals[name];
            Assert.True(interval.Lower <= interval.Upper);
            double smallWidth = interval.Upper - interval.Lower, largeWidth = large.ConfidenceIntervals[name].Upper - large.ConfidenceIntervals[name].Lower;
            // A term that is zero in every replicate (here: unique disparity) has a zero-width interval at any size.
            Assert.True(smallWidth > 1e-9 ? largeWidth < smallWidth : largeWidth <= 1e-9, $"{name}: width {smallWidth} at 1,000 rows, {largeWidth} at 20,000");
        }
        Assert.True(small.ConfidenceIntervals["LocalDisparity"].Contains(small.LocalDisparity));
        Assert.True(small.ConfidenceIntervals["StatisticalParityDifference"].Contains(small.StatisticalParityDifference!.Value));
        Assert.True(small.ConfidenceIntervals["MaskedDisparity"].Contains(small.MaskedDisparity), $"{small.ConfidenceIntervals["MaskedDisparity"]} vs {small.MaskedDisparity}");
        Assert.Contains("[", small.ToMarkdown());
    }

    [Fact]
    public void Masked_disparity_shows_when_clients_favour_opposite_groups()
    {
        // Within each client the prediction follows gender, in opposite directions: globally it cancels (XOR-like).
        var rows = new List<Row>();
        foreach (var client in new[] { "a", "b" })
            foreach (var gender in new[] { "F", "M" })
                for (int i = 0; i < 50; i++)
                    rows.Add(new Row { Client = client, Gender = gender, Predicted = (client == "a") == (gender == "F") });
        var report = Ml.Fairness().Audit("Gender", "Predicted", "Client").Fit(Ml.Data.LoadFromEnumerable(rows)).Report;
        Assert.Equal(0, report.GlobalDisparity, 9);
        Assert.Equal(1, report.LocalDisparity, 9);
        Assert.Equal(1, report.MaskedDisparity, 9);
        Assert.All(report.Clients, c => Assert.Equal(1.0, Math.Abs(c.StatisticalParityDifference!.Value), 9));
    }
}
