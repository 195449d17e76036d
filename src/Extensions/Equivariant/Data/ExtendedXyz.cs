using System.Globalization;
using System.IO.Compression;

namespace MLExtensions.Equivariant;

/// <summary>
/// Reads and writes molecular frames in the extended XYZ format (as ASE writes it, and as MD17-style data sets are
/// shared): per frame a line with the atom count N, a comment line with <c>Properties=species:S:1:pos:R:3:forces:R:3</c>,
/// <c>energy=…</c> and, for periodic systems, <c>Lattice="ax ay az bx by bz cx cy cz"</c>, <c>pbc="T T T"</c> and
/// <c>stress="…"</c> (9 values, or 6 in Voigt order xx yy zz yz xz xy), then N lines <c>Symbol x y z fx fy fz</c>.
/// Gzipped files (<c>.gz</c>) are read as they are. The key names can be changed (<see cref="ExtendedXyzKeys"/>).
/// </summary>
/// <remarks>
/// <para>Atom types become atomic numbers (H = 1, C = 6, …), which <see cref="PonitaTrainer"/> takes as type indices.
/// Units are the file's: <c>bench/xtb/make-md17.sh</c> writes Å, kcal/mol and kcal/mol/Å, as MD17 does.</para>
/// <para>The lattice goes to <see cref="MoleculeRow.Cell"/> with the vectors of non-periodic directions (pbc F) set
/// to zero, the convention <see cref="PonitaOptionsBase.CellColumnName"/> reads; a Lattice without pbc is periodic in
/// all directions (as ASE reads it), and a frame periodic in no direction gets an empty cell. The stress goes to
/// <see cref="MoleculeRow.Stress"/> as 9 values, row-major.</para>
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
    public static List<MoleculeRow> Read(string path) => Read(path, new ExtendedXyzKeys());

    /// <summary>Every frame of the file at <paramref name="path"/> (gzipped when it ends in .gz), with the comment-line keys of <paramref name="keys"/>.</summary>
    public static List<MoleculeRow> Read(string path, ExtendedXyzKeys keys)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var file = File.OpenRead(path);
        using var stream = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : (Stream)file;
        using var reader = new StreamReader(stream);
        return Read(reader, keys, path).ToList();
    }

    /// <summary>Every frame of <paramref name="reader"/>; <paramref name="source"/> names it in error messages.</summary>
    public static IEnumerable<MoleculeRow> Read(TextReader reader, string source = "the input") => Read(reader, new ExtendedXyzKeys(), source);

    /// <summary>Every frame of <paramref name="reader"/> with the comment-line keys of <paramref name="keys"/>; <paramref name="source"/> names it in error messages.</summary>
    public static IEnumerable<MoleculeRow> Read(TextReader reader, ExtendedXyzKeys keys, string source = "the input")
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(keys);
        keys.Validate();
        return ReadFrames(reader, keys, source);
    }

    private static IEnumerable<MoleculeRow> ReadFrames(TextReader reader, ExtendedXyzKeys keys, string source)
    {
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
            var energyText = Field(comment, keys.Energy) ?? throw Bad($"the comment line has no {keys.Energy}=… field.");
            if (!double.TryParse(energyText, NumberStyles.Float, CultureInfo.InvariantCulture, out double energy) || !double.IsFinite(energy))
                throw Bad($"{keys.Energy} '{energyText}' is not a finite number.");
            var layout = Layout(Field(comment, "Properties"), keys.Forces, Bad);
            bool hasForces = layout.Forces >= 0;
            var row = new MoleculeRow
            {
                Positions = new float[3 * n], AtomTypes = new int[n], Label = (float)energy, Forces = hasForces ? new float[3 * n] : [],
                Cell = ReadCell(comment, keys, Bad), Stress = ReadStress(comment, keys, Bad),
            };
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

    /// <summary>The cell of a comment line: the Lattice with non-periodic vectors zeroed, or empty (no Lattice, or periodic in no direction).</summary>
    private static float[] ReadCell(string comment, ExtendedXyzKeys keys, Func<string, InvalidDataException> bad)
    {
        var latticeText = Field(comment, keys.Lattice);
        var pbcText = Field(comment, keys.Pbc);
        if (latticeText is null)
        {
            if (pbcText is not null && Flags(pbcText, keys.Pbc, bad).Any(p => p))
                throw bad($"{keys.Pbc}=\"{pbcText}\" marks periodic directions, but the comment line has no {keys.Lattice}=\"…\" (9 numbers).");
            return [];
        }
        var lattice = Numbers(latticeText, keys.Lattice, bad);
        if (lattice.Length != 9) throw bad($"{keys.Lattice} holds {lattice.Length} numbers; it needs 9 (the lattice vectors a, b, c).");
        var periodic = pbcText is null ? [true, true, true] : Flags(pbcText, keys.Pbc, bad);
        if (!periodic.Any(p => p)) return [];
        for (int k = 0; k < 3; k++)
            if (!periodic[k]) Array.Clear(lattice, 3 * k, 3);
        if (PeriodicRadiusGraph.Problem(lattice) is { } problem) throw bad($"the cell ({keys.Lattice} with {keys.Pbc}) has {problem}.");
        return lattice;
    }

    /// <summary>The stress of a comment line as 9 values row-major (from 9, or from 6 in Voigt order xx yy zz yz xz xy), or empty.</summary>
    private static float[] ReadStress(string comment, ExtendedXyzKeys keys, Func<string, InvalidDataException> bad)
    {
        var text = Field(comment, keys.Stress);
        if (text is null) return [];
        var v = Numbers(text, keys.Stress, bad);
        return v.Length switch
        {
            9 => v,
            6 => PointCloudChecks.FromVoigt(v),
            _ => throw bad($"{keys.Stress} holds {v.Length} numbers; it needs 9 (a 3×3 tensor, row-major) or 6 (Voigt order xx yy zz yz xz xy)."),
        };
    }

    private static float[] Numbers(string text, string key, Func<string, InvalidDataException> bad) =>
        text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Select(t =>
            float.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out float v) && float.IsFinite(v) ? v : throw bad($"{key} value '{t}' is not a finite number.")).ToArray();

    private static bool[] Flags(string text, string key, Func<string, InvalidDataException> bad)
    {
        var flags = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Select(t => t.ToUpperInvariant() switch
        {
            "T" or "TRUE" or "1" => true,
            "F" or "FALSE" or "0" => false,
            _ => throw bad($"{key} value '{t}' is not T or F."),
        }).ToArray();
        return flags.Length == 3 ? flags : throw bad($"{key}=\"{text}\" needs 3 flags (T or F), one per lattice vector.");
    }

    /// <summary>Writes <paramref name="rows"/> as extended XYZ frames to the file at <paramref name="path"/> (gzipped when it ends in .gz).</summary>
    public static void Write(string path, IEnumerable<MoleculeRow> rows, ExtendedXyzKeys? keys = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var file = File.Create(path);
        using var stream = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionLevel.Optimal) : (Stream)file;
        using var writer = new StreamWriter(stream);
        Write(writer, rows, keys);
    }

    /// <summary>
    /// Writes <paramref name="rows"/> as extended XYZ frames: atomic numbers as element symbols, positions, forces when
    /// a row has them, the energy, and the cell (<c>Lattice</c> and <c>pbc</c>, a zero lattice vector written with F) and
    /// stress (9 values) when a row has them. Numbers are written so that they read back exactly.
    /// </summary>
    /// <exception cref="ArgumentException">A row whose arrays do not fit together (naming the row), or an atomic number outside H … Xe.</exception>
    public static void Write(TextWriter writer, IEnumerable<MoleculeRow> rows, ExtendedXyzKeys? keys = null)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(rows);
        keys ??= new ExtendedXyzKeys();
        keys.Validate();
        string F(float v) => v.ToString("R", CultureInfo.InvariantCulture);
        int index = 0;
        foreach (var row in rows)
        {
            ArgumentNullException.ThrowIfNull(row, nameof(rows));
            int n = row.AtomTypes.Length;
            string Problem(string what) => $"Row {index}: {what}.";
            if (n == 0 || row.Positions.Length != 3 * n)
                throw new ArgumentException(Problem($"{row.Positions.Length} positions for {n} atom types (3 per atom, at least one atom)"), nameof(rows));
            bool forces = row.Forces.Length > 0;
            if (forces && row.Forces.Length != 3 * n) throw new ArgumentException(Problem($"{row.Forces.Length} force components for {n} atoms (3 per atom, or none)"), nameof(rows));
            if (row.Cell.Length is not (0 or 9)) throw new ArgumentException(Problem($"a cell of {row.Cell.Length} values (9, or none)"), nameof(rows));
            if (row.Stress.Length is not (0 or 9)) throw new ArgumentException(Problem($"a stress of {row.Stress.Length} values (9, or none)"), nameof(rows));
            var comment = new System.Text.StringBuilder();
            if (row.Cell.Length == 9)
            {
                var periodic = PeriodicRadiusGraph.PeriodicDirections(row.Cell);
                comment.Append(keys.Lattice).Append("=\"").Append(string.Join(' ', row.Cell.Select(F))).Append("\" ");
                comment.Append(keys.Pbc).Append("=\"").Append(string.Join(' ', periodic.Select(p => p ? "T" : "F"))).Append("\" ");
            }
            comment.Append("Properties=species:S:1:pos:R:3").Append(forces ? $":{keys.Forces}:R:3" : "").Append(' ');
            comment.Append(keys.Energy).Append('=').Append(F(row.Label));
            if (row.Stress.Length == 9) comment.Append(' ').Append(keys.Stress).Append("=\"").Append(string.Join(' ', row.Stress.Select(F))).Append('"');
            writer.Write(n.ToString(CultureInfo.InvariantCulture));
            writer.Write('\n');
            writer.Write(comment.ToString());
            writer.Write('\n');
            for (int i = 0; i < n; i++)
            {
                int z = row.AtomTypes[i];
                if (z < 1 || z >= Elements.Length) throw new ArgumentException(Problem($"atom {i} has atomic number {z}; H (1) to Xe (54) can be written"), nameof(rows));
                writer.Write(Elements[z]);
                for (int k = 0; k < 3; k++) writer.Write(" " + F(row.Positions[3 * i + k]));
                if (forces)
                    for (int k = 0; k < 3; k++) writer.Write(" " + F(row.Forces[3 * i + k]));
                writer.Write('\n');
            }
            index++;
        }
    }

    /// <summary>Where species, positions and forces stand on an atom line, from <c>Properties=name:type:count:…</c> (default: species, pos).</summary>
    private static (int Species, int Positions, int Forces, int Columns) Layout(string? properties, string forcesName, Func<string, InvalidDataException> bad)
    {
        if (properties is null) return (0, 1, -1, 4);
        var parts = properties.Split(':');
        if (parts.Length % 3 != 0) throw bad($"Properties '{properties}' is not a list of name:type:count triples.");
        int species = -1, positions = -1, forces = -1, column = 0;
        for (int p = 0; p < parts.Length; p += 3)
        {
            if (!int.TryParse(parts[p + 2], NumberStyles.Integer, CultureInfo.InvariantCulture, out int count) || count < 1)
                throw bad($"Properties entry '{parts[p]}' has no valid column count.");
            string name = parts[p].ToLowerInvariant();
            if (name == forcesName.ToLowerInvariant()) name = "forces";
            else if (name == "forces") name = "forces (not the forces key)";
            switch (name, parts[p + 1], count)
            {
                case ("species", "S", 1): species = column; break;
                case ("pos", "R", 3): positions = column; break;
                case ("forces", "R", 3): forces = column; break;
                case ("species" or "pos" or "forces", _, _): throw bad($"Properties entry '{parts[p]}:{parts[p + 1]}:{count}' is not the expected species:S:1, pos:R:3 or {forcesName}:R:3.");
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

/// <summary>
/// The key names <see cref="ExtendedXyz"/> reads and writes: comment-line keys for the energy, lattice, periodic flags
/// and stress, and the <c>Properties</c> name of the per-atom forces. Defaults are ASE's.
/// </summary>
public sealed class ExtendedXyzKeys
{
    /// <summary>The energy key (e.g. "energy", "free_energy", "REF_energy"). Default: "energy".</summary>
    public string Energy { get; set; } = "energy";

    /// <summary>The per-atom forces in <c>Properties</c> (e.g. "forces", "REF_forces"). Default: "forces".</summary>
    public string Forces { get; set; } = "forces";

    /// <summary>The lattice key: 9 numbers, the vectors a, b, c. Default: "Lattice".</summary>
    public string Lattice { get; set; } = "Lattice";

    /// <summary>The periodic-boundary flags key: 3 values T or F. Default: "pbc".</summary>
    public string Pbc { get; set; } = "pbc";

    /// <summary>The stress key: 9 numbers (row-major) or 6 (Voigt order xx yy zz yz xz xy). Default: "stress".</summary>
    public string Stress { get; set; } = "stress";

    internal void Validate()
    {
        foreach (var (name, value) in new[] { (nameof(Energy), Energy), (nameof(Forces), Forces), (nameof(Lattice), Lattice), (nameof(Pbc), Pbc), (nameof(Stress), Stress) })
            if (string.IsNullOrWhiteSpace(value) || value.Any(c => char.IsWhiteSpace(c) || c is '=' or '"' or ':'))
                throw new ArgumentException($"ExtendedXyzKeys.{name} ('{value}') must be a non-empty name without spaces, '=', '\"' or ':'.", name);
    }
}
