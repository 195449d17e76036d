using MLExtensions.Nas;
using Xunit;

namespace MLExtensions.Tests.Nas;

/// <summary>Retraining's early-stopping rows are drawn independently of the search's ranking rows, and deterministically by seed.</summary>
public class RetrainingSplitTests
{
    private const int Rows = 20_000;

    private static HashSet<long> Held(Func<long, bool> isHeld) => Enumerable.Range(0, Rows).Select(i => (long)i).Where(isHeld).ToHashSet();

    [Theory]
    [InlineData(NasStrategy.Spos, 0)]
    [InlineData(NasStrategy.PaDa, 0)]
    [InlineData(NasStrategy.TangleNas, 2)]
    public void Early_stopping_rows_are_not_nested_in_the_ranking_rows(NasStrategy strategy, int fineTuneEpochs)
    {
        var options = new NasTrainer.Options { Strategy = strategy, FineTuneEpochs = fineTuneEpochs };
        foreach (int seed in new[] { 0, 1, 42, -7 })
        {
            var ranking = Held(NasTrainer.SearchSplits(options, seed).Ranking!.IsValidation);
            var retraining = Held(NasTrainer.RetrainingSplit(options, seed)!.IsValidation);
            int shared = retraining.Count(ranking.Contains);
            // Neither set holds the other: retraining's rows are not a subset of the ranking rows (as with one seed and hash).
            Assert.True(shared < retraining.Count, $"seed {seed}: all {retraining.Count} early-stopping rows are ranking rows");
            Assert.True(shared < ranking.Count);
            // Independent draws: about RankingFraction of the early-stopping rows are ranking rows (0.2 of ~2,000, sd ~18).
            double expected = options.RankingFraction * retraining.Count;
            Assert.True(Math.Abs(shared - expected) < 6 * Math.Sqrt(expected), $"seed {seed}: {shared} shared rows, ~{expected:F0} expected of independent splits");
        }
    }

    [Fact]
    public void The_early_stopping_rows_are_chosen_by_the_seed()
    {
        var options = new NasTrainer.Options();
        var first = Held(NasTrainer.RetrainingSplit(options, 5)!.IsValidation);
        Assert.Equal(first, Held(NasTrainer.RetrainingSplit(options, 5)!.IsValidation));
        Assert.NotEqual(first, Held(NasTrainer.RetrainingSplit(options, 6)!.IsValidation));
        Assert.InRange(first.Count, 0.08 * Rows, 0.12 * Rows);
        Assert.Null(NasTrainer.RetrainingSplit(new NasTrainer.Options { RetrainValidationFraction = 0 }, 5));
    }
}
