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
internal static class PrestoOnnxExporter
{
    /// <summary>Metadata key of the coefficients (JSON).</summary>
    public const string ParametersKey = "mlextensions.ordinal.parameters";

    /// <summary>Builds the ONNX model.</summary>
    /// <param name="parameters">The coefficients on the original feature scale.</param>
    /// <param name="inputName">The graph input: the feature column.</param>
    /// <param name="classNames">The K class names, in order.</param>
    /// <param name="method">"PRESTO" or "ProportionalOdds", recorded in the metadata.</param>
    /// <param name="featureMeans">
    /// Centres for the features (e.g. the training means). With them the graph standardises its input first and
    /// uses the coefficients of the standardised features, which keeps float32 arithmetic accurate when features
    /// have large offsets (timestamps, years); null evaluates the original-scale coefficients directly.
    /// </param>
    /// <param name="featureScales">Scales for the features (e.g. training standard deviations; 0 for a constant feature).</param>
    /// <param name="outputs">
    /// Optional graph inputs and outputs: the offset input (a [N, 1] float tensor, as ML.NET feeds a scalar column, added to every linear predictor; NaN and
    /// infinity refused), the cumulative-probability output ([N, K], the last column 1) and the linear-predictor output ([N, K − 1]).
    /// </param>
    public static byte[] Export(PrestoParameters parameters, string inputName, IReadOnlyList<string> classNames, string method,
        IReadOnlyList<double>? featureMeans = null, IReadOnlyList<double>? featureScales = null, PrestoGraphColumns? outputs = null)
    {
        outputs ??= new PrestoGraphColumns(null, null, null);
        ArgumentNullException.ThrowIfNull(parameters);
        int boundaries = parameters.Intercepts.Count, p = parameters.Weights[0].Count;
        if (classNames.Count != boundaries + 1) throw new ArgumentException($"{classNames.Count} class names for {boundaries} boundaries.", nameof(classNames));
        var means = featureMeans?.ToArray() ?? new double[p];
        var scales = featureScales?.ToArray() ?? Enumerable.Repeat(1.0, p).ToArray();
        if (means.Length != p || scales.Length != p) throw new ArgumentException($"Feature centres and scales need {p} values each.");
        // η_k = α_k + Σ_j β_kj x_j = (α_k + Σ_j β_kj m_j) + Σ_j (β_kj / c_j) · (x_j − m_j) · c_j with c_j = 1 / s_j.
        // The graph holds m and c in float32; the intercepts and weights are computed in double from those very
        // float values, so their rounding cancels instead of entering η.
        bool standardise = featureMeans is not null || featureScales is not null;
        var centres = means.Select(v => standardise ? (float)v : 0f).ToArray();
        var inverseScales = scales.Select(v => !standardise ? 1f : v > 0 ? (float)(1 / v) : 0f).ToArray();
        var weights = new float[boundaries * p];
        var intercepts = new float[boundaries];
        for (int k = 0; k < boundaries; k++)
        {
            double shift = parameters.Intercepts[k];
            for (int j = 0; j < p; j++)
            {
                shift += parameters.Weights[k][j] * centres[j];
                weights[k * p + j] = inverseScales[j] > 0 ? (float)(parameters.Weights[k][j] / inverseScales[j]) : 0f;
            }
            intercepts[k] = (float)shift;
        }
        var g = new OnnxGraphBuilder("presto");
        var x = OnnxOutputHeads.RequireFinite(g, g.AddInput(inputName, OnnxElementType.Float, OnnxDim.Batch, p));
        var standardised = standardise
            ? g.Mul(g.Sub(x, g.AddInitializer("feature_means", centres, p)), g.AddInitializer("feature_inverse_scales", inverseScales, p))
            : x;
        var eta = g.Gemm(standardised, g.AddInitializer("weights", weights, boundaries, p), g.AddInitializer("intercepts", intercepts, boundaries), transB: true); // [N, K−1]
        if (outputs.Offset is { } offsetName)
            eta = g.Add(eta, OnnxOutputHeads.RequireFinite(g, g.AddInput(offsetName, OnnxElementType.Float, OnnxDim.Batch, 1))); // [N, 1] broadcast over the boundaries
        if (outputs.LinearPredictors is { } linearName)
            g.AddOutput(g.Identity(eta, linearName), OnnxElementType.Float, OnnxDim.Batch, boundaries);

        var one = g.Scalar(1f, "one");
        var previous = g.Slice(eta, 0, 1, 1);
        var columns = new List<OnnxValue> { g.Sigmoid(previous) };
        var cumulative = new List<OnnxValue> { columns[0] };
        for (int k = 1; k < boundaries; k++)
        {
            var current = g.Max(previous, g.Slice(eta, k, k + 1, 1));
            var gap = g.Sub(one, g.Exp(g.Sub(previous, current)));
            columns.Add(g.Mul(g.Mul(g.Sigmoid(current), g.Sigmoid(g.Neg(previous))), gap));
            previous = current;
            cumulative.Add(g.Sigmoid(current));
        }
        columns.Add(g.Sigmoid(g.Neg(previous)));
        if (outputs.CumulativeProbabilities is { } cumulativeName)
        {
            // P(y ≤ K) = 1: σ(m) + (1 − σ(m)) would round; a column of ones shaped like the first boundary's is exact.
            cumulative.Add(g.Add(g.Mul(cumulative[0], g.Scalar(0f, "zero_for_last_cumulative")), one));
            g.AddOutput(g.Identity(g.Concat(cumulative, axis: 1), cumulativeName), OnnxElementType.Float, OnnxDim.Batch, boundaries + 1);
        }
        OnnxOutputHeads.AddMulticlassHead(g, g.Concat(columns, axis: 1), classNames, valuesAreLogits: false);

        g.SetMetadata(MetadataKeys.Kind, "Ordinal");
        g.SetMetadata(MetadataKeys.Method, method);
        g.SetMetadata(ParametersKey, JsonSerializer.Serialize(new
        {
            intercepts = parameters.Intercepts,
            weights = parameters.Weights,
            lambda = double.IsInfinity(parameters.Lambda) ? "Infinity" : parameters.Lambda.ToString("R", CultureInfo.InvariantCulture),
            gamma = parameters.Gamma,
            classes = classNames,
            offset = outputs.Offset,
            proportionalOddsTest = parameters.ProportionalOddsTest is { } test && double.IsFinite(test.Statistic) && double.IsFinite(test.PValue)
                ? new { statistic = test.Statistic, degreesOfFreedom = test.DegreesOfFreedom, pValue = test.PValue, converged = test.Converged }
                : null,
        }));
        return g.ToBytes();
    }
}

/// <summary>The optional graph columns of a cumulative-logit export: the offset input and the extra outputs (null: none).</summary>
internal sealed record PrestoGraphColumns(string? Offset, string? CumulativeProbabilities, string? LinearPredictors);
