using MLExtensions.Onnx.Runtime;

namespace MLExtensions.Onnx.Scoring;

/// <summary>What <see cref="OnnxScoringChain.Fit"/> needs to score an exported model inside ML.NET.</summary>
internal sealed class OnnxScoringSpec
{
    /// <summary>The serialised ONNX model, ending in one of the <see cref="OnnxOutputHeads"/>.</summary>
    public required byte[] Model { get; init; }

    /// <summary>The kind of prediction columns to produce.</summary>
    public required PredictionKind Kind { get; init; }

    /// <summary>The input columns; each feeds the ONNX graph input of the same name.</summary>
    public required IReadOnlyList<string> InputColumns { get; init; }

    /// <summary>
    /// Transforms that run before the ONNX model, e.g. to check and reshape the inputs (they must be saveable ML.NET
    /// transforms). The batched path scores one row at a time when there are any. Default: none.
    /// </summary>
    public Microsoft.ML.IEstimator<Microsoft.ML.ITransformer>? Preparation { get; init; }

    /// <summary>ONNX outputs exposed as columns of the same names besides the head (regression and multiclass heads). Default: none.</summary>
    public IReadOnlyList<string> ExtraOutputs { get; init; } = [];

    /// <summary>Columns the preparation made for the ONNX model, dropped after scoring. Default: none.</summary>
    public IReadOnlyList<string> TemporaryColumns { get; init; } = [];

    /// <summary>The classes, for <see cref="PredictionKind.MulticlassClassification"/>.</summary>
    public ClassLabels? Classes { get; init; }

    /// <summary>Where ONNX Runtime runs the model. Default: <see cref="OnnxExecutionDevice.Cpu"/>.</summary>
    public OnnxExecutionDevice Device { get; init; } = OnnxExecutionDevice.Cpu;

    /// <summary>The CUDA device ordinal. Default: 0.</summary>
    public int GpuDeviceId { get; init; }
}
