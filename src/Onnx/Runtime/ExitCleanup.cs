using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;

namespace MLExtensions.Onnx.Runtime;

/// <summary>
/// Removes, when the process exits or dies of an unhandled exception, the model files that would otherwise stay in
/// the temp folder: this library's own (<see cref="OwnedTempFile"/>, used only where models cannot live in memory) and
/// the copies ML.NET writes when it loads a saved MLExtensions model (<c>mlContext.Model.Load</c> copies each ONNX
/// model to <c>MLContext.TempFilePath</c> under a random name and deletes it only when the model is disposed).
/// </summary>
/// <remarks>
/// Registered when this assembly loads, which ML.NET does while loading a saved MLExtensions chain (its
/// <c>CustomMapping</c> factories live here), so the hook is in place before the first copy can be left behind. A
/// loader copy is recognised on Linux as a file this process holds open, in the system temp folder or an
/// <c>MLContext.TempFilePath</c> this library has seen (<see cref="WatchFolder"/>), named as ML.NET names it
/// (<see cref="Path.GetRandomFileName"/>), whose ONNX header says MLExtensions produced it. Windows deletes those
/// copies itself (ML.NET opens them delete-on-close); other systems keep them until the model is disposed.
/// </remarks>
internal static partial class ExitCleanup
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> Folders = new(StringComparer.Ordinal)
    {
        [Normalised(Path.GetTempPath())] = 0,
    };

    /// <summary>Adds a folder where ML.NET may write loader copies (an <c>MLContext.TempFilePath</c>).</summary>
    public static void WatchFolder(string? folder)
    {
        if (!string.IsNullOrWhiteSpace(folder)) Folders.TryAdd(Normalised(folder), 0);
    }

    private static string Normalised(string folder) => Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder));
    /// <summary>The producer name every ONNX model of this library carries (<c>ModelProto.producer_name</c>).</summary>
    public const string ProducerName = "MLExtensions";

#pragma warning disable CA2255 // A library module initialiser: both must be in place before ONNX Runtime starts and ML.NET's loader writes its copies.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Register()
    {
        OnnxRuntimeTelemetry.DisableUnlessAsked();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Run();
        AppDomain.CurrentDomain.UnhandledException += (_, _) => Run();
    }

    /// <summary>Deletes what is left; never throws.</summary>
    public static void Run()
    {
        OwnedTempFile.DeleteAll();
        foreach (var path in LoaderCopies())
        {
            try
            {
                File.Delete(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
    }

    /// <summary>The files this process holds open that are ML.NET's loader copies of MLExtensions models.</summary>
    internal static IEnumerable<string> LoaderCopies()
    {
        if (!OperatingSystem.IsLinux() || !Directory.Exists("/proc/self/fd")) return [];
        var found = new HashSet<string>(StringComparer.Ordinal);
        string[] descriptors;
        try
        {
            descriptors = Directory.GetFileSystemEntries("/proc/self/fd");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
        foreach (var descriptor in descriptors)
        {
            try
            {
                if (new FileInfo(descriptor).LinkTarget is { } target && Path.IsPathRooted(target)
                    && RandomFileName().IsMatch(Path.GetFileName(target)) && Path.GetDirectoryName(target) is { } folder
                    && Folders.ContainsKey(Normalised(folder)) && IsMLExtensionsModel(target))
                    found.Add(target);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
        return found;
    }

    /// <summary>Whether the file starts as an ONNX model of this library: ir_version, then producer_name "MLExtensions".</summary>
    internal static bool IsMLExtensionsModel(string path)
    {
        if (!File.Exists(path)) return false;
        Span<byte> head = stackalloc byte[32];
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        int read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        return IsMLExtensionsModel(head[..read]);
    }

    /// <summary>The same test on a model's first bytes.</summary>
    internal static bool IsMLExtensionsModel(ReadOnlySpan<byte> head)
    {
        // Field 1 (ir_version, a varint), then field 2 (producer_name, length-delimited), as protobuf writes them in order.
        if (head.Length < 2 || head[0] != 0x08) return false;
        int i = 1;
        while (i < head.Length && (head[i] & 0x80) != 0) i++;
        i++;
        var name = System.Text.Encoding.ASCII.GetBytes(ProducerName);
        return i + 2 + name.Length <= head.Length && head[i] == 0x12 && head[i + 1] == name.Length && head.Slice(i + 2, name.Length).SequenceEqual(name);
    }

    [GeneratedRegex("^[a-z0-9]{8}\\.[a-z0-9]{3}$")]
    private static partial Regex RandomFileName();
}
