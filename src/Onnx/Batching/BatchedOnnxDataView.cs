using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;

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
internal sealed class BatchedOnnxDataView : IDataView
{
    private readonly IDataView _input;
    private readonly OnnxBatchPlan _plan;
    private readonly Func<InferenceSession> _session;
    private readonly BatchScoringOptions _options;
    private readonly int _inputColumnCount;

    /// <param name="input">The rows to score.</param>
    /// <param name="perRowSchema">The per-row path's output schema (types and annotations of the predictions).</param>
    /// <param name="plan">How to feed and read the model.</param>
    /// <param name="session">Gives the session; throws <see cref="ObjectDisposedException"/> once its owner is disposed.</param>
    /// <param name="options">Block size and cancellation.</param>
    public BatchedOnnxDataView(IDataView input, DataViewSchema perRowSchema, OnnxBatchPlan plan, Func<InferenceSession> session, BatchScoringOptions options)
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

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly BatchedOnnxDataView _view;
        private readonly DataViewRowCursor _input;
        private readonly bool[] _active;
        private readonly ColumnBlock?[] _columns;
        private readonly InputBlock[] _onnxInputs;
        private readonly Dictionary<string, OutputBlock> _outputs = new(StringComparer.Ordinal);
        private readonly string[] _inputNames;
        private readonly string[] _outputNames;
        private readonly bool _predict;
        private readonly long[] _batches;
        private readonly DataViewRowId[] _ids;
        private readonly ValueGetter<DataViewRowId> _readId;
        private int _count;
        private int _slot = -1;
        private long _position = -1;
        private bool _inputDone;

        public Cursor(BatchedOnnxDataView view, DataViewRowCursor input, bool[] active)
        {
            _view = view;
            _input = input;
            _active = active;
            int capacity = view._options.BlockSize;
            _columns = new ColumnBlock?[view.Schema.Count];
            for (int i = 0; i < view._inputColumnCount; i++)
                if (active[i]) _columns[i] = ColumnBlock.Create(input, view._input.Schema[i], capacity);
            _predict = active.Skip(view._inputColumnCount).Any(a => a);
            _onnxInputs = _predict
                ? view._plan.Inputs.Select(s => InputBlock.Create(input, view._input.Schema[s.OnnxName], s, capacity)).ToArray()
                : [];
            _inputNames = view._plan.Inputs.Select(s => s.OnnxName).ToArray();
            _outputNames = view._plan.OutputTypes.Keys.ToArray();
            foreach (var (name, type) in view._plan.OutputTypes) _outputs[name] = OutputBlock.Create(type);
            _batches = new long[capacity];
            _ids = new DataViewRowId[capacity];
            _readId = input.GetIdGetter();
        }

        public override DataViewSchema Schema => _view.Schema;

        public override long Position => _position < -1 ? -1 : _position;

        public override long Batch => _slot >= 0 && _slot < _count ? _batches[_slot] : 0;

        public override bool IsColumnActive(DataViewSchema.Column column) => _active[column.Index];

        public override bool MoveNext()
        {
            if (_position < -1) return false; // finished earlier
            if (_slot + 1 >= _count)
            {
                if (_inputDone || !ReadBlock())
                {
                    // As ML.NET requires of a finished cursor: no current row, Position −1 (and nothing to get).
                    _count = 0;
                    _slot = -1;
                    _position = -2;
                    return false;
                }
                _slot = -1;
            }
            _slot++;
            _position++;
            return true;
        }

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (!_active[column.Index]) throw new InvalidOperationException($"Column '{column.Name}' was not requested from this cursor.");
            Delegate getter = column.Index < _view._inputColumnCount
                ? _columns[column.Index]!.Getter(CurrentSlot)
                : PredictionGetter(_view._plan.Columns[column.Index - _view._inputColumnCount]);
            return getter as ValueGetter<TValue>
                ?? throw new InvalidOperationException($"Column '{column.Name}' is {column.Type}; it cannot be read as {typeof(TValue).Name}.");
        }

        public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId id) => id = _ids[CurrentSlot()];

        protected override void Dispose(bool disposing)
        {
            if (disposing) _input.Dispose();
            base.Dispose(disposing);
        }

        private Delegate PredictionGetter(PredictionColumn column) => column.Getter(CurrentSlot, _outputs[column.OnnxOutput]);

        private int CurrentSlot() => _slot >= 0 && _slot < _count
            ? _slot
            : throw new InvalidOperationException("The cursor is not on a row.");

        /// <summary>Reads the next block of rows and scores it; false when the input is exhausted.</summary>
        private bool ReadBlock()
        {
            _view._options.CancellationToken.ThrowIfCancellationRequested();
            int capacity = _view._options.BlockSize;
            int count = 0;
            _count = 0; // until the block is complete and scored, no row of it may be served
            while (count < capacity && _input.MoveNext())
            {
                foreach (var column in _columns) column?.Capture(count);
                foreach (var input in _onnxInputs) input.Capture(count, _input.Position);
                _readId(ref _ids[count]);
                _batches[count] = _input.Batch;
                count++;
            }
            if (count < capacity) _inputDone = true;
            if (count == 0) return false;
            if (_predict) Score(count);
            _count = count;
            return true;
        }

        private void Score(int count)
        {
            var session = _view._session();
            var tensors = _onnxInputs.Select(i => i.ToTensor(count)).ToArray();
            try
            {
                using var runOptions = new RunOptions();
                using var results = session.Run(runOptions, _inputNames, tensors, _outputNames);
                for (int i = 0; i < _outputNames.Length; i++) _outputs[_outputNames[i]].Fill(results[i], count);
            }
            finally
            {
                foreach (var tensor in tensors) tensor.Dispose();
            }
        }
    }
}
