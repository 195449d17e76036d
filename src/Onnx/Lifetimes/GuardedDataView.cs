using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLExtensions.Onnx.Lifetimes;

/// <summary>
/// A view over the rows a model scores (its <c>Transform</c> result) that uses the model's resources only inside a
/// lease of its <see cref="Lifetime"/>: once the model is disposed, new cursors, <c>MoveNext</c> and every getter throw
/// <see cref="ObjectDisposedException"/>, and a model disposed while a cursor scores waits for that call to return.
/// </summary>
/// <remarks>
/// A single cursor over ML.NET's per-row chain is asked for as a set of one, so that ML.NET does not split it over
/// worker threads that would score ahead outside any lease; views that score on the calling thread
/// (<see cref="IScoresOnCallingThread"/>) are asked directly. Cursors still open when the model is disposed are disposed
/// with it.
/// </remarks>
internal sealed class GuardedDataView : IDataView, IScoresOnCallingThread
{
    private readonly IDataView _inner;
    private readonly Lifetime _lifetime;

    public GuardedDataView(IDataView inner, Lifetime lifetime)
    {
        _inner = inner;
        _lifetime = lifetime;
    }

    /// <summary>The guarded view (for tests).</summary>
    internal IDataView Inner => _inner;

    public DataViewSchema Schema => _inner.Schema;

    public bool CanShuffle => _inner.CanShuffle;

    public long? GetRowCount() => _inner.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        using var lease = _lifetime.Enter();
        if (_inner is IScoresOnCallingThread) return new GuardedCursor(_inner.GetRowCursor(columnsNeeded, rand), _lifetime);
        var columns = columnsNeeded.ToArray();
        var set = _inner.GetRowCursorSet(columns, 1, rand);
        if (set.Length == 1) return new GuardedCursor(set[0], _lifetime);
        foreach (var cursor in set) cursor.Dispose();
        return new GuardedCursor(_inner.GetRowCursor(columns, rand), _lifetime);
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
    {
        using var lease = _lifetime.Enter();
        return _inner.GetRowCursorSet(columnsNeeded, n, rand).Select(c => (DataViewRowCursor)new GuardedCursor(c, _lifetime)).ToArray();
    }

    private sealed class GuardedCursor : DataViewRowCursor
    {
        private readonly DataViewRowCursor _inner;
        private readonly Lifetime _lifetime;
        private readonly IDisposable _tracking;

        public GuardedCursor(DataViewRowCursor inner, Lifetime lifetime)
        {
            _inner = inner;
            _lifetime = lifetime;
            _tracking = lifetime.Track(inner);
        }

        public override DataViewSchema Schema => _inner.Schema;

        public override long Position => _inner.Position;

        public override long Batch => _inner.Batch;

        public override bool IsColumnActive(DataViewSchema.Column column) => _inner.IsColumnActive(column);

        public override bool MoveNext()
        {
            using var lease = _lifetime.Enter();
            return _inner.MoveNext();
        }

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) =>
            GuardedRow.Guard(_inner.GetGetter<TValue>(column), _lifetime);

        public override ValueGetter<DataViewRowId> GetIdGetter() => _inner.GetIdGetter();

        protected override void Dispose(bool disposing)
        {
            if (disposing) _tracking.Dispose();
            base.Dispose(disposing);
        }
    }
}

/// <summary>
/// A view whose cursors compute on the thread that calls them (no worker threads scoring ahead), so that a lease around
/// each call covers every use of the model.
/// </summary>
internal interface IScoresOnCallingThread;
