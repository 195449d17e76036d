using System.Globalization;
using System.Text;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;

namespace MLExtensions.Equivariant;

/// <summary>Names of the temporary columns a PONITA scoring chain makes and drops.</summary>
internal static class PonitaColumns
{
    public const string Positions = "mlx_ponita_positions";
    public const string Types = "mlx_ponita_types";
    public const string Contract = "mlx_ponita_contract";
    public const string Points = "mlx_ponita_points";
    public const string Kinds = "mlx_ponita_kinds";
    public const string Senders = "mlx_ponita_senders";
    public const string Receivers = "mlx_ponita_receivers";
    public const string GraphIndex = "mlx_ponita_graph";
    public const string PointVectors = "mlx_ponita_point_vectors";
    public const string RawPointVectors = "mlx_ponita_raw_point_vectors";
    public const string Cell = "mlx_ponita_cell";
    public const string Shifts = "mlx_ponita_shifts";
    public const string Volumes = "mlx_ponita_volumes";
    public const string Cells = "mlx_ponita_cells";
}

/// <summary>
/// What a fitted model expects of its point-cloud input: the user's column names (for messages) and the number of
/// known types or of features per point.
/// </summary>
/// <remarks>
/// A CustomMapping factory is stateless (only its contract name is saved with a model), so the chain carries this
/// contract as a constant text column made by ML.NET's saveable Expression transform; the check reads it back.
/// </remarks>
/// <param name="PositionsColumn">The user's positions column.</param>
/// <param name="TypesColumn">The user's atom types column.</param>
/// <param name="TypesAreIndices">True for type indices, false for per-point features.</param>
/// <param name="Count">Features per point (for type indices: the one-hot width, largest index + 1).</param>
/// <param name="KnownTypes">With type indices: the indices seen in training.</param>
/// <param name="Cutoff">The radius of the interaction graph.</param>
/// <param name="MaximumNeighbors">The neighbour limit per point, if any.</param>
/// <param name="SelfLoops">Whether every point also sends a message to itself.</param>
/// <param name="Memory">The memory an evaluation takes per edge, per point and in all (<see cref="PonitaMemory"/>).</param>
internal sealed record PonitaInputContract(string PositionsColumn, string TypesColumn, bool TypesAreIndices, int Count, bool[]? KnownTypes,
    double Cutoff, int? MaximumNeighbors, bool SelfLoops, PonitaMemoryCost Memory)
{
    /// <summary>The user's input vectors column (for messages), when the model reads one.</summary>
    public string? VectorsColumn { get; init; }

    /// <summary>The user's periodic cell column, when the model was trained with one (its ONNX graph then takes edge shifts).</summary>
    public string? CellColumn { get; init; }

    private const string Version = "ponita-input/5";

    /// <summary>The format models saved before periodic cells (no cell column part); still read.</summary>
    private const string NoCellVersion = "ponita-input/4";

    /// <summary>The format models saved before the memory guard counted points and orientation pairs; still read.</summary>
    private const string EdgeOnlyVersion = "ponita-input/3";

    /// <summary>The Expression-language lambda that yields the contract for every value of its input column.</summary>
    public string Expression() => $"x => \"{Encode()}\"";

    public string Encode() => string.Join(';', Version, Base64(PositionsColumn), Base64(TypesColumn), TypesAreIndices ? "types" : "features",
        Count.ToString(CultureInfo.InvariantCulture), KnownTypes is null ? "" : string.Join(',', PointCloudChecks.KnownList(KnownTypes)),
        Cutoff.ToString("R", CultureInfo.InvariantCulture), MaximumNeighbors?.ToString(CultureInfo.InvariantCulture) ?? "",
        SelfLoops ? "loops" : "", Encode(Memory), VectorsColumn is null ? "" : Base64(VectorsColumn), CellColumn is null ? "" : Base64(CellColumn));

    /// <summary>The contract in a row's contract column, or null when the column is empty (a row without positions).</summary>
    public static PonitaInputContract? Decode(string[] values) =>
        values.Length == 0 ? null : Decoded.GetOrAdd(values[0], Parse);

    // Every row carries the same text: parse it once per model, not once per row.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, PonitaInputContract> Decoded = new(StringComparer.Ordinal);

    private static PonitaInputContract Parse(string text)
    {
        var parts = text.Split(';');
        if (!(parts.Length == 12 && parts[0] == Version) && !(parts.Length == 11 && (parts[0] == NoCellVersion || parts[0] == EdgeOnlyVersion)))
            throw new InvalidDataException($"The PONITA input contract '{text}' is not one this version of MLExtensions reads; retrain or update the package.");
        int count = int.Parse(parts[4], CultureInfo.InvariantCulture);
        bool indices = parts[3] == "types";
        bool[]? known = null;
        if (indices)
        {
            known = new bool[count];
            foreach (var t in parts[5].Split(',', StringSplitOptions.RemoveEmptyEntries)) known[int.Parse(t, CultureInfo.InvariantCulture)] = true;
        }
        return new PonitaInputContract(FromBase64(parts[1]), FromBase64(parts[2]), indices, count, known,
            double.Parse(parts[6], CultureInfo.InvariantCulture), parts[7].Length == 0 ? null : int.Parse(parts[7], CultureInfo.InvariantCulture),
            parts[8] == "loops", parts[0] == EdgeOnlyVersion ? EdgeOnly(parts[9]) : DecodeMemory(parts[9]))
        {
            VectorsColumn = parts[10].Length == 0 ? null : FromBase64(parts[10]),
            CellColumn = parts.Length > 11 && parts[11].Length > 0 ? FromBase64(parts[11]) : null,
        };
    }

    private static string Encode(PonitaMemoryCost memory) => string.Join(',', new[] { memory.PerEdge, memory.PerPoint, memory.Fixed }.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));

    private static PonitaMemoryCost DecodeMemory(string text)
    {
        var values = text.Split(',').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        return new PonitaMemoryCost(values[0], values[1], values[2]);
    }

    /// <summary>An older contract's cost, bytes per edge only: its guard, as it was when the model was saved.</summary>
    private static PonitaMemoryCost EdgeOnly(string bytesPerEdge) => new(double.Parse(bytesPerEdge, CultureInfo.InvariantCulture), 0, 0);

    private static string Base64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    private static string FromBase64(string text) => Encoding.UTF8.GetString(Convert.FromBase64String(text));
}

/// <summary>Input of <see cref="PonitaInputMapping"/>: copies of the point-cloud columns and the input contract.</summary>
internal class PonitaRawInput
{
    /// <summary>x, y, z of every point.</summary>
    [ColumnName(PonitaColumns.Positions)]
    public float[] Positions { get; set; } = [];

    /// <summary>Type indices (or features) of every point.</summary>
    [ColumnName(PonitaColumns.Types)]
    public float[] AtomTypes { get; set; } = [];

    /// <summary>The model's input contract (the same text in every slot).</summary>
    [ColumnName(PonitaColumns.Contract)]
    public string[] Contract { get; set; } = [];
}

/// <summary>Output of <see cref="PonitaInputMapping"/>: the checked inputs the ONNX model reads.</summary>
internal class PonitaCheckedInput
{
    /// <summary>x, y, z of every point, fed to the model as [1, N, 3].</summary>
    [ColumnName(PonitaColumns.Points)]
    public float[] Points { get; set; } = [];

    /// <summary>Type indices [1, N] or features [1, N, F].</summary>
    [ColumnName(PonitaColumns.Kinds)]
    public float[] Kinds { get; set; } = [];

    /// <summary>The sending point of every radius-graph edge.</summary>
    [ColumnName(PonitaColumns.Senders)]
    public long[] Senders { get; set; } = [];

    /// <summary>The receiving point of every edge.</summary>
    [ColumnName(PonitaColumns.Receivers)]
    public long[] Receivers { get; set; } = [];

    /// <summary>The cloud index of every point: all 0 for one cloud per row.</summary>
    [ColumnName(PonitaColumns.GraphIndex)]
    public long[] Graph { get; set; } = [];
}

/// <summary>
/// Checks every point cloud before the PONITA ONNX model sees it: positions a multiple of 3, finite and without
/// coincident points, one known type per point (or F finite features). Bad rows raise an
/// <see cref="InvalidDataException"/> naming the column, instead of NaN or out-of-range scores. Then builds the
/// cloud's radius graph (<see cref="RadiusGraph"/>), which the ONNX model takes as input.
/// </summary>
[CustomMappingFactoryAttribute(ContractName)]
internal sealed class PonitaInputMapping : CustomMappingFactory<PonitaRawInput, PonitaCheckedInput>
{
    /// <summary>The name saved with models.</summary>
    public const string ContractName = "MLExtensions.Equivariant.PonitaInput";

    /// <inheritdoc />
    public override Action<PonitaRawInput, PonitaCheckedInput> GetMapping() => (raw, output) => Prepare(raw, output);

    /// <summary>Checks one row and fills the model's inputs; returns the row's contract and point count.</summary>
    internal static (PonitaInputContract Contract, int Points) Prepare(PonitaRawInput raw, PonitaCheckedInput output) => Prepare(raw, output, null, out _);

    /// <summary>As <see cref="Prepare(PonitaRawInput, PonitaCheckedInput)"/>, for a row with a periodic cell (empty: not periodic); <paramref name="edges"/> carry its shifts.</summary>
    internal static (PonitaInputContract Contract, int Points) Prepare(PonitaRawInput raw, PonitaCheckedInput output, float[]? cell, out EdgeList edges)
    {
        var contract = PonitaInputContract.Decode(raw.Contract)
            ?? throw new InvalidDataException("The positions column of a PONITA model holds no points in this row.");
        int n = PonitaPotential.Check(raw.Positions, raw.AtomTypes, null, contract);
        var checkedCell = cell is null ? null : PointCloudChecks.ValidateCell(cell, null, contract.CellColumn ?? "cell");
        edges = PonitaMemory.Graphs([raw.Positions], contract, [checkedCell])[0];
        output.Points = raw.Positions.ToArray();
        output.Kinds = raw.AtomTypes.ToArray();
        output.Senders = edges.Senders;
        output.Receivers = edges.Receivers;
        output.Graph = new long[n];
        return (contract, n);
    }
}

/// <summary>Input of <see cref="PonitaPeriodicInputMapping"/>: the point cloud and a copy of the periodic cell column.</summary>
internal sealed class PonitaPeriodicRawInput : PonitaRawInput
{
    /// <summary>The lattice vectors a, b, c as rows (9 values), or none for a row that is not periodic.</summary>
    [ColumnName(PonitaColumns.Cell)]
    public float[] Cell { get; set; } = [];
}

/// <summary>Output of <see cref="PonitaPeriodicInputMapping"/>: the checked inputs with every edge's lattice shift.</summary>
internal class PonitaPeriodicCheckedInput : PonitaCheckedInput
{
    /// <summary>The Cartesian lattice shift of every edge (x, y, z in turn; zero for open clouds), fed to the model as [1, E, 3].</summary>
    [ColumnName(PonitaColumns.Shifts)]
    public float[] Shifts { get; set; } = [];
}

/// <summary>
/// The row check of <see cref="PonitaInputMapping"/> for models trained with a periodic cell column: also checks the
/// cell (empty, or 9 finite values with independent non-zero lattice vectors) and builds the radius graph under
/// periodic boundaries, with each edge's lattice shift.
/// </summary>
[CustomMappingFactoryAttribute(ContractName)]
internal sealed class PonitaPeriodicInputMapping : CustomMappingFactory<PonitaPeriodicRawInput, PonitaPeriodicCheckedInput>
{
    /// <summary>The name saved with models.</summary>
    public const string ContractName = "MLExtensions.Equivariant.PonitaPeriodicInput";

    /// <inheritdoc />
    public override Action<PonitaPeriodicRawInput, PonitaPeriodicCheckedInput> GetMapping() => Prepare;

    /// <summary>Checks the row and builds its periodic graph with every edge's shift.</summary>
    internal static void Prepare(PonitaPeriodicRawInput raw, PonitaPeriodicCheckedInput output)
    {
        PonitaInputMapping.Prepare(raw, output, raw.Cell, out var edges);
        output.Shifts = edges.Shifts ?? new float[3 * edges.Count];
    }
}

/// <summary>Output of <see cref="PonitaStressInputMapping"/>: the periodic inputs with the cell's volume.</summary>
internal class PonitaStressCheckedInput : PonitaPeriodicCheckedInput
{
    /// <summary>The cell's volume in Å³ (NaN for a row without one, whose stress is then NaN), fed to the model as [1, 1].</summary>
    [ColumnName(PonitaColumns.Volumes)]
    public float[] Volumes { get; set; } = [];
}

/// <summary>
/// The row check of <see cref="PonitaPeriodicInputMapping"/> for periodic models that predict the stress: also gives
/// the cell's volume, which the ONNX graph divides the virial by.
/// </summary>
[CustomMappingFactoryAttribute(ContractName)]
internal sealed class PonitaStressInputMapping : CustomMappingFactory<PonitaPeriodicRawInput, PonitaStressCheckedInput>
{
    /// <summary>The name saved with models.</summary>
    public const string ContractName = "MLExtensions.Equivariant.PonitaStressInput";

    /// <inheritdoc />
    public override Action<PonitaPeriodicRawInput, PonitaStressCheckedInput> GetMapping() => (raw, output) =>
    {
        PonitaPeriodicInputMapping.Prepare(raw, output);
        output.Volumes = [PeriodicRadiusGraph.StressVolume(raw.Cell)];
    };
}

/// <summary>Output of <see cref="PonitaFramedInputMapping"/>: the periodic inputs with the cell's volume and the cell itself.</summary>
internal sealed class PonitaFramedCheckedInput : PonitaStressCheckedInput
{
    /// <summary>The lattice vectors as rows (zero for a row without a cell), fed to the model as [1, 1, 9] for its lattice frame.</summary>
    [ColumnName(PonitaColumns.Cells)]
    public float[] Cells { get; set; } = [];
}

/// <summary>
/// The row check of <see cref="PonitaPeriodicInputMapping"/> for periodic models that read crystals in their lattice
/// frame (<see cref="LatticeFrame"/>): also gives the cell's volume and the cell, which the ONNX graph builds the frame from.
/// </summary>
[CustomMappingFactoryAttribute(ContractName)]
internal sealed class PonitaFramedInputMapping : CustomMappingFactory<PonitaPeriodicRawInput, PonitaFramedCheckedInput>
{
    /// <summary>The name saved with models.</summary>
    public const string ContractName = "MLExtensions.Equivariant.PonitaFramedInput";

    /// <inheritdoc />
    public override Action<PonitaPeriodicRawInput, PonitaFramedCheckedInput> GetMapping() => (raw, output) =>
    {
        PonitaPeriodicInputMapping.Prepare(raw, output);
        output.Volumes = [PeriodicRadiusGraph.StressVolume(raw.Cell)];
        output.Cells = raw.Cell is { Length: 9 } cell ? [.. cell] : new float[9];
    };
}

/// <summary>Input of <see cref="PonitaVectorInputMapping"/>: the point cloud and a copy of the input vectors column.</summary>
internal sealed class PonitaVectorRawInput : PonitaRawInput
{
    /// <summary>x, y, z of every point's input vector (e.g. its velocity).</summary>
    [ColumnName(PonitaColumns.RawPointVectors)]
    public float[] PointVectors { get; set; } = [];
}

/// <summary>Output of <see cref="PonitaVectorInputMapping"/>: the checked inputs, input vectors included.</summary>
internal sealed class PonitaVectorCheckedInput : PonitaCheckedInput
{
    /// <summary>The input vectors, fed to the model as [1, N, 3].</summary>
    [ColumnName(PonitaColumns.PointVectors)]
    public float[] PointVectors { get; set; } = [];
}

/// <summary>
/// The row check of <see cref="PonitaInputMapping"/> for models with per-point input vectors: also checks that the
/// vectors are 3N finite values.
/// </summary>
[CustomMappingFactoryAttribute(ContractName)]
internal sealed class PonitaVectorInputMapping : CustomMappingFactory<PonitaVectorRawInput, PonitaVectorCheckedInput>
{
    /// <summary>The name saved with models.</summary>
    public const string ContractName = "MLExtensions.Equivariant.PonitaVectorInput";

    /// <inheritdoc />
    public override Action<PonitaVectorRawInput, PonitaVectorCheckedInput> GetMapping() => (raw, output) =>
    {
        var (contract, n) = PonitaInputMapping.Prepare(raw, output);
        PointCloudChecks.ValidateVectors(raw.PointVectors, n, null, contract.VectorsColumn ?? "input vectors", contract.PositionsColumn);
        output.PointVectors = raw.PointVectors.ToArray();
    };
}
