using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Mlp;
using MLExtensions.Nas;
using Xunit;

namespace MLExtensions.Tests.Nas;

/// <summary>A NAS model saved before depth 0 and per-layer activations loads, reads its search result and scores as a fresh fit.</summary>
public class SavedNasModelCompatibilityTests
{
    [Fact]
    public void A_model_saved_before_the_new_choices_loads_and_scores_as_the_same_fit_does_now()
    {
        // The options and data the fixture was saved from (see TestData/README.md).
        var ml = new MLContext(1);
        var train = ml.Data.LoadFromEnumerable(Synthetic.Rows(300, 11));
        var test = ml.Data.LoadFromEnumerable(Synthetic.Rows(50, 12));
        var options = new NasTrainer.Options
        {
            LabelColumnName = nameof(Synthetic.Row.Target), Strategy = NasStrategy.Spos,
            Depths = [1, 2], Widths = [8, 16], Activations = [MlpActivation.Relu, MlpActivation.Tanh],
            SearchEpochs = 3, BatchSize = 32, RetrainEpochs = 5, Seed = 1,
        };
        using var fresh = ml.Nas().Trainers.Regression(options).Fit(train);
        var path = Path.Combine(AppContext.BaseDirectory, "TestData", "saved-nas.zip");
        var stored = NasSearchResult.FromSavedModel(path);
        Assert.NotNull(stored);
        Assert.Null(stored!.Architecture.LayerActivations);
        Assert.Equal(new MlpArchitecture([16], MlpActivation.Relu), stored.Architecture);
        Assert.Equal(fresh.Architecture, stored.Architecture);
        var loaded = new MLContext(2).Model.Load(path, out _);
        try
        {
            Assert.Equal(fresh.Transform(test).GetColumn<float>("Score").ToArray(), loaded.Transform(test).GetColumn<float>("Score").ToArray());
        }
        finally
        {
            (loaded as IDisposable)?.Dispose();
        }
    }
}
