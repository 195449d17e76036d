using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;
using MLExtensions.Onnx.Lifetimes;
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
/// <para>Dispose it when done: it owns an ONNX Runtime session (and, when loaded, the per-row chain and its model).
/// Results, rows and engines created from it then throw <see cref="ObjectDisposedException"/>; disposing while another
/// thread scores waits for that call to return.</para>
/// </remarks>
public sealed class BatchedOnnxTransformer : ITransformer, IDisposable
{
    private readonly ITransformer _perRow;
    private readonly bool _ownsPerRow;
    private readonly OnnxBatchPlan? _plan;
    private readonly Lazy<OnnxModelSession>? _session;
    private readonly BatchScoringOptions _options;
    private readonly ModelFile? _modelFile;
    private readonly byte[] _model;
    private readonly Lifetime _lifetime;

    /// <param name="perRow">The fitted per-row transformer (what is saved).</param>
    /// <param name="ownsPerRow">Dispose <paramref name="perRow"/> (and <paramref name="modelFile"/>) with this transformer.</param>
    /// <param name="model">The ONNX model <paramref name="perRow"/> runs.</param>
    /// <param name="plan">How blocks are fed and read, or null to score per row.</param>
    /// <param name="whyNotBatched">Why there is no plan.</param>
    /// <param name="device">Where the block session runs.</param>
    /// <param name="gpuDeviceId">The CUDA device ordinal.</param>
    /// <param name="options">Block size and cancellation.</param>
    /// <param name="modelFile">The file <paramref name="perRow"/> reads its model from, restored before every save; null when unknown.</param>
    internal BatchedOnnxTransformer(ITransformer perRow, bool ownsPerRow, OnnxModelInfo model, OnnxBatchPlan? plan, string? whyNotBatched,
        OnnxExecutionDevice device, int gpuDeviceId, BatchScoringOptions? options, ModelFile? modelFile = null)
    {
        _perRow = perRow;
        _ownsPerRow = ownsPerRow;
        _modelFile = modelFile;
        _model = model.Model;
        _lifetime = new Lifetime(this);
        _plan = plan;
        WhyNotBatched = whyNotBatched;
        _options = (options ?? new BatchScoringOptions()).Validated();
        if (plan is not null)
        {
            var bytes = model.Model;
            _session = new Lazy<OnnxModelSession>(() => OnnxModelSession.Create(bytes, device, gpuDeviceId), LazyThreadSafetyMode.ExecutionAndPublication);
        }
    }

    /// <summary>
    /// Wraps a fitted per-row chain whose prediction columns batched scoring makes from the ONNX outputs as
    /// <paramref name="columns"/> say. It scores per row when, on <paramref name="inputSchema"/> (the chain's input),
    /// the chain adds a column those do not make.
    /// </summary>
    internal static BatchedOnnxTransformer ForColumns(ITransformer perRow, DataViewSchema inputSchema, bool ownsPerRow, OnnxModelInfo model,
        IReadOnlyList<PredictionColumn> columns, OnnxExecutionDevice device, int gpuDeviceId, BatchScoringOptions? options, ModelFile? modelFile = null)
    {
        var plan = OnnxBatchPlan.ForColumns(model, columns, out var whyNot);
        if (plan is not null && Uncovered(plan, inputSchema, perRow) is { Length: > 0 } missing)
            (plan, whyNot) = (null, $"the chain adds column(s) {string.Join(", ", missing.Select(c => $"'{c}'"))} that block scoring does not make");
        return new BatchedOnnxTransformer(perRow, ownsPerRow, model, plan, whyNot, device, gpuDeviceId, options, modelFile);
    }

    /// <summary>Wraps a fitted per-row chain that cannot batch, saying why (shown by <see cref="WhyNotBatched"/>).</summary>
    internal static BatchedOnnxTransformer PerRowOnly(ITransformer perRow, OnnxModelInfo model, OnnxExecutionDevice device, int gpuDeviceId, string whyNot,
        ModelFile? modelFile = null) =>
        new(perRow, ownsPerRow: false, model, null, whyNot, device, gpuDeviceId, null, modelFile);

    /// <summary>The per-row transformer this one wraps (what is saved); not guarded against disposal.</summary>
    internal ITransformer PerRowTransformer => _perRow;

    /// <summary>True when <see cref="Transform(IDataView)"/> scores in blocks.</summary>
    public bool IsBatched => _plan is not null;

    /// <summary>Why the model scores per row, when it does.</summary>
    public string? WhyNotBatched { get; }

    /// <summary>Rows per ONNX Runtime call.</summary>
    public int BlockSize => _options.BlockSize;

    /// <summary>The provider that runs the batched session (created on first use).</summary>
    public OnnxExecutionReport? Execution
    {
        get
        {
            if (_session is null) return null;
            using var lease = _lifetime.Enter();
            return _session.Value.Execution;
        }
    }

    /// <inheritdoc />
    public bool IsRowToRowMapper => _perRow.IsRowToRowMapper;

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        using var lease = _lifetime.Enter();
        var perRow = _perRow.GetOutputSchema(inputSchema);
        return BlocksCover(inputSchema) ? BatchedOnnxDataView.BuildSchema(inputSchema, perRow, _plan!) : perRow;
    }

    /// <inheritdoc />
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        using var lease = _lifetime.Enter();
        return new GuardedRowToRowMapper(_perRow.GetRowToRowMapper(inputSchema), _lifetime);
    }

    /// <summary>Scores <paramref name="input"/> lazily, one block of rows per ONNX Runtime call.</summary>
    public IDataView Transform(IDataView input) => Transform(input, _options);

    /// <summary>Same as <see cref="Transform(IDataView)"/> with other block size or a cancellation token.</summary>
    public IDataView Transform(IDataView input, BatchScoringOptions options)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(options);
        using var lease = _lifetime.Enter();
        // The per-row schema check also validates the input columns, with ML.NET's messages.
        var perRowSchema = _perRow.GetOutputSchema(input.Schema);
        var scored = BlocksCover(input.Schema)
            ? new BatchedOnnxDataView(input, perRowSchema, _plan!, BlockSession, options.Validated())
            : _perRow.Transform(input);
        return new GuardedDataView(scored, _lifetime);
    }

    /// <summary>
    /// Whether blocks make every column the per-row path adds to <paramref name="input"/>. The wrapper is built only
    /// when they do on the chain's own input, but another input can differ (a column named like a model output); the
    /// per-row path then scores rather than lose or misplace a column.
    /// </summary>
    private bool BlocksCover(DataViewSchema input) => _plan is not null && Uncovered(_plan, input, _perRow).Length == 0;

    /// <summary>
    /// The columns where block scoring would differ from <paramref name="perRow"/> on <paramref name="input"/>: a visible
    /// column the chain makes that <paramref name="plan"/> does not, or an input column the chain removes. What a part
    /// makes is what its output schema holds at a new position (ML.NET's row-to-row transformers keep their input's
    /// columns in place and append; a replaced column stays behind, hidden), so a model output named like an input
    /// column counts as made, whatever its type.
    /// </summary>
    private static string[] Uncovered(OnnxBatchPlan plan, DataViewSchema input, ITransformer perRow)
    {
        var planned = plan.Columns.Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        var made = new HashSet<string>(StringComparer.Ordinal);
        var schema = input;
        foreach (var part in perRow as IEnumerable<ITransformer> ?? [perRow])
        {
            var next = part.GetOutputSchema(schema);
            // A column selection only removes columns; the ones it keeps move up, which is not making them.
            if (part is not ColumnSelectingTransformer)
                made.UnionWith(next.Where(c => !c.IsHidden && schema.GetColumnOrNull(c.Name)?.Index != c.Index).Select(c => c.Name));
            schema = next;
        }
        var output = schema.Where(c => !c.IsHidden).Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        return output.Where(name => made.Contains(name) && !planned.Contains(name))
            .Concat(input.Where(c => !c.IsHidden && !output.Contains(c.Name)).Select(c => c.Name))
            .ToArray();
    }

    /// <summary>
    /// The block session, created on first use inside a lease, so that <see cref="Dispose"/> never misses one created
    /// while it runs; the caller then takes the session's own lease around each run.
    /// </summary>
    private OnnxModelSession BlockSession()
    {
        using var lease = _lifetime.Enter();
        return _session!.Value;
    }

    /// <summary>Saves the per-row chain, its model read from memory (never from a file something else may have removed).</summary>
    void ICanSaveModel.Save(ModelSaveContext ctx)
    {
        using var lease = _lifetime.Enter();
        _modelFile?.Restore(_model);
        _perRow.Save(ctx);
    }

    /// <summary>Disposes the session and, when owned, the per-row chain, after the calls in flight have returned.</summary>
    public void Dispose()
    {
        if (!_lifetime.Close()) return;
        if (_session is { IsValueCreated: true }) _session.Value.Dispose();
        if (_ownsPerRow)
        {
            (_perRow as IDisposable)?.Dispose();
            _modelFile?.Dispose();
        }
    }
}
