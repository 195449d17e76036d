using Microsoft.ML;
using MLExtensions.Onnx.Batching;

namespace MLExtensions.Onnx.Scoring;

/// <summary>Loads saved pipelines so that their ONNX models, MLExtensions models among them, score in blocks of rows.</summary>
public static class SavedModelCatalog
{
    /// <summary>
    /// Loads a model saved with <c>mlContext.Model.Save</c> and makes every ONNX model in it score in blocks:
    /// <c>var model = mlContext.LoadWithBatchedScoring("model.zip", out var schema);</c>
    /// </summary>
    /// <remarks>
    /// The result scores (and saves) like <c>mlContext.Model.Load</c>'s chain; only <c>Transform</c> is faster: an
    /// MLExtensions model's chain is scored in blocks as a whole (see <see cref="OnnxScoredModel"/>), any other ONNX
    /// transformer as <see cref="BatchedScoringCatalog.ApplyOnnxModelBatched"/> scores it.
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
        return BatchedModelLoader.Load(mlContext, stream, out inputSchema, options, PredictionHeadRegistry.BatchedColumnsOf);
    }
}
