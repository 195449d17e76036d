using System.Collections.Concurrent;

namespace MLExtensions.Onnx.Runtime;

/// <summary>
/// A file this library wrote and must remove: on <see cref="Dispose"/>, on finalisation, or when the process exits
/// or dies of an unhandled exception at the latest (<see cref="ExitCleanup"/>; finalisers do not run then in .NET).
/// Only where a model cannot live in memory (<see cref="ModelFile"/>).
/// </summary>
internal sealed class OwnedTempFile : IDisposable
{
    private static readonly ConcurrentDictionary<string, byte> Live = new(StringComparer.Ordinal);

    private OwnedTempFile(string path) => Path = path;

    public string Path { get; }

    /// <summary>Writes <paramref name="contents"/> to a new file under the system temp folder.</summary>
    public static OwnedTempFile Write(byte[] contents, string extension)
    {
        var folder = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "mlextensions");
        Directory.CreateDirectory(folder);
        var file = new OwnedTempFile(System.IO.Path.Combine(folder, Guid.NewGuid().ToString("N") + extension));
        Live[file.Path] = 0;
        File.WriteAllBytes(file.Path, contents);
        return file;
    }

    /// <summary>Deletes every file not disposed yet (at process exit).</summary>
    public static void DeleteAll()
    {
        foreach (var path in Live.Keys) TryDelete(path);
    }

    public void Dispose()
    {
        TryDelete(Path);
        GC.SuppressFinalize(this);
    }

    ~OwnedTempFile() => TryDelete(Path);

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
            Live.TryRemove(path, out _);
        }
        catch (IOException)
        {
            // Still open elsewhere (e.g. on Windows); the exit clean-up tries again.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
