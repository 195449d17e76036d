using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Onnx.Batching;
using MLExtensions.Onnx.Runtime;

namespace MLExtensions.Onnx.Scoring;

/// <summary>
/// Base of every fitted MLExtensions model: an <see cref="ITransformer"/> that scores through its ONNX export
/// (see <see cref="OnnxScoringChain"/>) and saves as that chain.
/// </summary>
/// <remarks>
/// <c>Transform</c> scores in blocks of rows (<see cref="BatchScoringOptions.BlockSize"/>, one ONNX Runtime call per
/// block); <c>CreatePredictionEngine</c> scores per row. After <c>mlContext.Model.Load</c> the model comes back as
/// ML.NET's <c>TransformerChain</c>, which scores identically one row at a time; load it with
/// <c>mlContext.LoadWithBatchedScoring(path, out schema)</c> to score in blocks again. The facts a derived model exposes are also kept in the ONNX model's metadata
/// (<see cref="OnnxModelInfo"/>). Like ML.NET's own chains, the model owns native resources and a temporary
/// model file: dispose it when done. Note that ML.NET's <c>PredictionEngine</c> disposes the transformer it was
/// made from unless it is created with <c>PredictionEngineOptions.OwnsTransformer = false</c>.
/// </remarks>
public abstract class OnnxScoredModel : ITransformer, IDisposable
{
    private readonly OnnxScoringChain _scoring;
    private bool _disposed;

    /// <summary>Wraps a fitted scoring chain, which the model then owns.</summary>
    protected OnnxScoredModel(OnnxScoringChain scoring) => _scoring = scoring ?? throw new ArgumentNullException(nameof(scoring));

    /// <summary>The ONNX Runtime provider that scores this model (shows when CUDA fell back to the CPU).</summary>
    public OnnxExecutionReport Execution => _scoring.Execution;

    /// <summary>The kind of prediction columns the model produces.</summary>
    public PredictionKind Kind => _scoring.Spec.Kind;

    /// <summary>The temporary model file ML.NET scores from (for tests).</summary>
    internal string ModelPath => _scoring.ModelPath;

    /// <summary>A copy of the serialised ONNX model.</summary>
    public byte[] GetOnnxModel() => _scoring.GetModelBytes();

    /// <summary>Writes the ONNX model to <paramref name="path"/>, for ONNX Runtime or any other ONNX consumer.</summary>
    public void SaveOnnx(string path) => File.WriteAllBytes(path, _scoring.GetModelBytes());

    /// <inheritdoc />
    public bool IsRowToRowMapper => Chain.IsRowToRowMapper;

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => Batched.GetOutputSchema(inputSchema);

    /// <summary>The per-row mapper (what <c>CreatePredictionEngine</c> uses: lowest single-row latency).</summary>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => Chain.GetRowToRowMapper(inputSchema);

    /// <summary>Scores <paramref name="input"/> lazily in blocks of rows, one ONNX Runtime call per block.</summary>
    public IDataView Transform(IDataView input) => TransformInBlocks(input, null);

    /// <summary>Same as <see cref="Transform(IDataView)"/> with another block size or a cancellation token.</summary>
    public IDataView Transform(IDataView input, BatchScoringOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return TransformInBlocks(input, options);
    }

    /// <summary>
    /// Scores <paramref name="input"/> in blocks (<paramref name="options"/> null: the defaults). A model whose inputs
    /// the generic batched path cannot group (e.g. point clouds of different sizes) overrides this with its own.
    /// </summary>
    protected virtual IDataView TransformInBlocks(IDataView input, BatchScoringOptions? options) =>
        options is null ? Batched.Transform(input) : Batched.Transform(input, options);

    /// <summary>The per-row ML.NET chain, for models that override <see cref="TransformInBlocks"/>.</summary>
    protected ITransformer PerRowChain => Chain;

    /// <summary>Releases what a derived model holds besides the scoring chain.</summary>
    protected virtual void DisposeOwned()
    {
    }

    /// <summary>Scores one row at a time through ML.NET's <c>ApplyOnnxModel</c>, as the saved model does after a plain <c>Load</c>.</summary>
    public IDataView TransformPerRow(IDataView input) => Chain.Transform(input);

    void ICanSaveModel.Save(ModelSaveContext ctx) => Chain.Save(ctx);

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        DisposeOwned();
        _scoring.Dispose();
        GC.SuppressFinalize(this);
    }

    private ITransformer Chain
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _scoring.Transformer;
        }
    }

    private BatchedOnnxTransformer Batched
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _scoring.Batched;
        }
    }
}
