using Microsoft.ML;
using MLExtensions.Mlp;
using MLExtensions.Nas;
using MLExtensions.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace MLExtensions.Tests.Training;

/// <summary>
/// A learning rate far too large blows the weights up while the loss stays finite; training that ends far above an
/// uninformed prediction's loss, or no better than it after such an explosion, is refused rather than returned.
/// </summary>
public class DivergenceTests
{
    private static readonly MLContext Ml = new(1);

    /// <summary>Runs the loop over epochs whose mean losses are <paramref name="losses"/>, with an uninformed loss of 1.</summary>
    private static EpochLoopResult Run(double[] losses, double[]? validation = null)
    {
        using var run = TrainingRun.Start(Ml, "test", new MlpTrainer.Options { Seed = 1 }, widestLayer: 1);
        using var layer = nn.Linear(1, 1);
        var plan = new EpochPlan(losses.Length)
        {
            EarlyStoppingPatience = validation is null ? null : 100,
            Divergence = (epoch, loss) => $"diverged in epoch {epoch} (loss {loss}); lower LearningRate.",
            UninformedLoss = 1,
        };
        return EpochLoop.Run(run, layer, plan, new EpochSteps<int>
        {
            Batches = epoch => [epoch],
            Step = epoch => new StepLoss(tensor((float)losses[epoch - 1])),
            Validate = validation is null ? null : epoch => validation[epoch - 1],
        });
    }

    [Fact]
    public void Training_that_ends_far_above_an_uninformed_prediction_is_refused()
    {
        var error = Assert.Throws<InvalidOperationException>(() => Run([3, 20, 15]));
        Assert.Contains("diverged in epoch 3", error.Message);
        Assert.Contains("more than 10 times that of an uninformed prediction", error.Message);
    }

    [Fact]
    public void An_explosion_that_training_never_recovers_from_is_refused()
    {
        var error = Assert.Throws<InvalidOperationException>(() => Run([0.9, 500, 1.1]));
        Assert.Contains("diverged in epoch 2", error.Message);
        Assert.Contains("no better than such a prediction", error.Message);
    }

    [Fact]
    public void An_explosion_that_training_recovers_from_and_sound_training_are_kept()
    {
        Assert.Equal(3, Run([0.9, 500, 0.3]).Epochs);
        Assert.Equal(3, Run([7, 2, 1.5]).Epochs);
        // With early stopping the model is the best validated epoch's, whatever came after it.
        Assert.Equal(3, Run([0.5, 1e6, 1e6], validation: [0.4, 1e6, 1e6]).Epochs);
    }

    [Fact]
    public void A_validation_split_whose_labels_lie_far_out_does_not_condemn_a_sound_training()
    {
        // The uninformed loss is measured on the training rows; held-out rows with an outlying label score far above it.
        Assert.Equal(3, Run([0.5, 0.1, 0.05], validation: [30, 15, 12]).Epochs);
    }

    [Theory]
    [InlineData("regression", 10.0)]
    [InlineData("regression", 1e6)]
    [InlineData("binary", 10.0)]
    [InlineData("binary", 1e6)]
    public void MLP_with_a_runaway_learning_rate_names_it(string task, double learningRate)
    {
        var data = Ml.Data.LoadFromEnumerable(Synthetic.Rows(200, 1));
        var options = new MlpTrainer.Options { LearningRate = learningRate, NumberOfEpochs = 3, Seed = 2 };
        options.LabelColumnName = task == "regression" ? nameof(Synthetic.Row.Target) : nameof(Synthetic.Row.Positive);
        var trainer = task == "regression" ? Ml.Nas().Trainers.MlpRegression(options) : Ml.Nas().Trainers.MlpBinaryClassification(options);
        var error = Assert.Throws<InvalidOperationException>(() => trainer.Fit(data));
        Assert.Contains($"LearningRate ({learningRate})", error.Message);
    }

    [Theory]
    [InlineData(10.0)]
    [InlineData(1e6)]
    public void NAS_with_a_runaway_learning_rate_names_it(double learningRate)
    {
        var data = Ml.Data.LoadFromEnumerable(Synthetic.Rows(200, 1));
        var trainer = Ml.Nas().Trainers.Regression(new NasTrainer.Options
        {
            LabelColumnName = nameof(Synthetic.Row.Target), Depths = [1], Widths = [8, 16], Activations = [MlpActivation.Relu], SearchResidual = false,
            SearchEpochs = 2, RetrainEpochs = 3, LearningRate = learningRate, Seed = 2,
        });
        var error = Assert.Throws<InvalidOperationException>(() => trainer.Fit(data));
        Assert.Contains($"LearningRate ({learningRate})", error.Message);
    }
}
