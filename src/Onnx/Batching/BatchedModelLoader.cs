using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Onnx;
using MLExtensions.Onnx.Runtime;

namespace MLExtensions.Onnx.Batching;

/// <summary>
/// The prediction columns batched scoring makes for a fitted chain of a known layout (e.g. ApplyOnnxModel and the
/// transforms that shape its outputs), or null for any other chain.
/// </summary>
/// <param name="parts">The transformers of the chain, in order.</param>
internal delegate IReadOnlyList<PredictionColumn>? KnownChainColumns(IReadOnlyList<ITransformer> parts);

/// <summary>
/// Loads a model saved with <c>mlContext.Model.Save</c> and wraps every ONNX model in it for batched scoring: a
/// chain that <see cref="KnownChainColumns"/> recognises as a whole, any other ONNX transformer with its raw outputs.
/// </summary>
/// <remarks>
/// ML.NET's loader copies every ONNX model to a file in <c>MLContext.TempFilePath</c>. A recognised chain gets its
/// <c>ApplyOnnxModel</c> built again on the model in memory (<see cref="ModelFile"/>) and the loader's copy is deleted
/// at once, so the loaded model leaves nothing in the temp folder and saves from memory.
/// </remarks>
internal static class BatchedModelLoader
{
    /// <param name="mlContext">The ML.NET context; its GPU settings choose where ONNX Runtime runs.</param>
    /// <param name="stream">The saved model.</param>
    /// <param name="inputSchema">The saved input schema.</param>
    /// <param name="options">Block size and cancellation.</param>
    /// <param name="knownChains">Recognises the chains scored in blocks as a whole.</param>
    public static ITransformer Load(MLContext mlContext, Stream stream, out DataViewSchema inputSchema, BatchScoringOptions? options,
        KnownChainColumns knownChains)
    {
        var bytes = new MemoryStream();
        stream.CopyTo(bytes);
        bytes.Position = 0;
        ExitCleanup.WatchFolder(mlContext.TempFilePath);
        var loaded = LoadCopies(mlContext, bytes, out inputSchema);
        try
        {
            bytes.Position = 0;
            var onnxModels = new Queue<OnnxModelInfo>(OnnxModelInfo.ReadFromSavedModel(bytes));
            var rewritten = Rewrite(mlContext, loaded, inputSchema, onnxModels, DeviceOf(mlContext), options, knownChains);
            if (onnxModels.Count != 0)
                throw new InvalidDataException($"The saved model holds {onnxModels.Count} ONNX model(s) more than the loaded pipeline has ONNX transformers.");
            return rewritten;
        }
        catch
        {
            (loaded as IDisposable)?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// <c>mlContext.Model.Load</c>, tried again when ML.NET's copy of an ONNX model drew a name ONNX Runtime reads as
    /// its own format: ML.NET names the copies with <see cref="Path.GetRandomFileName"/>, one name in 32,768 ends in
    /// <c>.ort</c>, and ONNX Runtime then parses the ONNX bytes as an ORT flatbuffer and fails ("ORT model verification
    /// failed"). Another try draws other names.
    /// </summary>
    private static ITransformer LoadCopies(MLContext mlContext, MemoryStream bytes, out DataViewSchema inputSchema)
    {
        for (int attempt = 1; ; attempt++)
        {
            bytes.Position = 0;
            try
            {
                return mlContext.Model.Load(bytes, out inputSchema);
            }
            catch (Exception e) when (attempt < 4 && IsOrtFormatNameClash(e))
            {
            }
        }
    }

    /// <summary>Whether <paramref name="e"/> (or an exception inside it) is ONNX Runtime refusing ONNX bytes read as its ORT format.</summary>
    internal static bool IsOrtFormatNameClash(Exception e) => e.ToString().Contains("ORT model verification failed", StringComparison.Ordinal);

    /// <summary>
    /// Wraps every ONNX transformer of a loaded pipeline for batched scoring, in pipeline order (the order of the
    /// saved ONNX models). <paramref name="schema"/> is the transformer's input schema, carried along the chain.
    /// </summary>
    private static ITransformer Rewrite(MLContext mlContext, ITransformer transformer, DataViewSchema schema, Queue<OnnxModelInfo> onnxModels,
        (OnnxExecutionDevice Device, int GpuDeviceId) device, BatchScoringOptions? options, KnownChainColumns knownChains)
    {
        switch (transformer)
        {
            case TransformerChain<ITransformer> chain:
                var parts = chain.ToList();
                if (knownChains(parts) is { } columns && onnxModels.Count > 0 && parts[0] is OnnxTransformer loaderCopy)
                {
                    var chainModel = onnxModels.Dequeue();
                    var file = ModelFile.Create(chainModel.Model);
                    OnnxTransformer? inMemory = null;
                    try
                    {
                        inMemory = OnMemory(mlContext, loaderCopy, chainModel, file, schema);
                        var rebuilt = new TransformerChain<ITransformer>([inMemory, .. parts.Skip(1)]);
                        var batched = BatchedOnnxTransformer.ForColumns(rebuilt, schema, ownsPerRow: true, chainModel, columns, device.Device, device.GpuDeviceId, options, file);
                        loaderCopy.Dispose(); // deletes ML.NET's copy in the temp folder
                        return batched;
                    }
                    catch
                    {
                        inMemory?.Dispose();
                        file.Dispose();
                        throw;
                    }
                }
                var rewritten = new List<ITransformer>(parts.Count);
                foreach (var part in parts)
                {
                    rewritten.Add(Rewrite(mlContext, part, schema, onnxModels, device, options, knownChains));
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

    /// <summary>
    /// The loaded <paramref name="loaderCopy"/> built again on <paramref name="file"/>: the same inputs and outputs, and
    /// the GPU settings of <paramref name="mlContext"/> as ML.NET's loader applies them.
    /// </summary>
    private static OnnxTransformer OnMemory(MLContext mlContext, OnnxTransformer loaderCopy, OnnxModelInfo model, ModelFile file, DataViewSchema schema)
    {
        var outputs = loaderCopy.GetOutputSchema(schema).Where(c => schema.GetColumnOrNull(c.Name)?.Index != c.Index)
            .Select(c => c.Name).Where(model.OutputNames.Contains).Distinct().ToArray();
        return mlContext.Transforms.ApplyOnnxModel(outputs, model.InputNames.ToArray(), file.Path, mlContext.GpuDeviceId, mlContext.FallbackToCpu)
            .Fit(new SchemaOnlyDataView(schema));
    }

    private static (OnnxExecutionDevice, int) DeviceOf(MLContext mlContext) => mlContext.GpuDeviceId is int id
        ? (mlContext.FallbackToCpu ? OnnxExecutionDevice.CudaWithCpuFallback : OnnxExecutionDevice.Cuda, id)
        : (OnnxExecutionDevice.Cpu, 0);
}
