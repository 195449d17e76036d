using MLExtensions.Onnx.Graph;

namespace MLExtensions.Onnx.Scoring;

/// <summary>
/// The output heads every exported model ends with, so that <see cref="OnnxScoringChain"/> can turn the ONNX
/// outputs into ML.NET's standard prediction columns. Exporters build their network up to a raw output and
/// finish with one of these.
/// </summary>
/// <remarks>
/// Given the model's tabular input (<c>features</c>), a head makes the graph refuse rows with a NaN or infinite value:
/// such a row scores NaN (and predicted index <see cref="uint.MaxValue"/>), whatever the network would make of it
/// (tanh of ∞ is a plausible 1), and the input is listed under <see cref="MetadataKeys.FiniteInputs"/>. The scoring
/// chain then throws instead of returning a plausible-looking prediction: block scoring names the column, slot and row,
/// the per-row chain (and a plain <c>Model.Load</c>) says the score came out NaN.
/// </remarks>
public static class ScoringHeads
{
    /// <summary>ONNX output [N,1]: the regression score or the binary logit.</summary>
    public const string RawScore = "mlx_score";

    /// <summary>ONNX output [N,1]: the binary probability.</summary>
    public const string RawProbability = "mlx_probability";

    /// <summary>ONNX output [N,K]: the class probabilities, emitted directly as the <c>Score</c> column.</summary>
    public const string ClassProbabilities = "Score";

    /// <summary>ONNX output [N,1] uint32: index of the most probable class.</summary>
    public const string PredictedIndex = "mlx_predicted_index";

    /// <summary>Finishes a regression graph: <paramref name="score"/> has shape [N,1].</summary>
    /// <param name="graph">The graph under construction.</param>
    /// <param name="score">The score, [N,1].</param>
    /// <param name="features">The [N,D] float input whose non-finite rows score NaN; null for none.</param>
    public static void AddRegressionHead(OnnxGraphBuilder graph, OnnxValue score, OnnxValue? features = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        graph.AddOutput(graph.Identity(PoisonNonFinite(graph, score, features), RawScore), OnnxElementType.Float, OnnxDim.Batch, 1);
    }

    /// <summary>Finishes a binary graph: <paramref name="logit"/> has shape [N,1]; the probability is its sigmoid.</summary>
    /// <param name="graph">The graph under construction.</param>
    /// <param name="logit">The logit, [N,1].</param>
    /// <param name="features">The [N,D] float input whose non-finite rows score NaN; null for none.</param>
    public static void AddBinaryHead(OnnxGraphBuilder graph, OnnxValue logit, OnnxValue? features = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        logit = PoisonNonFinite(graph, logit, features);
        graph.AddOutput(graph.Identity(logit, RawScore), OnnxElementType.Float, OnnxDim.Batch, 1);
        graph.AddOutput(graph.Sigmoid(logit, RawProbability), OnnxElementType.Float, OnnxDim.Batch, 1);
    }

    /// <summary>
    /// Finishes a multiclass (or ordinal) graph from class logits [N,K] (softmax applied here) or from
    /// probabilities [N,K] that the model already computed.
    /// </summary>
    /// <param name="graph">The graph under construction.</param>
    /// <param name="values">Logits or probabilities, shape [N,K].</param>
    /// <param name="classNames">The K class names, shown as the slot names of <c>Score</c>.</param>
    /// <param name="valuesAreLogits">True to apply a softmax over the classes.</param>
    /// <param name="features">The [N,D] float input whose non-finite rows score NaN (predicted index <see cref="uint.MaxValue"/>); null for none.</param>
    public static void AddMulticlassHead(OnnxGraphBuilder graph, OnnxValue values, IReadOnlyList<string> classNames, bool valuesAreLogits,
        OnnxValue? features = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(classNames);
        if (classNames.Count < 2) throw new ArgumentException("A multiclass head needs at least two classes.", nameof(classNames));
        var probabilities = valuesAreLogits ? graph.Softmax(values, axis: 1) : values;
        var nonFinite = features is { } input ? AnyNonFinite(graph, input) : (OnnxValue?)null;
        if (nonFinite is { } bad) probabilities = graph.Where(bad, graph.Scalar(float.NaN, "nan"), probabilities);
        probabilities = graph.Identity(probabilities, ClassProbabilities);
        graph.AddOutput(probabilities, OnnxElementType.Float, OnnxDim.Batch, classNames.Count);
        graph.AddSlotNames(ClassProbabilities, classNames);
        var index = graph.Cast(graph.ArgMax(probabilities, axis: 1, keepDims: true), OnnxElementType.UInt32);
        if (nonFinite is { } refused) index = graph.Where(refused, graph.Cast(graph.Int64s(uint.MaxValue), OnnxElementType.UInt32), index);
        graph.AddOutput(graph.Identity(index, PredictedIndex), OnnxElementType.UInt32, OnnxDim.Batch, 1);
    }

    /// <summary>
    /// <paramref name="value"/> with NaN on the rows where <paramref name="features"/> holds a NaN or infinite value
    /// (recorded in the metadata for block scoring); <paramref name="value"/> itself without features.
    /// </summary>
    private static OnnxValue PoisonNonFinite(OnnxGraphBuilder graph, OnnxValue value, OnnxValue? features) =>
        features is { } input ? graph.Where(AnyNonFinite(graph, input), graph.Scalar(float.NaN, "nan"), value) : value;

    /// <summary>[N,1] bool: whether the row of <paramref name="features"/> [N,D] holds a NaN or infinite value (x − x is NaN exactly then).</summary>
    private static OnnxValue AnyNonFinite(OnnxGraphBuilder graph, OnnxValue features)
    {
        graph.SetMetadata(MetadataKeys.FiniteInputs, features.Name);
        var nonFinite = graph.Cast(graph.IsNaN(graph.Sub(features, features)), OnnxElementType.Float);
        return graph.Greater(graph.ReduceMax(nonFinite, [1], keepDims: true), graph.Scalar(0f, "zero"));
    }

    /// <summary>What the per-row chain throws for a row the graph refused (a NaN score), where it cannot name the column.</summary>
    internal static InvalidDataException NonFiniteScore() => new(
        "The model's score for this row came out NaN: an input value is NaN or infinite, and MLExtensions models are trained on " +
        "finite values only. Fix or drop such rows (e.g. mlContext.Transforms.ReplaceMissingValues); scoring with Transform names the column, slot and row.");
}
