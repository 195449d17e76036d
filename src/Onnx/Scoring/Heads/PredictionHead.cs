using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;
using Microsoft.ML.Transforms.Onnx;
using MLExtensions.Onnx.Batching;

namespace MLExtensions.Onnx.Scoring;

/// <summary>
/// The end of a scoring chain for one <see cref="PredictionKind"/>: the ONNX outputs it needs, the prediction columns
/// it makes of them (per row through ML.NET's transforms, and in blocks of rows), and how its fitted chain is
/// recognised when a saved model is loaded. <see cref="PredictionHeadRegistry"/> gives the head of a kind.
/// </summary>
/// <remarks>
/// The per-row chain is made of ML.NET's own saveable transforms: <c>ApplyOnnxModel</c>, stateless <c>CustomMapping</c>s
/// (only their contract name and this assembly are saved with a model; ML.NET creates the factory again on
/// <c>Model.Load</c>), a value map where the kind needs one, and a column drop. Models saved earlier must keep loading
/// and be recognised, so a head's transforms, their order and the contract names never change.
/// </remarks>
internal abstract class PredictionHead
{
    public abstract PredictionKind Kind { get; }

    /// <summary>The ONNX outputs the chain fetches; the model must have every one.</summary>
    public abstract string[] OnnxOutputs(OnnxScoringSpec spec);

    /// <summary>Adds the head's prediction columns to <paramref name="input"/>, before anything is fitted.</summary>
    /// <param name="mlContext">The ML.NET context.</param>
    /// <param name="input">The estimator's input shape.</param>
    /// <param name="label">The key label column, for heads whose predicted label carries the label's key values.</param>
    public abstract SchemaShape Extend(MLContext mlContext, SchemaShape input, SchemaShape.Column? label);

    /// <summary>
    /// Appends the head's per-row transforms to <paramref name="chain"/> (which holds the spec's preparation, if any):
    /// <c>ApplyOnnxModel</c> fetching <see cref="OnnxOutputs"/>, then the shaping of those outputs into the prediction
    /// columns.
    /// </summary>
    /// <param name="chain">The chain so far.</param>
    /// <param name="mlContext">The ML.NET context.</param>
    /// <param name="spec">The model and its column contract.</param>
    /// <param name="applyOnnxModel">Makes the <c>ApplyOnnxModel</c> estimator that fetches the given outputs.</param>
    /// <exception cref="ArgumentException">The spec does not fit the head.</exception>
    public abstract IEstimator<ITransformer> AppendTo(EstimatorChain<ITransformer> chain, MLContext mlContext, OnnxScoringSpec spec,
        Func<string[], OnnxScoringEstimator> applyOnnxModel);

    /// <summary>
    /// The prediction columns as batched scoring makes them from a block's ONNX outputs, value for value as the
    /// per-row chain does; null when the head scores per row only.
    /// </summary>
    public abstract IReadOnlyList<PredictionColumn>? BatchedColumns { get; }

    /// <summary>True when <paramref name="parts"/> are this head's fitted chain, as <c>Model.Load</c> gives it back.</summary>
    public abstract bool IsFittedChain(IReadOnlyList<ITransformer> parts);

    /// <summary>
    /// True for the parts of a chain that starts with <c>ApplyOnnxModel</c>, maps its raw outputs with a
    /// <c>CustomMapping</c> whose input is <typeparamref name="TRawOutputs"/>, and ends with a column drop.
    /// </summary>
    protected static bool IsChainMapping<TRawOutputs>(IReadOnlyList<ITransformer> parts, int partCount)
    {
        if (parts.Count != partCount || parts[0] is not OnnxTransformer || parts[^1] is not ColumnSelectingTransformer) return false;
        var mapping = parts[1].GetType();
        return mapping.IsGenericType && mapping.GetGenericTypeDefinition() == typeof(CustomMappingTransformer<,>)
            && mapping.GetGenericArguments()[0] == typeof(TRawOutputs);
    }

    /// <summary>Refuses <see cref="OnnxScoringSpec.ExtraOutputs"/>, which only some heads expose.</summary>
    protected static void RejectExtraOutputs(OnnxScoringSpec spec)
    {
        if (spec.ExtraOutputs.Count > 0)
            throw new ArgumentException("Extra ONNX outputs are supported for regression and multiclass heads and raw outputs only.", nameof(spec));
    }
}
