using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLExtensions.Onnx.Lifetimes;

/// <summary>
/// A row from a model's row-to-row mapper (what <c>PredictionEngine</c> reads) whose getters use the model's resources
/// only inside a lease of its <see cref="Lifetime"/>: an engine used after its model was disposed throws
/// <see cref="ObjectDisposedException"/> instead of calling a freed ONNX Runtime session.
/// </summary>
internal sealed class GuardedRow : DataViewRow
{
    private readonly DataViewRow _inner;
    private readonly Lifetime _lifetime;
    private readonly IDisposable _tracking;

    public GuardedRow(DataViewRow inner, Lifetime lifetime)
    {
        _inner = inner;
        _lifetime = lifetime;
        _tracking = lifetime.Track(inner);
    }

    public override DataViewSchema Schema => _inner.Schema;

    public override long Position => _inner.Position;

    public override long Batch => _inner.Batch;

    public override bool IsColumnActive(DataViewSchema.Column column) => _inner.IsColumnActive(column);

    public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) => Guard(_inner.GetGetter<TValue>(column), _lifetime);

    public override ValueGetter<DataViewRowId> GetIdGetter() => _inner.GetIdGetter();

    /// <summary>The getter that reads through <paramref name="getter"/> inside a lease.</summary>
    public static ValueGetter<TValue> Guard<TValue>(ValueGetter<TValue> getter, Lifetime lifetime) => (ref TValue value) =>
    {
        using var lease = lifetime.Enter();
        getter(ref value);
    };

    protected override void Dispose(bool disposing)
    {
        if (disposing) _tracking.Dispose();
        base.Dispose(disposing);
    }
}

/// <summary>A model's row-to-row mapper whose rows are <see cref="GuardedRow"/>s.</summary>
internal sealed class GuardedRowToRowMapper : IRowToRowMapper
{
    private readonly IRowToRowMapper _inner;
    private readonly Lifetime _lifetime;

    public GuardedRowToRowMapper(IRowToRowMapper inner, Lifetime lifetime)
    {
        _inner = inner;
        _lifetime = lifetime;
    }

    public DataViewSchema InputSchema => _inner.InputSchema;

    public DataViewSchema OutputSchema => _inner.OutputSchema;

    public IEnumerable<DataViewSchema.Column> GetDependencies(IEnumerable<DataViewSchema.Column> dependingColumns) => _inner.GetDependencies(dependingColumns);

    public DataViewRow GetRow(DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns)
    {
        using var lease = _lifetime.Enter();
        return new GuardedRow(_inner.GetRow(input, activeColumns), _lifetime);
    }
}
