using Microsoft.ML.Data;
using Microsoft.ML.Transforms;

namespace MLExtensions.Onnx.Scoring;

// Stateless CustomMapping factories that reshape ONNX's [N,1] outputs (length-1 vectors in ML.NET) into the
// scalar columns ML.NET's evaluators require. Only the contract name and this assembly are saved with a
// model; ML.NET loads the assembly and creates the factory again on Model.Load.

/// <summary>Input of <see cref="RegressionOutputMapping"/>: the ONNX regression score.</summary>
public sealed class RawRegressionOutput
{
    /// <summary>The [1] score vector.</summary>
    [ColumnName(ScoringHeads.RawScore), VectorType(1)]
    public float[] RawScore { get; set; } = [];
}

/// <summary>Output of <see cref="RegressionOutputMapping"/>.</summary>
public sealed class RegressionOutput
{
    /// <summary>The predicted value.</summary>
    public float Score { get; set; }
}

/// <summary>Turns the ONNX regression score into the scalar <c>Score</c> column.</summary>
[CustomMappingFactoryAttribute(ContractName)]
public sealed class RegressionOutputMapping : CustomMappingFactory<RawRegressionOutput, RegressionOutput>
{
    /// <summary>The name saved with models.</summary>
    public const string ContractName = "MLExtensions.Scoring.RegressionOutput";

    /// <inheritdoc />
    public override Action<RawRegressionOutput, RegressionOutput> GetMapping() => (raw, output) => output.Score = raw.RawScore[0];
}

/// <summary>Input of <see cref="BinaryOutputMapping"/>: the ONNX logit and probability.</summary>
public sealed class RawBinaryOutput
{
    /// <summary>The [1] logit vector.</summary>
    [ColumnName(ScoringHeads.RawScore), VectorType(1)]
    public float[] RawScore { get; set; } = [];

    /// <summary>The [1] probability vector.</summary>
    [ColumnName(ScoringHeads.RawProbability), VectorType(1)]
    public float[] RawProbability { get; set; } = [];
}

/// <summary>Output of <see cref="BinaryOutputMapping"/>, as ML.NET's calibrated binary trainers produce it.</summary>
public sealed class BinaryOutput
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
public sealed class BinaryOutputMapping : CustomMappingFactory<RawBinaryOutput, BinaryOutput>
{
    /// <summary>The name saved with models.</summary>
    public const string ContractName = "MLExtensions.Scoring.BinaryOutput";

    /// <inheritdoc />
    public override Action<RawBinaryOutput, BinaryOutput> GetMapping() => (raw, output) =>
    {
        output.Score = raw.RawScore[0];
        output.Probability = raw.RawProbability[0];
        output.PredictedLabel = raw.RawScore[0] > 0;
    };
}

/// <summary>Input of <see cref="PredictedIndexMapping"/>: the ONNX arg-max.</summary>
public sealed class RawPredictedIndex
{
    /// <summary>The [1] class-index vector.</summary>
    [ColumnName(ScoringHeads.PredictedIndex), VectorType(1)]
    public uint[] PredictedIndex { get; set; } = [];
}

/// <summary>Output of <see cref="PredictedIndexMapping"/>: the zero-based class index as a scalar.</summary>
public sealed class PredictedIndexOutput
{
    /// <summary>The zero-based index of the most probable class.</summary>
    [ColumnName(PredictedIndexMapping.OutputColumn)]
    public uint PredictedIndex { get; set; }
}

/// <summary>Turns the ONNX class index into a scalar, which a value map then turns into the <c>PredictedLabel</c> key.</summary>
[CustomMappingFactoryAttribute(ContractName)]
public sealed class PredictedIndexMapping : CustomMappingFactory<RawPredictedIndex, PredictedIndexOutput>
{
    /// <summary>The name saved with models.</summary>
    public const string ContractName = "MLExtensions.Scoring.PredictedIndex";

    /// <summary>The temporary scalar column.</summary>
    public const string OutputColumn = "mlx_predicted_index_scalar";

    /// <inheritdoc />
    public override Action<RawPredictedIndex, PredictedIndexOutput> GetMapping() => (raw, output) => output.PredictedIndex = raw.PredictedIndex[0];
}
