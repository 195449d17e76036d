using Microsoft.ML;
using MLExtensions.Onnx.Runtime;

namespace MLExtensions.Onnx.Batching;

/// <summary>Entry point to batched scoring for ONNX models users bring.</summary>
/// <remarks>A saved pipeline loads for batched scoring with <c>mlContext.LoadWithBatchedScoring</c>.</remarks>
public static class BatchedScoringCatalog
{
    /// <summary>
    /// Like ML.NET's <c>ApplyOnnxModel</c> for any ONNX model whose inputs have a leading batch dimension, but
    /// <c>Transform</c> scores in blocks of rows. Output columns are the named ONNX outputs, as with <c>ApplyOnnxModel</c>.
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnNames">ONNX outputs to expose as columns.</param>
    /// <param name="inputColumnNames">ONNX inputs, fed from the columns of the same names.</param>
    /// <param name="modelFile">The ONNX model file.</param>
    /// <param name="device">Where ONNX Runtime runs. Default: CPU.</param>
    /// <param name="gpuDeviceId">The CUDA device ordinal.</param>
    /// <param name="options">Block size and cancellation.</param>
    public static BatchedOnnxEstimator ApplyOnnxModelBatched(this TransformsCatalog catalog, string[] outputColumnNames,
        string[] inputColumnNames, string modelFile, OnnxExecutionDevice device = OnnxExecutionDevice.Cpu, int gpuDeviceId = 0,
        BatchScoringOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(outputColumnNames);
        var model = OnnxModelInfo.Read(File.ReadAllBytes(modelFile));
        var execution = OnnxModelSession.Probe(device, gpuDeviceId);
        if (device == OnnxExecutionDevice.Cuda && !execution.UsesCuda)
            throw new InvalidOperationException($"ONNX Runtime cannot use CUDA device {gpuDeviceId}: {execution.FallbackReason}");
        var inner = catalog.ApplyOnnxModel(outputColumnNames, inputColumnNames, modelFile,
            execution.UsesCuda ? gpuDeviceId : null, device == OnnxExecutionDevice.CudaWithCpuFallback);
        return new BatchedOnnxEstimator(inner, model, outputColumnNames, device, gpuDeviceId, options);
    }
}
