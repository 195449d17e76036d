using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Onnx.Scoring;

namespace MLExtensions.Onnx.Lifetimes;

/// <summary>
/// A row from a model's row-to-row mapper (what <c>PredictionEngine</c> reads) whose getters, which run ONNX Runtime,
/// run inside a lease of the model's <see cref="Lifetime"/>: an engine used after its model was disposed throws
/// <see cref="ObjectDisposedException"/> instead of calling a freed session, and disposing waits for a run in flight.
/// </summary>
internal sealed class GuardedRow(DataViewRow inner, Lifetime lifetime) : DataViewRow
{
    public override DataViewSchema Schema => inner.Schema;

    public override long Position => inner.Position;

    public override long Batch => inner.Batch;

    public override bool IsColumnActive(DataViewSchema.Column column) => inner.IsColumnActive(column);

    public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) => Guard(inner.GetGetter<TValue>(column), lifetime, sessionFree: false, inner);

    public override ValueGetter<DataViewRowId> GetIdGetter() => Guard(inner.GetIdGetter(), lifetime, sessionFree: true, inner);

    /// <summary>
    /// The getter that reads through <paramref name="getter"/> once <paramref name="lifetime"/> is known open: inside a
    /// lease when the getter may run the session, after a check only when it cannot (<paramref name="sessionFree"/>).
    /// When the graph refuses a NaN or infinite input (<see cref="OnnxOutputHeads.RequireFinite"/>), ONNX Runtime's error
    /// becomes the refusal that names the column and the row of <paramref name="row"/>.
    /// </summary>
    public static ValueGetter<TValue> Guard<TValue>(ValueGetter<TValue> getter, Lifetime lifetime, bool sessionFree, DataViewRow row) => sessionFree
        ? (ref TValue value) =>
        {
            lifetime.ThrowIfClosed();
            getter(ref value);
        }
    : (ref TValue value) =>
    {
        using var lease = lifetime.Enter();
        try
        {
            getter(ref value);
        }
        catch (Exception e) when (e is not InvalidDataException && NonFiniteInputs.Describes(e, out var input))
        {
            throw NonFiniteInputs.Refusal(input, row.Position, inner: e);
        }
    };

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }
}

/// <summary>A model's row-to-row mapper whose rows are <see cref="GuardedRow"/>s.</summary>
internal sealed class GuardedRowToRowMapper(IRowToRowMapper inner, Lifetime lifetime) : IRowToRowMapper
{
    public DataViewSchema InputSchema => inner.InputSchema;

    public DataViewSchema OutputSchema => inner.OutputSchema;

    public IEnumerable<DataViewSchema.Column> GetDependencies(IEnumerable<DataViewSchema.Column> dependingColumns) => inner.GetDependencies(dependingColumns);

    public DataViewRow GetRow(DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns)
    {
        lifetime.ThrowIfClosed();
        return new GuardedRow(inner.GetRow(input, activeColumns), lifetime);
    }
}
