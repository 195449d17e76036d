using MLExtensions.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace MLExtensions.Training;

/// <summary>
/// How <see cref="EpochLoop"/> runs a training: how many epochs, when to stop before them, what it reports and keeps.
/// </summary>
/// <param name="Epochs">The most passes over the data.</param>
internal sealed record EpochPlan(int Epochs)
{
    /// <summary>
    /// Epochs without a better validation loss before training stops, the best epoch's weights put back at the end;
    /// null never stops early (training ends with the last weights, or the averaged ones with <see cref="AverageDecay"/>).
    /// </summary>
    public int? EarlyStoppingPatience { get; init; }

    /// <summary>Time since the run started (<see cref="TrainingRun.Elapsed"/>) after which training stops; null for none.</summary>
    public TimeSpan? Deadline { get; init; }

    /// <summary>
    /// Check <see cref="Deadline"/> after every step only, ending the epoch where it is crossed (searches that rank what
    /// they have), instead of after every epoch only.
    /// </summary>
    public bool DeadlineWithinEpoch { get; init; }

    /// <summary>
    /// Keep an exponential moving average of the weights with this decay (<see cref="WeightAverage"/>); validation
    /// sees the averaged weights and training ends with them. Null for none.
    /// </summary>
    public double? AverageDecay { get; init; }

    /// <summary>
    /// The message of the exception thrown when an epoch's mean training loss is not finite (given the epoch and the
    /// loss) and no earlier epoch's weights are kept to fall back on, or when training ends exploded (see
    /// <see cref="UninformedLoss"/>); null lets training go on (searches rank a diverged path last). With early stopping
    /// and a best epoch, a diverged epoch just does not improve: training stops after the patience and the best weights
    /// come back.
    /// </summary>
    public Func<int, double, string>? Divergence { get; init; }

    /// <summary>
    /// The training loss of an uninformed prediction, which is about what an untrained network scores (see
    /// <see cref="TabularSummary.UninformedLoss"/>), or null. With <see cref="Divergence"/>, training that ends far above
    /// it, or no better than it after an epoch far above it, counts as diverged (see <see cref="EpochLoop.ExplosionFactor"/>):
    /// learning rates far too large blow the weights up while the loss stays finite.
    /// </summary>
    public double? UninformedLoss { get; init; }

    /// <summary>Report every epoch to the log and to the options' progress. False for inner loops (candidate fine-tuning).</summary>
    public bool Report { get; init; } = true;
}

/// <summary>The loss of one optimiser step and its weight in the epoch's mean (the batch's example weight, or 1).</summary>
internal readonly record struct StepLoss(Tensor Loss, double Weight = 1);

/// <summary>What a trainer does in each part of the loop; the loop decides when.</summary>
/// <typeparam name="TBatch">What one step consumes.</typeparam>
internal sealed class EpochSteps<TBatch>
{
    /// <summary>The batches of an epoch (1-based), drawn when the epoch starts.</summary>
    public required Func<int, IEnumerable<TBatch>> Batches { get; init; }

    /// <summary>
    /// One optimiser step (or several, as gradient search's architecture and weight steps): runs in its own dispose
    /// scope, so every tensor it makes dies with the step.
    /// </summary>
    public required Func<TBatch, StepLoss> Step { get; init; }

    /// <summary>The validation loss after an epoch, or null without a validation split.</summary>
    public Func<int, double?>? Validate { get; init; }

    /// <summary>Bookkeeping at the end of an epoch, before it is reported (importance updates, architecture snapshots).</summary>
    public Action<int>? EndEpoch { get; init; }
}

/// <summary>What a training loop did.</summary>
/// <param name="History">One report per epoch run.</param>
/// <param name="StoppedByDeadline">The plan's deadline ended training.</param>
internal sealed record EpochLoopResult(IReadOnlyList<TrainingProgress> History, bool StoppedByDeadline)
{
    /// <summary>The epochs run (the last one possibly cut short by the deadline).</summary>
    public int Epochs => History.Count;
}

/// <summary>
/// The one training loop of MLExtensions (the MLP, PONITA, the architecture searches and their fine-tuning): epochs of
/// steps, each in its own dispose scope and preceded by a cancellation check; the epoch's mean loss, validation,
/// progress report; then the stopping rules (time budget, early stopping with the best weights kept) and weight
/// averaging.
/// </summary>
internal static class EpochLoop
{
    /// <summary>
    /// How many times the uninformed loss (<see cref="EpochPlan.UninformedLoss"/>) counts as exploded. An untrained network
    /// predicts about the mean (squared error about 1 on the standardised label) or uniform probabilities (log-loss ln K),
    /// and sound training only lowers that. Measured on the tests' synthetic data (300 rows, MLP 64-64, 20 epochs, batches
    /// of 8 and 128, all three tasks): up to LearningRate 0.1 (100 times the default) no epoch passed 7.1 times it; at 0.3
    /// first epochs reached 5 to 520 times it and training still ended at 0.16 to 0.34 times it, or near 1; at 1 to 10⁶
    /// epochs reached 10² to 10²⁰ times it and training ended at up to 4·10⁷ times it or collapsed to about a constant
    /// prediction (about 1 times it). Hence the rule of <see cref="EpochLoop.Run"/>: a single exploded epoch condemns
    /// nothing, but a model that ends more than ten times above the uninformed loss, or ends no better than it after an
    /// explosion, is garbage.
    /// </summary>
    public const double ExplosionFactor = 10;

    public static EpochLoopResult Run<TBatch>(TrainingRun run, nn.Module model, EpochPlan plan, EpochSteps<TBatch> steps)
    {
        using var average = plan.AverageDecay is double decay ? new WeightAverage(model.parameters(), decay) : null;
        using var best = plan.EarlyStoppingPatience is null ? null : new BestWeights(model);
        var history = new List<TrainingProgress>();
        bool pastDeadline = false;
        int sinceBest = 0;
        for (int epoch = 1; epoch <= plan.Epochs; epoch++)
        {
            model.train();
            var (loss, cutShort) = RunEpoch(run, plan, steps, epoch, average);
            if (!double.IsFinite(loss) && plan.Divergence is { } divergence && !(best is { } kept && double.IsFinite(kept.Loss)))
                throw new InvalidOperationException(divergence(epoch, loss));

            double? validation;
            bool improved = false;
            using (average?.Swap())
            {
                validation = steps.Validate?.Invoke(epoch);
                if (best is not null && validation is double v) improved = best.Offer(v);
            }
            steps.EndEpoch?.Invoke(epoch);
            var progress = new TrainingProgress(run.Trainer, epoch, plan.Epochs, loss, validation, run.Elapsed);
            history.Add(progress);
            if (plan.Report) run.ReportEpoch(progress);

            if (cutShort || (!plan.DeadlineWithinEpoch && epoch < plan.Epochs && run.IsPast(plan.Deadline)))
            {
                pastDeadline = true;
                if (plan.Report) run.Info($"time budget reached in epoch {epoch} ({run.Elapsed.TotalSeconds:F1} s)");
                break;
            }
            if (validation is null || best is null) continue;
            sinceBest = improved ? 0 : sinceBest + 1;
            if (sinceBest >= plan.EarlyStoppingPatience)
            {
                if (plan.Report) run.Info($"early stop after epoch {epoch}; best validation loss {best.Loss:G5}");
                break;
            }
        }
        bool restored = best is not null && double.IsFinite(best.Loss);
        CheckExplosion(plan, history, restored ? BestEpochTrainingLoss(history, best!.Loss) : null);
        if (restored) best!.Restore();
        else average?.CopyToModel();
        return new EpochLoopResult(history, pastDeadline);
    }

    /// <summary>
    /// Refuses the model training ends with (see <see cref="ExplosionFactor"/>) when its training loss (that of the
    /// restored epoch, else of the last) is more than <see cref="ExplosionFactor"/> times the
    /// uninformed loss, or when some epoch exploded beyond that and the model ends no better than an uninformed prediction.
    /// </summary>
    private static void CheckExplosion(EpochPlan plan, List<TrainingProgress> history, double? restoredLoss)
    {
        if (plan.Divergence is not { } divergence || plan.UninformedLoss is not double uninformed || history.Count == 0) return;
        double limit = ExplosionFactor * uninformed, final = restoredLoss ?? history[^1].TrainingLoss;
        var worst = history.MaxBy(h => h.TrainingLoss)!;
        string uninformedText = $"an uninformed prediction (the label's mean, or uniform class probabilities: loss {uninformed:G4})";
        if (final > limit)
            throw new InvalidOperationException(divergence(history[^1].Epoch, history[^1].TrainingLoss) +
                $" Training ended with a loss of {final:G4}, more than {ExplosionFactor} times that of {uninformedText}.");
        if (worst.TrainingLoss > limit && !(final < uninformed))
            throw new InvalidOperationException(divergence(worst.Epoch, worst.TrainingLoss) +
                $" The loss rose to more than {ExplosionFactor} times that of {uninformedText}, and training ended at {final:G4}, no better than such a prediction.");
    }

    /// <summary>
    /// The training loss of the epoch whose weights come back. Training loss, not validation loss: the uninformed loss is
    /// measured on the training rows, and a validation split with a few outlying labels can score far above it while
    /// the model is sound (measured: a label of 1e4 among values near 10 gave validation losses of 10–12 times it).
    /// </summary>
    private static double BestEpochTrainingLoss(List<TrainingProgress> history, double bestValidation) =>
        history.FirstOrDefault(h => h.ValidationLoss == bestValidation)?.TrainingLoss ?? history[^1].TrainingLoss;

    /// <summary>The steps of one epoch: their weighted mean loss, and whether the deadline cut the epoch short.</summary>
    /// <exception cref="InvalidOperationException">The epoch had no batch: every row was held out of training.</exception>
    private static (double Loss, bool CutShort) RunEpoch<TBatch>(TrainingRun run, EpochPlan plan, EpochSteps<TBatch> steps, int epoch, WeightAverage? average)
    {
        var mean = new WeightedLossMean();
        int taken = 0;
        foreach (var batch in steps.Batches(epoch))
        {
            run.CancellationToken.ThrowIfCancellationRequested();
            using (NewDisposeScope())
            {
                var (loss, weight) = steps.Step(batch);
                mean.Add(loss, weight);
            }
            taken++;
            average?.Update();
            if (plan.DeadlineWithinEpoch && run.IsPast(plan.Deadline)) return (mean.Mean, true);
        }
        if (taken == 0)
            throw new InvalidOperationException($"{run.Trainer}: epoch {epoch} has no training rows: every row is held out (validation or selection rows). " +
                                                "Use more rows, or hold out a smaller fraction.");
        return (mean.Mean, false);
    }
}

/// <summary>
/// A weighted mean of losses, each read back from its tensor and weighted by its batch's weight (its example weight, or
/// its rows): an epoch's training loss and a validation pass's loss. Over no rows (no weight) the mean is NaN, since
/// nothing was measured; <see cref="EpochLoop"/> refuses an epoch without a step, and a NaN validation loss never counts
/// as an improvement.
/// </summary>
internal struct WeightedLossMean
{
    private double _sum, _weight;

    /// <summary>Adds a batch's mean loss with its weight.</summary>
    public void Add(Tensor loss, double weight)
    {
        _sum += loss.item<float>() * weight;
        _weight += weight;
    }

    /// <summary>The weighted mean of the losses added; NaN when none (or only zero weight) was added.</summary>
    public readonly double Mean => _weight > 0 ? _sum / _weight : double.NaN;
}
