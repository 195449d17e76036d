using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLExtensions.Onnx.Lifetimes;

/// <summary>
/// A view over the rows a model scores (its <c>Transform</c> result) that refuses, with
/// <see cref="ObjectDisposedException"/>, new cursors, <c>MoveNext</c> and every getter once the model is disposed, and
/// never lets a getter reach the model's ONNX Runtime session after that.
/// </summary>
/// <remarks>
/// Over ML.NET's per-row chain, whose getters run ONNX Runtime, each getter call runs inside a lease of the model's
/// <see cref="Lifetime"/>, so disposing waits for a run in flight; a single cursor is asked for as a set of one, so that
/// ML.NET does not split it over worker threads that would score ahead outside any lease. Over a view that guards its
/// own session use (<see cref="ISessionGuardedView"/>: block scoring takes the session's lease around each run), a check
/// that the model is still open is enough. No lease is held while a cursor reads its input.
/// </remarks>
internal sealed class GuardedDataView : IDataView, ISessionGuardedView
{
    private readonly IDataView _inner;
    private readonly Lifetime _lifetime;
    private readonly bool _innerGuardsItself;

    public GuardedDataView(IDataView inner, Lifetime lifetime)
    {
        _inner = inner;
        _lifetime = lifetime;
        _innerGuardsItself = inner is ISessionGuardedView;
    }

    /// <summary>The guarded view (for tests).</summary>
    internal IDataView Inner => _inner;

    public DataViewSchema Schema => _inner.Schema;

    public bool CanShuffle => _inner.CanShuffle;

    public long? GetRowCount() => _inner.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        _lifetime.ThrowIfClosed();
        if (_innerGuardsItself) return Guard(_inner.GetRowCursor(columnsNeeded, rand));
        var columns = columnsNeeded.ToArray();
        var set = _inner.GetRowCursorSet(columns, 1, rand);
        if (set.Length == 1) return Guard(set[0]);
        foreach (var cursor in set) cursor.Dispose();
        return Guard(_inner.GetRowCursor(columns, rand));
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
    {
        _lifetime.ThrowIfClosed();
        return _inner.GetRowCursorSet(columnsNeeded, n, rand).Select(Guard).ToArray();
    }

    private DataViewRowCursor Guard(DataViewRowCursor cursor) => new GuardedCursor(cursor, _lifetime, _innerGuardsItself);

    private sealed class GuardedCursor(DataViewRowCursor inner, Lifetime lifetime, bool innerGuardsItself) : DataViewRowCursor
    {
        public override DataViewSchema Schema => inner.Schema;

        public override long Position => inner.Position;

        public override long Batch => inner.Batch;

        public override bool IsColumnActive(DataViewSchema.Column column) => inner.IsColumnActive(column);

        public override bool MoveNext()
        {
            lifetime.ThrowIfClosed();
            return inner.MoveNext();
        }

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) =>
            GuardedRow.Guard(inner.GetGetter<TValue>(column), lifetime, innerGuardsItself, inner);

        public override ValueGetter<DataViewRowId> GetIdGetter() => GuardedRow.Guard(inner.GetIdGetter(), lifetime, sessionFree: true, inner);

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}

/// <summary>
/// A view whose cursors use their ONNX Runtime session only inside the session's own lease and on the calling thread
/// (block scoring), so that a guard around it need only check that its owner is still open.
/// </summary>
internal interface ISessionGuardedView;
