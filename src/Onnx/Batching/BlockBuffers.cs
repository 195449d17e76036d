using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;

namespace MLExtensions.Onnx.Batching;

/// <summary>
/// Block buffers hold at most the rows the input has (when it knows its count), start at the default block size and
/// double up to the block size as rows arrive, so a block size far beyond the data (even <see cref="int.MaxValue"/>)
/// costs only what the rows read need, while blocks of the default size allocate once, as they always did.
/// </summary>
internal static class BlockArrays
{
    /// <summary>Rows a buffer holds before its first growth.</summary>
    public const int InitialRows = BatchScoringOptions.DefaultBlockSize;

    /// <summary>The rows a block may hold: the block size, or fewer when the input has fewer rows.</summary>
    public static int Capacity(int blockSize, long? inputRows) =>
        inputRows is long rows ? (int)Math.Clamp(rows, 1, blockSize) : blockSize;

    /// <summary>A new buffer for up to <paramref name="capacity"/> rows of <paramref name="rowLength"/> values.</summary>
    public static T[] Allocate<T>(int capacity, int rowLength = 1) => new T[Math.Min(capacity, InitialRows) * (long)rowLength];

    /// <summary>Grows <paramref name="array"/> to hold row <paramref name="slot"/> (of <paramref name="rowLength"/> values each).</summary>
    /// <exception cref="InsufficientMemoryException">The rows read so far do not fit in one array.</exception>
    public static void EnsureRow<T>(ref T[] array, int slot, int capacity, int rowLength = 1)
    {
        long needed = (slot + 1L) * rowLength;
        if (needed <= array.Length) return;
        long rows = Math.Min(capacity, Math.Max(slot + 1L, 2L * (array.Length / Math.Max(rowLength, 1))));
        long length = rows * rowLength;
        if (length > Array.MaxLength)
            throw new InsufficientMemoryException($"A block of {rows:N0} rows of {rowLength:N0} values does not fit in one array; " +
                $"use a smaller BatchScoringOptions.BlockSize (at most {Array.MaxLength / Math.Max(rowLength, 1):N0} rows for this model).");
        Array.Resize(ref array, (int)length);
    }
}

/// <summary>Holds one column's values for the rows of a block, read ahead from the input cursor.</summary>
internal abstract class ColumnBlock
{
    public abstract void Capture(int slot);

    /// <summary>A getter for the value of the row at <paramref name="slot"/>().</summary>
    public abstract Delegate Getter(Func<int> slot);

    public static ColumnBlock Create(DataViewRowCursor cursor, DataViewSchema.Column column, int capacity)
    {
        var raw = column.Type.RawType;
        var type = raw.IsGenericType && raw.GetGenericTypeDefinition() == typeof(VBuffer<>)
            ? typeof(VectorColumnBlock<>).MakeGenericType(raw.GetGenericArguments()[0])
            : typeof(ValueColumnBlock<>).MakeGenericType(raw);
        return (ColumnBlock)Activator.CreateInstance(type, cursor, column, capacity)!;
    }
}

/// <summary>Scalars (and immutable values such as text) are kept as they are.</summary>
internal sealed class ValueColumnBlock<T>(DataViewRowCursor cursor, DataViewSchema.Column column, int capacity) : ColumnBlock
{
    private readonly ValueGetter<T> _read = cursor.GetGetter<T>(column);
    private T[] _values = BlockArrays.Allocate<T>(capacity);

    public override void Capture(int slot)
    {
        BlockArrays.EnsureRow(ref _values, slot, capacity);
        _read(ref _values[slot]);
    }

    public override Delegate Getter(Func<int> slot) => (ValueGetter<T>)((ref T value) => value = _values[slot()]);
}

/// <summary>Vectors are deep-copied in and out, as getters may reuse their buffers.</summary>
internal sealed class VectorColumnBlock<T>(DataViewRowCursor cursor, DataViewSchema.Column column, int capacity) : ColumnBlock
{
    private readonly ValueGetter<VBuffer<T>> _read = cursor.GetGetter<VBuffer<T>>(column);
    private VBuffer<T>[] _values = BlockArrays.Allocate<VBuffer<T>>(capacity);
    private VBuffer<T> _scratch;

    public override void Capture(int slot)
    {
        BlockArrays.EnsureRow(ref _values, slot, capacity);
        _read(ref _scratch);
        _scratch.CopyTo(ref _values[slot]);
    }

    public override Delegate Getter(Func<int> slot) => (ValueGetter<VBuffer<T>>)((ref VBuffer<T> value) => _values[slot()].CopyTo(ref value));
}

/// <summary>One ONNX input for a block: the rows' values laid out as a [rows, ...] tensor.</summary>
internal abstract class InputBlock
{
    public abstract void Capture(int slot, long position);

    public abstract OrtValue ToTensor(int rows);

    /// <summary>
    /// The refusal of the first NaN or infinite value among the block's first <paramref name="rows"/> rows, naming
    /// column, slot and row, when the input must be finite (<see cref="OnnxInputSpec.RequireFinite"/>); else null. Asked
    /// only when the graph's own check has refused the block, so finite blocks cost nothing.
    /// </summary>
    public abstract InvalidDataException? FindNonFinite(int rows, Exception refusal);

    public static InputBlock Create(DataViewRowCursor cursor, DataViewSchema.Column column, OnnxInputSpec spec, int capacity) =>
        (InputBlock)Activator.CreateInstance(typeof(InputBlock<>).MakeGenericType(spec.ElementType), cursor, column, spec, capacity)!;
}

internal sealed class InputBlock<T> : InputBlock where T : unmanaged
{
    private readonly DataViewSchema.Column _column;
    private readonly OnnxInputSpec _spec;
    private readonly int _capacity;
    private T[] _values;
    private long[] _positions;
    private readonly ValueGetter<T>? _readScalar;
    private readonly ValueGetter<VBuffer<T>>? _readVector;
    private VBuffer<T> _scratch;

    public InputBlock(DataViewRowCursor cursor, DataViewSchema.Column column, OnnxInputSpec spec, int capacity)
    {
        _column = column;
        _spec = spec;
        _capacity = capacity;
        _values = BlockArrays.Allocate<T>(capacity, spec.RowLength);
        _positions = BlockArrays.Allocate<long>(capacity);
        if (column.Type is VectorDataViewType) _readVector = cursor.GetGetter<VBuffer<T>>(column);
        else _readScalar = cursor.GetGetter<T>(column);
    }

    public override void Capture(int slot, long position)
    {
        int length = _spec.RowLength;
        BlockArrays.EnsureRow(ref _values, slot, _capacity, length);
        BlockArrays.EnsureRow(ref _positions, slot, _capacity);
        _positions[slot] = position;
        if (_readScalar is not null)
        {
            _readScalar(ref _values[slot]);
            return;
        }
        _readVector!(ref _scratch);
        if (_scratch.Length != length)
            throw new InvalidDataException($"Column '{_column.Name}', row {position}: {_scratch.Length} values where the ONNX input '{_spec.OnnxName}' takes {length}.");
        _scratch.CopyTo(_values.AsSpan(slot * length, length));
    }

    public override InvalidDataException? FindNonFinite(int rows, Exception refusal)
    {
        if (!_spec.RequireFinite) return null;
        int length = _spec.RowLength;
        for (int slot = 0; slot < rows; slot++)
        {
            var row = _values.AsSpan(slot * length, length);
            int bad = typeof(T) == typeof(float) ? FirstNonFinite(System.Runtime.InteropServices.MemoryMarshal.Cast<T, float>(row))
                : typeof(T) == typeof(double) ? FirstNonFinite(System.Runtime.InteropServices.MemoryMarshal.Cast<T, double>(row)) : -1;
            if (bad >= 0) return Scoring.NonFiniteInputs.Refusal(_column.Name, _positions[slot], bad, row[bad].ToString(), refusal);
        }
        return null;
    }

    private static int FirstNonFinite<TFloat>(ReadOnlySpan<TFloat> values) where TFloat : System.Numerics.IFloatingPointIeee754<TFloat>
    {
        for (int i = 0; i < values.Length; i++)
            if (!TFloat.IsFinite(values[i])) return i;
        return -1;
    }

    public override OrtValue ToTensor(int rows) =>
        OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, new Memory<T>(_values, 0, rows * _spec.RowLength), _spec.Shape(rows));
}

/// <summary>One ONNX output of the last block, copied out of ONNX Runtime.</summary>
internal abstract class OutputBlock
{
    public int RowLength { get; protected set; }

    public abstract void Fill(OrtValue value, int rows);

    public static OutputBlock Create(Type elementType) => (OutputBlock)Activator.CreateInstance(typeof(OutputBlock<>).MakeGenericType(elementType))!;
}

internal sealed class OutputBlock<T> : OutputBlock where T : unmanaged
{
    public T[] Values { get; private set; } = [];

    public override void Fill(OrtValue value, int rows)
    {
        var span = value.GetTensorDataAsSpan<T>();
        if (Values.Length < span.Length) Values = new T[span.Length];
        span.CopyTo(Values);
        RowLength = rows == 0 ? 0 : span.Length / rows;
    }
}
