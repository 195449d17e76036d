namespace MLExtensions.Equivariant;

/// <summary>Rotation matrices for checks and data augmentation.</summary>
internal static class Rotations
{
    /// <summary>A uniformly random rotation from a normalised Gaussian quaternion.</summary>
    public static double[,] Random(Random random)
    {
        double Gaussian() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        double w = Gaussian(), x = Gaussian(), y = Gaussian(), z = Gaussian();
        double norm = Math.Sqrt(w * w + x * x + y * y + z * z);
        (w, x, y, z) = (w / norm, x / norm, y / norm, z / norm);
        return new double[,]
        {
            { 1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y) },
            { 2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x) },
            { 2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y) },
        };
    }

    /// <summary>Rotates every 3-vector (x, y, z in turn) of <paramref name="vectors"/>: a new array of R·v.</summary>
    public static float[] Apply(double[,] rotation, float[] vectors)
    {
        var rotated = new float[vectors.Length];
        for (int i = 0; i < vectors.Length; i += 3)
            for (int r = 0; r < 3; r++)
                rotated[i + r] = (float)(rotation[r, 0] * vectors[i] + rotation[r, 1] * vectors[i + 1] + rotation[r, 2] * vectors[i + 2]);
        return rotated;
    }

    /// <summary>Turns a 3×3 tensor (9 values, row-major; e.g. a stress) as R·S·Rᵀ; any other length is copied unchanged.</summary>
    public static float[] ApplyToTensor(double[,] rotation, float[] tensor)
    {
        if (tensor.Length != 9) return (float[])tensor.Clone();
        var turned = new float[9];
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 3; b++)
            {
                double sum = 0;
                for (int i = 0; i < 3; i++)
                    for (int j = 0; j < 3; j++) sum += rotation[a, i] * tensor[3 * i + j] * rotation[b, j];
                turned[3 * a + b] = (float)sum;
            }
        return turned;
    }
}
