using MLExtensions.Onnx;
using MLExtensions.Onnx.Scoring;

namespace MLExtensions.Equivariant;

public sealed partial class PonitaModel
{
    /// <summary>
    /// Saves the model as an ONNX graph that needs nothing but positions, types and (for a periodic model) the cell: the
    /// radius graph is built inside it, so an ONNX Runtime host outside .NET (Python, C++, …) scores systems of up to
    /// <see cref="PonitaSelfContainedOptions.MaximumAtoms"/> atoms without MLExtensions. The file is written whole or
    /// not at all (an existing file survives a failure).
    /// </summary>
    /// <remarks>
    /// <para><b>Inputs</b> (names in <see cref="PonitaSelfContainedOptions"/>): <c>positions</c> float32 [N, 3] in Å;
    /// <c>types</c> float32 [N] type indices, or [N, F] features for a model trained on features; periodic models
    /// (trained with a cell column) also <c>cell</c> float32 [3, 3], the lattice vectors as rows in Å, a zero row for an
    /// open direction (a slab), all zero for an open cluster. Positions need not lie inside the cell.</para>
    /// <para><b>Outputs</b>: <c>energy</c> float32 [1] in <see cref="PonitaDescription.EnergyUnit"/>; when the model
    /// predicts them, <c>forces</c> [N, 3] (energy unit/Å), <c>stress</c> [3, 3] (energy unit/Å³, ASE's sign; NaN for a
    /// cell not periodic in all three directions) and <c>atom_energies</c> [N]. One system per run.</para>
    /// <para><b>Neighbours.</b> The edges are those <see cref="RadiusGraph"/> builds for the ordinary model (cutoff,
    /// <see cref="PonitaDescription.MaximumNeighbors"/> with its ties to the lower sender and image, self-loops as
    /// trained, every periodic image within the cutoff, cells thinner than twice the cutoff included), computed from
    /// all N² × M pairs in float64 with the managed search's arithmetic, so both agree pair for pair.</para>
    /// <para><b>What a host sees when an input is refused.</b> The graph cannot raise exceptions of its own: a check
    /// node fails and ONNX Runtime reports its name, e.g. <c>mlx_refuse__more_than_1000_atoms_or_none</c> (more than
    /// <see cref="PonitaSelfContainedOptions.MaximumAtoms"/> atoms, or none),
    /// <c>mlx_refuse__cell_needs_more_than_125_images</c> (a cell too thin for the cutoff and the limit, or degenerate)
    /// and <c>mlx_refuse_non_finite__positions__holds_NaN_or_infinity</c> (likewise for <c>cell</c>). Not checked, unlike
    /// in .NET: type indices the model was not trained on (they embed as zeros), and atoms that coincide (an edge of length 0).</para>
    /// </remarks>
    /// <param name="path">The file to write.</param>
    /// <param name="options">The size limits; default <see cref="PonitaSelfContainedOptions"/>'s.</param>
    /// <exception cref="ArgumentOutOfRangeException">Limits no graph can meet (see <see cref="PonitaSelfContainedOptions"/>).</exception>
    /// <exception cref="ObjectDisposedException">The model was disposed.</exception>
    public void SaveSelfContainedOnnx(string path, PonitaSelfContainedOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var bytes = ExportSelfContained(options ?? new PonitaSelfContainedOptions());
        AtomicFile.WriteAllBytes(path, bytes);
    }

    /// <summary>Writes the self-contained ONNX model (see <see cref="SaveSelfContainedOnnx(string, PonitaSelfContainedOptions?)"/>) to <paramref name="stream"/>.</summary>
    /// <param name="stream">A writable stream; left open.</param>
    /// <param name="options">The size limits; default <see cref="PonitaSelfContainedOptions"/>'s.</param>
    public void SaveSelfContainedOnnx(Stream stream, PonitaSelfContainedOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        stream.Write(ExportSelfContained(options ?? new PonitaSelfContainedOptions()));
    }

    private byte[] ExportSelfContained(PonitaSelfContainedOptions options)
    {
        var d = Description;
        bool periodic = d.CellColumnName is not null;
        options.Validate(periodic);
        using var lease = Lifetime.Enter();
        var initial = PonitaInitialModel.Read(this);
        using var network = initial.ScoringNetwork();
        var metadata = new Dictionary<string, string>
        {
            [MetadataKeys.Method] = d.PositionOnly ? "PNITA" : "PONITA",
            [PonitaSelfContainedOptions.DescriptionKey] = d.ToJson(),
        };
        return PonitaOnnxExporter.ExportSelfContained(network, d.TypesAreIndices, periodic, d.MaximumNeighbors, d.SelfInteraction, options,
            d.PredictedForcesColumnName is not null, d.PredictedStressColumnName is not null, d.PredictedAtomEnergiesColumnName is not null, metadata,
            d.KnownTypes);
    }
}
