using MLExtensions.Mlp;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Nas;
using MLExtensions.Onnx;
using MLExtensions.Training;
using Xunit;

namespace MLExtensions.Tests.Mlp;

public class MlpTrainerTests
{
    private static MlpTrainer.Options Small(string label) => new()
    {
        LabelColumnName = label,
        HiddenLayerSizes = [32, 32],
        NumberOfEpochs = 40,
        BatchSize = 32,
        LearningRate = 3e-3,
        Seed = 7,
    };


    public sealed class RegressionScore { public float Score { get; set; } }

    [Fact]
    public void Regression_learns_a_nonlinear_target_and_scores_through_ml_net()
    {
        var ml = new MLContext(1);
        var train = ml.Data.LoadFromEnumerable(Synthetic.Rows(800, 1));
        var test = ml.Data.LoadFromEnumerable(Synthetic.Rows(300, 2));
        using var model = ml.Nas().Trainers.MlpRegression(Small("Target")).Fit(train);

        var metrics = ml.Regression.Evaluate(model.Transform(test), labelColumnName: "Target");
        Assert.True(metrics.RSquared > 0.9, $"R² {metrics.RSquared}");
        Assert.True(model.ExportParity.RelativeError <= 1e-5, model.ExportParity.ToString());
        Assert.Equal(40, model.TrainingHistory.Count);
        Assert.True(model.TrainingHistory[^1].TrainingLoss < model.TrainingHistory[0].TrainingLoss / 5);

        var rows = Synthetic.Rows(3, 3);
        var engine = ml.Model.CreatePredictionEngine<Synthetic.Row, RegressionScore>(model, new PredictionEngineOptions { OwnsTransformer = false });
        var batchScores = model.Transform(ml.Data.LoadFromEnumerable(rows)).GetColumn<float>("Score").ToArray();
        Assert.Equal(batchScores, rows.Select(r => engine.Predict(r).Score));
        Assert.Equal(model.Transform(test).GetColumn<float>("Score"), ModelRoundTrip.SaveLoadAndScore<float>(model, test, "Score"));
    }

    [Fact]
    public void Binary_classifier_separates_classes_with_calibrated_outputs()
    {
        var ml = new MLContext(1);
        var train = ml.Data.LoadFromEnumerable(Synthetic.Rows(800, 4));
        var test = ml.Data.LoadFromEnumerable(Synthetic.Rows(300, 5));
        using var model = ml.Nas().Trainers.MlpBinaryClassification(Small("Positive")).Fit(train);

        var scored = model.Transform(test);
        var metrics = ml.BinaryClassification.Evaluate(scored, labelColumnName: "Positive");
        Assert.True(metrics.Accuracy > 0.9, $"accuracy {metrics.Accuracy}");
        Assert.True(metrics.AreaUnderRocCurve > 0.95, $"AUC {metrics.AreaUnderRocCurve}");
        Assert.Equal(scored.GetColumn<float>("Probability"), ModelRoundTrip.SaveLoadAndScore<float>(model, test, "Probability"));
    }

    [Fact]
    public void Multiclass_classifier_keeps_class_names_and_label_values()
    {
        var ml = new MLContext(1);
        var train = Synthetic.Keyed(ml, Synthetic.Rows(900, 6));
        var test = Synthetic.Keyed(ml, Synthetic.Rows(300, 7));
        using var model = ml.Nas().Trainers.MlpMulticlassClassification(Small("Label")).Fit(train);

        var scored = model.Transform(test);
        var metrics = ml.MulticlassClassification.Evaluate(scored);
        Assert.True(metrics.MicroAccuracy > 0.85, $"accuracy {metrics.MicroAccuracy}");
        Assert.Equal(model.Classes!.Names, Names(scored.Schema["Score"]));
        var predicted = ml.Transforms.Conversion.MapKeyToValue("PredictedClass", "PredictedLabel").Fit(scored).Transform(scored)
            .GetColumn<ReadOnlyMemory<char>>("PredictedClass").Select(v => v.ToString()).ToArray();
        Assert.Subset(new HashSet<string> { "low", "mid", "high" }, predicted.ToHashSet());
        Assert.Equal(scored.GetColumn<uint>("PredictedLabel"), ModelRoundTrip.SaveLoadAndScore<uint>(model, test, "PredictedLabel"));
    }

    [Fact]
    public void Same_seed_gives_the_same_model_and_the_seed_can_come_from_the_context()
    {
        var rows = Synthetic.Rows(200, 8);
        byte[] Train(int? seed, int contextSeed)
        {
            var ml = new MLContext(contextSeed);
            var options = Small("Target");
            options.Seed = seed;
            options.NumberOfEpochs = 3;
            using var model = ml.Nas().Trainers.MlpRegression(options).Fit(ml.Data.LoadFromEnumerable(rows));
            return model.GetOnnxModel();
        }
        Assert.Equal(Train(5, 0), Train(5, 99));
        Assert.NotEqual(Train(5, 0), Train(6, 0));
        Assert.Equal(Train(null, 42), Train(null, 42));
        Assert.NotEqual(Train(null, 42), Train(null, 43));
    }

    [Fact]
    public void Validation_split_stops_early_and_restores_the_best_epoch()
    {
        var ml = new MLContext(1);
        var options = Small("Target");
        options.NumberOfEpochs = 300;
        options.ValidationFraction = 0.3;
        options.EarlyStoppingPatience = 3;
        options.LearningRate = 0.05; // large steps make validation loss stall quickly
        using var model = ml.Nas().Trainers.MlpRegression(options).Fit(ml.Data.LoadFromEnumerable(Synthetic.Rows(150, 9)));
        Assert.True(model.TrainingHistory.Count < 300);
        Assert.All(model.TrainingHistory, p => Assert.NotNull(p.ValidationLoss));
    }

    [Fact]
    public void A_time_budget_stops_training_before_its_epochs_run_out()
    {
        var ml = new MLContext(1);
        var options = Small("Target");
        options.NumberOfEpochs = 100_000;
        options.TimeBudget = TimeSpan.FromSeconds(1);
        using var model = ml.Nas().Trainers.MlpRegression(options).Fit(ml.Data.LoadFromEnumerable(Synthetic.Rows(300, 14)));
        // Behaviour only: the budget, not the epoch count, ended training (wall-clock bounds fail on a loaded CI machine).
        Assert.InRange(model.TrainingHistory.Count, 1, options.NumberOfEpochs - 1);
        Assert.Throws<ArgumentOutOfRangeException>(() => ml.Nas().Trainers.MlpRegression(new MlpTrainer.Options { TimeBudget = TimeSpan.Zero }));
    }

    [Fact]
    public void Progress_log_and_cancellation_reach_the_user()
    {
        var ml = new MLContext(1);
        var messages = new List<string>();
        ml.Log += (_, e) => { lock (messages) messages.Add(e.Message); };
        using var cancel = new CancellationTokenSource();
        var reports = new List<TrainingProgress>();
        var options = Small("Target");
        options.NumberOfEpochs = 100;
        options.CancellationToken = cancel.Token;
        options.Progress = new SynchronousProgress<TrainingProgress>(p =>
        {
            reports.Add(p);
            if (p.Epoch == 3) cancel.Cancel();
        });
        Assert.ThrowsAny<OperationCanceledException>(() => ml.Nas().Trainers.MlpRegression(options).Fit(ml.Data.LoadFromEnumerable(Synthetic.Rows(100, 10))));
        Assert.Equal([1, 2, 3], reports.Select(r => r.Epoch));
        Assert.Contains(messages, m => m.Contains("epoch 2/100"));
    }

    [Fact]
    public void Thread_policy_is_restored_after_training()
    {
        int before = TorchSharp.torch.get_num_threads();
        var ml = new MLContext(1);
        var options = Small("Target");
        options.NumberOfEpochs = 1;
        options.NumberOfThreads = before == 1 ? 2 : 1;
        using var model = ml.Nas().Trainers.MlpRegression(options).Fit(ml.Data.LoadFromEnumerable(Synthetic.Rows(50, 11)));
        Assert.Equal(before, TorchSharp.torch.get_num_threads());
    }

    [Fact]
    public void The_trainer_composes_in_an_estimator_chain_with_its_output_schema_known_up_front()
    {
        var ml = new MLContext(1);
        var raw = ml.Data.LoadFromEnumerable(Synthetic.Rows(300, 12));
        var options = Small("Label");
        options.NumberOfEpochs = 5;
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label", "Class")
            .Append(ml.Nas().Trainers.MlpMulticlassClassification(options))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedClass", "PredictedLabel"));
        // EstimatorChain.Fit asks every estimator for its output schema before fitting anything.
        using var model = pipeline.Fit(raw);
        var predicted = model.Transform(raw).GetColumn<ReadOnlyMemory<char>>("PredictedClass").First().ToString();
        Assert.Contains(predicted, new[] { "low", "mid", "high" });
        Assert.Equal(3, Assert.IsType<VectorDataViewType>(model.Transform(raw).Schema["Score"].Type).Size);
    }

    [Fact]
    public void Architecture_survives_save_and_load_in_the_onnx_metadata()
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(Synthetic.Rows(100, 13));
        var options = Small("Target");
        options.NumberOfEpochs = 1;
        options.HiddenLayerSizes = [12, 6];
        using var model = ml.Nas().Trainers.MlpRegression(options).Fit(data);
        var path = Path.Combine(Path.GetTempPath(), $"mlp-{Guid.NewGuid():N}.zip");
        try
        {
            ml.Model.Save(model, data.Schema, path);
            var info = OnnxModelInfo.ReadFromSavedModel(path).Single();
            Assert.Contains("\"hidden\":[12,6]", info.Metadata[MlpOnnxExporter.ArchitectureKey]);
            Assert.Equal("Regression", info.Metadata[MlpOnnxExporter.KindKey]);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static string[] Names(DataViewSchema.Column column)
    {
        var names = default(VBuffer<ReadOnlyMemory<char>>);
        column.GetSlotNames(ref names);
        return names.DenseValues().Select(n => n.ToString()).ToArray();
    }

    [Fact]
    public void A_diverging_fit_without_a_validated_epoch_to_fall_back_on_is_refused_with_the_learning_rate_named()
    {
        var ml = new MLContext(1);
        var options = Small("Target");
        (options.LearningRate, options.NumberOfEpochs) = (1e30, 3);
        var error = Assert.Throws<InvalidOperationException>(() => ml.Nas().Trainers.MlpRegression(options).Fit(ml.Data.LoadFromEnumerable(Synthetic.Rows(200, 3))));
        Assert.Contains("diverged", error.Message);
        Assert.Contains("LearningRate", error.Message);
    }
}
