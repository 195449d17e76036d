using MLExtensions.Mlp;
using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using MLExtensions.Nas;
using MLExtensions.Onnx.Graph;
using MLExtensions.Onnx.Runtime;
using MLExtensions.Onnx.Scoring;

namespace MLExtensions.Bench;

/// <summary>Rows/s of ML.NET's per-row ONNX scoring, the batched path, and raw ONNX Runtime on whole blocks.</summary>
public static class ScoringBench
{
    private sealed class LinearModel(OnnxScoringChain chain) : OnnxScoredModel(chain);

    public static void Run(int rows)
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.Cache(ml.Data.LoadFromEnumerable(BenchData.Rows(rows, seed: 3)));
        Console.WriteLine($"Scoring bench: {rows:N0} rows, {BenchData.FeatureCount} features, {Environment.ProcessorCount} cores");
        Count(data, "Features"); // fill the cache
        Console.WriteLine($"reading the input's Features alone   : {rows / Time(() => Count(data, "Features")),14:N0} rows/s");

        using var mlp = ml.Nas().Trainers.MlpRegression(new MlpTrainer.Options
        {
            LabelColumnName = "Target", HiddenLayerSizes = [64, 64], NumberOfEpochs = 1, Seed = 1,
        }).Fit(ml.Data.TakeRows(data, 20_000));
        Measure("reference MLP 64-64 (regression)", mlp, data, OnnxOutputHeads.RawScore, rows);

        using var linear = new LinearModel(OnnxScoringChain.Fit(ml, data, new OnnxScoringSpec
        {
            Model = LinearMulticlass(classes: 5), Kind = PredictionKind.MulticlassClassification, InputColumns = ["Features"],
            Classes = ClassLabels.FromNames(["1", "2", "3", "4", "5"]),
        }));
        Measure("PRESTO-sized linear model (5 classes)", linear, data, OnnxOutputHeads.ClassProbabilities, rows);
    }

    private static void Measure(string name, OnnxScoredModel model, IDataView data, string output, int rows)
    {
        Console.WriteLine($"-- {name}");
        Count(model.Transform(data), "Score"); // warm-up
        var perRow = Time(() => Count(model.TransformPerRow(data), "Score"));
        var batched = Time(() => Count(model.Transform(data), "Score"));
        double raw = RawOrt(model.GetOnnxModel(), data, output, rows);
        Console.WriteLine($"ML.NET ApplyOnnxModel, per row : {rows / perRow,14:N0} rows/s");
        Console.WriteLine($"batched Transform (4096/block) : {rows / batched,14:N0} rows/s  ({perRow / batched:F0}x per-row)");
        Console.WriteLine($"raw ORT, 4096-row blocks       : {rows / raw,14:N0} rows/s  (batched path takes {batched / raw:F2}x its time)");
    }

    /// <summary>Reads the column through a cursor, as any consumer of the scored view does.</summary>
    private static long Count(IDataView view, string column)
    {
        var col = view.Schema[column];
        using var cursor = view.GetRowCursor([col]);
        long n = 0;
        if (col.Type is VectorDataViewType)
        {
            var get = cursor.GetGetter<VBuffer<float>>(col);
            VBuffer<float> v = default;
            while (cursor.MoveNext()) { get(ref v); n++; }
        }
        else
        {
            var get = cursor.GetGetter<float>(col);
            float v = 0;
            while (cursor.MoveNext()) { get(ref v); n++; }
        }
        return n;
    }

    /// <summary>The ONNX model alone on features already in memory, 4096 rows per call.</summary>
    private static double RawOrt(byte[] model, IDataView data, string output, int rows)
    {
        var features = data.GetColumn<float[]>("Features").SelectMany(f => f).ToArray();
        using var session = OnnxModelSession.Create(model);
        using var runOptions = new RunOptions();
        const int block = 4096;
        return Time(() =>
        {
            for (int start = 0; start < rows; start += block)
            {
                int n = Math.Min(block, rows - start);
                using var input = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance,
                    new Memory<float>(features, start * BenchData.FeatureCount, n * BenchData.FeatureCount), [n, BenchData.FeatureCount]);
                using var result = session.Session.Run(runOptions, ["Features"], [input], [output]);
            }
        });
    }

    private static byte[] LinearMulticlass(int classes)
    {
        var g = new OnnxGraphBuilder();
        var x = g.AddInput("Features", OnnxElementType.Float, OnnxDim.Batch, BenchData.FeatureCount);
        var w = g.AddInitializer("w", Enumerable.Range(0, BenchData.FeatureCount * classes).Select(i => MathF.Sin(i)).ToArray(), BenchData.FeatureCount, classes);
        var b = g.AddInitializer("b", Enumerable.Range(0, classes).Select(i => i * 0.1f).ToArray(), classes);
        OnnxOutputHeads.AddMulticlassHead(g, g.Gemm(x, w, b), Enumerable.Range(1, classes).Select(i => i.ToString()).ToArray(), valuesAreLogits: true);
        return g.ToBytes();
    }

    private static double Time(Action action)
    {
        var clock = Stopwatch.StartNew();
        action();
        return clock.Elapsed.TotalSeconds;
    }

    private static double Time(Func<long> action) => Time(() => { action(); });
}
