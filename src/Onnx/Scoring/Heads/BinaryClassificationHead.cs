using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;
using Microsoft.ML.Transforms.Onnx;
using MLExtensions.Onnx.Batching;

namespace MLExtensions.Onnx.Scoring;

/// <summary>
/// <see cref="PredictionKind.BinaryClassification"/>: <c>Score</c> (the logit), <c>Probability</c> and the boolean
/// <c>PredictedLabel</c>, from <see cref="OnnxOutputHeads.RawScore"/> and <see cref="OnnxOutputHeads.RawProbability"/>.
/// </summary>
/// <remarks>Chain: ApplyOnnxModel, <see cref="BinaryOutputMapping"/>, DropColumns.</remarks>
internal sealed class BinaryClassificationHead : PredictionHead
{
    public override PredictionKind Kind => PredictionKind.BinaryClassification;

    /// <summary>The predicted label of a logit: positive, i.e. a probability above one half.</summary>
    public static bool PredictedLabel(float logit) => logit > 0;

    public override string[] OnnxOutputs(OnnxScoringSpec spec) => [OnnxOutputHeads.RawScore, OnnxOutputHeads.RawProbability];

    public override SchemaShape Extend(MLContext mlContext, SchemaShape input, SchemaShape.Column? label) =>
        ScoringSchema.AddColumns<BinaryOutput>(mlContext, input);

    public override IEstimator<ITransformer> AppendTo(EstimatorChain<ITransformer> chain, MLContext mlContext, OnnxScoringSpec spec,
        Func<string[], OnnxScoringEstimator> applyOnnxModel)
    {
        RejectExtraOutputs(spec);
        return chain
            .Append(applyOnnxModel(OnnxOutputs(spec)))
            .Append(mlContext.Transforms.CustomMapping(new BinaryOutputMapping().GetMapping(), BinaryOutputMapping.ContractName))
            .Append(mlContext.Transforms.DropColumns(OnnxOutputHeads.RawScore, OnnxOutputHeads.RawProbability));
    }

    public override IReadOnlyList<PredictionColumn> BatchedColumns { get; } =
    [
        new ScalarPrediction<float, float>("Score", OnnxOutputHeads.RawScore, logit => logit),
        new ScalarPrediction<float, float>("Probability", OnnxOutputHeads.RawProbability, probability => probability),
        new ScalarPrediction<float, bool>("PredictedLabel", OnnxOutputHeads.RawScore, PredictedLabel),
    ];

    public override bool IsFittedChain(IReadOnlyList<ITransformer> parts) => IsChainMapping<RawBinaryOutput>(parts, partCount: 3);
}

/// <summary>Input of <see cref="BinaryOutputMapping"/>: the ONNX logit and probability.</summary>
internal sealed class RawBinaryOutput
{
    /// <summary>The [1] logit vector.</summary>
    [ColumnName(OnnxOutputHeads.RawScore), VectorType(1)]
    public float[] RawScore { get; set; } = [];

    /// <summary>The [1] probability vector.</summary>
    [ColumnName(OnnxOutputHeads.RawProbability), VectorType(1)]
    public float[] RawProbability { get; set; } = [];
}

/// <summary>Output of <see cref="BinaryOutputMapping"/>, as ML.NET's calibrated binary trainers produce it.</summary>
internal sealed class BinaryOutput
{
    /// <summary>The logit.</summary>
    public float Score { get; set; }

    /// <summary>The probability of the positive class.</summary>
    public float Probability { get; set; }

    /// <summary>True when the logit is positive (probability above one half).</summary>
    public bool PredictedLabel { get; set; }
}

/// <summary>Turns the ONNX binary outputs into <c>Score</c>, <c>Probability</c> and <c>PredictedLabel</c>.</summary>
[CustomMappingFactoryAttribute(ContractName)]
internal sealed class BinaryOutputMapping : CustomMappingFactory<RawBinaryOutput, BinaryOutput>
{
    /// <summary>The name saved with models.</summary>
    public const string ContractName = "MLExtensions.Scoring.BinaryOutput";

    /// <inheritdoc />
    public override Action<RawBinaryOutput, BinaryOutput> GetMapping() => (raw, output) =>
    {
        output.Score = raw.RawScore[0];
        output.Probability = raw.RawProbability[0];
        output.PredictedLabel = BinaryClassificationHead.PredictedLabel(raw.RawScore[0]);
    };
}
