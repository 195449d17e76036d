using Microsoft.ML.Data;

namespace MLExtensions.Bench;

/// <summary>Generated regression rows for the bench.</summary>
public static class BenchData
{
    public const int FeatureCount = 20;

    public sealed class Row
    {
        [VectorType(FeatureCount)] public float[] Features { get; set; } = [];
        public float Target { get; set; }
    }

    public static Row[] Rows(int n, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, n).Select(_ =>
        {
            var x = Enumerable.Range(0, FeatureCount).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            return new Row { Features = x, Target = MathF.Sin(3 * x[0]) + x[1] * x[2] + 0.1f * x.Sum() };
        }).ToArray();
    }
}
