using Microsoft.ML.Data;

namespace MLExtensions.QuickStart;

/// <summary>A tabular data set generated in code, so the QuickStart needs no files.</summary>
public static class GeneratedData
{
    public const int FeatureCount = 8;

    public sealed class Row
    {
        [VectorType(FeatureCount)] public float[] Features { get; set; } = [];
        public float Target { get; set; }
        public bool Positive { get; set; }
        public string Grade { get; set; } = "";
    }

    /// <summary>A smooth nonlinear target of five features plus noise; three unused features; grades are target terciles.</summary>
    public static Row[] Tabular(int rows, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, rows).Select(_ =>
        {
            var x = Enumerable.Range(0, FeatureCount).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
            float signal = MathF.Sin(x[0]) * 2 + x[1] * x[1] - 1.3f + 0.5f * x[2] * x[3] - 0.8f * x[4];
            float y = signal + 0.1f * (float)(random.NextDouble() - 0.5);
            return new Row
            {
                Features = x,
                Target = y,
                Positive = y > 0,
                Grade = y < -0.8f ? "C" : y < 0.9f ? "B" : "A",
            };
        }).ToArray();
    }
}
