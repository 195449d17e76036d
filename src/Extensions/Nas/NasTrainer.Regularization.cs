using System.Diagnostics;
using Microsoft.ML;
using MLExtensions.Mlp;

namespace MLExtensions.Nas;

public sealed partial class NasTrainer
{
    /// <summary>
    /// Retrains the pick once per combination of <see cref="Options.Dropouts"/> and <see cref="Options.WeightDecays"/>,
    /// keeps the one of lowest validation loss and returns its model.
    /// </summary>
    private NasModel FitRegularized(IDataView input, SearchOutcome outcome, NasSearchResult searched, int seed, TimeSpan? remaining)
    {
        var clock = Stopwatch.StartNew();
        var (pick, chosen, trials) = RetrainWithEachRegularization(input, outcome.Architecture, seed, null, remaining, clock);
        using (pick)
        {
            var result = searched with { RegularizationTrials = trials, Regularization = chosen };
            var retraining = clock.Elapsed;
            // Wall-clock times stay out of the model, so that the same seed and data give the same ONNX bytes.
            var trained = RetrainingTrainer(outcome.Architecture, seed, regularization: chosen).FinishEnsemble(input, [pick], [1],
                () => new Dictionary<string, string> { [NasSearchResult.MetadataKey] = result.ToJson() });
            return new NasModel(trained, result with { Times = new NasPhaseTimes(outcome.SearchTime, outcome.RankingTime, retraining) });
        }
    }

    /// <summary>
    /// Trains <paramref name="architecture"/> once per regularisation choice (while the budget lasts; the first always),
    /// each from the same seed and early-stopped on the same rows, and keeps the network of lowest validation loss.
    /// </summary>
    /// <returns>That network (the caller disposes it), its setting, and every setting tried with its validation loss.</returns>
    private (MlpTrainer.TrainedNetwork Network, NasRegularization Chosen, IReadOnlyList<NasRegularization> Trials) RetrainWithEachRegularization(
        IDataView input, MlpArchitecture architecture, int seed, Func<long, bool>? heldOutRows, TimeSpan? remaining, Stopwatch clock)
    {
        MlpTrainer.TrainedNetwork? best = null;
        NasRegularization? chosen = null;
        var trials = new List<NasRegularization>();
        try
        {
            foreach (var choice in _options.RegularizationChoices)
            {
                TimeSpan? left = remaining is TimeSpan r ? Max(r - clock.Elapsed, TimeSpan.Zero) : null;
                if (best is not null && left == TimeSpan.Zero) break;
                var trained = RetrainingTrainer(architecture, seed, seed, heldOutRows, choice).TrainNetwork(input, left);
                var trial = choice with { ValidationLoss = trained.History.Min(h => h.ValidationLoss ?? double.PositiveInfinity) };
                trials.Add(trial);
                if (best is null || trial.ValidationLoss < chosen!.ValidationLoss)
                {
                    best?.Dispose();
                    (best, chosen) = (trained, trial);
                }
                else trained.Dispose();
            }
            return (best!, chosen!, trials);
        }
        catch
        {
            best?.Dispose();
            throw;
        }
    }
}
