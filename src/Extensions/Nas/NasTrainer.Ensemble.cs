using System.Diagnostics;
using Microsoft.ML;
using MLExtensions.Mlp;
using MLExtensions.Onnx.Scoring;
using MLExtensions.Training;
using static TorchSharp.torch;

namespace MLExtensions.Nas;

public sealed partial class NasTrainer
{
    /// <summary>
    /// The seed of the ensemble's selection split, derived from the run's seed: not the ranking split's, the α split's
    /// or retraining's, so its rows are drawn independently of theirs.
    /// </summary>
    internal static int EnsembleSelectionSplitSeed(int seed) => unchecked(seed * 0x2545F491 + 0x68E3_1DA4);

    /// <summary>The rows on which the ensemble is weighted and that no member trains or early-stops on.</summary>
    internal static ValidationSplit EnsembleSelectionSplit(Options options, int seed) =>
        ValidationSplit.Create(options.EnsembleSelectionFraction, EnsembleSelectionSplitSeed(seed))!;

    /// <summary>The seed member <paramref name="member"/> is retrained with: the run's seed for the search's pick, derived ones after it.</summary>
    internal static int MemberSeed(int seed, int member) => member == 0 ? seed : unchecked(seed + member * 0x3C6E_F372);

    /// <summary>
    /// Retrains the best distinct candidates (while the budget lasts), weighs them by greedy selection on the selection
    /// rows and returns the model of their weighted ensemble.
    /// </summary>
    private NasModel FitEnsemble(IDataView input, TabularData data, SearchOutcome outcome, NasSearchResult searched, int seed, TimeSpan? remaining)
    {
        var clock = Stopwatch.StartNew();
        var candidates = outcome.Top.DistinctBy(t => t.Architecture).Take(_options.EnsembleSize).ToList();
        var selection = EnsembleSelectionSplit(_options, seed);
        var frame = RetrainingTrainer(candidates[0].Architecture, seed);
        using var run = frame.StartRun(nameof(NasTrainer), candidates.Max(c => c.Architecture.WidestLayer));
        var rows = SelectionRows(data, selection, run.CancellationToken);
        var members = new List<MlpTrainer.TrainedNetwork>();
        NasRegularization? regularization = null;
        IReadOnlyList<NasRegularization>? trials = null;
        try
        {
            var predictions = new List<double[]>();
            for (int i = 0; i < candidates.Count; i++)
            {
                TimeSpan? left = remaining is TimeSpan r ? Max(r - clock.Elapsed, TimeSpan.Zero) : null;
                if (i > 0 && left == TimeSpan.Zero) break;
                if (i == 0 && _options.RegularizationChoices.Count > 1)
                {
                    // The pick chooses the regularisation by validation; the other members are retrained with it.
                    var (pick, pickRegularization, tried) = RetrainWithEachRegularization(input, candidates[0].Architecture, MemberSeed(seed, 0), selection.IsValidation, left, Stopwatch.StartNew());
                    (regularization, trials) = (pickRegularization, tried);
                    members.Add(pick);
                }
                else members.Add(RetrainingTrainer(candidates[i].Architecture, MemberSeed(seed, i), seed, selection.IsValidation, regularization).TrainNetwork(input, left));
                predictions.Add(Predict(members[i].Network, rows, data.FeatureCount));
                run.Info($"ensemble member {i + 1}/{candidates.Count}: {candidates[i].Architecture} retrained ({members[i].History.Count} epochs)");
            }
            int skipped = candidates.Count - members.Count;
            if (skipped > 0)
                run.Warning($"the time budget left no time to retrain {skipped} of {candidates.Count} ensemble members; the ensemble chooses among the first {members.Count}");

            var chosen = EnsembleSelection.Select(_kind, predictions, rows.Labels, rows.Weights);
            var weights = chosen.Weights;
            run.Info($"ensemble over {rows.Labels.Length} selection rows: loss {chosen.Loss:G5} (best member {chosen.MemberLosses.Min():G5}); weights " +
                string.Join(", ", weights.Select((w, i) => $"{candidates[i].Architecture} {w:G3}")));
            var result = searched with
            {
                EnsembleMembers = members.Select((_, i) => candidates[i] with { EnsembleWeight = weights[i], SelectionLoss = chosen.MemberLosses[i] }).ToList(),
                EnsembleSelectionLoss = chosen.Loss,
                EnsembleMembersSkipped = skipped,
                RegularizationTrials = trials,
                Regularization = regularization,
            };
            var retraining = clock.Elapsed;
            // Wall-clock times stay out of the model, so that the same seed and data give the same ONNX bytes.
            var trained = frame.FinishEnsemble(input, members, weights,
                () => new Dictionary<string, string> { [NasSearchResult.MetadataKey] = result.ToJson() });
            return new NasModel(trained, result with { Times = new NasPhaseTimes(outcome.SearchTime, outcome.RankingTime, retraining) });
        }
        finally
        {
            foreach (var member in members) member.Dispose();
        }
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    /// <summary>The selection rows in memory: features [rows × features], labels and example weights.</summary>
    private sealed record HeldOutRows(float[] Features, float[] Labels, float[]? Weights);

    private HeldOutRows SelectionRows(TabularData data, ValidationSplit selection, CancellationToken cancellationToken)
    {
        var features = new List<float>();
        var labels = new List<float>();
        var weights = data.HasWeights ? new List<float>() : null;
        foreach (var batch in data.ReadBatches(4096, null, 0, selection.IsValidation, cancellationToken))
        {
            features.AddRange(batch.Features.AsSpan(0, batch.Count * data.FeatureCount).ToArray());
            labels.AddRange(batch.Labels.AsSpan(0, batch.Count).ToArray());
            weights?.AddRange(batch.Weights!.AsSpan(0, batch.Count).ToArray());
        }
        if (labels.Count == 0 || (weights is not null && !(weights.Sum(w => (double)w) > 0)))
            throw new InvalidOperationException(
                $"No rows (or no example weight) fell in the ensemble's selection split of EnsembleSelectionFraction = {_options.EnsembleSelectionFraction}: " +
                "raise it, give more rows, or set EnsembleSize to 1.");
        return new HeldOutRows(features.ToArray(), labels.ToArray(), weights?.ToArray());
    }

    /// <summary>
    /// A member's predictions of the selection rows in the space the ensemble averages: regression values, positive-class
    /// probabilities, or class probabilities (row-major).
    /// </summary>
    private double[] Predict(MlpNetwork network, HeldOutRows rows, int featureCount)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        network.eval();
        var output = network.forward(tensor(rows.Features, [rows.Labels.Length, featureCount])).to_type(ScalarType.Float64);
        output = _kind switch
        {
            PredictionKind.Regression => output,
            PredictionKind.BinaryClassification => output.sigmoid(),
            _ => output.softmax(1),
        };
        return output.contiguous().data<double>().ToArray();
    }
}
