using MLExtensions.Onnx.Graph;

namespace MLExtensions.Onnx.Scoring;

/// <summary>
/// The output heads every exported model ends with, so that <see cref="OnnxScoringChain"/> can turn the ONNX
/// outputs into ML.NET's standard prediction columns. Exporters build their network up to a raw output and
/// finish with one of these; a tabular model starts from <see cref="RequireFinite"/>.
/// </summary>
internal static class OnnxOutputHeads
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

    /// <summary>
    /// Makes the graph refuse an input that holds a NaN or infinite value: the returned value is
    /// <paramref name="features"/> itself, passed through a reshape that fails (with a node named after the input and
    /// the reason) when any value is not finite, so every output of a network built on it depends on the check and no
    /// output can be read for such rows on any path (a plainly loaded model, another ONNX runtime). The input is listed
    /// under <see cref="MetadataKeys.FiniteInputs"/>, so block scoring checks rows before the run and names the
    /// column, slot and row. Without this a network answers plausibly: tanh turns +∞ into 1.
    /// </summary>
    /// <param name="graph">The graph under construction.</param>
    /// <param name="features">A float input of shape [N, D].</param>
    public static OnnxValue RequireFinite(OnnxGraphBuilder graph, OnnxValue features)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var finite = graph.Metadata.TryGetValue(MetadataKeys.FiniteInputs, out var listed) ? listed + "," + features.Name : features.Name;
        graph.SetMetadata(MetadataKeys.FiniteInputs, finite);
        // 0·x is 0 for every finite x and NaN for NaN and ±∞, so the sum of 0·x over the block is NaN exactly when some
        // value is not finite (a plain sum could overflow); then 1 is added to the width asked of the reshape.
        var probe = graph.ReduceSum(graph.Mul(features, graph.Scalar(0f, "zero")), [0, 1], keepDims: false);
        var any = graph.Reshape(graph.Cast(graph.IsNaN(probe), OnnxElementType.Int64), [1]);
        var shape = graph.Add(graph.Shape(features), graph.Concat([graph.Int64s(0), any], axis: 0));
        var refused = graph.AddNode("Reshape", [features, shape])[0];
        graph.NameLastNode(NonFiniteInputs.CheckNodeName(features.Name));
        return refused;
    }
}
