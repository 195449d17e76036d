using MLExtensions.Mlp;
using System.Diagnostics;
using Microsoft.ML;
using MLExtensions.Nas;
using NasSample;
using Xunit;

namespace MLExtensions.Tests.Nas;

/// <summary>
/// The NAS sample's time-budgeted selection (samples/Nas --select) on small generated data with its own candidates at
/// tiny sizes. Behaviour only: which candidates ran, what budget ours received; no wall-clock bounds.
/// </summary>
public class ModelSelectionTests
{
    private const int Folds = 3;

    [Fact]
    public void With_budget_to_spare_every_candidate_is_cross_validated_and_ours_get_the_remaining_share()
    {
        var ml = new MLContext(1);
        var (mlps, searches) = (new List<MlpTrainer.Options>(), new List<NasTrainer.Options>());
        var candidates = TinyCandidates(ml, mlps, searches);
        var budget = TimeSpan.FromMinutes(10);
        var clock = Stopwatch.StartNew();
        var leaderboard = ModelSelection.BinaryClassification(ml, Data(ml, 300), candidates, Folds, budget);
        var total = clock.Elapsed;

        Assert.Equal(candidates.Select(c => c.Name).Order(), leaderboard.Select(r => r.Name).Order());
        Assert.All(leaderboard, r =>
        {
            Assert.False(r.Skipped, r.Name);
            Assert.True(r.Auc!.Value.Mean > 0.7, $"{r.Name}: AUC {r.Auc}");
            Assert.True(r.Auc.Value.StandardDeviation > 0, $"{r.Name}: one value for {Folds} folds?");
            Assert.InRange(r.Accuracy!.Value.Mean, 0.5, 1);
            Assert.True(double.IsFinite(r.LogLoss!.Value.Mean), r.Name);
        });
        Assert.Equal(leaderboard.OrderByDescending(r => r.Auc!.Value.Mean), leaderboard);

        // Our two trainers ran last, each once, with the loop's budget per fit as their TimeBudget: an equal share of
        // what the candidates before them left, divided by the folds. What they left is at most the budget less their
        // measured times, and at least the budget less the whole run.
        var received = new[] { (Options: Assert.Single(mlps).TimeBudget, Index: 3), (Options: Assert.Single(searches).TimeBudget, Index: 4) };
        foreach (var (timeBudget, index) in received)
        {
            var row = leaderboard.Single(r => r.Name == candidates[index].Name);
            Assert.Equal(row.BudgetPerFit, timeBudget);
            var before = candidates.Take(index).Select(c => leaderboard.Single(r => r.Name == c.Name).Time).Aggregate(TimeSpan.Zero, (a, b) => a + b);
            var share = ModelSelection.TrainingShare / (candidates.Count - index) / Folds;
            Assert.InRange(timeBudget!.Value, (budget - total) * share, (budget - before) * share);
            Assert.Equal(Folds, row.Detail!.Split("; ").Length);
        }
        Assert.All(leaderboard.Where(r => !r.Name.StartsWith("MLExtensions")), r => Assert.Null(r.Detail));
    }

    [Fact]
    public void Once_the_budget_is_spent_the_remaining_candidates_are_listed_as_skipped()
    {
        var ml = new MLContext(1);
        var (mlps, searches) = (new List<MlpTrainer.Options>(), new List<NasTrainer.Options>());
        var budget = TimeSpan.FromSeconds(1);
        var spender = new Candidate("spends the whole budget", _ =>
        {
            Thread.Sleep(budget + TimeSpan.FromMilliseconds(50));
            return ml.BinaryClassification.Trainers.LbfgsLogisticRegression();
        });
        var sample = TinyCandidates(ml, mlps, searches);
        var leaderboard = ModelSelection.BinaryClassification(ml, Data(ml, 200), [spender, .. sample], Folds, budget);

        Assert.Equal([spender.Name, .. sample.Select(c => c.Name)], leaderboard.Select(r => r.Name));
        Assert.False(leaderboard[0].Skipped);
        Assert.All(leaderboard.Skip(1), r =>
        {
            Assert.True(r.Skipped, r.Name);
            Assert.Null(r.Accuracy);
            Assert.Null(r.BudgetPerFit);
        });
        Assert.Empty(mlps);
        Assert.Empty(searches);
        var table = ModelSelection.ToMarkdown(leaderboard);
        Assert.Equal(sample.Count, table.Split('\n').Count(l => l.Contains("skipped: budget spent")));
        Assert.Contains($"| 1 | {spender.Name} |", table);
    }

    [Fact]
    public void Bad_arguments_get_clear_messages()
    {
        var ml = new MLContext(1);
        var data = Data(ml, 20);
        var linear = new Candidate("linear", _ => ml.BinaryClassification.Trainers.LbfgsLogisticRegression());
        var hour = TimeSpan.FromHours(1);
        Assert.Contains("at least one candidate", Assert.Throws<ArgumentException>(() => ModelSelection.BinaryClassification(ml, data, [], Folds, hour)).Message);
        Assert.Contains("\"linear\" appears 2 times", Assert.Throws<ArgumentException>(() => ModelSelection.BinaryClassification(ml, data, [linear, linear], Folds, hour)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => ModelSelection.BinaryClassification(ml, data, [linear], 1, hour));
        Assert.Contains("must be positive", Assert.Throws<ArgumentOutOfRangeException>(() => ModelSelection.BinaryClassification(ml, data, [linear], Folds, TimeSpan.Zero)).Message);
    }

    /// <summary>The sample's candidates with tiny networks; the options our trainers were given are recorded.</summary>
    private static IReadOnlyList<Candidate> TinyCandidates(MLContext ml, List<MlpTrainer.Options> mlps, List<NasTrainer.Options> searches)
        => SampleCandidates.Create(ml,
            () => Record(mlps, new MlpTrainer.Options { HiddenLayerSizes = [8], NumberOfEpochs = 10, BatchSize = 32, LearningRate = 1e-2, Seed = 1 }),
            () => Record(searches, new NasTrainer.Options
            {
                Depths = [1], Widths = [8], Activations = [MlpActivation.Relu], SearchResidual = false,
                SearchEpochs = 2, WarmupEpochs = 1, RetrainEpochs = 10, BatchSize = 32, LearningRate = 1e-2, Seed = 1,
            }));

    private static T Record<T>(List<T> list, T options)
    {
        list.Add(options);
        return options;
    }

    /// <summary>Generated rows with the sample's column names: "Features" and a Boolean "Label".</summary>
    private static IDataView Data(MLContext ml, int rows)
    {
        var data = ml.Data.LoadFromEnumerable(Synthetic.Rows(rows, 31));
        return ml.Transforms.CopyColumns("Label", nameof(Synthetic.Row.Positive)).Fit(data).Transform(data);
    }
}
