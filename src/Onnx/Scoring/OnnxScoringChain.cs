using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Onnx.Batching;
using MLExtensions.Onnx.Runtime;

namespace MLExtensions.Onnx.Scoring;

/// <summary>
/// Turns ONNX bytes into a fitted chain of ML.NET's own saveable transformers (ApplyOnnxModel, CustomMapping,
/// MapValue, DropColumns) that produces the standard prediction columns of a <see cref="PredictionKind"/>.
/// </summary>
/// <remarks>
/// ML.NET does not let outside assemblies save their own transformer state, so every MLExtensions model scores
/// through such a chain: it survives <c>mlContext.Model.Save</c>/<c>Load</c> and works with
/// <c>CreatePredictionEngine</c> and the evaluators. ML.NET's <c>ApplyOnnxModel</c> reads its model from a path
/// (again on every save): the chain keeps the model in memory and gives ML.NET a path to that memory
/// (<see cref="ModelFile"/>: nothing in the temp folder on Linux), so no temp-folder cleaner can make a save fail or
/// store another model. GPU id and CPU fallback are not saved by ML.NET; on <c>Load</c> they come from
/// <c>MLContext.GpuDeviceId</c> and <c>MLContext.FallbackToCpu</c>.
/// </remarks>
internal sealed class OnnxScoringChain : IDisposable
{
    private readonly ModelFile _modelFile;
    private readonly byte[] _model;

    private OnnxScoringChain(TransformerChain<ITransformer> transformer, DataViewSchema inputSchema, ModelFile modelFile, byte[] model, OnnxScoringSpec spec,
        OnnxExecutionReport execution)
    {
        Transformer = transformer;
        Batched = spec.Preparation is null && PredictionHeadRegistry.For(spec.Kind).BatchedColumns is { } columns
            ? BatchedOnnxTransformer.ForColumns(transformer, inputSchema, ownsPerRow: false, OnnxModelInfo.Read(model), columns, spec.Device, spec.GpuDeviceId, null, modelFile)
            : BatchedOnnxTransformer.PerRowOnly(transformer, OnnxModelInfo.Read(model), spec.Device, spec.GpuDeviceId,
                spec.Preparation is not null ? "the model prepares its inputs row by row" : $"the {spec.Kind} head has no batched columns", modelFile);
        _modelFile = modelFile;
        _model = model;
        Spec = spec;
        Execution = execution;
    }

    /// <summary>
    /// The fitted ML.NET chain: the per-row path, used by <c>PredictionEngine</c> and saved by <c>Model.Save</c>. Not
    /// guarded against disposal: <see cref="OnnxScoredModel"/> hands it out only behind its own guards.
    /// </summary>
    internal TransformerChain<ITransformer> Transformer { get; }

    /// <summary>The same chain scoring <c>Transform</c> in blocks of rows (one ONNX Runtime call per block).</summary>
    internal BatchedOnnxTransformer Batched { get; }

    /// <summary>What the chain was built from.</summary>
    public OnnxScoringSpec Spec { get; }

    /// <summary>The ONNX Runtime provider that scores the model.</summary>
    public OnnxExecutionReport Execution { get; }

    /// <summary>Where ML.NET reads the model (for tests).</summary>
    internal ModelFile ModelFile => _modelFile;

    /// <summary>A copy of the serialised ONNX model.</summary>
    public byte[] GetModelBytes() => (byte[])_model.Clone();

    /// <summary>Builds and fits the chain against <paramref name="inputSchemaSource"/>, whose rows are not read.</summary>
    /// <param name="mlContext">The ML.NET context.</param>
    /// <param name="inputSchemaSource">Data with the input columns (typically the training data).</param>
    /// <param name="spec">The model and its column contract.</param>
    public static OnnxScoringChain Fit(MLContext mlContext, IDataView inputSchemaSource, OnnxScoringSpec spec)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(inputSchemaSource);
        ArgumentNullException.ThrowIfNull(spec);
        var model = (byte[])spec.Model.Clone();
        CheckContract(model, spec);
        ExitCleanup.WatchFolder(mlContext.TempFilePath); // where ML.NET will copy this model when it is loaded again

        var execution = OnnxModelSession.Probe(spec.Device, spec.GpuDeviceId);
        if (spec.Device == OnnxExecutionDevice.Cuda && !execution.UsesCuda)
            throw new InvalidOperationException($"ONNX Runtime cannot use CUDA device {spec.GpuDeviceId}: {execution.FallbackReason}");
        int? gpu = execution.UsesCuda ? spec.GpuDeviceId : null;

        var file = ModelFile.Create(model);
        try
        {
            var estimator = BuildEstimator(mlContext, file.Path, spec, gpu, fallbackToCpu: spec.Device == OnnxExecutionDevice.CudaWithCpuFallback);
            var fitted = estimator.Fit(inputSchemaSource);
            return new OnnxScoringChain(new TransformerChain<ITransformer>(((IEnumerable<ITransformer>)fitted).ToArray()), inputSchemaSource.Schema, file, model, spec, execution);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Saves the per-row chain, its model read from memory.</summary>
    internal void Save(ModelSaveContext ctx)
    {
        _modelFile.Restore(_model);
        ((ICanSaveModel)Transformer).Save(ctx);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Batched.Dispose();
        Transformer.Dispose();
        _modelFile.Dispose();
    }

    private static IEstimator<ITransformer> BuildEstimator(MLContext ml, string modelPath, OnnxScoringSpec spec, int? gpu, bool fallbackToCpu)
    {
        var inputs = spec.InputColumns.ToArray();
        var chain = new EstimatorChain<ITransformer>();
        if (spec.Preparation is { } preparation) chain = chain.Append(preparation);
        return PredictionHeadRegistry.For(spec.Kind).AppendTo(chain, ml, spec,
            outputs => ml.Transforms.ApplyOnnxModel(outputs, inputs, modelPath, gpu, fallbackToCpu));
    }

    private static void CheckContract(byte[] model, OnnxScoringSpec spec)
    {
        var info = OnnxModelInfo.Read(model);
        var missingInputs = spec.InputColumns.Except(info.InputNames).ToArray();
        if (missingInputs.Length > 0)
            throw new ArgumentException($"The ONNX model has no input named {string.Join(", ", missingInputs.Select(n => $"'{n}'"))}; its inputs are {string.Join(", ", info.InputNames)}.", nameof(spec));
        var missingOutputs = PredictionHeadRegistry.For(spec.Kind).OnnxOutputs(spec).Except(info.OutputNames).ToArray();
        if (missingOutputs.Length > 0)
            throw new ArgumentException($"The ONNX model lacks the {spec.Kind} head output(s) {string.Join(", ", missingOutputs)}; finish the graph with OnnxOutputHeads.", nameof(spec));
    }
}
