using Microsoft.ML;
using MLExtensions.Onnx.Scoring;
using MLExtensions.Tests.Onnx;
using Xunit;

namespace MLExtensions.Tests.Reliability;

/// <summary>What a model hands out lives as long as its user keeps it, not as long as the model.</summary>
public class EngineLifetimeTests
{
    [Fact]
    public void Prediction_engines_made_and_dropped_do_not_pile_up_on_the_model()
    {
        var ml = new MLContext(1);
        var rows = LinearModels.Rows(10, 1);
        var data = ml.Data.LoadFromEnumerable(rows);
        using var model = LinearModels.Fit(ml, data, PredictionKind.Regression);

        void MakeEngines(int count)
        {
            for (int i = 0; i < count; i++)
            {
                using var engine = ml.Model.CreatePredictionEngine<LinearModels.Row, LinearModels.RegressionPrediction>(model,
                    new PredictionEngineOptions { OwnsTransformer = false });
                engine.Predict(rows[i % rows.Length]);
            }
        }

        MakeEngines(50);
        long before = Collected();
        MakeEngines(600);
        long growth = Collected() - before;
        // Each engine's output row holds about 24 kB; kept by the model, 600 of them would add about 14 MB.
        Assert.True(growth < 3_000_000, $"managed memory grew by {growth:N0} bytes over 600 engines");
        Assert.Equal(rows[3].Target, ml.Model.CreatePredictionEngine<LinearModels.Row, LinearModels.RegressionPrediction>(model,
            new PredictionEngineOptions { OwnsTransformer = false }).Predict(rows[3]).Score, 5);
    }

    private static long Collected()
    {
        for (int i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
