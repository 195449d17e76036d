using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Onnx.Batching;

namespace MLExtensions.Equivariant;

/// <summary>
/// <see cref="PonitaModel"/>'s <c>Transform</c>: the input rows with <c>Score</c> (and the predicted forces), scored in
/// blocks: each block's point clouds are concatenated into one graph and go to ONNX Runtime in one call, with the
/// numbers of the per-row chain (which <c>PredictionEngine</c> and saved models use) up to float32 rounding: sums over
/// the edges of one large graph round differently in the last bits (forces: a few ulps where contributions cancel).
/// </summary>
internal sealed class PonitaScoredView : IDataView, MLExtensions.Onnx.Lifetimes.ISessionGuardedView
{
    /// <summary>
    /// A block ends at the options' block size or when its edges (bounded by Σ N²) times O·H reach this many values,
    /// whichever comes first: the per-edge tensors of a block then stay within a few tens of megabytes, where one
    /// ONNX Runtime call still runs from cache instead of memory (blocks of 1,000 aspirin molecules scored 3× slower
    /// than one molecule at a time).
    /// </summary>
    private const long MaximumEdgeValues = 1L << 18;

    private readonly IDataView _input;
    private readonly PonitaPotential _potential;
    private readonly PonitaInputContract _contract;
    private readonly BatchScoringOptions _options;
    private readonly int _scoreIndex;

    private PonitaScoredView(IDataView input, DataViewSchema schema, PonitaPotential potential, PonitaInputContract contract, BatchScoringOptions options)
    {
        _input = input;
        Schema = schema;
        _potential = potential;
        _contract = contract;
        _options = options;
        _scoreIndex = schema["Score"].Index;
    }

    /// <summary>
    /// The batched view, or null when the per-row chain's output is not the input plus <c>Score</c> (and the forces),
    /// e.g. when the input already has a column of one of those names; the caller then scores row by row.
    /// </summary>
    public static PonitaScoredView? TryCreate(IDataView input, DataViewSchema perRowSchema, PonitaPotential potential, PonitaInputContract contract, BatchScoringOptions options)
    {
        int inputs = input.Schema.Count;
        var d = potential.Description;
        string[] added = ["Score", .. new[] { d.PredictedForcesColumnName, d.PredictedStressColumnName, d.PredictedAtomEnergiesColumnName }.OfType<string>()];
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

    private bool Predicting(bool[] active) => active.Skip(_input.Schema.Count).Any(a => a);

    private IEnumerable<DataViewSchema.Column> InputColumns(bool[] active)
    {
        var needed = Enumerable.Range(0, _input.Schema.Count).Where(i => active[i]).ToHashSet();
        if (Predicting(active))
        {
            needed.Add(_input.Schema[_contract.PositionsColumn].Index);
            needed.Add(_input.Schema[_contract.TypesColumn].Index);
            if (_contract.CellColumn is { } cell) needed.Add(_input.Schema[cell].Index);
        }
        return needed.Order().Select(i => _input.Schema[i]);
    }

    private sealed class Cursor : BlockCursor
    {
        private readonly PonitaScoredView _view;
        private readonly ValueGetter<VBuffer<float>>? _positions;
        private readonly Func<float[]>? _types;
        private readonly List<(float[] Positions, float[] Types)> _clouds = new();
        private readonly ValueGetter<VBuffer<float>>? _cell;
        private readonly List<float[]?> _cells = new();
        private VBuffer<float> _cellBuffer;
        private readonly long _edgeBudget;
        private IReadOnlyList<PonitaEvaluation> _results = [];
        private long _edges;
        private VBuffer<float> _buffer;

        public Cursor(PonitaScoredView view, DataViewRowCursor input, bool[] active)
            : base(view.Schema, input, active, view._input.Schema.Count, BlockArrays.Capacity(view._options.BlockSize, view._input.GetRowCount()))
        {
            _view = view;
            if (ComputesColumns)
            {
                _positions = input.GetGetter<VBuffer<float>>(view._input.Schema[view._contract.PositionsColumn]);
                _types = TypesReader(input, view._input.Schema[view._contract.TypesColumn]);
                if (view._contract.CellColumn is { } cell) _cell = input.GetGetter<VBuffer<float>>(view._input.Schema[cell]);
            }
            var description = view._potential.Description;
            _edgeBudget = Math.Max(1, MaximumEdgeValues / ((long)description.NumberOfOrientations * description.HiddenSize));
        }

        protected override CancellationToken Cancellation => _view._options.CancellationToken;

        protected override Delegate ComputedGetter(DataViewSchema.Column column)
        {
            if (column.Index == _view._scoreIndex) return (ValueGetter<float>)((ref float value) => value = _results[CurrentSlot()].Energy);
            // A row without a volume has no stress: NaN, as the per-row chain's ONNX graph gives it.
            var description = _view._potential.Description;
            Func<PonitaEvaluation, float[]> values = column.Name == description.PredictedStressColumnName ? r => r.Stress ?? NoStress
                : column.Name == description.PredictedAtomEnergiesColumnName ? r => r.AtomEnergies!
                : r => r.Forces!;
            return (ValueGetter<VBuffer<float>>)((ref VBuffer<float> value) =>
            {
                var vector = values(_results[CurrentSlot()]);
                var editor = VBufferEditor.Create(ref value, vector.Length);
                vector.CopyTo(editor.Values);
                value = editor.Commit();
            });
        }

        private static readonly float[] NoStress = Enumerable.Repeat(float.NaN, 9).ToArray();

        protected override void StartBlock()
        {
            _clouds.Clear();
            _cells.Clear();
            _edges = 0;
        }

        /// <summary>Checks and keeps the row's point cloud; the block ends once its edges (at most Σ N²) reach the budget.</summary>
        protected override bool TakeRow(int slot)
        {
            if (!ComputesColumns) return true;
            _positions!(ref _buffer);
            var x = _buffer.DenseValues().ToArray();
            var types = _types!();
            PonitaPotential.Check(x, types, Input.Position, _view._contract);
            float[]? cell = null;
            if (_cell is not null)
            {
                _cell(ref _cellBuffer);
                cell = PointCloudChecks.ValidateCell(_cellBuffer.DenseValues().ToArray(), Input.Position, _view._contract.CellColumn!);
            }
            _clouds.Add((x, types));
            _cells.Add(cell);
            _edges += (long)(x.Length / 3) * (x.Length / 3);
            return _edges < _edgeBudget;
        }

        protected override void FinishBlock(int count) => _results = ComputesColumns ? _view._potential.EvaluateChecked(_clouds, _cell is null ? null : _cells) : [];

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
