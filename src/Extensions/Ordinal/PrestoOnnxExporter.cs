using System.Globalization;
using System.Text.Json;
using MLExtensions.Onnx;
using MLExtensions.Onnx.Graph;
using MLExtensions.Onnx.Scoring;

namespace MLExtensions.Ordinal;

/// <summary>
/// Writes a cumulative-logit model as ONNX: η = X·Bᵀ + α, a running maximum over the boundaries (repairs crossing
/// cumulative probabilities on new data), then the class probabilities
/// <c>σ(m_1), σ(m_k)·σ(−m_{k−1})·(1 − e^{m_{k−1} − m_k}), σ(−m_{K−1})</c>, ending in the multiclass head.
/// </summary>
public static class PrestoOnnxExporter
{
    /// <summary>Metadata key of the coefficients (JSON).</summary>
    public const string ParametersKey = "mlextensions.ordinal.parameters";

    /// <summary>Builds the ONNX model.</summary>
    /// <param name="parameters">The coefficients on the original feature scale.</param>
    /// <param name="inputName">The graph input: the feature column.</param>
    /// <param name="classNames">The K class names, in order.</param>
    /// <param name="method">"PRESTO" or "ProportionalOdds", recorded in the metadata.</param>
    public static byte[] Export(PrestoParameters parameters, string inputName, IReadOnlyList<string> classNames, string method)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        int boundaries = parameters.Intercepts.Length, p = parameters.Weights[0].Length;
        if (classNames.Count != boundaries + 1) throw new ArgumentException($"{classNames.Count} class names for {boundaries} boundaries.", nameof(classNames));
        var g = new OnnxGraphBuilder("presto");
        var x = g.AddInput(inputName, OnnxElementType.Float, OnnxDim.Batch, p);
        var weights = g.AddInitializer("weights", parameters.Weights.SelectMany(r => r.Select(v => (float)v)).ToArray(), boundaries, p);
        var intercepts = g.AddInitializer("intercepts", parameters.Intercepts.Select(v => (float)v).ToArray(), boundaries);
        var eta = g.Gemm(x, weights, intercepts, transB: true); // [N, K−1]

        var one = g.Scalar(1f, "one");
        var previous = g.Slice(eta, 0, 1, 1);
        var columns = new List<OnnxValue> { g.Sigmoid(previous) };
        for (int k = 1; k < boundaries; k++)
        {
            var current = g.Max(previous, g.Slice(eta, k, k + 1, 1));
            var gap = g.Sub(one, g.Exp(g.Sub(previous, current)));
            columns.Add(g.Mul(g.Mul(g.Sigmoid(current), g.Sigmoid(g.Neg(previous))), gap));
            previous = current;
        }
        columns.Add(g.Sigmoid(g.Neg(previous)));
        ScoringHeads.AddMulticlassHead(g, g.Concat(columns, axis: 1), classNames, valuesAreLogits: false);

        g.SetMetadata(MetadataKeys.Kind, "Ordinal");
        g.SetMetadata(MetadataKeys.Method, method);
        g.SetMetadata(ParametersKey, JsonSerializer.Serialize(new
        {
            intercepts = parameters.Intercepts,
            weights = parameters.Weights,
            lambda = double.IsInfinity(parameters.Lambda) ? "Infinity" : parameters.Lambda.ToString("R", CultureInfo.InvariantCulture),
            classes = classNames,
        }));
        return g.ToBytes();
    }
}
