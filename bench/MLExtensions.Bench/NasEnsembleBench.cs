using System.Diagnostics;
using Microsoft.ML;
using MLExtensions.Mlp;
using MLExtensions.Nas;

namespace MLExtensions.Bench;

/// <summary>
/// <c>NasTrainer.Options.EnsembleSize</c> 1 against 5 on the NAS benchmark's regression sets (Friedman-1, Boston): the
/// same search (same seed), then the pick alone or greedy-weighted ensemble of the five best; test MSE on a held-out
/// 20 %, the ensemble's weights and fit time, per seed.
/// </summary>
public static class NasEnsembleBench
{
    public static void Run(int[] seeds, int ensembleSize)
    {
        var ml = new MLContext(1);
        Console.WriteLine($"EnsembleSize 1 vs {ensembleSize}: SPOS over depths 1–3 × widths 8/32/128 (ReLU, 39 architectures), 20 search epochs, " +
                          $"retraining ≤ 100 epochs with early stopping; test MSE on 20 % held out; seeds {string.Join(", ", seeds)}");
        foreach (var (name, data, binary) in NasBench.DataSets(ml).Where(d => !d.Binary))
        {
            Console.WriteLine();
            Console.WriteLine($"== {name} ==");
            Console.WriteLine($"| seed | test MSE, size 1 | test MSE, size {ensembleSize} | ensemble weights (rank order) | selection MSE: ensemble / best member | fit s, size 1 / {ensembleSize} |");
            Console.WriteLine("|---|---|---|---|---|---|");
            var single = new List<double>();
            var ensemble = new List<double>();
            foreach (int seed in seeds)
            {
                var split = ml.Data.TrainTestSplit(data, 0.2, seed: seed);
                var (alone, aloneSeconds, _) = Fit(ml, split, seed, 1);
                var (mixed, mixedSeconds, search) = Fit(ml, split, seed, ensembleSize);
                single.Add(alone);
                ensemble.Add(mixed);
                var members = search.EnsembleMembers!;
                Console.WriteLine($"| {seed} | {alone:F4} | {mixed:F4} | {string.Join(", ", members.Select(m => m.EnsembleWeight!.Value.ToString("F2")))}" +
                                  $"{(search.EnsembleMembersSkipped > 0 ? $" ({search.EnsembleMembersSkipped} skipped)" : "")} | " +
                                  $"{search.EnsembleSelectionLoss:F4} / {members.Min(m => m.SelectionLoss!.Value):F4} | {aloneSeconds:F1} / {mixedSeconds:F1} |");
            }
            Console.WriteLine($"| mean | {single.Average():F4} | {ensemble.Average():F4} | | | |");
        }
    }

    private static (double TestMse, double Seconds, NasSearchResult Search) Fit(MLContext ml, DataOperationsCatalog.TrainTestData split, int seed, int ensembleSize)
    {
        var options = new NasTrainer.Options
        {
            Strategy = NasStrategy.Spos, Depths = [1, 2, 3], Widths = [8, 32, 128], Activations = [MlpActivation.Relu], SearchResidual = false,
            SearchEpochs = 20, BatchSize = 64, RetrainEpochs = 100, EnsembleSize = ensembleSize, Seed = seed,
        };
        var clock = Stopwatch.StartNew();
        using var model = ml.Nas().Trainers.Regression(options).Fit(split.TrainSet);
        double seconds = clock.Elapsed.TotalSeconds;
        return (ml.Regression.Evaluate(model.Transform(split.TestSet)).MeanSquaredError, seconds, model.Search);
    }
}
