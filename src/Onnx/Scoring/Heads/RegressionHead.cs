using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;
using Microsoft.ML.Transforms.Onnx;
using MLExtensions.Onnx.Batching;

namespace MLExtensions.Onnx.Scoring;

/// <summary>
/// <see cref="PredictionKind.Regression"/>: the scalar <c>Score</c> from <see cref="OnnxOutputHeads.RawScore"/>, and any
/// <see cref="OnnxScoringSpec.ExtraOutputs"/> as columns of their own names.
/// </summary>
/// <remarks>Chain: ApplyOnnxModel, <see cref="RegressionOutputMapping"/>, DropColumns.</remarks>
internal sealed class RegressionHead : PredictionHead
{
    public override PredictionKind Kind => PredictionKind.Regression;

    public override string[] OnnxOutputs(OnnxScoringSpec spec) => [OnnxOutputHeads.RawScore, .. spec.ExtraOutputs];

    public override SchemaShape Extend(MLContext mlContext, SchemaShape input, SchemaShape.Column? label) =>
        ScoringSchema.AddColumns<RegressionOutput>(mlContext, input);

    public override IEstimator<ITransformer> AppendTo(EstimatorChain<ITransformer> chain, MLContext mlContext, OnnxScoringSpec spec,
        Func<string[], OnnxScoringEstimator> applyOnnxModel) =>
        chain
            .Append(applyOnnxModel(OnnxOutputs(spec)))
            .Append(mlContext.Transforms.CustomMapping(new RegressionOutputMapping().GetMapping(), RegressionOutputMapping.ContractName))
            .Append(mlContext.Transforms.DropColumns([OnnxOutputHeads.RawScore, .. spec.TemporaryColumns]));

    /// <remarks>The extra outputs are not among them: they are not known from a loaded chain.</remarks>
    public override IReadOnlyList<PredictionColumn> BatchedColumns { get; } =
        [new ScalarPrediction<float, float>("Score", OnnxOutputHeads.RawScore, score => score)];

    public override bool IsFittedChain(IReadOnlyList<ITransformer> parts) => IsChainMapping<RawRegressionOutput>(parts, partCount: 3);
}

/// <summary>Input of <see cref="RegressionOutputMapping"/>: the ONNX regression score.</summary>
internal sealed class RawRegressionOutput
{
    /// <summary>The [1] score vector.</summary>
    [ColumnName(OnnxOutputHeads.RawScore), VectorType(1)]
    public float[] RawScore { get; set; } = [];
}

/// <summary>Output of <see cref="RegressionOutputMapping"/>.</summary>
internal sealed class RegressionOutput
{
    /// <summary>The predicted value.</summary>
    public float Score { get; set; }
}

/// <summary>Turns the ONNX regression score into the scalar <c>Score</c> column.</summary>
[CustomMappingFactoryAttribute(ContractName)]
internal sealed class RegressionOutputMapping : CustomMappingFactory<RawRegressionOutput, RegressionOutput>
{
    /// <summary>The name saved with models.</summary>
    public const string ContractName = "MLExtensions.Scoring.RegressionOutput";

    /// <inheritdoc />
    public override Action<RawRegressionOutput, RegressionOutput> GetMapping() => (raw, output) => output.Score = raw.RawScore[0];
}
