using MLExtensions.Mlp;
using System.Diagnostics;
using Microsoft.ML;
using MLExtensions.Nas;

namespace MLExtensions.QuickStart;

/// <summary>Architecture search (single-path training of the weight-entangled supernet) against the fixed default MLP on the same generated regression task.</summary>
public static class NasSection
{
    public static void Run(MLContext ml)
    {
        Console.WriteLine("== Architecture search: mlContext.Nas().Trainers.Regression (SPOS over a weight-entangled supernet) ==");
        var train = ml.Data.LoadFromEnumerable(GeneratedData.Tabular(4000, seed: 1));
        var test = ml.Data.LoadFromEnumerable(GeneratedData.Tabular(1000, seed: 2));
        const string label = nameof(GeneratedData.Row.Target);
        var options = new NasTrainer.Options
        {
            LabelColumnName = label,
            Depths = [1, 2, 3],
            Widths = [16, 32, 64, 128],
            SearchEpochs = 12,
            RetrainEpochs = 40,
            TimeBudget = TimeSpan.FromSeconds(25),
        };
        var clock = Stopwatch.StartNew();
        using var found = ml.Nas().Trainers.Regression(options).Fit(train);
        double seconds = clock.Elapsed.TotalSeconds;
        using var fixedMlp = ml.Nas().Trainers.MlpRegression(new MlpTrainer.Options
        {
            LabelColumnName = label, NumberOfEpochs = options.RetrainEpochs, ValidationFraction = options.RetrainValidationFraction,
        }).Fit(train);
        double RSquared(ITransformer model) => ml.Regression.Evaluate(model.Transform(test), labelColumnName: label).RSquared;
        var search = found.Search;
        var times = search.Times!; // set for a search run in this process (a saved model keeps no wall-clock times)
        Console.WriteLine($"searched a space of {options.SearchSpace.Count} architectures in {search.SearchEpochs} supernet epochs: found {found.Architecture} " +
                          $"(top-3 by held-out loss with inherited weights: {string.Join("; ", search.TopArchitectures.Take(3).Select(t => $"{t.Architecture} {t.SupernetValidationLoss:F3}"))})");
        Console.WriteLine($"test R² {RSquared(found):F3} vs fixed 64-64 MLP {RSquared(fixedMlp):F3}; search {times.Search.TotalSeconds:F1} s, " +
                          $"ranking {times.Ranking.TotalSeconds:F1} s, retraining {times.Retraining.TotalSeconds:F1} s (total {seconds:F1} s); ONNX export {found.ExportParity}");
    }
}
