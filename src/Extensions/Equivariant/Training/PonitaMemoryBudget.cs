using System.Globalization;

namespace MLExtensions.Equivariant;

/// <summary>The memory a PONITA evaluation or training run may take: a share of what this process may still allocate.</summary>
internal static class PonitaMemoryBudget
{
    /// <summary>The share of the available memory one evaluation or training run may take.</summary>
    public const double Share = 0.8;

    /// <summary>
    /// The memory this process may still take: the smaller of what the runtime may use (physical memory or the
    /// container's limit) less what the process holds, and on Linux the memory the kernel reports available. Measured
    /// at most once a second, since row-by-row scoring asks for every row.
    /// </summary>
    public static double Available
    {
        get
        {
            long now = Environment.TickCount64;
            if (now - _measuredAt > 1000 || _available <= 0)
            {
                double limit = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes - (double)Environment.WorkingSet;
                if (KernelAvailable() is long free) limit = Math.Min(limit, free);
                _available = Math.Max(0, limit);
                _measuredAt = now;
            }
            return _available;
        }
    }

    private static double _available;
    private static long _measuredAt;

    /// <summary>The memory one evaluation or training run may use: 80 % of <see cref="Available"/>.</summary>
    public static double Budget => Share * Available;

    /// <summary>"more than the Y GiB available (80 % of the Z GiB free to this process)", for messages.</summary>
    public static string MoreThanAvailable() =>
        $"more than the {PonitaMemory.GiB(Budget)} GiB available ({Share * 100:0} % of the {PonitaMemory.GiB(Available)} GiB free to this process)";

    /// <summary>MemAvailable of /proc/meminfo in bytes, or null where there is none.</summary>
    private static long? KernelAvailable()
    {
        if (!OperatingSystem.IsLinux()) return null;
        try
        {
            foreach (var line in File.ReadLines("/proc/meminfo"))
                if (line.StartsWith("MemAvailable:", StringComparison.Ordinal))
                    return long.Parse(line.AsSpan(13).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture) * 1024;
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return null;
    }
}
