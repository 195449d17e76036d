using Microsoft.ML.Data;

namespace MLExtensions.Equivariant;

/// <summary>
/// One point cloud in the column layout <see cref="PonitaTrainer"/> reads by default: load a list of these with
/// <c>mlContext.Data.LoadFromEnumerable</c>.
/// </summary>
public sealed class MoleculeRow
{
    /// <summary>x, y, z of every atom (3N values).</summary>
    [VectorType]
    public float[] Positions { get; set; } = [];

    /// <summary>The type index of every atom (N values).</summary>
    [VectorType]
    public int[] AtomTypes { get; set; } = [];

    /// <summary>The energy.</summary>
    public float Label { get; set; }

    /// <summary>The force on every atom, −∂E/∂x (3N values).</summary>
    [VectorType]
    public float[] Forces { get; set; } = [];

    /// <summary>
    /// The periodic cell: the lattice vectors a, b, c as rows (9 values, Å), a zero vector for a direction that is not
    /// periodic; empty for an open cluster. Read by <see cref="PonitaTrainer"/> with <see cref="PonitaOptionsBase.CellColumnName"/> = "Cell".
    /// </summary>
    [VectorType]
    public float[] Cell { get; set; } = [];

    /// <summary>The stress tensor, 9 values row-major (energy unit/Å³, ASE's sign convention), or empty when not known.</summary>
    [VectorType]
    public float[] Stress { get; set; } = [];

    /// <summary>A uniformly random rotation matrix (row-major 3×3), for <see cref="Rotated"/>: e.g. a rotated test set, on which energies should stay and forces turn.</summary>
    public static double[,] RandomRotation(Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        return Rotations.Random(random);
    }

    /// <summary>
    /// The same molecule rotated by <paramref name="rotation"/> (row-major 3×3) about the origin: positions, forces and
    /// the cell's lattice vectors turn, the stress turns as a tensor (R·S·Rᵀ), the energy stays.
    /// </summary>
    public MoleculeRow Rotated(double[,] rotation)
    {
        ArgumentNullException.ThrowIfNull(rotation);
        if (rotation.GetLength(0) != 3 || rotation.GetLength(1) != 3) throw new ArgumentException("The rotation must be a 3×3 matrix.", nameof(rotation));
        return new MoleculeRow
        {
            Positions = Turn(Positions, rotation), AtomTypes = (int[])AtomTypes.Clone(), Label = Label, Forces = Turn(Forces, rotation),
            Cell = Turn(Cell, rotation), Stress = Rotations.ApplyToTensor(rotation, Stress),
        };
    }

    private static float[] Turn(float[] vectors, double[,] r)
    {
        var turned = new float[vectors.Length];
        for (int i = 0; i + 2 < vectors.Length; i += 3)
            for (int row = 0; row < 3; row++)
                turned[i + row] = (float)(r[row, 0] * vectors[i] + r[row, 1] * vectors[i + 1] + r[row, 2] * vectors[i + 2]);
        return turned;
    }
}
