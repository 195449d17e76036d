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
        var rewritten = Rewrite(loaded, inputSchema, onnxModels, DeviceOf(mlContext), options);
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

    /// <summary>Wraps a fitted per-row scoring chain that cannot batch, saying why (shown by <see cref="BatchedOnnxTransformer.WhyNotBatched"/>).</summary>
    internal static BatchedOnnxTransformer PerRowOnly(ITransformer perRow, OnnxModelInfo model, OnnxExecutionDevice device, int gpuDeviceId, string whyNot) =>
        new(perRow, ownsPerRow: false, model, null, whyNot, device, gpuDeviceId, null);

    /// <summary>Wraps a fitted per-row scoring chain whose prediction columns batched scoring makes from the ONNX outputs as <paramref name="columns"/> say.</summary>
    internal static BatchedOnnxTransformer ForColumns(ITransformer perRow, bool ownsPerRow, OnnxModelInfo model, IReadOnlyList<PredictionColumn> columns,
        OnnxExecutionDevice device, int gpuDeviceId, BatchScoringOptions? options)
    {
        var plan = OnnxBatchPlan.ForColumns(model, columns, out var whyNot);
        return new BatchedOnnxTransformer(perRow, ownsPerRow, model, plan, whyNot, device, gpuDeviceId, options);
    }

    /// <summary>
    /// Wraps every ONNX transformer of a loaded pipeline for batched scoring, in pipeline order (the order of the
    /// saved ONNX models). <paramref name="schema"/> is the transformer's input schema, carried along the chain.
    /// </summary>
    private static ITransformer Rewrite(ITransformer transformer, DataViewSchema schema, Queue<OnnxModelInfo> onnxModels,
        (OnnxExecutionDevice Device, int GpuDeviceId) device, BatchScoringOptions? options)
    {
        switch (transformer)
        {
            case TransformerChain<ITransformer> chain:
                var parts = chain.ToList();
                if (PredictionHeads.BatchedColumnsOf(parts) is { } columns && onnxModels.Count > 0)
                    return ForColumns(chain, ownsPerRow: true, onnxModels.Dequeue(), columns, device.Device, device.GpuDeviceId, options);
                var rewritten = new List<ITransformer>(parts.Count);
                foreach (var part in parts)
                {
                    rewritten.Add(Rewrite(part, schema, onnxModels, device, options));
                    schema = part.GetOutputSchema(schema);
                }
                return new TransformerChain<ITransformer>(rewritten.ToArray());
            case OnnxTransformer onnx when onnxModels.Count > 0:
                var model = onnxModels.Dequeue();
                // The columns this transformer adds are the ONNX outputs it was asked for.
                var added = onnx.GetOutputSchema(schema).Where(c => !c.IsHidden && schema.GetColumnOrNull(c.Name)?.Index != c.Index)
                    .Select(c => c.Name).Intersect(model.OutputNames).ToArray();
                var plan = OnnxBatchPlan.ForRawOutputs(model, added, out var whyNot);
                return new BatchedOnnxTransformer(onnx, ownsPerRow: true, model, plan, whyNot, device.Device, device.GpuDeviceId, options);
            default:
                return transformer;
        }
    }

    private static (OnnxExecutionDevice, int) DeviceOf(MLContext mlContext) => mlContext.GpuDeviceId is int id
        ? (mlContext.FallbackToCpu ? OnnxExecutionDevice.CudaWithCpuFallback : OnnxExecutionDevice.Cuda, id)
        : (OnnxExecutionDevice.Cpu, 0);
}
