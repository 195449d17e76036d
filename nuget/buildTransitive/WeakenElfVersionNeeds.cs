// MSBuild task compiled by RoslynCodeTaskFactory (see MLExtensions.targets).
//
// Why it exists: libLibTorchSharp.so (TorchSharp 0.107) declares a version need on
// GLIBCXX_3.4.32 for a single symbol, _ZSt21ios_base_library_initv, that nothing relocates.
// Hosts with an older libstdc++ (Debian 12 ships up to 3.4.30) refuse to load the library.
// Setting VER_FLG_WEAK on that one Elf64_Vernaux entry turns the hard failure into a warning,
// and the library then loads and trains normally. The task patches copies in a build or
// publish folder only; it never writes through a hard link into the NuGet cache.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public sealed class WeakenElfVersionNeeds : Task
{
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const ushort VerFlagWeak = 0x2;

    /// <summary>The ELF shared objects to patch (missing files are ignored).</summary>
    [Required]
    public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>Semicolon-separated version names to mark weak, e.g. GLIBCXX_3.4.32.</summary>
    [Required]
    public string Versions { get; set; } = "";

    /// <summary>Folders searched for the host's libstdc++.so.6.</summary>
    public string LibraryFolders { get; set; } =
        "/usr/lib/x86_64-linux-gnu;/usr/lib/aarch64-linux-gnu;/lib/x86_64-linux-gnu;/lib/aarch64-linux-gnu;/usr/lib64;/lib64;/usr/lib;/lib";

    public override bool Execute()
    {
        var wanted = Versions.Split(new[] { ';' }, StringSplitOptions.RemoveEmptyEntries)
            .Select(v => v.Trim()).Where(v => v.Length > 0).ToList();
        var missing = new HashSet<string>(wanted.Where(v => !HostProvides(v)), StringComparer.Ordinal);
        if (missing.Count == 0)
        {
            Log.LogMessage(MessageImportance.Low, "MLExtensions: host libstdc++ provides {0}; nothing to patch.", Versions);
            return true;
        }

        foreach (var item in Files)
        {
            var path = item.ItemSpec;
            if (!File.Exists(path)) continue;
            try
            {
                var bytes = File.ReadAllBytes(path);
                var patched = MarkWeak(bytes, missing);
                if (patched.Count == 0) continue;
                // Write a new file and move it over the old one: if the build linked the
                // output to the NuGet cache, the link is broken instead of the cache modified.
                var temp = path + ".mlx-tmp";
                File.WriteAllBytes(temp, bytes);
                File.Delete(path);
                File.Move(temp, path);
                Log.LogMessage(MessageImportance.Normal,
                    "MLExtensions: marked version need(s) {0} weak in {1} (host libstdc++ lacks them).",
                    string.Join(", ", patched), path);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is InvalidDataException)
            {
                Log.LogWarning("MLExtensions: could not patch {0}: {1}", path, e.Message);
            }
        }
        return !Log.HasLoggedErrors;
    }

    private bool HostProvides(string version)
    {
        var needle = Encoding.ASCII.GetBytes(version + "\0");
        foreach (var folder in LibraryFolders.Split(new[] { ';' }, StringSplitOptions.RemoveEmptyEntries))
        {
            var lib = Path.Combine(folder, "libstdc++.so.6");
            if (!File.Exists(lib)) continue;
            return IndexOf(File.ReadAllBytes(lib), needle) >= 0;
        }
        return false; // no libstdc++ found where we look: patching is harmless, so do it.
    }

    /// <summary>Sets VER_FLG_WEAK on every Elf64_Vernaux entry whose name is in <paramref name="names"/>.</summary>
    /// <returns>The names that were changed (already-weak entries are not reported).</returns>
    private static List<string> MarkWeak(byte[] elf, ISet<string> names)
    {
        var changed = new List<string>();
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            throw new InvalidDataException("not an ELF file");
        if (elf[4] != 2 || elf[5] != 1)
            return changed; // only 64-bit little-endian objects are handled (the linux-x64/arm64 natives)

        long shoff = (long)BitConverter.ToUInt64(elf, 0x28);
        int shentsize = BitConverter.ToUInt16(elf, 0x3A);
        int shnum = BitConverter.ToUInt16(elf, 0x3C);
        for (int i = 0; i < shnum; i++)
        {
            long sh = shoff + (long)i * shentsize;
            if (BitConverter.ToUInt32(elf, (int)sh + 4) != ShtGnuVerneed) continue;
            long offset = (long)BitConverter.ToUInt64(elf, (int)sh + 24);
            int link = (int)BitConverter.ToUInt32(elf, (int)sh + 40);
            int count = (int)BitConverter.ToUInt32(elf, (int)sh + 44);
            long strtab = (long)BitConverter.ToUInt64(elf, (int)(shoff + (long)link * shentsize + 24));

            long need = offset;
            for (int n = 0; n < count; n++)
            {
                int auxCount = BitConverter.ToUInt16(elf, (int)need + 2);
                long aux = need + BitConverter.ToUInt32(elf, (int)need + 8);
                for (int a = 0; a < auxCount; a++)
                {
                    int flagsAt = (int)aux + 4;
                    var name = ReadCString(elf, strtab + BitConverter.ToUInt32(elf, (int)aux + 8));
                    ushort flags = BitConverter.ToUInt16(elf, flagsAt);
                    if (names.Contains(name) && (flags & VerFlagWeak) == 0)
                    {
                        flags |= VerFlagWeak;
                        elf[flagsAt] = (byte)(flags & 0xff);
                        elf[flagsAt + 1] = (byte)(flags >> 8);
                        changed.Add(name);
                    }
                    aux += BitConverter.ToUInt32(elf, (int)aux + 12);
                }
                need += BitConverter.ToUInt32(elf, (int)need + 12);
            }
        }
        return changed;
    }

    private static string ReadCString(byte[] data, long start)
    {
        long end = start;
        while (end < data.Length && data[end] != 0) end++;
        return Encoding.ASCII.GetString(data, (int)start, (int)(end - start));
    }

    private static int IndexOf(byte[] haystack, byte[] needle)
    {
        for (int i = 0; i <= haystack.Length - needle.Length; i++)
        {
            int j = 0;
            while (j < needle.Length && haystack[i + j] == needle[j]) j++;
            if (j == needle.Length) return i;
        }
        return -1;
    }
}
