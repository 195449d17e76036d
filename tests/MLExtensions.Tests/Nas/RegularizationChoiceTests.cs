using Microsoft.ML;
using MLExtensions.Mlp;
using MLExtensions.Nas;
using Xunit;

namespace MLExtensions.Tests.Nas;

public class RegularizationChoiceTests
{
    private static NasTrainer.Options Options() => new()
    {
        LabelColumnName = nameof(Synthetic.Row.Target),
        Strategy = NasStrategy.Spos,
        Depths = [1, 2],
        Widths = [16, 32],
        Activations = [MlpActivation.Relu],
        SearchEpochs = 3,
        BatchSize = 32,
        RetrainEpochs = 6,
        Seed = 3,
        Dropouts = [0, 0.3],
        WeightDecays = [0, 1e-2],
    };

    [Fact]
    public void Each_combination_is_retrained_and_the_lowest_validation_loss_is_kept_and_saved()
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(Synthetic.Rows(400, 12));
        using var model = ml.Nas().Trainers.Regression(Options()).Fit(data);

        var trials = model.Search.RegularizationTrials!;
        Assert.Equal([(0.0, 0.0), (0.0, 1e-2), (0.3, 0.0), (0.3, 1e-2)], trials.Select(t => (t.Dropout, t.WeightDecay)));
        Assert.All(trials, t => Assert.True(double.IsFinite(t.ValidationLoss!.Value)));
        Assert.Equal(trials.MinBy(t => t.ValidationLoss), model.Search.Regularization);
        // The kept network is the chosen trial's: its own history's best validation loss is that trial's.
        Assert.Equal(model.Search.Regularization!.ValidationLoss!.Value, model.TrainingHistory.Min(h => h.ValidationLoss!.Value), 12);
        var path = Path.Combine(Path.GetTempPath(), $"nas-regularization-{Guid.NewGuid():N}.zip");
        try
        {
            ml.Model.Save(model, data.Schema, path);
            var saved = NasSearchResult.FromSavedModel(path)!;
            Assert.Equal(model.Search.Regularization, saved.Regularization);
            Assert.Equal(trials, saved.RegularizationTrials!);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void One_combination_records_nothing_and_trains_as_before()
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(Synthetic.Rows(300, 13));
        var options = Options();
        (options.Dropouts, options.WeightDecays) = ([0], [0]);
        using var model = ml.Nas().Trainers.Regression(options).Fit(data);
        Assert.Null(model.Search.RegularizationTrials);
        Assert.Null(model.Search.Regularization);
    }

    [Fact]
    public void Bad_choices_are_refused_by_name()
    {
        var ml = new MLContext(1);
        NasTrainer.Options With(Action<NasTrainer.Options> change) { var o = Options(); change(o); return o; }
        Assert.Equal(nameof(NasTrainer.Options.Dropouts), Assert.ThrowsAny<ArgumentException>(() => ml.Nas().Trainers.Regression(With(o => o.Dropouts = [0, 1]))).ParamName);
        Assert.Equal(nameof(NasTrainer.Options.Dropouts), Assert.ThrowsAny<ArgumentException>(() => ml.Nas().Trainers.Regression(With(o => o.Dropouts = []))).ParamName);
        Assert.Equal(nameof(NasTrainer.Options.WeightDecays), Assert.ThrowsAny<ArgumentException>(() => ml.Nas().Trainers.Regression(With(o => o.WeightDecays = [double.PositiveInfinity]))).ParamName);
        // Several combinations are chosen by validation loss: without validation rows there is nothing to choose by.
        Assert.Equal(nameof(NasTrainer.Options.RetrainValidationFraction),
            Assert.ThrowsAny<ArgumentException>(() => ml.Nas().Trainers.Regression(With(o => o.RetrainValidationFraction = 0))).ParamName);
    }

    [Fact]
    public void Choices_spoiled_after_construction_are_refused_at_fit()
    {
        var ml = new MLContext(1);
        var options = Options();
        var trainer = ml.Nas().Trainers.Regression(options);
        options.Dropouts = [0, double.NaN];
        var e = Assert.ThrowsAny<ArgumentException>(() => trainer.Fit(ml.Data.LoadFromEnumerable(Synthetic.Rows(100, 15))));
        Assert.Equal(nameof(NasTrainer.Options.Dropouts), e.ParamName);
    }

    [Fact]
    public void An_ensemble_retrains_every_member_with_the_picks_regularization()
    {
        var ml = new MLContext(1);
        var options = Options();
        (options.EnsembleSize, options.TopK) = (2, 3);
        using var model = ml.Nas().Trainers.Regression(options).Fit(ml.Data.LoadFromEnumerable(Synthetic.Rows(400, 14)));
        Assert.Equal(4, model.Search.RegularizationTrials!.Count);
        Assert.NotNull(model.Search.Regularization);
        Assert.Equal(2, model.Search.EnsembleMembers!.Count);
    }
}
