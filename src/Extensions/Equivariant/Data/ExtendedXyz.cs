using System.Globalization;
using System.IO.Compression;

namespace MLExtensions.Equivariant;

/// <summary>
/// Reads molecular frames in the extended XYZ format (as ASE writes it, and as MD17-style data sets are shared): per
/// frame a line with the atom count N, a comment line with <c>Properties=species:S:1:pos:R:3:forces:R:3</c> and
/// <c>energy=…</c>, then N lines <c>Symbol x y z fx fy fz</c>. Gzipped files (<c>.gz</c>) are read as they are.
/// </summary>
/// <remarks>
/// Atom types become atomic numbers (H = 1, C = 6, …), which <see cref="PonitaTrainer"/> takes as type indices.
/// Units are the file's: <c>bench/xtb/make-md17.sh</c> writes Å, kcal/mol and kcal/mol/Å, as MD17 does.
/// </remarks>
public static class ExtendedXyz
{
    private static readonly string[] Elements =
    [
        "", "H", "He", "Li", "Be", "B", "C", "N", "O", "F", "Ne", "Na", "Mg", "Al", "Si", "P", "S", "Cl", "Ar", "K", "Ca",
        "Sc", "Ti", "V", "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn", "Ga", "Ge", "As", "Se", "Br", "Kr", "Rb", "Sr", "Y", "Zr",
        "Nb", "Mo", "Tc", "Ru", "Rh", "Pd", "Ag", "Cd", "In", "Sn", "Sb", "Te", "I", "Xe",
    ];

    /// <summary>The atomic number of an element symbol (H … Xe).</summary>
    public static int AtomicNumber(string symbol)
    {
        int z = Array.FindIndex(Elements, e => e.Equals(symbol, StringComparison.OrdinalIgnoreCase));
        return z > 0 ? z : throw new InvalidDataException($"Unknown element symbol '{symbol}' (H to Xe are known).");
    }

    /// <summary>Every frame of the file at <paramref name="path"/> (gzipped when it ends in .gz).</summary>
    public static List<MoleculeRow> Read(string path)
    {
        using var file = File.OpenRead(path);
        using var stream = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : (Stream)file;
        using var reader = new StreamReader(stream);
        return Read(reader, path).ToList();
    }

    /// <summary>Every frame of <paramref name="reader"/>; <paramref name="source"/> names it in error messages.</summary>
    public static IEnumerable<MoleculeRow> Read(TextReader reader, string source = "the input")
    {
        ArgumentNullException.ThrowIfNull(reader);
        int lineNumber = 0;
        string? Next() { lineNumber++; return reader.ReadLine(); }
        InvalidDataException Bad(string what) => new($"{source}, line {lineNumber}: {what}");
        string? header;
        while ((header = Next()) is not null)
        {
            if (string.IsNullOrWhiteSpace(header)) continue;
            if (!int.TryParse(header.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) || n < 1)
                throw Bad($"expected the atom count of a frame, found '{header}'.");
            var comment = Next() ?? throw Bad("the file ends after an atom count.");
            var energyText = Field(comment, "energy") ?? throw Bad("the comment line has no energy=… field.");
            if (!float.TryParse(energyText, NumberStyles.Float, CultureInfo.InvariantCulture, out float energy)) throw Bad($"energy '{energyText}' is not a number.");
            bool hasForces = (Field(comment, "Properties") ?? "").Contains("forces:R:3", StringComparison.Ordinal);
            var row = new MoleculeRow { Positions = new float[3 * n], AtomTypes = new int[n], Label = energy, Forces = hasForces ? new float[3 * n] : [] };
            for (int i = 0; i < n; i++)
            {
                var parts = (Next() ?? throw Bad($"the frame ends after {i} of {n} atoms.")).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length < (hasForces ? 7 : 4)) throw Bad($"an atom line needs a symbol, x, y, z{(hasForces ? " and three forces" : "")}.");
                row.AtomTypes[i] = AtomicNumber(parts[0]);
                for (int k = 0; k < 3; k++)
                {
                    row.Positions[3 * i + k] = Number(parts[1 + k]);
                    if (hasForces) row.Forces[3 * i + k] = Number(parts[4 + k]);
                }
            }
            yield return row;
        }

        float Number(string text) => float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out float v) ? v : throw Bad($"'{text}' is not a number.");
    }

    /// <summary>The value of <c>key=value</c> (or <c>key="value"</c>) in an extended-XYZ comment line.</summary>
    private static string? Field(string comment, string key)
    {
        int at = 0;
        while ((at = comment.IndexOf(key + "=", at, StringComparison.Ordinal)) >= 0)
        {
            if (at == 0 || char.IsWhiteSpace(comment[at - 1]))
            {
                int start = at + key.Length + 1;
                if (start < comment.Length && comment[start] == '"')
                {
                    int close = comment.IndexOf('"', start + 1);
                    return close < 0 ? comment[(start + 1)..] : comment[(start + 1)..close];
                }
                int end = start;
                while (end < comment.Length && !char.IsWhiteSpace(comment[end])) end++;
                return comment[start..end];
            }
            at += key.Length;
        }
        return null;
    }
}
