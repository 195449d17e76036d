using System.Collections.Concurrent;

namespace MLExtensions.Onnx.Scoring;

/// <summary>
/// A file this library wrote and must remove: on <see cref="Dispose"/>, on finalisation, or at process exit
/// at the latest (finalisers do not run then in .NET).
/// </summary>
internal sealed class OwnedTempFile : IDisposable
{
    private static readonly ConcurrentDictionary<string, byte> Live = new(StringComparer.Ordinal);

    static OwnedTempFile() => AppDomain.CurrentDomain.ProcessExit += (_, _) =>
    {
        foreach (var path in Live.Keys) TryDelete(path);
    };

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
            // Still open elsewhere (e.g. on Windows); the process-exit sweep tries again.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
