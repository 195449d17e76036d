using Microsoft.ML;
using MLExtensions.Onnx.Batching;

namespace MLExtensions.Onnx.Scoring;

/// <summary>
/// The registry of the <see cref="PredictionHead"/>s, one per <see cref="PredictionKind"/>: the head of a kind, and the
/// head a loaded chain was built by. (<see cref="OnnxOutputHeads"/> is the other end: the ONNX outputs an exporter writes.)
/// </summary>
internal static class PredictionHeadRegistry
{
    private static readonly PredictionHead[] All =
    [
        new RegressionHead(),
        new BinaryClassificationHead(),
        new MulticlassClassificationHead(),
        new RawOutputsHead(),
    ];

    /// <summary>The head of <paramref name="kind"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The kind is not one of <see cref="PredictionKind"/>'s values.</exception>
    public static PredictionHead For(PredictionKind kind) =>
        Array.Find(All, head => head.Kind == kind) ?? throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown prediction kind.");

    /// <summary>The head whose fitted chain <paramref name="parts"/> are, or null for any other chain.</summary>
    public static PredictionHead? Recognise(IReadOnlyList<ITransformer> parts) => Array.Find(All, head => head.IsFittedChain(parts));

    /// <summary>The batched prediction columns of a loaded head chain, or null when the parts are not one that batches.</summary>
    public static IReadOnlyList<PredictionColumn>? BatchedColumnsOf(IReadOnlyList<ITransformer> parts) => Recognise(parts)?.BatchedColumns;
}
