using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using MLExtensions.Onnx.Runtime;

namespace MLExtensions.Onnx.Batching;

/// <summary>
/// The output of batched scoring: the input's columns plus the prediction columns, computed lazily one block of
/// rows per ONNX Runtime call.
/// </summary>
/// <remarks>
/// A cursor reads up to a block of rows ahead from its input cursor, keeping the values of the columns asked for,
/// runs the model once on the block, and serves the rows one by one. Memory is bounded by the block size; shuffled
/// and parallel cursors are those of the input, so rows come in the same order as through the per-row path.
/// </remarks>
internal sealed class BatchedOnnxDataView : IDataView, Lifetimes.ISessionGuardedView
{
    private readonly IDataView _input;
    private readonly OnnxBatchPlan _plan;
    private readonly Func<OnnxModelSession> _session;
    private readonly BatchScoringOptions _options;
    private readonly int _inputColumnCount;

    /// <param name="input">The rows to score.</param>
    /// <param name="perRowSchema">The per-row path's output schema (types and annotations of the predictions).</param>
    /// <param name="plan">How to feed and read the model.</param>
    /// <param name="session">Gives the session (created on first use); the owner guards this view against its disposal.</param>
    /// <param name="options">Block size and cancellation.</param>
    public BatchedOnnxDataView(IDataView input, DataViewSchema perRowSchema, OnnxBatchPlan plan, Func<OnnxModelSession> session, BatchScoringOptions options)
    {
        _input = input;
        _plan = plan;
        _session = session;
        _options = options;
        _inputColumnCount = input.Schema.Count;
        Schema = BuildSchema(input.Schema, perRowSchema, plan);
    }

    public DataViewSchema Schema { get; }

    public bool CanShuffle => _input.CanShuffle;

    /// <summary>The input's columns, then the predictions with the types and annotations of the per-row path.</summary>
    public static DataViewSchema BuildSchema(DataViewSchema input, DataViewSchema perRowSchema, OnnxBatchPlan plan)
    {
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(input);
        foreach (var column in plan.Columns)
        {
            var reference = perRowSchema.GetColumnOrNull(column.Name)
                ?? throw new InvalidOperationException($"The per-row scoring path has no column '{column.Name}'.");
            builder.AddColumn(column.Name, reference.Type, reference.Annotations);
        }
        return builder.ToSchema();
    }

    public long? GetRowCount() => _input.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var (inputColumns, active) = Needs(columnsNeeded);
        return new Cursor(this, _input.GetRowCursor(inputColumns, rand), active);
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
    {
        var (inputColumns, active) = Needs(columnsNeeded);
        return _input.GetRowCursorSet(inputColumns, n, rand).Select(c => (DataViewRowCursor)new Cursor(this, c, active)).ToArray();
    }

    private (List<DataViewSchema.Column> Input, bool[] Active) Needs(IEnumerable<DataViewSchema.Column> columnsNeeded)
    {
        var active = new bool[Schema.Count];
        foreach (var column in columnsNeeded) active[column.Index] = true;
        var input = new HashSet<int>(Enumerable.Range(0, _inputColumnCount).Where(i => active[i]));
        if (active.Skip(_inputColumnCount).Any(a => a))
            foreach (var spec in _plan.Inputs)
                input.Add(_input.Schema[spec.OnnxName].Index);
        return (input.Order().Select(i => _input.Schema[i]).ToList(), active);
    }

    private sealed class Cursor : BlockCursor
    {
        private readonly BatchedOnnxDataView _view;
        private readonly InputBlock[] _onnxInputs;
        private readonly Dictionary<string, OutputBlock> _outputs = new(StringComparer.Ordinal);
        private readonly string[] _inputNames;
        private readonly string[] _outputNames;

        public Cursor(BatchedOnnxDataView view, DataViewRowCursor input, bool[] active)
            : base(view.Schema, input, active, view._inputColumnCount, BlockArrays.Capacity(view._options.BlockSize, view._input.GetRowCount()))
        {
            _view = view;
            _onnxInputs = ComputesColumns
                ? view._plan.Inputs.Select(s => InputBlock.Create(input, view._input.Schema[s.OnnxName], s, Capacity)).ToArray()
                : [];
            _inputNames = view._plan.Inputs.Select(s => s.OnnxName).ToArray();
            _outputNames = view._plan.OutputTypes.Keys.ToArray();
            foreach (var (name, type) in view._plan.OutputTypes) _outputs[name] = OutputBlock.Create(type);
        }

        protected override CancellationToken Cancellation => _view._options.CancellationToken;

        protected override Delegate ComputedGetter(DataViewSchema.Column column)
        {
            var prediction = _view._plan.Columns[column.Index - _view._inputColumnCount];
            return prediction.Getter(CurrentSlot, _outputs[prediction.OnnxOutput]);
        }

        protected override bool TakeRow(int slot)
        {
            foreach (var input in _onnxInputs) input.Capture(slot, Input.Position);
            return true;
        }

        protected override void FinishBlock(int count)
        {
            if (!ComputesColumns) return;
            var session = _view._session();
            var tensors = _onnxInputs.Select(i => i.ToTensor(count)).ToArray();
            try
            {
                using var lease = session.Enter();
                using var runOptions = new RunOptions();
                using var results = session.Session.Run(runOptions, _inputNames, tensors, _outputNames);
                for (int i = 0; i < _outputNames.Length; i++) _outputs[_outputNames[i]].Fill(results[i], count);
            }
            catch (OnnxRuntimeException e) when (Scoring.NonFiniteInputs.Describes(e, out _))
            {
                // The graph refused a NaN or infinite input (OnnxOutputHeads.RequireFinite): name the column, slot and row.
                throw _onnxInputs.Select(i => i.FindNonFinite(count, e)).FirstOrDefault(r => r is not null) ?? (Exception)e;
            }
            finally
            {
                foreach (var tensor in tensors) tensor.Dispose();
            }
        }
    }
}
