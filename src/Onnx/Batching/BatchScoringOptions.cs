namespace MLExtensions.Onnx.Batching;

/// <summary>How batched ONNX scoring reads its input.</summary>
public sealed class BatchScoringOptions
{
    /// <summary>The default <see cref="BlockSize"/>.</summary>
    public const int DefaultBlockSize = 4096;

    /// <summary>
    /// Rows per ONNX Runtime call. Larger blocks amortise the call overhead; memory grows linearly with the rows a block
    /// holds (never more than the data has: buffers grow as rows arrive). Default: 4096.
    /// </summary>
    public int BlockSize { get; init; } = DefaultBlockSize;

    /// <summary>Checked before each block is read; a cancelled cursor throws <see cref="OperationCanceledException"/>.</summary>
    public CancellationToken CancellationToken { get; init; }

    internal BatchScoringOptions Validated()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(BlockSize, 1, nameof(BlockSize));
        return this;
    }
}
