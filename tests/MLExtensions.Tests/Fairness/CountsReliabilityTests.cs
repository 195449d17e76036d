using Microsoft.ML;
using MLExtensions.Fairness;
using Xunit;

namespace MLExtensions.Tests.Fairness;

/// <summary>
/// Count tables never answer wrongly in silence (issue #21): overflowing counts, duplicated or incomplete cells,
/// null tables, lost positive predictions, byte-order marks, multi-line fields and differently spelt values are
/// refused with the cell, line or argument named, or read the one documented way.
/// </summary>
public class CountsReliabilityTests
{
    private static readonly MLContext Ml = new(1);

    private const string Header = "client,sensitive,prediction,label,count\n";

    private static string Json(string cells, string hasLabels = "\"hasLabels\":false,") =>
        $"{{\"format\":\"mlextensions.fairness-counts/1\",{hasLabels}\"positivePrediction\":null,\"cells\":[{cells}]}}";

    private static string Cell(string client, string sensitive, string prediction, long count) =>
        $"{{\"client\":\"{client}\",\"sensitive\":\"{sensitive}\",\"prediction\":\"{prediction}\",\"label\":null,\"count\":{count}}}";

    // 1. Counts are summed with overflow checks.

    [Fact]
    public void Merging_a_cell_past_long_MaxValue_is_refused_naming_the_cell_instead_of_wrapping()
    {
        var honest = new FairnessCounts();
        honest.Add("bank", "F", "1", null, 100);
        honest.Add("bank", "M", "0", null, 100);
        var hostile = new FairnessCounts();
        hostile.Add("bank", "F", "1", null, long.MaxValue);

        var error = Assert.Throws<OverflowException>(() => FairnessCounts.Merge(honest, hostile));
        Assert.Contains("client 'bank'", error.Message);
        Assert.Contains("sensitive 'F'", error.Message);
        Assert.Contains("prediction '1'", error.Message);
        Assert.Contains("table 1", error.Message);

        // Different cells whose total no long holds: refused too, so Rows and every sum in a report stay exact.
        var other = new FairnessCounts();
        other.Add("bank", "M", "1", null, long.MaxValue - 150);
        var total = Assert.Throws<OverflowException>(() => FairnessCounts.Merge(honest, other));
        Assert.Contains("sensitive 'M'", total.Message);

        var exact = new FairnessCounts();
        exact.Add("bank", "F", "1", null, (1L << 53) + 1);
        exact.Add("bank", "M", "1", null, 1);
        Assert.Equal((1L << 53) + 2, exact.Rows); // a sum in double would give 2^53
    }

    [Fact]
    public void Json_and_csv_whose_counts_overflow_are_refused_naming_the_cell_and_the_line()
    {
        var json = Json(Cell("A", "F", "1", long.MaxValue) + "," + Cell("A", "M", "1", 1));
        var fromJson = Assert.Throws<InvalidDataException>(() => FairnessCounts.FromJson(json));
        Assert.Contains("cell 1", fromJson.Message);

        var csv = Header + $"A,F,1,,{long.MaxValue}\nA,M,1,,1\n";
        var fromCsv = Assert.Throws<InvalidDataException>(() => FairnessCounts.FromCsv(new StringReader(csv)));
        Assert.Contains("line 3", fromCsv.Message);
    }

    // 2. A cell written twice is refused.

    [Fact]
    public void A_cell_written_twice_in_json_or_csv_is_refused_naming_both_positions()
    {
        var json = Json(Cell("A", "F", "1", 3) + "," + Cell("A", "M", "1", 4) + "," + Cell("A", "F", "1", 3));
        var fromJson = Assert.Throws<InvalidDataException>(() => FairnessCounts.FromJson(json));
        Assert.Contains("cells 0 and 2", fromJson.Message);

        var csv = Header + "A,F,1,,3\nA,M,1,,4\n\nA,F,1,,3\n";
        var fromCsv = Assert.Throws<InvalidDataException>(() => FairnessCounts.FromCsv(new StringReader(csv)));
        Assert.Contains("lines 2 and 5", fromCsv.Message);

        // Add is how a party accumulates: it still adds.
        var counts = new FairnessCounts();
        counts.Add("A", "F", "1", null, 3);
        counts.Add("A", "F", "1", null, 3);
        Assert.Equal(6, counts.Rows);
    }

    // 3. Incomplete JSON cells.

    [Fact]
    public void Json_cells_without_a_count_or_a_value_or_at_all_are_refused_naming_the_cell_and_field()
    {
        var noCount = Json(Cell("A", "F", "1", 3) + ",{\"client\":\"A\",\"sensitive\":\"M\",\"prediction\":\"1\",\"label\":null}");
        var error = Assert.Throws<InvalidDataException>(() => FairnessCounts.FromJson(noCount));
        Assert.Contains("cell 1", error.Message);
        Assert.Contains("no 'count'", error.Message);

        foreach (var field in new[] { "client", "sensitive", "prediction" })
        {
            var cell = Cell("A", "F", "1", 3).Replace($"\"{field}\":", $"\"other\":");
            var missing = Assert.Throws<InvalidDataException>(() => FairnessCounts.FromJson(Json(Cell("A", "M", "1", 2) + "," + cell)));
            Assert.Contains("cell 1", missing.Message);
            Assert.Contains($"no '{field}'", missing.Message);
        }

        var nullCell = Assert.Throws<InvalidDataException>(() => FairnessCounts.FromJson(Json(Cell("A", "M", "1", 2) + ",null")));
        Assert.Contains("cell 1", nullCell.Message);

        var negative = Assert.Throws<InvalidDataException>(() => FairnessCounts.FromJson(Json(Cell("A", "M", "1", -2))));
        Assert.Contains("cell 0", negative.Message);
    }

    [Fact]
    public void A_json_table_without_hasLabels_takes_it_from_its_cells()
    {
        var labelled = new FairnessCounts();
        labelled.Add("A", "F", "1", "1", 3);
        labelled.Add("A", "M", "0", "1", 2);
        var withoutFlag = labelled.ToJson().Replace("\"hasLabels\":true,", "");
        Assert.DoesNotContain("hasLabels", withoutFlag);
        var read = FairnessCounts.FromJson(withoutFlag);
        Assert.True(read.HasLabels);
        Assert.Equal(labelled.ToJson(), read.ToJson());

        Assert.False(FairnessCounts.FromJson(Json(Cell("A", "M", "1", 2), hasLabels: "")).HasLabels);

        // Cells that disagree are refused, naming the first that differs.
        var mixed = Json(Cell("A", "M", "1", 2) + ",{\"client\":\"A\",\"sensitive\":\"F\",\"prediction\":\"1\",\"label\":\"1\",\"count\":1}", hasLabels: "");
        Assert.Contains("cell 1", Assert.Throws<InvalidDataException>(() => FairnessCounts.FromJson(mixed)).Message);
    }

    // 4. Merge.

    [Fact]
    public void Merging_a_null_table_is_refused_naming_its_index()
    {
        var counts = new FairnessCounts();
        counts.Add("A", "F", "1", null);
        var error = Assert.Throws<ArgumentNullException>(() => FairnessCounts.Merge(counts, null!));
        Assert.Equal("tables", error.ParamName);
        Assert.Contains("index 1", error.Message);
    }

    [Fact]
    public void An_unstated_positive_prediction_joins_a_stated_one_but_two_stated_ones_must_agree()
    {
        FairnessCounts Table(string? positive)
        {
            var counts = new FairnessCounts { PositivePrediction = positive };
            counts.Add("A", "F", "1", null, 2);
            counts.Add("A", "M", "0", null, 2);
            return counts;
        }
        Assert.Equal("1", FairnessCounts.Merge(Table(null), Table("1")).PositivePrediction);
        Assert.Equal("1", FairnessCounts.Merge(Table("1"), Table(null), Table("1")).PositivePrediction);
        Assert.Null(FairnessCounts.Merge(Table(null), Table(null)).PositivePrediction);

        var error = Assert.Throws<ArgumentException>(() => FairnessCounts.Merge(Table("1"), Table(null), Table("0")));
        Assert.Contains("table 0", error.Message);
        Assert.Contains("table 2", error.Message);
    }

    [Fact]
    public void An_empty_table_joins_a_labelled_one_and_mixed_labelling_names_both_tables()
    {
        var labelled = new FairnessCounts();
        labelled.Add("A", "F", "1", "1", 2);
        var unlabelled = new FairnessCounts();
        unlabelled.Add("B", "F", "1", null, 2);
        Assert.True(FairnessCounts.Merge(new FairnessCounts(), labelled).HasLabels);
        var error = Assert.Throws<ArgumentException>(() => FairnessCounts.Merge(new FairnessCounts(), unlabelled, labelled));
        Assert.Contains("table 2 has labels and table 1 does not", error.Message);
    }

    // 5. The positive prediction travels through CSV.

    public sealed class Decision
    {
        public string Group { get; set; } = "";
        public string Client { get; set; } = "";
        public string Predicted { get; set; } = "";
        public string Truth { get; set; } = "";
    }

    private static Decision[] Decisions()
    {
        var random = new Random(5);
        return Enumerable.Range(0, 400).Select(i =>
        {
            string group = i % 3 == 0 ? "f" : "m";
            bool no = random.NextDouble() < (group == "f" ? 0.7 : 0.4);
            return new Decision
            {
                Group = group, Client = i % 2 == 0 ? "north, east" : "south", Predicted = no ? "no" : "yes",
                Truth = random.NextDouble() < 0.8 == no ? "no" : "yes",
            };
        }).ToArray();
    }

    [Fact]
    public void Csv_carries_a_non_default_positive_prediction_so_json_and_csv_give_the_same_report()
    {
        var counts = Ml.Fairness().Audit("Group", "Predicted", "Client", "Truth", positivePrediction: "no")
            .Count(Ml.Data.LoadFromEnumerable(Decisions()));
        var viaJson = Ml.Fairness().Report(FairnessCounts.FromJson(counts.ToJson()), bootstrapSamples: 20, seed: 3);
        var csvCounts = FairnessCounts.FromCsv(new StringReader(counts.ToCsv()));
        Assert.Equal("no", csvCounts.PositivePrediction);
        Assert.True(csvCounts.HasLabels);
        var viaCsv = Ml.Fairness().Report(csvCounts, bootstrapSamples: 20, seed: 3);
        Assert.True(viaJson.StatisticalParityDifference < 0, $"fewer 'no' for m than for f: {viaJson.StatisticalParityDifference}");
        Assert.Equal(viaJson.StatisticalParityDifference, viaCsv.StatisticalParityDifference);
        Assert.Equal(viaJson.ToJson(), viaCsv.ToJson());
    }

    // 6. What spreadsheets and RFC 4180 writers produce.

    [Fact]
    public void A_byte_order_mark_and_quoted_line_breaks_are_read()
    {
        var counts = new FairnessCounts();
        counts.Add("bank\nnorth", "F", "yes", null, 12);
        counts.Add("bank \"A\",\r\nsouth", "M", "no", null, 30);
        counts.Add("bank", "M", "no", null, 1);
        var csv = counts.ToCsv();
        var again = FairnessCounts.FromCsv(new StringReader("\uFEFF" + csv));
        Assert.Equal(counts.ToJson(), again.ToJson());

        var bom = FairnessCounts.FromCsv(new StringReader("\uFEFF" + Header + "A,F,1,,3\r\nA,M,0,,4\r\n"));
        Assert.Equal(7, bom.Rows);

        // Lines are counted as in the file: the bad record starts on line 4, after a field spanning lines 2-3.
        var error = Assert.Throws<InvalidDataException>(() => FairnessCounts.FromCsv(new StringReader(Header + "\"A\nB\",F,1,,3\nA,M,0,,x\n")));
        Assert.Contains("Line 4", error.Message);
        Assert.Contains("Line 2", Assert.Throws<InvalidDataException>(() => FairnessCounts.FromCsv(new StringReader(Header + "\"A,F,1,,3\nA,M,0,,4\n"))).Message);
    }

    [Fact]
    public void A_group_by_csv_takes_its_positive_prediction_as_an_argument_and_a_conflict_is_refused()
    {
        var counts = Ml.Fairness().Audit("Group", "Predicted", "Client", "Truth", positivePrediction: "no").Count(Ml.Data.LoadFromEnumerable(Decisions()));
        var groupBy = string.Join("\n", counts.ToCsv().Split('\n').Where(l => !l.StartsWith('#')));
        Assert.StartsWith(Header, groupBy);
        Assert.Null(FairnessCounts.FromCsv(new StringReader(groupBy)).PositivePrediction);
        var read = FairnessCounts.FromCsv(new StringReader(groupBy), positivePrediction: "no");
        Assert.Null(read.SensitiveColumnNames); // nor does a group-by say which column it grouped: a table that does joins it
        Assert.Equal(counts.ToJson(), FairnessCounts.Merge(read, new FairnessCounts { SensitiveColumnNames = ["Group"] }).ToJson());
        Assert.Equal(counts.ToJson(), FairnessCounts.FromCsv(new StringReader(counts.ToCsv()), positivePrediction: "no").ToJson());
        var conflict = Assert.Throws<ArgumentException>(() => FairnessCounts.FromCsv(new StringReader(counts.ToCsv()), positivePrediction: "yes"));
        Assert.Equal("positivePrediction", conflict.ParamName);
        Assert.Contains("line 1", conflict.Message);

        // A stated hasLabels is checked on every line; comments other than the two settings are ignored.
        var stated = "# hasLabels=true\n" + Header + "A,F,1,1,3\nA,M,1,,4\n";
        Assert.Contains("Line 4", Assert.Throws<InvalidDataException>(() => FairnessCounts.FromCsv(new StringReader(stated))).Message);
        var commented = "# exported by the warehouse, nightly\n# positivePrediction=\"a,b\"\n" + Header + "A,F,\"a,b\",,3\nA,M,c,,4\n";
        Assert.Equal("a,b", FairnessCounts.FromCsv(new StringReader(commented)).PositivePrediction);
    }

    // 7. One spelling per value.

    [Fact]
    public void Surrounding_spaces_and_the_casing_of_true_and_false_do_not_split_a_value()
    {
        var counts = new FairnessCounts();
        counts.Add("A", "F", "true", "FALSE", 1);
        counts.Add(" A", "F ", "True", "False", 2);
        counts.Add("A", "F", " TRUE", " false ", 3);
        var cell = Assert.Single(counts.Cells);
        Assert.Equal(("A", "F", "True", "False"), cell.Key);
        Assert.Equal(6, cell.Value);

        counts.Add("A", "f", "yes", "no"); // case of other values is kept
        Assert.Equal(2, counts.Cells.Count);

        Assert.Equal("sensitive", Assert.Throws<ArgumentException>(() => counts.Add("A", "  ", "1", "1")).ParamName);
        Assert.Equal("label", Assert.Throws<ArgumentException>(() => counts.Add("A", "F", "1", "\t")).ParamName);

        // The positive prediction too: a CSV's stated value and an argument spelt differently agree; a blank one is refused.
        var csv = "# positivePrediction=TRUE\n" + Header + "A,F,true,,1\nA,M,false,,1\n";
        Assert.Equal("True", FairnessCounts.FromCsv(new StringReader(csv), positivePrediction: "true ").PositivePrediction);
        var blank = new FairnessCounts().ToJson().Replace("\"positivePrediction\":null", "\"positivePrediction\":\" \"");
        Assert.Contains("positivePrediction", Assert.Throws<InvalidDataException>(() => FairnessCounts.FromJson(blank)).Message);
    }

    public sealed class BoolRow
    {
        public string Group { get; set; } = "";
        public string Client { get; set; } = "";
        public bool Predicted { get; set; }
    }

    [Fact]
    public void A_boolean_column_and_a_warehouse_csv_of_true_and_false_merge_into_two_predictions()
    {
        var rows = Enumerable.Range(0, 40).Select(i => new BoolRow { Group = i % 2 == 0 ? "f" : "m", Client = "bank", Predicted = i % 3 == 0 }).ToArray();
        var audited = Ml.Fairness().Audit("Group", "Predicted", "Client").Count(Ml.Data.LoadFromEnumerable(rows));
        var warehouse = FairnessCounts.FromCsv(new StringReader(Header + "shop,f,true,,5\nshop,m,false,,7\nshop,m,TRUE ,,2\n"));
        var report = Ml.Fairness().Report(FairnessCounts.Merge(audited, warehouse), bootstrapSamples: 0);
        Assert.Equal(["False", "True"], report.PredictionValues);
        Assert.NotNull(report.StatisticalParityDifference);
        Assert.Equal("True", Ml.Fairness().Audit("Group", "Predicted", "Client", positivePrediction: " true").Count(Ml.Data.LoadFromEnumerable(rows)).PositivePrediction);
    }

    [Fact]
    public void The_audit_trims_text_values_and_refuses_blank_ones_naming_column_and_row()
    {
        var rows = new[]
        {
            new Decision { Group = "f", Client = "a", Predicted = "yes" },
            new Decision { Group = "f ", Client = "a", Predicted = "no" },
            new Decision { Group = " m", Client = "a", Predicted = "yes" },
        };
        var counts = Ml.Fairness().Audit("Group", "Predicted", "Client").Count(Ml.Data.LoadFromEnumerable(rows));
        Assert.Equal(["f", "m"], counts.Cells.Keys.Select(k => k.Sensitive).Distinct().Order());

        rows[2].Group = "  ";
        var error = Assert.Throws<InvalidDataException>(() => Ml.Fairness().Audit("Group", "Predicted", "Client").Count(Ml.Data.LoadFromEnumerable(rows)));
        Assert.Contains("'Group'", error.Message);
        Assert.Contains("row 2", error.Message);
    }

    // 8. Cross-fitting folds the data cannot fill.

    [Fact]
    public void More_cross_fit_folds_than_rows_are_refused_at_fit_naming_the_option_and_the_row_count()
    {
        var data = Ml.Data.LoadFromEnumerable(MitigatorTests.Rows(50, 3));
        var options = new FairnessMitigator.Options { SensitiveColumnName = "Sensitive", ClientColumnName = "Client", CrossFitFolds = 51 };
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => Ml.Fairness().Mitigate(options).Fit(data));
        Assert.Equal(nameof(FairnessMitigator.Options.CrossFitFolds), error.ParamName);
        Assert.Contains("50 rows", error.Message);
    }
}
