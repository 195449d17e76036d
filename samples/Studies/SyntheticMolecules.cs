using MLExtensions.Equivariant;

namespace MLExtensions.Studies;

/// <summary>
/// Generated data for the equivariant trainers: small molecule-like point clouds with an analytic potential (Morse
/// pairs plus angular three-body terms, <see cref="MoleculeSimulation"/>), with exact energies and forces, as
/// <see cref="MoleculeRow"/>s that <see cref="PonitaTrainer"/> reads with its default columns.
/// </summary>
/// <remarks>To test a model on rotated molecules, use <see cref="MoleculeRow.RandomRotation"/> and <see cref="MoleculeRow.Rotated"/>.</remarks>
public static class SyntheticMolecules
{
    /// <summary>The number of atom types the generator uses (indices 0, 1, 2).</summary>
    public const int TypeCount = MoleculeSimulation.TypeCount;

    /// <summary><paramref name="count"/> molecules of <paramref name="minAtoms"/>..<paramref name="maxAtoms"/> atoms, reproducible from <paramref name="seed"/>.</summary>
    public static IEnumerable<MoleculeRow> Generate(int count, int seed, int minAtoms = 3, int maxAtoms = 8)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfLessThan(minAtoms, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAtoms, minAtoms);
        return MoleculeSimulation.Generate(count, seed, minAtoms, maxAtoms).Select(m => new MoleculeRow
        {
            Positions = m.Positions,
            AtomTypes = m.Types,
            Label = (float)m.Energy,
            Forces = m.Forces,
        });
    }
}
