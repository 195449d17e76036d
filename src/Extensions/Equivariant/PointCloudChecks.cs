using System.Globalization;

namespace MLExtensions.Equivariant;

/// <summary>
/// Row checks of point-cloud input, with messages that name the column and the row: positions must be finite, 3N
/// values, with no two points at the same place; types must be N known, whole type indices.
/// </summary>
internal static class PointCloudChecks
{
    /// <summary>Returns N, or throws <see cref="InvalidDataException"/> naming the problem.</summary>
    /// <param name="positions">x, y, z of every point.</param>
    /// <param name="types">One type index per point (stored as numbers).</param>
    /// <param name="typeCount">Known types are 0 .. typeCount − 1.</param>
    /// <param name="row">The row, for the message.</param>
    /// <param name="positionsColumn">The positions column's name.</param>
    /// <param name="typesColumn">The types column's name.</param>
    /// <param name="minimumDistance">Points closer than this count as coincident.</param>
    public static int Validate(ReadOnlySpan<float> positions, ReadOnlySpan<float> types, int typeCount, long row, string positionsColumn,
        string typesColumn, double minimumDistance = 1e-6)
    {
        if (positions.Length == 0) throw Bad(positionsColumn, row, "no points");
        if (positions.Length % 3 != 0)
            throw Bad(positionsColumn, row, $"{positions.Length} values, not a multiple of 3 (x, y, z per point)");
        int n = positions.Length / 3;
        if (types.Length != n)
            throw Bad(typesColumn, row, $"{types.Length} types for {n} points in '{positionsColumn}' (one type per point)");
        for (int k = 0; k < positions.Length; k++)
            if (!float.IsFinite(positions[k]))
                throw Bad(positionsColumn, row, $"coordinate {k % 3} of point {k / 3} is {positions[k].ToString(CultureInfo.InvariantCulture)}");
        for (int i = 0; i < n; i++)
        {
            float type = types[i];
            if (!float.IsFinite(type) || type != MathF.Round(type) || type < 0 || type >= typeCount)
                throw Bad(typesColumn, row, $"point {i} has type {type.ToString(CultureInfo.InvariantCulture)}; known types are 0..{typeCount - 1}");
        }
        double limit = minimumDistance * minimumDistance;
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
            {
                double dx = positions[3 * i] - positions[3 * j], dy = positions[3 * i + 1] - positions[3 * j + 1], dz = positions[3 * i + 2] - positions[3 * j + 2];
                if (dx * dx + dy * dy + dz * dz < limit)
                    throw Bad(positionsColumn, row, $"points {i} and {j} coincide (distance below {minimumDistance.ToString(CultureInfo.InvariantCulture)})");
            }
        return n;
    }

    private static InvalidDataException Bad(string column, long row, string what) => new($"Column '{column}', row {row}: {what}.");
}
