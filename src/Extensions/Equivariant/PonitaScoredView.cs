using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Onnx.Batching;

namespace MLExtensions.Equivariant;

/// <summary>
/// <see cref="PonitaModel"/>'s <c>Transform</c>: the input rows with <c>Score</c> (and the predicted forces), scored in
/// blocks: each block's point clouds are concatenated into one graph and go to ONNX Runtime in one call, with the
/// same numbers as the per-row chain (which <c>PredictionEngine</c> and saved models use).
/// </summary>
internal sealed class PonitaScoredView : IDataView
{
    /// <summary>A block ends at this many rows or this many points, whichever comes first.</summary>
    private const int MaximumPoints = 20_000;

    private readonly IDataView _input;
    private readonly PonitaPotential _potential;
    private readonly PonitaInputContract _contract;
    private readonly BatchScoringOptions _options;
    private readonly int _scoreIndex, _forcesIndex;

    private PonitaScoredView(IDataView input, DataViewSchema schema, PonitaPotential potential, PonitaInputContract contract, BatchScoringOptions options)
    {
        _input = input;
        Schema = schema;
        _potential = potential;
        _contract = contract;
        _options = options;
        _scoreIndex = schema["Score"].Index;
        _forcesIndex = potential.Description.PredictedForcesColumnName is { } forces ? schema[forces].Index : -1;
    }

    /// <summary>
    /// The batched view, or null when the per-row chain's output is not the input plus <c>Score</c> (and the forces),
    /// e.g. when the input already has a column of one of those names; the caller then scores row by row.
    /// </summary>
    public static PonitaScoredView? TryCreate(IDataView input, DataViewSchema perRowSchema, PonitaPotential potential, PonitaInputContract contract, BatchScoringOptions options)
    {
        int inputs = input.Schema.Count;
        string[] added = potential.Description.PredictedForcesColumnName is { } forces ? ["Score", forces] : ["Score"];
        if (perRowSchema.Count != inputs + added.Length) return null;
        for (int i = 0; i < inputs; i++)
            if (perRowSchema[i].Name != input.Schema[i].Name || perRowSchema[i].IsHidden != input.Schema[i].IsHidden) return null;
        if (!perRowSchema.Skip(inputs).Select(c => c.Name).Order().SequenceEqual(added.Order())) return null;
        if (added.Any(name => input.Schema.GetColumnOrNull(name) is not null)) return null;
        return new PonitaScoredView(input, perRowSchema, potential, contract, options);
    }

    public DataViewSchema Schema { get; }

    public bool CanShuffle => _input.CanShuffle;

    public long? GetRowCount() => _input.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var active = Active(columnsNeeded);
        return new Cursor(this, _input.GetRowCursor(InputColumns(active), rand), active);
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    private bool[] Active(IEnumerable<DataViewSchema.Column> columnsNeeded)
    {
        var active = new bool[Schema.Count];
        foreach (var column in columnsNeeded) active[column.Index] = true;
        return active;
    }

    private bool Predicting(bool[] active) => active[_scoreIndex] || (_forcesIndex >= 0 && active[_forcesIndex]);

    private IEnumerable<DataViewSchema.Column> InputColumns(bool[] active)
    {
        var needed = Enumerable.Range(0, _input.Schema.Count).Where(i => active[i]).ToHashSet();
        if (Predicting(active))
        {
            needed.Add(_input.Schema[_contract.PositionsColumn].Index);
            needed.Add(_input.Schema[_contract.TypesColumn].Index);
        }
        return needed.Order().Select(i => _input.Schema[i]);
    }

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly PonitaScoredView _view;
        private readonly DataViewRowCursor _input;
        private readonly bool[] _active;
        private readonly ColumnBlock?[] _columns;
        private readonly bool _predict;
        private readonly ValueGetter<VBuffer<float>>? _positions;
        private readonly Func<float[]>? _types;
        private readonly ValueGetter<DataViewRowId> _readId;
        private readonly List<(float[] Positions, float[] Types)> _clouds = new();
        private readonly List<DataViewRowId> _ids = new();
        private readonly List<long> _batches = new();
        private IReadOnlyList<PonitaEvaluation> _results = [];
        private int _slot = -1;
        private long _position = -1;
        private bool _inputDone;

        public Cursor(PonitaScoredView view, DataViewRowCursor input, bool[] active)
        {
            _view = view;
            _input = input;
            _active = active;
            int capacity = view._options.BlockSize;
            _columns = new ColumnBlock?[view.Schema.Count];
            for (int i = 0; i < view._input.Schema.Count; i++)
                if (active[i]) _columns[i] = ColumnBlock.Create(input, view._input.Schema[i], capacity);
            _predict = view.Predicting(active);
            if (_predict)
            {
                _positions = input.GetGetter<VBuffer<float>>(view._input.Schema[view._contract.PositionsColumn]);
                _types = TypesReader(input, view._input.Schema[view._contract.TypesColumn]);
            }
            _readId = input.GetIdGetter();
        }

        public override DataViewSchema Schema => _view.Schema;

        public override long Position => _position;

        public override long Batch => _slot >= 0 && _slot < _ids.Count ? _batches[_slot] : 0;

        public override bool IsColumnActive(DataViewSchema.Column column) => _active[column.Index];

        public override bool MoveNext()
        {
            if (_slot + 1 >= _ids.Count)
            {
                if (_inputDone || !ReadBlock())
                {
                    _ids.Clear();
                    _slot = -1;
                    _position = -1;
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
            Delegate getter = column.Index < _view._input.Schema.Count ? _columns[column.Index]!.Getter(CurrentSlot)
                : column.Index == _view._scoreIndex ? (ValueGetter<float>)((ref float value) => value = _results[CurrentSlot()].Energy)
                : (ValueGetter<VBuffer<float>>)((ref VBuffer<float> value) =>
                {
                    var forces = _results[CurrentSlot()].Forces!;
                    var editor = VBufferEditor.Create(ref value, forces.Length);
                    forces.CopyTo(editor.Values);
                    value = editor.Commit();
                });
            return getter as ValueGetter<TValue>
                ?? throw new InvalidOperationException($"Column '{column.Name}' is {column.Type}; it cannot be read as {typeof(TValue).Name}.");
        }

        public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId id) => id = _ids[CurrentSlot()];

        protected override void Dispose(bool disposing)
        {
            if (disposing) _input.Dispose();
            base.Dispose(disposing);
        }

        private int CurrentSlot() => _slot >= 0 && _slot < _ids.Count ? _slot : throw new InvalidOperationException("The cursor is not on a row.");

        private bool ReadBlock()
        {
            _view._options.CancellationToken.ThrowIfCancellationRequested();
            _clouds.Clear();
            _ids.Clear();
            _batches.Clear();
            int points = 0;
            VBuffer<float> positions = default;
            while (_ids.Count < _view._options.BlockSize && points < MaximumPoints)
            {
                if (!_input.MoveNext())
                {
                    _inputDone = true;
                    break;
                }
                int slot = _ids.Count;
                foreach (var column in _columns) column?.Capture(slot);
                DataViewRowId id = default;
                _readId(ref id);
                _ids.Add(id);
                _batches.Add(_input.Batch);
                if (!_predict) continue;
                _positions!(ref positions);
                var x = positions.DenseValues().ToArray();
                var types = _types!();
                PonitaPotential.Check(x, types, _input.Position, _view._contract);
                _clouds.Add((x, types));
                points += x.Length / 3;
            }
            if (_ids.Count == 0) return false;
            _results = _predict ? _view._potential.EvaluateChecked(_clouds) : [];
            return true;
        }

        /// <summary>Reads the types column (Single or Int32 values) as floats.</summary>
        private static Func<float[]> TypesReader(DataViewRowCursor cursor, DataViewSchema.Column column)
        {
            if ((column.Type as VectorDataViewType)?.ItemType == NumberDataViewType.Int32)
            {
                var getter = cursor.GetGetter<VBuffer<int>>(column);
                VBuffer<int> buffer = default;
                return () =>
                {
                    getter(ref buffer);
                    return buffer.DenseValues().Select(v => (float)v).ToArray();
                };
            }
            var floats = cursor.GetGetter<VBuffer<float>>(column);
            VBuffer<float> values = default;
            return () =>
            {
                floats(ref values);
                return values.DenseValues().ToArray();
            };
        }
    }
}
