using Microsoft.ML;
using MLExtensions.Fairness;
using Xunit;

namespace MLExtensions.Tests.Fairness;

/// <summary>Count tables travel as JSON or CSV; parties that count alone, merged, give exactly the pooled report.</summary>
public class FederatedCountsTests
{
    [Fact]
    public async Task Clients_counting_in_isolation_and_sending_json_give_exactly_the_pooled_report()
    {
        var rows = AuditTests.Rows(3000, 21);
        var pooled = new MLContext(1).Fairness().Audit("Gender", "Predicted", "Client", "Label", bootstrapSamples: 0).Fit(new MLContext(1).Data.LoadFromEnumerable(rows)).Report;
        // Each party has its own MLContext and rows and sends only text: no shared state.
        var messages = rows.GroupBy(r => r.Client).Select(group => Task.Run(() =>
        {
            var ml = new MLContext(7);
            return ml.Fairness().Audit("Gender", "Predicted", "Client", "Label").Count(ml.Data.LoadFromEnumerable(group.ToArray())).ToJson();
        })).ToArray();
        var sent = await Task.WhenAll(messages);
        var merged = FairnessCounts.Merge(sent.Select(FairnessCounts.FromJson).ToArray());
        var federated = new MLContext(1).Fairness().Report(merged, bootstrapSamples: 0);
        Assert.Equal(pooled.Decomposition, federated.Decomposition);
        Assert.Equal(pooled.Accuracy, federated.Accuracy);
        Assert.Equal(pooled.Clients, federated.Clients);
        Assert.Equal(pooled.ToJson(), federated.ToJson());
    }

    [Fact]
    public void Csv_from_a_group_by_round_trips_and_bad_tables_are_refused_with_the_line()
    {
        var counts = new FairnessCounts();
        counts.Add("bank, north", "F", "yes", "no", 12);
        counts.Add("bank \"A\"", "M", "no", "no", 30);
        var again = FairnessCounts.FromCsv(new StringReader(counts.ToCsv()));
        Assert.Equal(counts.Cells.OrderBy(c => c.Key.ToString()), again.Cells.OrderBy(c => c.Key.ToString()));
        Assert.Equal(counts.ToJson(), FairnessCounts.FromJson(counts.ToJson()).ToJson());

        var error = Assert.Throws<InvalidDataException>(() => FairnessCounts.FromCsv(new StringReader("client,sensitive,prediction,label,count\nA,F,yes,no,3\nA,F,yes,no,-2\n")));
        Assert.Contains("line 3", error.Message);
        Assert.Contains("header", Assert.Throws<InvalidDataException>(() => FairnessCounts.FromCsv(new StringReader("a,b\n"))).Message);
        Assert.Throws<InvalidDataException>(() => FairnessCounts.FromJson("{\"format\":\"other\"}"));
        Assert.Throws<InvalidDataException>(() => FairnessCounts.FromJson("not json"));
    }
}
