using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Onnx;
using MLExtensions.Onnx.Runtime;
using MLExtensions.Onnx.Scoring;

namespace MLExtensions.Onnx.Batching;

/// <summary>Entry points to batched ONNX scoring for saved models and for ONNX models users bring.</summary>
public static class BatchedScoringCatalog
{
    /// <summary>
    /// Loads a model saved with <c>mlContext.Model.Save</c> and makes every ONNX model in it score in blocks:
    /// <c>var model = mlContext.LoadWithBatchedScoring("model.zip", out var schema);</c>
    /// </summary>
    /// <remarks>
    /// The result scores (and saves) like <c>mlContext.Model.Load</c>'s chain; only <c>Transform</c> is faster.
    /// ONNX Runtime runs on <c>mlContext.GpuDeviceId</c> (CUDA, falling back to the CPU when
    /// <c>mlContext.FallbackToCpu</c> is set), as ML.NET's own loading does. Transformer scopes of the saved chain
    /// are not kept: the result applies every transformer.
    /// </remarks>
    public static ITransformer LoadWithBatchedScoring(this MLContext mlContext, string filePath,
        out DataViewSchema inputSchema, BatchScoringOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        using var stream = File.OpenRead(filePath);
        return LoadWithBatchedScoring(mlContext, stream, out inputSchema, options);
    }

    /// <summary>Same as <see cref="LoadWithBatchedScoring(MLContext, string, out DataViewSchema, BatchScoringOptions?)"/> from a stream.</summary>
    public static ITransformer LoadWithBatchedScoring(this MLContext mlContext, Stream stream,
        out DataViewSchema inputSchema, BatchScoringOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(stream);
        var bytes = new MemoryStream();
        stream.CopyTo(bytes);
        bytes.Position = 0;
        var loaded = mlContext.Model.Load(bytes, out inputSchema);
        bytes.Position = 0;
        var onnxModels = new Queue<OnnxModelInfo>(OnnxModelInfo.ReadFromSavedModel(bytes));
        var rewritten = Rewrite(loaded, onnxModels, DeviceOf(mlContext), options);
        if (onnxModels.Count != 0)
            throw new InvalidDataException($"The saved model holds {onnxModels.Count} ONNX model(s) more than the loaded pipeline has ONNX transformers.");
        return rewritten;
    }

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

    /// <summary>Wraps a fitted per-row scoring chain (ending in a <see cref="ScoringHeads"/> head) for batched scoring.</summary>
    internal static BatchedOnnxTransformer ForHead(ITransformer perRow, bool ownsPerRow, OnnxModelInfo model, PredictionKind kind,
        OnnxExecutionDevice device, int gpuDeviceId, BatchScoringOptions? options)
    {
        var plan = OnnxBatchPlan.ForHead(model, kind, out var whyNot);
        return new BatchedOnnxTransformer(perRow, ownsPerRow, model, plan, whyNot, device, gpuDeviceId, options);
    }

    private static ITransformer Rewrite(ITransformer transformer, Queue<OnnxModelInfo> onnxModels, (OnnxExecutionDevice, int) device, BatchScoringOptions? options)
    {
        switch (transformer)
        {
            case TransformerChain<ITransformer> chain:
                var parts = chain.ToList();
                if (parts.Count > 0 && parts[0] is OnnxTransformer && onnxModels.Count > 0 && HeadKind(onnxModels.Peek()) is PredictionKind kind)
                    return ForHead(chain, ownsPerRow: true, onnxModels.Dequeue(), kind, device.Item1, device.Item2, options);
                return new TransformerChain<ITransformer>(parts.Select(p => Rewrite(p, onnxModels, device, options)).ToArray());
            case OnnxTransformer onnx when onnxModels.Count > 0:
                var model = onnxModels.Dequeue();
                return new BatchedOnnxTransformer(onnx, ownsPerRow: true, model,
                    OnnxBatchPlan.ForRawOutputs(model, model.OutputNames.Where(n => !n.StartsWith("mlnet.", StringComparison.Ordinal)).ToArray(), out var whyNot),
                    whyNot, device.Item1, device.Item2, options);
            default:
                return transformer;
        }
    }

    /// <summary>The head an ONNX model ends with, recognised by the output names <see cref="ScoringHeads"/> writes.</summary>
    private static PredictionKind? HeadKind(OnnxModelInfo model)
    {
        var outputs = model.OutputNames.ToHashSet(StringComparer.Ordinal);
        if (outputs.Contains(ScoringHeads.PredictedIndex) && outputs.Contains(ScoringHeads.ClassProbabilities)) return PredictionKind.MulticlassClassification;
        if (outputs.Contains(ScoringHeads.RawProbability) && outputs.Contains(ScoringHeads.RawScore)) return PredictionKind.BinaryClassification;
        if (outputs.Contains(ScoringHeads.RawScore)) return PredictionKind.Regression;
        return null;
    }

    private static (OnnxExecutionDevice, int) DeviceOf(MLContext mlContext) => mlContext.GpuDeviceId is int id
        ? (mlContext.FallbackToCpu ? OnnxExecutionDevice.CudaWithCpuFallback : OnnxExecutionDevice.Cuda, id)
        : (OnnxExecutionDevice.Cpu, 0);
}
