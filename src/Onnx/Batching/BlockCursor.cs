using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLExtensions.Onnx.Batching;

/// <summary>
/// A cursor that reads its input a block of rows at a time, keeps the block's active input columns, lets a derived
/// class compute its own columns for the whole block at once, and then serves the rows one by one. Both batched
/// scoring views (fixed-size ONNX inputs, and point clouds of any size) are built on it.
/// </summary>
/// <remarks>The schema's first columns are the input's, in order; the derived class owns the columns after them.</remarks>
internal abstract class BlockCursor : DataViewRowCursor
{
    private readonly DataViewSchema _schema;
    private readonly bool[] _active;
    private readonly ColumnBlock?[] _columns;
    private readonly int _inputColumnCount;
    private long[] _batches;
    private DataViewRowId[] _ids;
    private readonly ValueGetter<DataViewRowId> _readId;
    private int _count;
    private int _slot = -1;
    private long _position = -1;
    private bool _inputDone;

    protected BlockCursor(DataViewSchema schema, DataViewRowCursor input, bool[] active, int inputColumnCount, int capacity)
    {
        _schema = schema;
        Input = input;
        _active = active;
        _inputColumnCount = inputColumnCount;
        Capacity = capacity;
        _columns = new ColumnBlock?[schema.Count];
        for (int i = 0; i < inputColumnCount; i++)
            if (active[i]) _columns[i] = ColumnBlock.Create(input, input.Schema[i], capacity);
        _batches = BlockArrays.Allocate<long>(capacity);
        _ids = BlockArrays.Allocate<DataViewRowId>(capacity);
        _readId = input.GetIdGetter();
    }

    /// <summary>The input cursor, positioned on the row being taken during <see cref="TakeRow"/>.</summary>
    protected DataViewRowCursor Input { get; }

    /// <summary>The most rows one block holds (its buffers grow to it as rows arrive: <see cref="BlockArrays"/>).</summary>
    protected int Capacity { get; }

    /// <summary>True when a column after the input's is active, i.e. something must be computed.</summary>
    protected bool ComputesColumns => _active.Skip(_inputColumnCount).Any(a => a);

    public override DataViewSchema Schema => _schema;

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
        Delegate getter = column.Index < _inputColumnCount ? _columns[column.Index]!.Getter(CurrentSlot) : ComputedGetter(column);
        return getter as ValueGetter<TValue>
            ?? throw new InvalidOperationException($"Column '{column.Name}' is {column.Type}; it cannot be read as {typeof(TValue).Name}.");
    }

    public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId id) => id = _ids[CurrentSlot()];

    protected override void Dispose(bool disposing)
    {
        if (disposing) Input.Dispose();
        base.Dispose(disposing);
    }

    /// <summary>The slot of the current row in the block.</summary>
    protected int CurrentSlot() => _slot >= 0 && _slot < _count ? _slot : throw new InvalidOperationException("The cursor is not on a row.");

    /// <summary>The getter of one of the derived class's columns (reading the current slot through <see cref="CurrentSlot"/>).</summary>
    protected abstract Delegate ComputedGetter(DataViewSchema.Column column);

    /// <summary>Called before a block is read.</summary>
    protected virtual void StartBlock()
    {
    }

    /// <summary>Takes what the derived class needs of the input's current row into <paramref name="slot"/>; false ends the block after this row.</summary>
    protected abstract bool TakeRow(int slot);

    /// <summary>Computes the derived columns of the block's <paramref name="count"/> rows.</summary>
    protected abstract void FinishBlock(int count);

    /// <summary>The cancellation token checked before every block.</summary>
    protected abstract CancellationToken Cancellation { get; }

    private bool ReadBlock()
    {
        Cancellation.ThrowIfCancellationRequested();
        int count = 0;
        _count = 0; // until the block is complete and computed, no row of it may be served
        StartBlock();
        bool more = true;
        while (more && count < Capacity)
        {
            if (!Input.MoveNext())
            {
                _inputDone = true;
                break;
            }
            foreach (var column in _columns) column?.Capture(count);
            BlockArrays.EnsureRow(ref _ids, count, Capacity);
            BlockArrays.EnsureRow(ref _batches, count, Capacity);
            _readId(ref _ids[count]);
            _batches[count] = Input.Batch;
            more = TakeRow(count);
            count++;
        }
        if (count == 0) return false;
        FinishBlock(count);
        _count = count;
        return true;
    }
}
