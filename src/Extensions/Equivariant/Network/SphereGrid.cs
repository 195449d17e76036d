namespace MLExtensions.Equivariant;

/// <summary>Orientation grids on the sphere S².</summary>
internal static class SphereGrid
{
    /// <summary>
    /// <paramref name="count"/> nearly uniform unit vectors on a Fibonacci (golden-angle) lattice, row-major [count, 3].
    /// </summary>
    public static float[] Fibonacci(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var points = new float[count * 3];
        double golden = Math.PI * (3 - Math.Sqrt(5));
        for (int i = 0; i < count; i++)
        {
            double z = 1 - (2 * i + 1) / (double)count;
            double radius = Math.Sqrt(Math.Max(0, 1 - z * z));
            double phi = golden * i;
            points[3 * i] = (float)(radius * Math.Cos(phi));
            points[3 * i + 1] = (float)(radius * Math.Sin(phi));
            points[3 * i + 2] = (float)z;
        }
        return points;
    }
}
