using Microsoft.ML;
using MLExtensions.Mlp;
using MLExtensions.Nas;
using Xunit;

namespace MLExtensions.Tests.Mlp;

public class MlpDropoutTests
{
    private static byte[] Train(double dropout, int seed = 5, int validationSeed = 0)
    {
        var ml = new MLContext(validationSeed);
        var options = new MlpTrainer.Options
        {
            LabelColumnName = "Target", HiddenLayerSizes = [32, 32], NumberOfEpochs = 4, BatchSize = 32, LearningRate = 3e-3, Seed = seed, Dropout = dropout,
        };
        using var model = ml.Nas().Trainers.MlpRegression(options).Fit(ml.Data.LoadFromEnumerable(Synthetic.Rows(300, 8)));
        Assert.True(model.ExportParity.RelativeError <= 1e-5, $"dropout {dropout}: {model.ExportParity}");
        return model.GetOnnxModel();
    }

    [Fact]
    public void Dropout_changes_training_only_and_the_same_seed_gives_the_same_model()
    {
        // The export (after training, in evaluation mode) matches the network: no unit is dropped at scoring.
        var dropped = Train(0.3);
        Assert.Equal(dropped, Train(0.3));
        Assert.NotEqual(Train(0), dropped);
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.0)]
    [InlineData(double.NaN)]
    public void A_dropout_outside_zero_to_one_is_refused_by_name(double dropout)
    {
        var ml = new MLContext(1);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Nas().Trainers.MlpRegression(new MlpTrainer.Options { LabelColumnName = "Target", Dropout = dropout }));
        Assert.Equal(nameof(MlpTrainer.Options.Dropout), e.ParamName);
    }
}
