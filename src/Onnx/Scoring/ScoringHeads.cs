using MLExtensions.Onnx.Graph;

namespace MLExtensions.Onnx.Scoring;

/// <summary>
/// The output heads every exported model ends with, so that <see cref="OnnxScoringChain"/> can turn the ONNX
/// outputs into ML.NET's standard prediction columns. Exporters build their network up to a raw output and
/// finish with one of these.
/// </summary>
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
    public static void AddRegressionHead(OnnxGraphBuilder graph, OnnxValue score)
    {
        ArgumentNullException.ThrowIfNull(graph);
        graph.AddOutput(graph.Identity(score, RawScore), OnnxElementType.Float, OnnxDim.Batch, 1);
    }

    /// <summary>Finishes a binary graph: <paramref name="logit"/> has shape [N,1]; the probability is its sigmoid.</summary>
    public static void AddBinaryHead(OnnxGraphBuilder graph, OnnxValue logit)
    {
        ArgumentNullException.ThrowIfNull(graph);
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
    public static void AddMulticlassHead(OnnxGraphBuilder graph, OnnxValue values, IReadOnlyList<string> classNames, bool valuesAreLogits)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(classNames);
        if (classNames.Count < 2) throw new ArgumentException("A multiclass head needs at least two classes.", nameof(classNames));
        var probabilities = valuesAreLogits
            ? graph.Softmax(values, axis: 1, output: ClassProbabilities)
            : graph.Identity(values, ClassProbabilities);
        graph.AddOutput(probabilities, OnnxElementType.Float, OnnxDim.Batch, classNames.Count);
        graph.AddSlotNames(ClassProbabilities, classNames);
        var index = graph.Cast(graph.ArgMax(probabilities, axis: 1, keepDims: true), OnnxElementType.UInt32, PredictedIndex);
        graph.AddOutput(index, OnnxElementType.UInt32, OnnxDim.Batch, 1);
    }
}
