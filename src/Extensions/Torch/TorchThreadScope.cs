using TorchSharp;

namespace MLExtensions.Torch;

/// <summary>
/// Sets TorchSharp's intra-op thread count for the duration of a training run and restores it afterwards.
/// </summary>
/// <remarks>
/// Small networks train several times faster on one thread than on many: the per-op threading overhead
/// dwarfs the work (see the bench console's thread sweep). The thread count is process-wide in libtorch.
/// </remarks>
internal sealed class TorchThreadScope : IDisposable
{
    /// <summary>Layer width up to which the default policy trains on one thread.</summary>
    public const int SingleThreadMaxWidth = 512;

    private readonly int _previous;

    private TorchThreadScope(int threads)
    {
        _previous = torch.get_num_threads();
        Threads = threads;
        if (threads != _previous) torch.set_num_threads(threads);
    }

    /// <summary>The thread count in force.</summary>
    public int Threads { get; }

    /// <summary>Applies <paramref name="requested"/> threads, or the default policy for a network whose widest layer is <paramref name="widestLayer"/>.</summary>
    public static TorchThreadScope Enter(int? requested, int widestLayer)
    {
        if (requested is int n) ArgumentOutOfRangeException.ThrowIfLessThan(n, 1, "NumberOfThreads");
        int threads = requested ?? (widestLayer <= SingleThreadMaxWidth ? 1 : torch.get_num_threads());
        return new TorchThreadScope(threads);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (torch.get_num_threads() != _previous) torch.set_num_threads(_previous);
    }
}
