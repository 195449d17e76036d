using System.Runtime.InteropServices;

namespace MLExtensions.Torch;

/// <summary>
/// Keeps the native memory libtorch frees during a training run for reuse, and hands it back to the system when the
/// last run ends (glibc on Linux; elsewhere a no-op).
/// </summary>
/// <remarks>
/// libtorch allocates its CPU tensors with malloc. glibc serves blocks above its mmap threshold (dynamic, at most
/// 32 MB) with fresh mappings and returns the top of the heap to the system beyond 128 KB of slack, so a training
/// step that allocates and frees the same large activations again and again page-faults and zeroes all of them every
/// step: on 216-atom silicon cells a third of PONITA's CPU time went to the kernel (17 of 35 s) and a step took twice
/// as long. While a run is active this scope fixes the mmap threshold at its maximum and keeps up to 1 GB of freed
/// heap; when the last run ends it restores the default slack and trims the heap, so the process's memory falls back
/// after training. Numerics do not change.
/// </remarks>
internal sealed class NativeHeapScope : IDisposable
{
    private const int TrimThreshold = -1, TopPad = -2, MmapThreshold = -3;   // mallopt's parameters (malloc.h)
    private const int LargestMmapThreshold = 32 << 20, KeptWhileTraining = 1 << 30, DefaultTrimThreshold = 128 << 10;

    private static readonly object Gate = new();
    private static int _active;
    private static bool _unavailable = !OperatingSystem.IsLinux();
    private bool _disposed;

    private NativeHeapScope() { }

    /// <summary>Starts keeping freed native memory until the returned scope (and every other one open) is disposed.</summary>
    public static NativeHeapScope Enter()
    {
        lock (Gate)
        {
            if (_active++ == 0 && !_unavailable)
                _unavailable = !(Set(MmapThreshold, LargestMmapThreshold) && Set(TrimThreshold, KeptWhileTraining) && Set(TopPad, 64 << 20));
        }
        return new NativeHeapScope();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (Gate)
        {
            if (_disposed) return;
            _disposed = true;
            if (--_active > 0 || _unavailable) return;
            Set(TrimThreshold, DefaultTrimThreshold);
            Set(TopPad, 0);
            try { malloc_trim(0); }
            catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException) { }
        }
    }

    /// <summary>mallopt, or false where the C library has none (musl, or no libc found).</summary>
    private static bool Set(int parameter, int value)
    {
        try { return mallopt(parameter, value) == 1; }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException) { return false; }
    }

    [DllImport("libc.so.6", EntryPoint = "mallopt")]
    private static extern int mallopt(int parameter, int value);

    [DllImport("libc.so.6", EntryPoint = "malloc_trim")]
    private static extern int malloc_trim(nuint pad);
}
