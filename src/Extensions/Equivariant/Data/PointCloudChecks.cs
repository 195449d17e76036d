using System.Globalization;

namespace MLExtensions.Equivariant;

/// <summary>
/// Row checks of point-cloud input, with messages that name the column and the row: positions must be finite, 3N
/// values, with no two points at the same place (<see cref="CoincidentPoints"/>); types must be N known, whole type indices (or N·F finite features).
/// </summary>
/// <remarks>Shared by training (which reads the data) and scoring (<see cref="PonitaInputMapping"/>, where the row is not known).</remarks>
internal static class PointCloudChecks
{
    /// <summary>Larger coordinates are refused: their squared distances overflow single precision.</summary>
    public const float LargestCoordinate = 1e15f;

    /// <summary>Checks positions (3N finite values, no coincident points) and returns N.</summary>
    public static int ValidatePositions(ReadOnlySpan<float> positions, long? row, string positionsColumn)
    {
        if (positions.Length == 0) throw Bad(positionsColumn, row, "no points");
        if (positions.Length % 3 != 0)
            throw Bad(positionsColumn, row, $"{positions.Length} values, not a multiple of 3 (x, y, z per point)");
        int n = positions.Length / 3;
        for (int k = 0; k < positions.Length; k++)
        {
            if (!float.IsFinite(positions[k]))
                throw Bad(positionsColumn, row, $"coordinate {k % 3} of point {k / 3} is {positions[k].ToString(CultureInfo.InvariantCulture)}");
            if (Math.Abs(positions[k]) > LargestCoordinate)
                throw Bad(positionsColumn, row, $"coordinate {k % 3} of point {k / 3} is {positions[k].ToString(CultureInfo.InvariantCulture)}, beyond ±{LargestCoordinate:G0} (squared distances would overflow float32)");
        }
        if (CoincidentPoints.Find(positions) is { } pair)
            throw Bad(positionsColumn, row, $"points {pair.First} and {pair.Second} coincide (distance {Number(pair.Distance)}, at most {Number(pair.Threshold)}: " +
                $"{CoincidentPoints.RelativeDistance.ToString(CultureInfo.InvariantCulture)} × the cloud's median nearest-neighbour distance, or float32 rounding at their coordinates)");
        return n;
    }

    /// <summary>Type indices above this are refused (a one-hot input per index would be too wide).</summary>
    public const int LargestTypeIndex = 4095;

    /// <summary>
    /// Checks N whole type indices: those marked in <paramref name="known"/> (the types seen in training), or any
    /// from 0 to <see cref="LargestTypeIndex"/> when <paramref name="known"/> is null (while reading training data).
    /// </summary>
    public static void ValidateTypes(ReadOnlySpan<float> types, int n, bool[]? known, long? row, string typesColumn, string positionsColumn)
    {
        if (types.Length != n)
            throw Bad(typesColumn, row, $"{types.Length} types for {n} points in '{positionsColumn}' (one type per point)");
        for (int i = 0; i < n; i++)
        {
            float type = types[i];
            string value = type.ToString(CultureInfo.InvariantCulture);
            if (!float.IsFinite(type) || type != MathF.Round(type) || type < 0)
                throw Bad(typesColumn, row, $"point {i} has type {value}; types must be whole numbers from 0");
            if (type > LargestTypeIndex)
                throw Bad(typesColumn, row, $"point {i} has type {value}; type indices above {LargestTypeIndex} are not supported (number the types 0, 1, 2, … or use atomic numbers)");
            if (known is not null && (type >= known.Length || !known[(int)type]))
                throw Bad(typesColumn, row, $"point {i} has type {value}, which the model never saw in training (known types: {string.Join(", ", KnownList(known))})");
        }
    }

    /// <summary>The indices marked in <paramref name="known"/>.</summary>
    public static IEnumerable<int> KnownList(bool[] known) => Enumerable.Range(0, known.Length).Where(t => known[t]);

    /// <summary>Checks N·<paramref name="featureCount"/> finite per-point features.</summary>
    public static void ValidateFeatures(ReadOnlySpan<float> features, int n, int featureCount, long? row, string typesColumn, string positionsColumn)
    {
        if (features.Length != n * featureCount)
            throw Bad(typesColumn, row, $"{features.Length} values for {n} points in '{positionsColumn}' ({featureCount} features per point expected)");
        for (int k = 0; k < features.Length; k++)
            if (!float.IsFinite(features[k]))
                throw Bad(typesColumn, row, $"feature {k % featureCount} of point {k / featureCount} is {features[k].ToString(CultureInfo.InvariantCulture)}");
    }

    /// <summary>Checks a per-point vector column (forces): 3N finite values.</summary>
    public static void ValidateVectors(ReadOnlySpan<float> vectors, int n, long? row, string column, string positionsColumn)
    {
        if (vectors.Length != 3 * n)
            throw Bad(column, row, $"{vectors.Length} values for {n} points in '{positionsColumn}' (x, y, z per point expected)");
        for (int k = 0; k < vectors.Length; k++)
            if (!float.IsFinite(vectors[k]))
                throw Bad(column, row, $"component {k % 3} of point {k / 3} is {vectors[k].ToString(CultureInfo.InvariantCulture)}");
    }

    /// <summary>
    /// Checks a periodic cell: empty (not periodic) or 9 finite values, the lattice vectors a, b, c as rows, the non-zero
    /// ones independent (a zero vector marks a direction that is not periodic). Returns the cell, or null when it is
    /// empty or all zero.
    /// </summary>
    public static float[]? ValidateCell(float[] cell, long? row, string cellColumn)
    {
        if (cell.Length == 0) return null;
        if (PeriodicRadiusGraph.Problem(cell) is { } problem) throw Bad(cellColumn, row, $"the cell has {problem}");
        return PeriodicRadiusGraph.PeriodicDirections(cell).Any(p => p) ? cell : null;
    }

    /// <summary>6 values in Voigt order (xx yy zz yz xz xy) as the symmetric 3×3 tensor, 9 values row-major.</summary>
    public static float[] FromVoigt(IReadOnlyList<float> v) => [v[0], v[5], v[4], v[5], v[1], v[3], v[4], v[3], v[2]];

    /// <summary>
    /// A stress label as 9 values row-major (from 9, or 6 in Voigt order), or null when the row has none (empty). A
    /// stress needs a cell periodic in all three directions (<paramref name="cell"/>, checked): the volume it is per.
    /// </summary>
    public static float[]? ValidateStress(float[] stress, float[]? cell, long? row, string stressColumn, string cellColumn)
    {
        if (stress.Length == 0) return null;
        if (stress.Length is not (9 or 6))
            throw Bad(stressColumn, row, $"the stress has {stress.Length} values; it needs 9 (a 3×3 tensor, row-major), 6 (Voigt order xx yy zz yz xz xy) or none");
        for (int k = 0; k < stress.Length; k++)
            if (!float.IsFinite(stress[k])) throw Bad(stressColumn, row, $"stress component {k} is {stress[k].ToString(CultureInfo.InvariantCulture)}");
        if (cell is null || PeriodicRadiusGraph.Volume(cell) == 0)
            throw Bad(stressColumn, row, $"a stress is given but the cell (column '{cellColumn}') is not periodic in all three directions, so there is no volume it is per; " +
                "leave the stress empty for open clusters, slabs and wires");
        return stress.Length == 9 ? stress : FromVoigt(stress);
    }

    private static string Number(double value) => value.ToString("G3", CultureInfo.InvariantCulture);

    /// <summary>The exception for <paramref name="what"/> in <paramref name="column"/> at <paramref name="row"/>.</summary>
    public static InvalidDataException Bad(string column, long? row, string what) =>
        new(row is long r ? $"Column '{column}', row {r}: {what}." : $"Column '{column}': {what}.");
}
