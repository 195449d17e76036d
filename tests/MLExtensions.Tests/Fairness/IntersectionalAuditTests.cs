using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Fairness;
using MLExtensions.Fairness.Information;
using Xunit;

namespace MLExtensions.Tests.Fairness;

/// <summary>Audits of several sensitive columns: Z is their intersection, named as the metric frame names groups.</summary>
public class IntersectionalAuditTests
{
    private static readonly MLContext Ml = new(1);

    public sealed class Row
    {
        public string Sex { get; set; } = "";
        public string Race { get; set; } = "";
        public bool Senior { get; set; }
        public string Client { get; set; } = "";
        public bool Predicted { get; set; }
        public bool Label { get; set; }
    }

    internal static Row[] Rows(int n, int seed)
    {
        var random = new Random(seed);
        string[] races = ["Black", "White", "Asian"];
        return Enumerable.Range(0, n).Select(_ =>
        {
            string sex = random.NextDouble() < 0.5 ? "Female" : "Male", race = races[random.Next(3)], client = random.NextDouble() < 0.4 ? "north" : "south";
            double rate = 0.3 + (sex == "Female" && race == "Black" ? 0.3 : 0) + (client == "north" && race == "Asian" ? -0.2 : 0);
            bool label = random.NextDouble() < rate;
            return new Row { Sex = sex, Race = race, Senior = random.NextDouble() < 0.3, Client = client, Label = label, Predicted = random.NextDouble() < 0.8 ? label : !label };
        }).ToArray();
    }

    [Fact]
    public void Two_sensitive_columns_are_audited_as_their_intersection()
    {
        var rows = Rows(3000, 1);
        var report = Ml.Fairness().Audit(["Sex", "Race"], "Predicted", "Client", "Label", bootstrapSamples: 0).Fit(Ml.Data.LoadFromEnumerable(rows)).Report;

        var groups = rows.Select(r => $"{r.Sex} & {r.Race}").Distinct().Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(6, groups.Length);
        Assert.Equal(groups, report.SensitiveValues);
        Assert.Equal(["Sex", "Race"], report.SensitiveColumnNames);
        Assert.Equal(["Sex", "Race"], report.Counts.SensitiveColumnNames);

        string[] predictions = ["False", "True"], clients = ["north", "south"];
        var joint = new double[groups.Length, 2, 2];
        foreach (var r in rows) joint[Array.IndexOf(groups, $"{r.Sex} & {r.Race}"), r.Predicted ? 1 : 0, Array.IndexOf(clients, r.Client)]++;
        Assert.Equal(PartialInformationDecomposition.Compute(joint, FairnessReportBuilder.DefaultDecompositionOptions), report.Decomposition);
        // I(Z;Ŷ) from entropies of the rows, not from the library's measures.
        double H(IEnumerable<string> values)
        {
            var counts = values.GroupBy(v => v).Select(g => (double)g.Count()).ToArray();
            return -counts.Sum(c => c / rows.Length * Math.Log2(c / rows.Length));
        }
        double mutual = H(rows.Select(r => $"{r.Sex} & {r.Race}")) + H(rows.Select(r => r.Predicted.ToString())) - H(rows.Select(r => $"{r.Sex} & {r.Race}|{r.Predicted}"));
        Assert.Equal(mutual, report.GlobalDisparity, 12);
        Assert.True(report.GlobalDisparity > 0.005, $"{report.GlobalDisparity}");
        Assert.Null(report.StatisticalParityDifference); // six groups: no difference of two

        Assert.Contains("sensitive columns Sex & Race", report.ToMarkdown());
        using var json = System.Text.Json.JsonDocument.Parse(report.ToJson());
        Assert.Equal(["Sex", "Race"], json.RootElement.GetProperty("sensitiveColumnNames").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public void One_column_in_the_array_is_the_single_column_audit_and_column_types_mix()
    {
        var data = Ml.Data.LoadFromEnumerable(Rows(800, 2));
        var single = Ml.Fairness().Audit("Sex", "Predicted", "Client", "Label", seed: 3).Fit(data).Report;
        var array = Ml.Fairness().Audit(["Sex"], "Predicted", "Client", "Label", seed: 3).Fit(data).Report;
        Assert.Equal(single.ToJson(), array.ToJson());
        Assert.Equal(["Sex"], single.SensitiveColumnNames);

        // A Boolean column joins in its counted spelling, in the order the columns are named.
        var mixed = Ml.Fairness().Audit(["Senior", "Sex"], "Predicted", "Client", bootstrapSamples: 0).Count(data);
        Assert.Equal(["False & Female", "False & Male", "True & Female", "True & Male"], mixed.Cells.Keys.Select(k => k.Sensitive).Distinct().Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Intersection_counts_round_trip_through_json_and_csv_and_federated_parties_give_the_pooled_report()
    {
        var rows = Rows(2000, 3);
        var audit = Ml.Fairness().Audit(["Sex", "Race"], "Predicted", "Client", "Label", bootstrapSamples: 0);
        var pooled = audit.Fit(Ml.Data.LoadFromEnumerable(rows)).Report;
        var parties = rows.GroupBy(r => r.Client).Select(g => audit.Count(Ml.Data.LoadFromEnumerable(g.ToArray()))).ToArray();

        var viaJson = parties.Select(p => FairnessCounts.FromJson(p.ToJson())).ToArray();
        var viaCsv = parties.Select(p => FairnessCounts.FromCsv(new StringReader(p.ToCsv()))).ToArray();
        Assert.All(viaJson.Concat(viaCsv), t => Assert.Equal(["Sex", "Race"], t.SensitiveColumnNames));
        Assert.Contains("# sensitiveColumnNames=Sex,Race\n", parties[0].ToCsv());
        Assert.Equal(parties[0].ToJson(), viaCsv[0].ToJson());

        Assert.Equal(pooled.ToJson(), Ml.Fairness().Report(FairnessCounts.Merge(viaJson), bootstrapSamples: 0).ToJson());
        Assert.Equal(pooled.ToJson(), Ml.Fairness().Report(FairnessCounts.Merge(viaCsv), bootstrapSamples: 0).ToJson());
    }

    [Fact]
    public void Tables_of_different_sensitive_columns_do_not_merge()
    {
        var data = Ml.Data.LoadFromEnumerable(Rows(300, 4));
        var two = Ml.Fairness().Audit(["Sex", "Race"], "Predicted", "Client").Count(data);
        var one = Ml.Fairness().Audit("Sex", "Predicted", "Client").Count(data);
        var swapped = Ml.Fairness().Audit(["Race", "Sex"], "Predicted", "Client").Count(data);

        var error = Assert.Throws<ArgumentException>(() => FairnessCounts.Merge(two, one));
        Assert.Contains("'Sex', 'Race'", error.Message);
        Assert.Contains("table 1 on 'Sex'", error.Message);
        Assert.Contains("different sensitive columns", Assert.Throws<ArgumentException>(() => FairnessCounts.Merge(two, swapped)).Message);

        // A table that does not state its columns joins if its values are intersections of the stated ones, spelt in any way.
        var warehouse = FairnessCounts.FromCsv(new StringReader("client,sensitive,prediction,label,count\nshop, Female  &  Black ,true,,4\n"));
        Assert.Null(warehouse.SensitiveColumnNames);
        var merged = FairnessCounts.Merge(warehouse, two);
        Assert.Equal(["Sex", "Race"], merged.SensitiveColumnNames);
        Assert.Equal(4, merged.Cells[("shop", "Female & Black", "True", null)]);
        var flat = FairnessCounts.FromCsv(new StringReader("client,sensitive,prediction,label,count\nshop,Female,true,,4\n"));
        var refused = Assert.Throws<ArgumentException>(() => FairnessCounts.Merge(two, flat));
        Assert.Contains("'Female'", refused.Message);
        Assert.Contains("table 1", refused.Message);

        // Stated columns are checked where a table is read or built.
        Assert.Contains("sensitiveColumnNames", Assert.Throws<InvalidDataException>(() => FairnessCounts.FromJson(two.ToJson().Replace("\"Race\"", "\"Sex\""))).Message);
        var notIntersection = Assert.Throws<InvalidDataException>(() => FairnessCounts.FromCsv(new StringReader(
            "# sensitiveColumnNames=Sex,Race\nclient,sensitive,prediction,label,count\nshop,Female,true,,4\n")));
        Assert.Contains("line 3", notIntersection.Message);
        Assert.Contains("'Female' is not an intersection", notIntersection.Message);
        Assert.Throws<ArgumentException>(() => new FairnessCounts { SensitiveColumnNames = ["Sex", " "] });
        var built = new FairnessCounts { SensitiveColumnNames = [" Sex", "Race "] };
        built.Add("shop", "female & TRUE ", "1", null);
        Assert.Equal(("shop", "female & True", "1", (string?)null), Assert.Single(built.Cells).Key);
        Assert.Equal(["Sex", "Race"], built.SensitiveColumnNames);
        Assert.Equal("sensitive", Assert.Throws<ArgumentException>(() => built.Add("shop", "female", "1", null)).ParamName);
    }

    public sealed class VectorRow
    {
        public string Sex { get; set; } = "";
        public string Client { get; set; } = "";
        public bool Predicted { get; set; }
        [VectorType(2)] public float[] Embedding { get; set; } = [0, 0];
    }

    [Fact]
    public void Missing_mistyped_blank_and_repeated_columns_are_named()
    {
        var data = Ml.Data.LoadFromEnumerable(Rows(100, 5));
        var missing = Assert.Throws<ArgumentOutOfRangeException>(() => Ml.Fairness().Audit(["Sex", "Ethnicity"], "Predicted", "Client").Fit(data));
        Assert.Contains("sensitive column 'Ethnicity'", missing.Message);
        Assert.Contains("'Ethnicity'", Assert.Throws<ArgumentOutOfRangeException>(() =>
            Ml.Fairness().Audit(["Sex", "Ethnicity"], "Predicted", "Client").GetOutputSchema(EstimatorContractTests.ShapeOf(data.Schema))).Message);

        var vectors = Ml.Data.LoadFromEnumerable(new[] { new VectorRow { Sex = "F", Client = "a" }, new VectorRow { Sex = "M", Client = "a", Predicted = true } });
        var estimator = Ml.Fairness().Audit(["Sex", "Embedding"], "Predicted", "Client");
        Assert.Contains("sensitive column 'Embedding'", Assert.Throws<ArgumentException>(() => estimator.Fit(vectors)).Message);
        Assert.Contains("sensitive column 'Embedding'", Assert.Throws<ArgumentException>(() => estimator.GetOutputSchema(EstimatorContractTests.ShapeOf(vectors.Schema))).Message);
        Assert.Contains("client column 'Embedding'", Assert.Throws<ArgumentException>(() => Ml.Fairness().Audit("Sex", "Predicted", "Embedding").Fit(vectors)).Message);

        Assert.Equal("sensitiveColumnNames", Assert.Throws<ArgumentException>(() => Ml.Fairness().Audit(Array.Empty<string>(), "Predicted", "Client")).ParamName);
        Assert.Contains("name 1 of 2 is blank", Assert.Throws<ArgumentException>(() => Ml.Fairness().Audit(["Sex", " "], "Predicted", "Client")).Message);
        Assert.Contains("'Sex' is named twice", Assert.Throws<ArgumentException>(() => Ml.Fairness().Audit(["Sex", "Race", "Sex"], "Predicted", "Client")).Message);
        Assert.Throws<ArgumentNullException>(() => Ml.Fairness().Audit((string[])null!, "Predicted", "Client"));
    }

    [Fact]
    public void Values_that_would_name_two_groups_alike_are_refused_naming_column_and_row()
    {
        var rows = Rows(20, 6);
        rows[7].Sex = "Female &";
        rows[7].Race = "Black";
        var error = Assert.Throws<InvalidDataException>(() => Ml.Fairness().Audit(["Sex", "Race"], "Predicted", "Client").Count(Ml.Data.LoadFromEnumerable(rows)));
        Assert.Contains("Row 7", error.Message);
        Assert.Contains("'Female &' (column 'Sex')", error.Message);

        rows[7].Sex = "Female";
        rows[7].Race = "Black & White";
        Assert.Contains("(column 'Race')", Assert.Throws<InvalidDataException>(() => Ml.Fairness().Audit(["Sex", "Race"], "Predicted", "Client").Count(Ml.Data.LoadFromEnumerable(rows))).Message);
        // A single column may hold any value: its name is the value.
        Assert.Contains(Ml.Fairness().Audit("Race", "Predicted", "Client").Count(Ml.Data.LoadFromEnumerable(rows)).Cells.Keys, k => k.Sensitive == "Black & White");
    }
}
