using Microsoft.ML;
using Microsoft.ML.Transforms.Onnx;
using MLExtensions.Onnx.Runtime;

namespace MLExtensions.Onnx.Batching;

/// <summary>
/// The estimator of <see cref="BatchedScoringCatalog.ApplyOnnxModelBatched"/>: ML.NET's ONNX scoring estimator whose
/// fitted transformer scores in blocks.
/// </summary>
/// <remarks><b>Input and output columns.</b> As ML.NET's <c>ApplyOnnxModel</c>: inputs and outputs are named after the ONNX graph's.</remarks>
public sealed class BatchedOnnxEstimator : IEstimator<BatchedOnnxTransformer>
{
    private readonly OnnxScoringEstimator _inner;
    private readonly OnnxModelInfo _model;
    private readonly string[] _outputs;
    private readonly OnnxExecutionDevice _device;
    private readonly int _gpuDeviceId;
    private readonly BatchScoringOptions? _options;

    internal BatchedOnnxEstimator(OnnxScoringEstimator inner, OnnxModelInfo model, string[] outputs, OnnxExecutionDevice device, int gpuDeviceId, BatchScoringOptions? options)
    {
        _inner = inner;
        _model = model;
        _outputs = outputs;
        _device = device;
        _gpuDeviceId = gpuDeviceId;
        _options = options;
    }

    /// <inheritdoc />
    public BatchedOnnxTransformer Fit(IDataView input)
    {
        var perRow = _inner.Fit(input);
        var plan = OnnxBatchPlan.ForRawOutputs(_model, _outputs, out var whyNot);
        return new BatchedOnnxTransformer(perRow, ownsPerRow: true, _model, plan, whyNot, _device, _gpuDeviceId, _options);
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema) => _inner.GetOutputSchema(inputSchema);
}
