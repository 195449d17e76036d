using MLExtensions.Mlp;
using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Nas;

namespace MLExtensions.QuickStart;

/// <summary>The reference MLP trainers: the road every method rides on (TorchSharp → ONNX → ML.NET).</summary>
public static class MlpSection
{
    public static void Run(MLContext ml)
    {
        Console.WriteLine("== Reference MLP: mlContext.Nas().Trainers.Mlp* (TorchSharp training, ONNX Runtime scoring) ==");
        var train = ml.Data.LoadFromEnumerable(GeneratedData.Tabular(4000, seed: 1));
        var test = ml.Data.LoadFromEnumerable(GeneratedData.Tabular(1000, seed: 2));
        var toKey = ml.Transforms.Conversion.MapValueToKey("Label", nameof(GeneratedData.Row.Grade)).Fit(train);
        MlpTrainer.Options Options(string label) => new() { LabelColumnName = label, HiddenLayerSizes = [64, 64], NumberOfEpochs = 30 };

        Report(ml, "regression", ml.Nas().Trainers.MlpRegression(Options(nameof(GeneratedData.Row.Target))), train, test,
            scored => $"R² {ml.Regression.Evaluate(scored, labelColumnName: "Target").RSquared:F3}", "Score");
        Report(ml, "binary", ml.Nas().Trainers.MlpBinaryClassification(Options(nameof(GeneratedData.Row.Positive))), train, test,
            scored =>
            {
                var m = ml.BinaryClassification.Evaluate(scored, labelColumnName: "Positive");
                return $"accuracy {m.Accuracy:F3}, AUC {m.AreaUnderRocCurve:F3}";
            }, "Probability");
        Report(ml, "multiclass", ml.Nas().Trainers.MlpMulticlassClassification(Options("Label")), toKey.Transform(train), toKey.Transform(test),
            scored =>
            {
                var m = ml.MulticlassClassification.Evaluate(scored);
                return $"accuracy {m.MicroAccuracy:F3}, log-loss {m.LogLoss:F3}";
            }, "PredictedLabel");
    }

    private static void Report(MLContext ml, string task, MlpTrainer trainer, IDataView train, IDataView test,
        Func<IDataView, string> evaluate, string checkColumn)
    {
        var clock = Stopwatch.StartNew();
        using var model = trainer.Fit(train);
        var seconds = clock.Elapsed.TotalSeconds;
        var scored = model.Transform(test);
        Console.WriteLine($"{task,-11} {evaluate(scored)}; trained {model.TrainingHistory.Count} epochs in {seconds:F1} s; " +
                          $"ONNX export {model.ExportParity}; scored on {model.Execution}; " +
                          $"save/load identical: {(SameAfterReload(ml, model, test, scored, checkColumn) ? "yes" : "NO")}");
    }

    internal static bool SameAfterReload(MLContext ml, ITransformer model, IDataView test, IDataView scored, string column)
    {
        using var stream = new MemoryStream();
        ml.Model.Save(model, test.Schema, stream);
        stream.Position = 0;
        var loaded = ml.Model.Load(stream, out _);
        try
        {
            var reloaded = loaded.Transform(test);
            return column == "PredictedLabel"
                ? scored.GetColumn<uint>(column).SequenceEqual(reloaded.GetColumn<uint>(column))
                : scored.GetColumn<float>(column).SequenceEqual(reloaded.GetColumn<float>(column));
        }
        finally
        {
            (loaded as IDisposable)?.Dispose();
        }
    }
}
