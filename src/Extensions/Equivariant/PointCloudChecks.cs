using System.Globalization;

namespace MLExtensions.Equivariant;

/// <summary>
/// Row checks of point-cloud input, with messages that name the column and the row: positions must be finite, 3N
/// values, with no two points at the same place; types must be N known, whole type indices (or N·F finite features).
/// </summary>
/// <remarks>Shared by training (which reads the data) and scoring (<see cref="PonitaInputMapping"/>, where the row is not known).</remarks>
internal static class PointCloudChecks
{
    /// <summary>Larger coordinates are refused: their squared distances overflow single precision.</summary>
    public const float LargestCoordinate = 1e15f;

    /// <summary>Points closer than this count as coincident.</summary>
    public const double CoincidenceDistance = 1e-6;

    /// <summary>Returns N, or throws <see cref="InvalidDataException"/> naming the problem.</summary>
    /// <param name="positions">x, y, z of every point.</param>
    /// <param name="types">One type index per point (stored as numbers).</param>
    /// <param name="typeCount">Known types are 0 .. typeCount − 1.</param>
    /// <param name="row">The row, for the message (null when unknown).</param>
    /// <param name="positionsColumn">The positions column's name.</param>
    /// <param name="typesColumn">The types column's name.</param>
    public static int Validate(ReadOnlySpan<float> positions, ReadOnlySpan<float> types, int typeCount, long? row, string positionsColumn, string typesColumn)
    {
        int n = ValidatePositions(positions, row, positionsColumn);
        ValidateTypes(types, n, typeCount, row, typesColumn, positionsColumn);
        return n;
    }

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
        const double limit = CoincidenceDistance * CoincidenceDistance;
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
            {
                double dx = positions[3 * i] - positions[3 * j], dy = positions[3 * i + 1] - positions[3 * j + 1], dz = positions[3 * i + 2] - positions[3 * j + 2];
                if (dx * dx + dy * dy + dz * dz < limit)
                    throw Bad(positionsColumn, row, $"points {i} and {j} coincide (distance below {CoincidenceDistance.ToString(CultureInfo.InvariantCulture)})");
            }
        return n;
    }

    /// <summary>Checks N type indices in 0 .. <paramref name="typeCount"/> − 1 (any non-negative whole number when <paramref name="typeCount"/> is null).</summary>
    public static void ValidateTypes(ReadOnlySpan<float> types, int n, int? typeCount, long? row, string typesColumn, string positionsColumn)
    {
        if (types.Length != n)
            throw Bad(typesColumn, row, $"{types.Length} types for {n} points in '{positionsColumn}' (one type per point)");
        for (int i = 0; i < n; i++)
        {
            float type = types[i];
            bool whole = float.IsFinite(type) && type == MathF.Round(type) && type >= 0;
            if (whole && (typeCount is not int known || type < known)) continue;
            throw Bad(typesColumn, row, typeCount is int count
                ? $"point {i} has type {type.ToString(CultureInfo.InvariantCulture)}; known types are 0..{count - 1}"
                : $"point {i} has type {type.ToString(CultureInfo.InvariantCulture)}; types must be whole numbers from 0");
        }
    }

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

    /// <summary>The exception for <paramref name="what"/> in <paramref name="column"/> at <paramref name="row"/>.</summary>
    public static InvalidDataException Bad(string column, long? row, string what) =>
        new(row is long r ? $"Column '{column}', row {r}: {what}." : $"Column '{column}': {what}.");
}
