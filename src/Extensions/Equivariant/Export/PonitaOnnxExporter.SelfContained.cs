using MLExtensions.Onnx.Graph;
using MLExtensions.Onnx.Scoring;
using static TorchSharp.torch;

namespace MLExtensions.Equivariant;

internal static partial class PonitaOnnxExporter
{
    /// <summary>
    /// The scoring graph of one system that finds its own neighbours (<see cref="PonitaOnnxNeighbours"/>): inputs
    /// positions [N, 3], types [N] or [N, F] and, when <paramref name="periodic"/>, the cell [3, 3]; outputs the energy
    /// [1] and, as asked, forces [N, 3], stress [3, 3] and atom energies [N] (names in <see cref="PonitaSelfContainedOptions"/>).
    /// </summary>
    /// <remarks>
    /// Positions and cell must be finite (<see cref="OnnxOutputHeads.RequireFinite"/>); more than
    /// <see cref="PonitaSelfContainedOptions.MaximumAtoms"/> atoms, none, or a cell that needs more than
    /// <see cref="PonitaSelfContainedOptions.MaximumImages"/> images are refused by check nodes before any pair is measured,
    /// and so is, for a model of type indices, a type outside <paramref name="knownTypes"/> (one never trained on, or
    /// not a whole number), which the one-hot encoding would otherwise turn into an atom of no type.
    /// </remarks>
    public static byte[] ExportSelfContained(PonitaNetwork network, bool typesAreIndices, bool periodic, int? maximumNeighbors, bool selfLoops,
        PonitaSelfContainedOptions limits, bool forces, bool stress, bool atomEnergies, IReadOnlyDictionary<string, string>? metadata = null,
        IReadOnlyList<int>? knownTypes = null)
    {
        limits.Validate(periodic);
        if (stress && !periodic) throw new ArgumentException("A stress needs a periodic model (a cell input).", nameof(stress));
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var g = new OnnxGraphBuilder("ponita_self_contained");
        var atoms = OnnxDim.Symbolic("atoms");
        var x = OnnxOutputHeads.RequireFinite(g, g.AddInput(PonitaSelfContainedOptions.Positions, OnnxElementType.Float, atoms, 3));
        var t = Types(g, network, typesAreIndices, PonitaSelfContainedOptions.Types, [atoms], []);
        if (typesAreIndices) x = RefuseUnknownTypes(g, x, t, network, knownTypes);
        var count = g.Slice(g.Shape(x), 0, 1, 0);
        var outside = PonitaOnnxCell.Op(g, "Or", g.Greater(count, g.Int64s(limits.MaximumAtoms)), PonitaOnnxCell.Op(g, "Less", count, g.Int64s(1)));
        // Checked on a constant 0 added to the positions: a reshape of the empty positions themselves would not fail.
        x = g.Add(x, PonitaOnnxNeighbours.Refuse(g, g.AddInitializer("atoms_check", [0f], 1), 1, outside, $"mlx_refuse__more_than_{limits.MaximumAtoms}_atoms_or_none"));
        PonitaOnnxCell.Geometry? cell = null;
        OnnxValue? cellInput = null;
        if (periodic)
        {
            cellInput = OnnxOutputHeads.RequireFinite(g, g.AddInput(PonitaSelfContainedOptions.Cell, OnnxElementType.Float, 3, 3));
            cell = PonitaOnnxCell.Of(g, cellInput.Value, network.Cutoff);
            var sides = g.Add(g.Mul(cell.Reach, g.AddInitializer("two_d", [2.0])), g.AddInitializer("one_side", [1.0]));      // 2·reach + 1
            var images = g.Mul(g.Mul(g.Slice(sides, 0, 1, 0), g.Slice(sides, 1, 2, 0)), g.Slice(sides, 2, 3, 0));
            // Not (images ≤ limit): a NaN count (a degenerate cell) is refused too.
            var tooThin = PonitaOnnxCell.Op(g, "Not", PonitaOnnxCell.Op(g, "LessOrEqual", images, g.AddInitializer("image_limit", [(double)limits.MaximumImages])));
            cell = cell with { Reach = PonitaOnnxNeighbours.Refuse(g, cell.Reach, 1, tooThin, $"mlx_refuse__cell_needs_more_than_{limits.MaximumImages}_images") };
        }
        var edges = PonitaOnnxNeighbours.Build(g, x, cell, network.Cutoff, maximumNeighbors, selfLoops);
        var graph = g.Cast(g.Zeros(count), OnnxElementType.Int64);
        var inputs = Graph(g, x, t, edges.Senders, edges.Receivers, graph, edges.Shifts);
        if (cellInput is { } given && network.CanonicalFrame) inputs = inputs with { Cells = g.Reshape(given, [1, 3, 3]) };
        var (energy, force, virial, perAtom) = EnergyAndForces(g, network, inputs, forces, stress, atomEnergies);
        g.AddOutput(g.Identity(energy, PonitaSelfContainedOptions.Energy), OnnxElementType.Float, 1);
        if (forces) g.AddOutput(g.Identity(force!.Value, PonitaSelfContainedOptions.Forces), OnnxElementType.Float, atoms, 3);
        if (stress) g.AddOutput(g.AddNode("Reshape", [g.Div(virial!.Value, cell!.Volume), g.Int64s(3, 3)], output: PonitaSelfContainedOptions.Stress)[0], OnnxElementType.Float, 3, 3);
        if (atomEnergies) g.AddOutput(g.Identity(perAtom!.Value, PonitaSelfContainedOptions.AtomEnergies), OnnxElementType.Float, atoms);
        foreach (var (key, value) in metadata ?? new Dictionary<string, string>()) g.SetMetadata(key, value);
        return g.ToBytes();
    }

    /// <summary>
    /// <paramref name="x"/> behind a check node that fails when an atom's one-hot type <paramref name="t"/> [N, F]
    /// matches no type of <paramref name="knownTypes"/> (all F when null).
    /// </summary>
    private static OnnxValue RefuseUnknownTypes(OnnxGraphBuilder g, OnnxValue x, OnnxValue t, PonitaNetwork network, IReadOnlyList<int>? knownTypes)
    {
        int featureCount = (int)network.Ends.Embed.weight!.shape[1];
        var trained = Enumerable.Range(0, featureCount).Select(i => knownTypes is null || knownTypes.Contains(i) ? 1f : 0f).ToArray();
        var known = g.ReduceSum(g.Mul(t, g.AddInitializer("trained_types", trained, featureCount)), [1], keepDims: false);   // [N]: 1, or 0 for an unknown type
        var unknown = g.Greater(g.ReduceMax(g.Sub(g.Scalar(1f, "one_type"), known), [0]), g.Scalar(0.5f, "half_type"));       // [1]
        return g.Add(x, PonitaOnnxNeighbours.Refuse(g, g.AddInitializer("types_check", [0f], 1), 1, unknown, "mlx_refuse__unknown_atom_type"));
    }
}
