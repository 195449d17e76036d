using Microsoft.ML;
using MLExtensions.Mlp;
using MLExtensions.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace MLExtensions.Tests.Training;

public class EpochLoopTests
{
    private static TrainingRun Start(CancellationToken token = default) =>
        TrainingRun.Start(new MLContext(1), "test", new MlpTrainer.Options { Seed = 1, CancellationToken = token }, widestLayer: 1);

    /// <summary>
    /// Steps that add 1 to the single weight of a 1×1 linear layer, three per epoch, each reporting the epoch's
    /// <paramref name="loss"/>.
    /// </summary>
    private static EpochSteps<int> Counting(nn.Module<Tensor, Tensor> layer, Func<int, double> loss, Func<int, double?>? validate = null) => new()
    {
        Batches = epoch => Enumerable.Repeat(epoch, 3),
        Step = epoch =>
        {
            using (no_grad()) layer.parameters().First().add_(1.0.ToScalar());
            return new StepLoss(tensor((float)loss(epoch)));
        },
        Validate = validate,
    };

    private static float Weight(nn.Module<Tensor, Tensor> layer) => layer.parameters().First().item<float>();

    [Fact]
    public void Early_stopping_ends_after_the_patience_and_puts_the_best_epochs_weights_back()
    {
        using var run = Start();
        using var layer = nn.Linear(1, 1, hasBias: false);
        using (no_grad()) layer.parameters().First().fill_(0.0.ToScalar());
        double[] validation = [5, 3, 1, 2, 4, 6, 7, 8];
        var result = EpochLoop.Run(run, layer, new EpochPlan(8) { EarlyStoppingPatience = 2 },
            Counting(layer, _ => 1, epoch => validation[epoch - 1]));

        Assert.Equal(5, result.Epochs);
        Assert.False(result.StoppedByDeadline);
        Assert.Equal(9f, Weight(layer));
        Assert.Equal([5.0, 3, 1, 2, 4], result.History.Select(h => h.ValidationLoss!.Value));
    }

    [Fact]
    public void An_epoch_without_a_batch_is_refused_by_name()
    {
        using var run = Start();
        using var layer = nn.Linear(1, 1, hasBias: false);
        var steps = new EpochSteps<int> { Batches = _ => [], Step = _ => new StepLoss(tensor(1f)) };
        var error = Assert.Throws<InvalidOperationException>(() => EpochLoop.Run(run, layer, new EpochPlan(3), steps));
        Assert.Contains("epoch 1 has no training rows", error.Message);
    }

    [Fact]
    public void The_weighted_loss_mean_weighs_each_batch_and_is_NaN_over_no_rows()
    {
        var mean = new WeightedLossMean();
        Assert.True(double.IsNaN(mean.Mean));
        using (var loss = tensor(2f)) mean.Add(loss, 1);
        using (var loss = tensor(5f)) mean.Add(loss, 3);
        Assert.Equal((2.0 + 15) / 4, mean.Mean);
        mean = new WeightedLossMean();
        using (var loss = tensor(7f)) mean.Add(loss, 0);
        Assert.True(double.IsNaN(mean.Mean));
    }

    [Fact]
    public void Without_validation_every_epoch_runs_and_the_last_weights_stay()
    {
        using var run = Start();
        using var layer = nn.Linear(1, 1, hasBias: false);
        using (no_grad()) layer.parameters().First().fill_(0.0.ToScalar());
        var result = EpochLoop.Run(run, layer, new EpochPlan(4) { EarlyStoppingPatience = 1 }, Counting(layer, _ => 2));
        Assert.Equal(4, result.Epochs);
        Assert.Equal(12f, Weight(layer));
        Assert.All(result.History, h => Assert.Equal(2.0, h.TrainingLoss));
    }

    [Fact]
    public void The_epoch_loss_is_the_weighted_mean_of_the_steps()
    {
        using var run = Start();
        using var layer = nn.Linear(1, 1);
        var steps = new EpochSteps<(float Loss, double Weight)>
        {
            Batches = _ => [(1f, 1.0), (4f, 3.0)],
            Step = b => new StepLoss(tensor(b.Loss), b.Weight),
        };
        var result = EpochLoop.Run(run, layer, new EpochPlan(1), steps);
        Assert.Equal((1 + 4 * 3) / 4.0, result.History[0].TrainingLoss, 12);
    }

    [Fact]
    public void A_deadline_within_the_epoch_ends_it_after_the_step_that_crosses_it()
    {
        using var run = Start();
        using var layer = nn.Linear(1, 1, hasBias: false);
        using (no_grad()) layer.parameters().First().fill_(0.0.ToScalar());
        int ended = 0;
        var steps = Counting(layer, _ => 1);
        var result = EpochLoop.Run(run, layer, new EpochPlan(10) { Deadline = TimeSpan.Zero, DeadlineWithinEpoch = true },
            new EpochSteps<int> { Batches = steps.Batches, Step = steps.Step, EndEpoch = _ => ended++ });
        Assert.True(result.StoppedByDeadline);
        Assert.Equal(1, result.Epochs);
        Assert.Equal(1, ended);
        Assert.Equal(1f, Weight(layer));
    }

    [Fact]
    public void A_deadline_checked_per_epoch_finishes_the_epoch_and_the_last_epoch_is_not_reported_as_cut()
    {
        using var run = Start();
        using var layer = nn.Linear(1, 1, hasBias: false);
        using (no_grad()) layer.parameters().First().fill_(0.0.ToScalar());
        var cut = EpochLoop.Run(run, layer, new EpochPlan(10) { Deadline = TimeSpan.Zero }, Counting(layer, _ => 1));
        Assert.True(cut.StoppedByDeadline);
        Assert.Equal(3f, Weight(layer));

        var single = EpochLoop.Run(run, layer, new EpochPlan(1) { Deadline = TimeSpan.Zero }, Counting(layer, _ => 1));
        Assert.False(single.StoppedByDeadline);
    }

    [Fact]
    public void A_non_finite_epoch_loss_throws_the_plans_message_naming_the_epoch()
    {
        using var run = Start();
        using var layer = nn.Linear(1, 1);
        var plan = new EpochPlan(3) { Divergence = (epoch, loss) => $"diverged in epoch {epoch} (loss {loss})" };
        var error = Assert.Throws<InvalidOperationException>(() => EpochLoop.Run(run, layer, plan, Counting(layer, _ => double.NaN)));
        Assert.Equal("diverged in epoch 1 (loss NaN)", error.Message);
        // Without a message (searches) training goes on.
        Assert.Equal(3, EpochLoop.Run(run, layer, new EpochPlan(3), Counting(layer, _ => double.NaN)).Epochs);
    }

    [Fact]
    public void Averaged_weights_are_validated_and_kept()
    {
        using var run = Start();
        using var layer = nn.Linear(1, 1, hasBias: false);
        using (no_grad()) layer.parameters().First().fill_(0.0.ToScalar());
        var seen = new List<float>();
        EpochLoop.Run(run, layer, new EpochPlan(2) { AverageDecay = 0.5 }, Counting(layer, _ => 1, _ =>
        {
            seen.Add(Weight(layer));
            return 0;
        }));
        // The average lags the raw weight (6 after two epochs) and is what the layer ends with.
        Assert.All(seen, w => Assert.True(w > 0));
        Assert.True(seen[1] < 6f, $"validated weight {seen[1]}");
        Assert.Equal(seen[1], Weight(layer));
    }

    [Fact]
    public void Cancellation_stops_before_the_next_step()
    {
        using var source = new CancellationTokenSource();
        using var run = Start(source.Token);
        using var layer = nn.Linear(1, 1);
        int steps = 0;
        var plan = new EpochPlan(5) { Report = false };
        Assert.ThrowsAny<OperationCanceledException>(() => EpochLoop.Run(run, layer, plan, new EpochSteps<int>
        {
            Batches = _ => Enumerable.Range(0, 4),
            Step = _ =>
            {
                if (++steps == 2) source.Cancel();
                return new StepLoss(tensor(1f));
            },
        }));
        Assert.Equal(2, steps);
    }

    [Fact]
    public void A_diverged_epoch_with_a_best_epoch_to_fall_back_on_stops_after_the_patience_and_restores_it()
    {
        using var run = Start();
        using var layer = nn.Linear(1, 1, hasBias: false);
        using (no_grad()) layer.parameters().First().fill_(0.0.ToScalar());
        var plan = new EpochPlan(10) { EarlyStoppingPatience = 2, Divergence = (epoch, _) => $"diverged in epoch {epoch}" };
        var result = EpochLoop.Run(run, layer, plan, Counting(layer, epoch => epoch <= 2 ? 1 : double.NaN, epoch => epoch <= 2 ? 3 - epoch : double.NaN));
        Assert.Equal(4, result.Epochs);
        Assert.Equal(6f, Weight(layer));
    }

    [Fact]
    public void A_deadline_within_epochs_is_not_checked_between_them()
    {
        using var run = Start();
        using var layer = nn.Linear(1, 1, hasBias: false);
        using (no_grad()) layer.parameters().First().fill_(0.0.ToScalar());
        var deadline = run.Elapsed + TimeSpan.FromSeconds(2);
        var steps = Counting(layer, _ => 1);
        // The deadline passes during the first epoch's bookkeeping: the second epoch still starts, and its first step ends it.
        var result = EpochLoop.Run(run, layer, new EpochPlan(5) { Deadline = deadline, DeadlineWithinEpoch = true }, new EpochSteps<int>
        {
            Batches = steps.Batches,
            Step = steps.Step,
            EndEpoch = epoch =>
            {
                while (epoch == 1 && !run.IsPast(deadline)) Thread.Sleep(10);
            },
        });
        Assert.True(result.StoppedByDeadline);
        Assert.Equal(2, result.Epochs);
        Assert.Equal(4f, Weight(layer));
    }
}
