using Microsoft.ML;
using MLExtensions.Mlp;
using MLExtensions.Nas;
using Xunit;

namespace MLExtensions.Tests.Nas;

public class NasReproducibilityTests
{
    [Fact]
    public void The_same_seed_and_data_give_the_same_ONNX_bytes_and_the_times_stay_in_memory()
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(Synthetic.Rows(100, 1));
        NasModel Fit() => ml.Nas().Trainers.Regression(new NasTrainer.Options
        {
            LabelColumnName = nameof(Synthetic.Row.Target), Depths = [1], Widths = [4, 8], Activations = [MlpActivation.Relu], SearchResidual = false,
            SearchEpochs = 2, RetrainEpochs = 2, BatchSize = 32, Seed = 3,
        }).Fit(data);
        using var first = Fit();
        using var second = Fit();
        Assert.Equal(first.GetOnnxModel(), second.GetOnnxModel());
        Assert.NotNull(first.Search.Times);

        var path = Path.Combine(Path.GetTempPath(), $"nas-{Guid.NewGuid():N}.zip");
        try
        {
            ml.Model.Save(first, data.Schema, path);
            var saved = NasSearchResult.FromSavedModel(path)!;
            Assert.Null(saved.Times);
            Assert.Equal(first.Search.Architecture, saved.Architecture);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
