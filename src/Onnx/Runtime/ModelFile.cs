using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace MLExtensions.Onnx.Runtime;

/// <summary>
/// An ONNX model's bytes under a path, for ML.NET's <c>ApplyOnnxModel</c>, which opens its model by path and, on
/// <c>Model.Save</c>, reads that path again. On Linux the bytes live in an anonymous, sealed memory file
/// (<c>memfd_create</c>, opened as <c>/proc/self/fd/N</c>): nothing is written to disk, no temp-folder cleaner can
/// delete or replace it, and it vanishes with the process however that ends. Elsewhere it is a temporary file
/// (<see cref="OwnedTempFile"/>) that <see cref="Restore"/> writes again if something removed or changed it.
/// </summary>
internal abstract class ModelFile : IDisposable
{
    /// <summary>The path ML.NET opens.</summary>
    public abstract string Path { get; }

    /// <summary>True when the bytes live in memory rather than in the temp folder.</summary>
    public abstract bool InMemory { get; }

    /// <summary>Holds <paramref name="model"/> under a new path.</summary>
    public static ModelFile Create(byte[] model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return (ModelFile?)MemoryModelFile.TryCreate(model) ?? new TempModelFile(model);
    }

    /// <summary>Holds <paramref name="model"/> in a temporary file, as on systems without memory files (for tests).</summary>
    internal static ModelFile CreateTempFile(byte[] model) => new TempModelFile(model);

    /// <summary>Makes sure <see cref="Path"/> still holds <paramref name="model"/> before ML.NET reads it to save a model.</summary>
    public abstract void Restore(byte[] model);

    public abstract void Dispose();

    private sealed class MemoryModelFile : ModelFile
    {
        private const uint CloseOnExec = 0x1, AllowSealing = 0x2;
        private const int AddSeals = 1033;
        private const int SealEverything = 0x1 | 0x2 | 0x4 | 0x8; // seal, shrink, grow, write

        private readonly SafeFileHandle _handle;

        private MemoryModelFile(SafeFileHandle handle, string path)
        {
            _handle = handle;
            Path = path;
        }

        public override string Path { get; }

        public override bool InMemory => true;

        public static MemoryModelFile? TryCreate(byte[] model)
        {
            if (!OperatingSystem.IsLinux()) return null;
            int fd;
            try
            {
                fd = memfd_create("mlextensions-onnx", CloseOnExec | AllowSealing);
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                return null;
            }
            if (fd < 0) return null;
            var handle = new SafeFileHandle(fd, ownsHandle: true);
            var path = $"/proc/self/fd/{fd}";
            try
            {
                RandomAccess.Write(handle, model, 0);
                _ = fcntl(fd, AddSeals, SealEverything); // best effort: a sealed file cannot change under the model
                if (!File.Exists(path)) throw new IOException("/proc is not mounted.");
            }
            catch (IOException)
            {
                handle.Dispose();
                return null;
            }
            return new MemoryModelFile(handle, path);
        }

        public override void Restore(byte[] model)
        {
        }

        public override void Dispose() => _handle.Dispose();

        [DllImport("libc", SetLastError = true)]
        private static extern int memfd_create(string name, uint flags);

        [DllImport("libc", SetLastError = true)]
        private static extern int fcntl(int fd, int command, int argument);
    }

    private sealed class TempModelFile : ModelFile
    {
        private readonly OwnedTempFile _file;

        public TempModelFile(byte[] model) => _file = OwnedTempFile.Write(model, ".onnx");

        public override string Path => _file.Path;

        public override bool InMemory => false;

        public override void Restore(byte[] model)
        {
            // One restore at a time, and the file replaced whole: a concurrent save never reads a half-written model.
            lock (_file)
            {
                try
                {
                    if (File.Exists(Path) && File.ReadAllBytes(Path).AsSpan().SequenceEqual(model)) return;
                    AtomicFile.WriteAllBytes(Path, model);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // Held open without write sharing (Windows): then nothing can have replaced it either.
                }
            }
        }

        public override void Dispose() => _file.Dispose();
    }
}
