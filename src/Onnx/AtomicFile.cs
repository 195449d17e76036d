namespace MLExtensions.Onnx;

/// <summary>Writes files so that an existing file is replaced whole or not at all.</summary>
internal static class AtomicFile
{
    /// <summary>
    /// Writes <paramref name="contents"/> to a new file beside <paramref name="path"/>, then moves it over
    /// <paramref name="path"/>: a failure (disk full, an exception while producing the bytes) leaves the old file as it
    /// was and removes the new one (a process killed mid-write leaves it, as <c>.name.guid.tmp</c>, beside the old file).
    /// When <paramref name="path"/> is a symbolic link the file it points to is replaced, keeping the link; an existing
    /// file's Unix permissions carry over.
    /// </summary>
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> contents)
    {
        var bytes = contents.ToArray();
        Write(path, stream => stream.Write(bytes));
    }

    /// <summary>Same as <see cref="WriteAllBytes"/> for contents written by <paramref name="write"/>.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(write);
        var full = Path.GetFullPath(path);
        if (File.Exists(full) && File.ResolveLinkTarget(full, returnFinalTarget: true) is { } target) full = target.FullName;
        UnixFileMode? mode = File.Exists(full) && !OperatingSystem.IsWindows() ? File.GetUnixFileMode(full) : null;
        var sibling = Path.Combine(Path.GetDirectoryName(full) ?? ".", $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(sibling, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            if (mode is UnixFileMode m && !OperatingSystem.IsWindows()) File.SetUnixFileMode(sibling, m);
            File.Move(sibling, full, overwrite: true);
        }
        catch
        {
            try
            {
                File.Delete(sibling);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
            throw;
        }
    }
}
