using System.Text.Json;
using MLExtensions.Onnx;

namespace MLExtensions.Equivariant;

/// <summary>
/// What a fitted PONITA model is: its inputs, network and energy baseline. Kept in the ONNX model's metadata too, so
/// it survives <c>mlContext.Model.Save</c>/<c>Load</c> (<see cref="FromSavedModel"/>).
/// </summary>
public sealed record PonitaDescription
{
    /// <summary>The ONNX metadata key that holds the description as JSON.</summary>
    public const string MetadataKey = "mlextensions.ponita";

    /// <summary>True when the atom types column holds type indices; false when it holds per-point features.</summary>
    public required bool TypesAreIndices { get; init; }

    /// <summary>Per-point inputs of the network: the one-hot width (largest type index + 1) or the features per point.</summary>
    public required int FeatureCount { get; init; }

    /// <summary>With type indices: the indices seen in training, the only ones the model scores. Null for per-point features.</summary>
    public IReadOnlyList<int>? KnownTypes { get; init; }

    /// <summary>Channels per orientation.</summary>
    public required int HiddenSize { get; init; }

    /// <summary>ConvNeXt blocks.</summary>
    public required int NumberOfLayers { get; init; }

    /// <summary>Orientations on the sphere (1 for the position-only variant).</summary>
    public required int NumberOfOrientations { get; init; }

    /// <summary>Interaction radius, in the positions' units.</summary>
    public required double Cutoff { get; init; }

    /// <summary>The length the kernels measure the invariants in.</summary>
    public double KernelScale { get; init; }

    /// <summary>Gaussians of the pair distance among the kernels' inputs (0 for models trained before they existed).</summary>
    public int NumberOfRadialBasisFunctions { get; init; }

    /// <summary>The neighbour limit per point, or null for every point within the cutoff.</summary>
    public int? MaximumNeighbors { get; init; }

    /// <summary>True when every point also sends a message to itself (self-loops in the radius graph).</summary>
    public bool SelfInteraction { get; init; }

    /// <summary>True when the energy averages a readout after every block (as the reference implementation).</summary>
    public bool ReadoutFromEveryLayer { get; init; }

    /// <summary>True for PNITA, the R³-only variant.</summary>
    public required bool PositionOnly { get; init; }

    /// <summary>Energy per type (or per unit of each feature) fitted by least squares before training; the network learns the rest.</summary>
    public required IReadOnlyList<float> ReferenceEnergies { get; init; }

    /// <summary>The unit the network trained in: the force RMS when trained with forces, else the RMS of the energies left after the reference energies.</summary>
    public required double EnergyScale { get; init; }

    /// <summary>The column of predicted forces, or null when the model predicts energies only.</summary>
    public string? PredictedForcesColumnName { get; init; }

    /// <summary>
    /// The column of predicted stresses (9 values row-major, energy unit/Å³, ASE's sign), or null when the model
    /// predicts none (models without a cell column never do).
    /// </summary>
    public string? PredictedStressColumnName { get; init; }

    /// <summary>The column of every atom's share of the predicted energy, or null when the model predicts none.</summary>
    public string? PredictedAtomEnergiesColumnName { get; init; }

    /// <summary>
    /// The unit of the model's energies (forces: this unit per Å; lengths in Å). Models saved before units were
    /// recorded read as <see cref="PonitaEnergyUnit.KilocaloriePerMole"/>, the unit they assumed.
    /// </summary>
    [System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<PonitaEnergyUnit>))]
    public PonitaEnergyUnit EnergyUnit { get; init; } = PonitaEnergyUnit.KilocaloriePerMole;

    /// <summary>The periodic cell column the model was trained with, or null for a model of open clusters (its graph then takes no lattice shifts).</summary>
    public string? CellColumnName { get; init; }

    /// <summary>
    /// True when the model scores clouds in their canonical frame (<see cref="PonitaTrainer.Options.CanonicalFrame"/>:
    /// open clouds in their principal axes, crystals of a periodic model in their lattice frame), invariant at any grid
    /// size; false for models saved before it, PNITA models, and periodic models saved before their lattice frame.
    /// </summary>
    public bool CanonicalFrame { get; init; }

    /// <summary>The description as JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this);

    /// <summary>Reads a description written by <see cref="ToJson"/>.</summary>
    public static PonitaDescription FromJson(string json) =>
        JsonSerializer.Deserialize<PonitaDescription>(json) ?? throw new InvalidDataException("The PONITA description JSON is empty.");

    /// <summary>The description stored in a model saved with <c>mlContext.Model.Save</c> (null when it holds none).</summary>
    public static PonitaDescription? FromSavedModel(string path)
    {
        foreach (var info in OnnxModelInfo.ReadFromSavedModel(path))
            if (info.Metadata.TryGetValue(MetadataKey, out var json)) return FromJson(json);
        return null;
    }
}
