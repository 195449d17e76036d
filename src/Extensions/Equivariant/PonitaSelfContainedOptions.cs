namespace MLExtensions.Equivariant;

/// <summary>
/// The limits, and the input and output names, of a self-contained PONITA ONNX model (<see cref="PonitaModel.SaveSelfContainedOnnx(string, PonitaSelfContainedOptions?)"/>),
/// whose graph finds the neighbours itself: the largest system it scores and, for periodic models, how thin a cell may be.
/// </summary>
/// <remarks>
/// The graph measures every pair of atoms in every lattice image it needs (no cell list), so time and memory grow as
/// N² × M for N atoms and M images: M = 1 for open clusters, 27 for a cell at least the cutoff thick in every
/// direction, 9 for such a slab, 125 for one down to half the cutoff. The float64 distances alone take 8·N²·M bytes,
/// and ONNX Runtime holds a few such tensors at once.
/// </remarks>
public sealed class PonitaSelfContainedOptions
{
    /// <summary>The most candidate pairs N² × M the export accepts: beyond, the float64 distances alone would exceed 16 GiB.</summary>
    public const long MaximumPairs = 1L << 31;

    /// <summary>
    /// The most atoms the graph scores (default 1,000); a larger system (or an empty one) is refused by a check node
    /// named <c>mlx_refuse__more_than_{MaximumAtoms}_atoms_or_none</c>, which ONNX Runtime's error quotes.
    /// </summary>
    public int MaximumAtoms { get; set; } = 1_000;

    /// <summary>
    /// Periodic models: the most lattice images the graph measures per pair (default 125). The images a cell needs
    /// come from the cell in the graph: floor(cutoff / h) + 1 each way along a periodic direction of thickness h (the
    /// distance between its opposite faces), none along an open one (a zero lattice vector), so
    /// M = Π (2·floor(cutoff / h_k) + 1). A cell that needs more (thinner than the limit allows, or degenerate) is
    /// refused by a check node named <c>mlx_refuse__cell_needs_more_than_{MaximumImages}_images</c>. Ignored for open-cluster models.
    /// </summary>
    public int MaximumImages { get; set; } = 125;

    /// <summary>Refuses limits no graph can meet: <see cref="PonitaModel.SaveSelfContainedOnnx(string, PonitaSelfContainedOptions?)"/> calls it.</summary>
    internal void Validate(bool periodic)
    {
        if (MaximumAtoms < 1) throw new ArgumentOutOfRangeException(nameof(MaximumAtoms), MaximumAtoms, "The self-contained graph must score at least one atom.");
        if (periodic && MaximumImages < 1) throw new ArgumentOutOfRangeException(nameof(MaximumImages), MaximumImages, "A periodic graph measures at least the central image.");
        double pairs = (double)MaximumAtoms * MaximumAtoms * (periodic ? MaximumImages : 1);
        if (pairs > MaximumPairs)
            throw new ArgumentOutOfRangeException(nameof(MaximumAtoms), MaximumAtoms,
                $"{MaximumAtoms:N0} atoms × {(periodic ? MaximumImages : 1):N0} images are {pairs:G3} candidate pairs, more than the {MaximumPairs:N0} a self-contained graph measures " +
                "(its float64 distances alone would take over 16 GiB): lower MaximumAtoms" + (periodic ? " or MaximumImages" : "") + ", or score large systems with the ordinary model, whose neighbour search is a cell list.");
    }

    // The file's input and output names.

    /// <summary>Input: the atoms' positions, float32 [N, 3], in Å (the model's length unit).</summary>
    public const string Positions = "positions";

    /// <summary>Input: float32 [N] type indices (those the model was trained on), or [N, F] features for a model trained on features.</summary>
    public const string Types = "types";

    /// <summary>Input (periodic models only): float32 [3, 3], the lattice vectors a, b, c as rows in Å; a zero row marks an open direction, all zero an open cluster.</summary>
    public const string Cell = "cell";

    /// <summary>Output: float32 [1], the energy in the model's energy unit (<see cref="PonitaDescription.EnergyUnit"/>).</summary>
    public const string Energy = "energy";

    /// <summary>Output (models that predict forces): float32 [N, 3], −∂E/∂x in energy unit per Å.</summary>
    public const string Forces = "forces";

    /// <summary>Output (models that predict a stress): float32 [3, 3], (1/V)·∂E/∂ε in energy unit per Å³, ASE's sign; NaN unless all three lattice vectors are periodic.</summary>
    public const string Stress = "stress";

    /// <summary>Output (models that predict atom energies): float32 [N], every atom's share of the energy.</summary>
    public const string AtomEnergies = "atom_energies";

    /// <summary>Metadata key of the model's <see cref="PonitaDescription"/> (JSON), kept apart from <see cref="PonitaDescription.MetadataKey"/> because the inputs differ.</summary>
    public const string DescriptionKey = "mlextensions.ponita.self_contained";
}
