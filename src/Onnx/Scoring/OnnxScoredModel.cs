using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Onnx.Batching;
using MLExtensions.Onnx.Lifetimes;
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
/// (<see cref="OnnxModelInfo"/>). Like ML.NET's own chains, the model owns native resources: dispose it when done.
/// Results, rows and prediction engines created from it then throw <see cref="ObjectDisposedException"/>, and
/// disposing while another thread scores waits for that call to return. Note that ML.NET's <c>PredictionEngine</c>
/// disposes the transformer it was made from unless it is created with
/// <c>PredictionEngineOptions.OwnsTransformer = false</c>. The model keeps its ONNX bytes in memory: <c>Model.Save</c>
/// and <see cref="SaveOnnx"/> write those, whatever happens to the temp folder.
/// </remarks>
public abstract class OnnxScoredModel : ITransformer, IDisposable
{
    private readonly OnnxScoringChain _scoring;
    private readonly Lifetime _lifetime;

    /// <summary>Wraps a fitted scoring chain, which the model then owns.</summary>
    private protected OnnxScoredModel(OnnxScoringChain scoring)
    {
        _scoring = scoring ?? throw new ArgumentNullException(nameof(scoring));
        _lifetime = new Lifetime(this);
    }

    /// <summary>The ONNX Runtime provider that scores this model (shows when CUDA fell back to the CPU).</summary>
    public OnnxExecutionReport Execution => _scoring.Execution;

    /// <summary>The kind of prediction columns the model produces.</summary>
    public PredictionKind Kind => _scoring.Spec.Kind;

    /// <summary>Where ML.NET reads the model from (for tests).</summary>
    internal ModelFile ModelFile => _scoring.ModelFile;

    /// <summary>A copy of the serialised ONNX model.</summary>
    public byte[] GetOnnxModel() => _scoring.GetModelBytes();

    /// <summary>
    /// Writes the ONNX model to <paramref name="path"/>, for ONNX Runtime or any other ONNX consumer. The bytes go to a
    /// file beside it first, which then replaces <paramref name="path"/>: an existing file is never left half written.
    /// </summary>
    public void SaveOnnx(string path) => AtomicFile.WriteAllBytes(path, _scoring.GetModelBytes());

    /// <inheritdoc />
    public bool IsRowToRowMapper
    {
        get
        {
            using var lease = _lifetime.Enter();
            return ((ITransformer)_scoring.Transformer).IsRowToRowMapper;
        }
    }

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        using var lease = _lifetime.Enter();
        return _scoring.Batched.GetOutputSchema(inputSchema);
    }

    /// <summary>The per-row mapper (what <c>CreatePredictionEngine</c> uses: lowest single-row latency).</summary>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        using var lease = _lifetime.Enter();
        return new GuardedRowToRowMapper(((ITransformer)_scoring.Transformer).GetRowToRowMapper(inputSchema), _lifetime);
    }

    /// <summary>Scores <paramref name="input"/> lazily in blocks of rows, one ONNX Runtime call per block.</summary>
    public IDataView Transform(IDataView input) => Guarded(input, null);

    /// <summary>Same as <see cref="Transform(IDataView)"/> with another block size or a cancellation token.</summary>
    public IDataView Transform(IDataView input, BatchScoringOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return Guarded(input, options);
    }

    private IDataView Guarded(IDataView input, BatchScoringOptions? options)
    {
        using var lease = _lifetime.Enter();
        return new GuardedDataView(TransformInBlocks(input, options), _lifetime);
    }

    /// <summary>
    /// Scores <paramref name="input"/> in blocks (<paramref name="options"/> null: the defaults). A model whose inputs
    /// the generic batched path cannot group (e.g. point clouds of different sizes) overrides this with its own.
    /// </summary>
    protected virtual IDataView TransformInBlocks(IDataView input, BatchScoringOptions? options) =>
        options is null ? _scoring.Batched.Transform(input) : _scoring.Batched.Transform(input, options);

    /// <summary>The per-row ML.NET chain, for models that override <see cref="TransformInBlocks"/> (which runs inside the model's guard).</summary>
    protected ITransformer PerRowChain => _scoring.Transformer;

    /// <summary>Releases what a derived model holds besides the scoring chain.</summary>
    protected virtual void DisposeOwned()
    {
    }

    /// <summary>Scores one row at a time through ML.NET's <c>ApplyOnnxModel</c>, as the saved model does after a plain <c>Load</c>.</summary>
    public IDataView TransformPerRow(IDataView input)
    {
        using var lease = _lifetime.Enter();
        return new GuardedDataView(_scoring.Transformer.Transform(input), _lifetime);
    }

    void ICanSaveModel.Save(ModelSaveContext ctx)
    {
        using var lease = _lifetime.Enter();
        _scoring.Save(ctx);
    }

    /// <summary>Frees the model's native resources once the calls in flight on other threads have returned.</summary>
    public void Dispose()
    {
        if (!_lifetime.Close()) return;
        DisposeOwned();
        _scoring.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>The model's lifetime, for members of derived models that use what it owns.</summary>
    internal Lifetime Lifetime => _lifetime;

}
