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
}
