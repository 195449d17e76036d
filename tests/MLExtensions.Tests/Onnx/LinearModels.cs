using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Onnx.Graph;
using MLExtensions.Onnx.Scoring;

namespace MLExtensions.Tests.Onnx;

/// <summary>Hand-built linear ONNX models for each scoring head, and rows they score, to test the glue apart from any trainer.</summary>
internal static class LinearModels
{
    public const int FeatureCount = 3;
    private static readonly float[] Weights = [0.5f, -1f, 2f];

    public sealed class Row
    {
        [VectorType(FeatureCount)] public float[] Features { get; set; } = [];
        public float Target { get; set; }
        public bool Flag { get; set; }
        public string Colour { get; set; } = "";
    }

    public sealed class RegressionPrediction { public float Score { get; set; } }
    public sealed class BinaryPrediction { public float Score { get; set; } public float Probability { get; set; } public bool PredictedLabel { get; set; } }
    public sealed class MulticlassPrediction { public float[] Score { get; set; } = []; public uint PredictedLabel { get; set; } }

    public static Row[] Rows(int n, int seed)
    {
        var random = new Random(seed);
        var colours = new[] { "red", "green", "blue" };
        return Enumerable.Range(0, n).Select(_ =>
        {
            var x = Enumerable.Range(0, FeatureCount).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            float y = x.Zip(Weights, (a, b) => a * b).Sum();
            return new Row { Features = x, Target = y, Flag = y > 0, Colour = colours[y < -0.5f ? 0 : y < 0.5f ? 1 : 2] };
        }).ToArray();
    }

    public static byte[] Model(PredictionKind kind)
    {
        var g = new OnnxGraphBuilder();
        var x = g.AddInput("Features", OnnxElementType.Float, OnnxDim.Batch, FeatureCount);
        if (kind == PredictionKind.MulticlassClassification)
        {
            // Three classes whose logits rank the linear score: low, middle, high.
            var w = g.AddInitializer("w", Weights.SelectMany(v => new[] { -4 * v, 0f, 4 * v }).ToArray(), FeatureCount, 3);
            var b = g.AddInitializer("b", new float[] { -2, 0, -2 }, 3);
            OnnxOutputHeads.AddMulticlassHead(g, g.Gemm(x, w, b), ["red", "green", "blue"], valuesAreLogits: true);
        }
        else
        {
            var w = g.AddInitializer("w", Weights, FeatureCount, 1);
            var score = g.MatMul(x, w);
            if (kind == PredictionKind.Regression) OnnxOutputHeads.AddRegressionHead(g, score);
            else OnnxOutputHeads.AddBinaryHead(g, g.Mul(score, g.Scalar(5f)));
        }
        g.SetMetadata("mlextensions.test", "linear");
        return g.ToBytes();
    }

    public sealed class TestModel(OnnxScoringChain chain) : OnnxScoredModel(chain);

    public static TestModel Fit(MLContext ml, IDataView data, PredictionKind kind, ClassLabels? classes = null) =>
        new(OnnxScoringChain.Fit(ml, data, new OnnxScoringSpec { Model = Model(kind), Kind = kind, InputColumns = ["Features"], Classes = classes }));
}
