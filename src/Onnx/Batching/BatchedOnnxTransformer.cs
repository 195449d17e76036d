using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Onnx.Runtime;

namespace MLExtensions.Onnx.Batching;

/// <summary>
/// Scores an ONNX model in blocks of rows (one ONNX Runtime call per block) while behaving, and saving, exactly
/// like the per-row ML.NET transformer it wraps.
/// </summary>
/// <remarks>
/// <para><b>Input and output columns.</b> The same as the wrapped transformer: the ONNX inputs are read from the
/// columns of the same names; the prediction columns have the per-row path's names, types, slot names and key
/// values, and the same values.</para>
/// <para><see cref="Transform(IDataView)"/> is batched. <c>CreatePredictionEngine</c> uses
/// <see cref="GetRowToRowMapper"/>, which is the per-row path (lowest single-row latency), and
/// <c>mlContext.Model.Save</c> writes the per-row chain, which ML.NET can load anywhere; load it back with
/// <c>mlContext.LoadWithBatchedScoring</c> to score in blocks again. Models whose inputs have no leading batch
/// dimension score per row.</para>
/// </remarks>
public sealed class BatchedOnnxTransformer : ITransformer, IDisposable
{
    private readonly ITransformer _perRow;
    private readonly bool _ownsPerRow;
    private readonly OnnxBatchPlan? _plan;
    private readonly Lazy<OnnxModelSession>? _session;
    private readonly BatchScoringOptions _options;
    private bool _disposed;

    internal BatchedOnnxTransformer(ITransformer perRow, bool ownsPerRow, OnnxModelInfo model, OnnxBatchPlan? plan, string? whyNotBatched,
        OnnxExecutionDevice device, int gpuDeviceId, BatchScoringOptions? options)
    {
        _perRow = perRow;
        _ownsPerRow = ownsPerRow;
        _plan = plan;
        WhyNotBatched = whyNotBatched;
        _options = (options ?? new BatchScoringOptions()).Validated();
        if (plan is not null)
        {
            var bytes = model.Model;
            _session = new Lazy<OnnxModelSession>(() => OnnxModelSession.Create(bytes, device, gpuDeviceId), LazyThreadSafetyMode.ExecutionAndPublication);
        }
    }

    /// <summary>Wraps a fitted per-row chain whose prediction columns batched scoring makes from the ONNX outputs as <paramref name="columns"/> say.</summary>
    internal static BatchedOnnxTransformer ForColumns(ITransformer perRow, bool ownsPerRow, OnnxModelInfo model, IReadOnlyList<PredictionColumn> columns,
        OnnxExecutionDevice device, int gpuDeviceId, BatchScoringOptions? options)
    {
        var plan = OnnxBatchPlan.ForColumns(model, columns, out var whyNot);
        return new BatchedOnnxTransformer(perRow, ownsPerRow, model, plan, whyNot, device, gpuDeviceId, options);
    }

    /// <summary>Wraps a fitted per-row chain that cannot batch, saying why (shown by <see cref="WhyNotBatched"/>).</summary>
    internal static BatchedOnnxTransformer PerRowOnly(ITransformer perRow, OnnxModelInfo model, OnnxExecutionDevice device, int gpuDeviceId, string whyNot) =>
        new(perRow, ownsPerRow: false, model, null, whyNot, device, gpuDeviceId, null);

    /// <summary>The per-row transformer this one wraps (what is saved).</summary>
    public ITransformer PerRowTransformer => _perRow;

    /// <summary>True when <see cref="Transform(IDataView)"/> scores in blocks.</summary>
    public bool IsBatched => _plan is not null;

    /// <summary>Why the model scores per row, when it does.</summary>
    public string? WhyNotBatched { get; }

    /// <summary>Rows per ONNX Runtime call.</summary>
    public int BlockSize => _options.BlockSize;

    /// <summary>The provider that runs the batched session (created on first use).</summary>
    public OnnxExecutionReport? Execution => _session?.Value.Execution;

    /// <inheritdoc />
    public bool IsRowToRowMapper => _perRow.IsRowToRowMapper;

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        var perRow = _perRow.GetOutputSchema(inputSchema);
        return BlocksCover(inputSchema, perRow) ? BatchedOnnxDataView.BuildSchema(inputSchema, perRow, _plan!) : perRow;
    }

    /// <inheritdoc />
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => _perRow.GetRowToRowMapper(inputSchema);

    /// <summary>Scores <paramref name="input"/> lazily, one block of rows per ONNX Runtime call.</summary>
    public IDataView Transform(IDataView input) => Transform(input, _options);

    /// <summary>Same as <see cref="Transform(IDataView)"/> with other block size or a cancellation token.</summary>
    public IDataView Transform(IDataView input, BatchScoringOptions options)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(options);
        ObjectDisposedException.ThrowIf(_disposed, this);
        // The per-row schema check also validates the input columns, with ML.NET's messages.
        var perRowSchema = _perRow.GetOutputSchema(input.Schema);
        if (!BlocksCover(input.Schema, perRowSchema)) return _perRow.Transform(input);
        return new BatchedOnnxDataView(input, perRowSchema, _plan!, Session, options.Validated());
    }

    /// <summary>
    /// Whether blocks make every column the per-row path adds to <paramref name="input"/>. A chain can add more than its
    /// plan knows (a regression chain's extra ONNX outputs are not known from a loaded chain); it then scores per row
    /// rather than lose a column.
    /// </summary>
    private bool BlocksCover(DataViewSchema input, DataViewSchema perRow)
    {
        if (_plan is null) return false;
        var made = _plan.Columns.Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        return perRow.Where(c => !c.IsHidden).All(c => made.Contains(c.Name) || input.GetColumnOrNull(c.Name) is { IsHidden: false });
    }

    void ICanSaveModel.Save(ModelSaveContext ctx) => _perRow.Save(ctx);

    /// <summary>The session, for views created earlier: they must not use it once the model is disposed.</summary>
    private Microsoft.ML.OnnxRuntime.InferenceSession Session()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _session!.Value.Session;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_session is { IsValueCreated: true }) _session.Value.Dispose();
        if (_ownsPerRow) (_perRow as IDisposable)?.Dispose();
    }
}
