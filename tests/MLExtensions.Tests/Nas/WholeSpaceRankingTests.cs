using Microsoft.ML;
using MLExtensions.Mlp;
using MLExtensions.Nas;
using Xunit;

namespace MLExtensions.Tests.Nas;

/// <summary>The final ranking covers the whole space when affordable, else runs SPOS's evolutionary search; the coverage is reported.</summary>
public class WholeSpaceRankingTests
{
    private static readonly NasSearchSpace Default = new();

    /// <summary>A separable loss with one optimum: depth 3, 64-64-64, GELU, residual.</summary>
    private static double Distance(MlpArchitecture a) =>
        Math.Abs(a.HiddenLayerSizes.Count - 3) + a.HiddenLayerSizes.Sum(w => Math.Abs(Math.Log2(w) - 6)) + (a.HiddenLayerSizes.Count < 3 ? 2 * (3 - a.HiddenLayerSizes.Count) : 0)
        + (a.Activation == MlpActivation.Gelu ? 0 : 1) + (a.Residual ? 0 : 0.5);

    private static readonly MlpArchitecture Optimum = new([64, 64, 64], MlpActivation.Gelu, Residual: true);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Evolution_finds_the_optimum_of_a_smooth_loss_in_300_of_4666_architectures_scoring_each_once(int seed)
    {
        Assert.Equal(4666, Default.Count);
        Assert.Equal(0, Distance(Optimum));
        Assert.All(Default.Enumerate().Where(a => !a.Equals(Optimum)), a => Assert.True(Distance(a) > 0));
        var scored = EvolutionarySearch.Run(Default, 300, Distance, () => false, new Random(seed));
        Assert.Equal(300, scored.Count);
        Assert.Equal(300, scored.Select(s => s.Architecture).Distinct().Count());
        Assert.All(scored, s => Assert.True(Default.Contains(s.Architecture)));
        Assert.Equal(Optimum, scored.MinBy(s => s.Loss).Architecture);
        // Deterministic by seed.
        Assert.Equal(scored.Select(s => s.Architecture), EvolutionarySearch.Run(Default, 300, Distance, () => false, new Random(seed)).Select(s => s.Architecture));
    }

    [Fact]
    public void Evolution_stops_when_told_and_ends_on_a_space_smaller_than_its_evaluations()
    {
        int calls = 0;
        var stopped = EvolutionarySearch.Run(Default, 300, a => { calls++; return Distance(a); }, () => calls >= 7, new Random(1));
        Assert.Equal(7, stopped.Count);
        var tiny = new NasSearchSpace { Depths = [1, 2], Widths = [8, 16], Activations = [MlpActivation.Relu], SearchResidual = true };
        var all = EvolutionarySearch.Run(tiny, 1000, Distance, () => false, new Random(1));
        Assert.Equal(tiny.Count, all.Count);
    }

    [Theory]
    [InlineData(5_000_000, 0, true)]
    [InlineData(0, 12, false)]
    public void The_fitted_model_reports_how_many_architectures_were_ranked_of_how_many(long budget, int candidates, bool whole)
    {
        var ml = new MLContext(1);
        var options = new NasTrainer.Options
        {
            LabelColumnName = nameof(Synthetic.Row.Target),
            Strategy = NasStrategy.Spos,
            Depths = [1, 2],
            Widths = [8, 16, 32],
            Activations = [MlpActivation.Relu, MlpActivation.Tanh],
            SearchEpochs = 2,
            BatchSize = 64,
            RetrainEpochs = 1,
            RankingBudget = budget,
            CandidatesToRank = Math.Max(candidates, 1),
            Seed = 4,
        };
        using var model = ml.Nas().Trainers.Regression(options).Fit(ml.Data.LoadFromEnumerable(Synthetic.Rows(300, 1)));
        Assert.Equal(options.SearchSpace.Count, model.Search.ArchitecturesInSpace);
        Assert.Equal(whole ? options.SearchSpace.Count : candidates, model.Search.CandidatesRanked);
        Assert.True(model.Search.TopArchitectures[0].SupernetValidationLoss <= model.Search.TopArchitectures[^1].SupernetValidationLoss);
        var json = NasSearchResult.FromJson(model.Search.ToJson());
        Assert.Equal(model.Search.CandidatesRanked, json.CandidatesRanked);
        Assert.Equal(model.Search.ArchitecturesInSpace, json.ArchitecturesInSpace);
    }
}
