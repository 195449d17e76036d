namespace MLExtensions.Onnx.Graph;

/// <summary>A named tensor in an ONNX graph under construction: a graph input, an initializer or a node output.</summary>
/// <param name="Name">The tensor's name in the graph.</param>
internal readonly record struct OnnxValue(string Name)
{
    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>One dimension of a tensor shape: a fixed size or a symbolic name (e.g. the batch dimension).</summary>
internal readonly struct OnnxDim
{
    private OnnxDim(long? size, string? symbol) { Size = size; Symbol = symbol; }

    /// <summary>The fixed size, or null when the dimension is symbolic.</summary>
    public long? Size { get; }

    /// <summary>The symbolic name, or null when the dimension is fixed.</summary>
    public string? Symbol { get; }

    /// <summary>A dimension of known size.</summary>
    public static OnnxDim Fixed(long size)
    {
        if (size < 0) throw new ArgumentOutOfRangeException(nameof(size), size, "A fixed dimension must be non-negative.");
        return new OnnxDim(size, null);
    }

    /// <summary>A dimension known only at run time, such as the number of rows in a batch.</summary>
    public static OnnxDim Symbolic(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return new OnnxDim(null, name);
    }

    /// <summary>The conventional symbolic batch dimension, named "N".</summary>
    public static OnnxDim Batch => Symbolic("N");

    /// <summary>Converts a size to a fixed dimension.</summary>
    public static implicit operator OnnxDim(long size) => Fixed(size);

    /// <summary>Converts a name to a symbolic dimension.</summary>
    public static implicit operator OnnxDim(string symbol) => Symbolic(symbol);

    /// <inheritdoc />
    public override string ToString() => Symbol ?? Size!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>Element types of ONNX tensors that the builder declares (values follow the ONNX <c>TensorProto.DataType</c> numbering).</summary>
internal enum OnnxElementType
{
    /// <summary>32-bit float.</summary>
    Float = 1,
    /// <summary>32-bit signed integer.</summary>
    Int32 = 6,
    /// <summary>64-bit signed integer.</summary>
    Int64 = 7,
    /// <summary>UTF-8 string.</summary>
    String = 8,
    /// <summary>Boolean.</summary>
    Bool = 9,
    /// <summary>64-bit float.</summary>
    Double = 11,
    /// <summary>32-bit unsigned integer.</summary>
    UInt32 = 12,
}

/// <summary>
/// Rows of a tensor grouped by an index vector, from <see cref="OnnxGraphBuilder.GroupRows"/>: the rows' order sorted by
/// index, and for every index the start and end of its segment in that order.
/// </summary>
/// <param name="Order">[E] int64: row numbers sorted by their index.</param>
/// <param name="Starts">[P] int64: where each index's rows begin in <paramref name="Order"/>.</param>
/// <param name="Ends">[P] int64: where they end (exclusive).</param>
internal sealed record RowGrouping(OnnxValue Order, OnnxValue Starts, OnnxValue Ends);
