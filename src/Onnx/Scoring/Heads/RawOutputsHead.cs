using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Onnx;
using MLExtensions.Onnx.Batching;

namespace MLExtensions.Onnx.Scoring;

/// <summary>
/// <see cref="PredictionKind.Outputs"/>: no standard head; the model's <see cref="OnnxScoringSpec.ExtraOutputs"/> become
/// columns of the same names, as ApplyOnnxModel makes them.
/// </summary>
/// <remarks>
/// Chain: ApplyOnnxModel, then DropColumns when there are temporary columns. It scores per row, and a loaded chain is not recognised as this head's: it has
/// nothing of its own to tell it apart, and its ONNX transformer batches as any user's does.
/// </remarks>
internal sealed class RawOutputsHead : PredictionHead
{
    public override PredictionKind Kind => PredictionKind.Outputs;

    public override string[] OnnxOutputs(OnnxScoringSpec spec) => [.. spec.ExtraOutputs];

    /// <remarks>
    /// Adds nothing: the outputs' types are known only from the ONNX model; a trainer adds its own (see
    /// <see cref="ScoringSchema.AddFloatVector"/>).
    /// </remarks>
    public override SchemaShape Extend(MLContext mlContext, SchemaShape input, SchemaShape.Column? label) => input;

    public override IEstimator<ITransformer> AppendTo(EstimatorChain<ITransformer> chain, MLContext mlContext, OnnxScoringSpec spec,
        Func<string[], OnnxScoringEstimator> applyOnnxModel)
    {
        if (spec.ExtraOutputs.Count == 0) throw new ArgumentException("A model without a head needs at least one of ExtraOutputs.", nameof(spec));
        var scored = chain.Append(applyOnnxModel(OnnxOutputs(spec)));
        // ML.NET refuses a drop of no columns.
        return spec.TemporaryColumns.Count == 0 ? scored : scored.Append(mlContext.Transforms.DropColumns(spec.TemporaryColumns.ToArray()));
    }

    public override IReadOnlyList<PredictionColumn>? BatchedColumns => null;

    public override bool IsFittedChain(IReadOnlyList<ITransformer> parts) => false;
}
