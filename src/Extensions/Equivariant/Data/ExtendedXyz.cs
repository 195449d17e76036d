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
            var layout = Layout(Field(comment, "Properties"), Bad);
            bool hasForces = layout.Forces >= 0;
            var row = new MoleculeRow { Positions = new float[3 * n], AtomTypes = new int[n], Label = energy, Forces = hasForces ? new float[3 * n] : [] };
            for (int i = 0; i < n; i++)
            {
                var parts = (Next() ?? throw Bad($"the frame ends after {i} of {n} atoms.")).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length < layout.Columns) throw Bad($"an atom line needs {layout.Columns} values (Properties), found {parts.Length}.");
                row.AtomTypes[i] = AtomicNumber(parts[layout.Species]);
                for (int k = 0; k < 3; k++)
                {
                    row.Positions[3 * i + k] = Number(parts[layout.Positions + k]);
                    if (hasForces) row.Forces[3 * i + k] = Number(parts[layout.Forces + k]);
                }
            }
            yield return row;
        }

        float Number(string text) => float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out float v) ? v : throw Bad($"'{text}' is not a number.");
    }

    /// <summary>Where species, positions and forces stand on an atom line, from <c>Properties=name:type:count:…</c> (default: species, pos).</summary>
    private static (int Species, int Positions, int Forces, int Columns) Layout(string? properties, Func<string, InvalidDataException> bad)
    {
        if (properties is null) return (0, 1, -1, 4);
        var parts = properties.Split(':');
        if (parts.Length % 3 != 0) throw bad($"Properties '{properties}' is not a list of name:type:count triples.");
        int species = -1, positions = -1, forces = -1, column = 0;
        for (int p = 0; p < parts.Length; p += 3)
        {
            if (!int.TryParse(parts[p + 2], NumberStyles.Integer, CultureInfo.InvariantCulture, out int count) || count < 1)
                throw bad($"Properties entry '{parts[p]}' has no valid column count.");
            switch (parts[p].ToLowerInvariant(), parts[p + 1], count)
            {
                case ("species", "S", 1): species = column; break;
                case ("pos", "R", 3): positions = column; break;
                case ("forces", "R", 3): forces = column; break;
                case ("species" or "pos" or "forces", _, _): throw bad($"Properties entry '{parts[p]}:{parts[p + 1]}:{count}' is not the expected species:S:1, pos:R:3 or forces:R:3.");
            }
            column += count;
        }
        if (species < 0 || positions < 0) throw bad($"Properties '{properties}' lacks species:S:1 or pos:R:3.");
        return (species, positions, forces, column);
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
