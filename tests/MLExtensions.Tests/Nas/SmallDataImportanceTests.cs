using Microsoft.ML;
using MLExtensions.Nas;
using Xunit;

namespace MLExtensions.Tests.Nas;

/// <summary>PA&amp;DA's path sampling survives small data: a floor, pooled updates, and no collapse where widths are equivalent.</summary>
public class SmallDataImportanceTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void On_200_rows_with_a_label_independent_of_the_features_no_width_collapses_and_none_falls_below_the_floor(int seed)
    {
        var ml = new MLContext(seed);
        var noise = new Random(100 + seed);
        var rows = Synthetic.Rows(200, seed);
        foreach (var row in rows) row.Target = (float)(noise.NextDouble() * 2 - 1); // every width is as good (as useless) as any other
        var options = new NasTrainer.Options
        {
            LabelColumnName = nameof(Synthetic.Row.Target),
            Strategy = NasStrategy.PaDa,
            BatchSize = 64,
            SearchEpochs = 30,
            CandidatesToRank = 20,
            RetrainEpochs = 1,
            Seed = seed,
        };
        using var model = ml.Nas().Trainers.Regression(options).Fit(ml.Data.LoadFromEnumerable(rows));

        var widths = model.Search.History.SelectMany(s => s.Decisions.Where(d => d.Decision.StartsWith("width"))).ToList();
        Assert.NotEmpty(widths);
        double floor = options.ImportanceFloor / options.Widths.Length;
        Assert.All(widths, d => Assert.All(d.Probabilities, p => Assert.True(p >= floor - 1e-12, $"{d.Decision}: {p:F4} below the floor {floor:F4}")));
        // The reference reaches 0.84–0.90 on one width here; with k = 5 equivalent widths, uniform is 0.2.
        var last = model.Search.History[^1].Decisions.Where(d => d.Decision.StartsWith("width")).ToList();
        double largest = last.Max(d => d.Probabilities.Max());
        Assert.True(largest < 0.5, $"a width took {largest:F2} of the draws: {string.Join("; ", last.Select(d => $"{d.Decision} [{string.Join(", ", d.Probabilities.Select(p => p.ToString("F2")))}]"))}");
    }
}
