using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLExtensions.Tests;

/// <summary>Small generated tabular data sets with known structure.</summary>
public static class Synthetic
{
    public const int FeatureCount = 5;

    public sealed class Row
    {
        [VectorType(FeatureCount)] public float[] Features { get; set; } = [];
        public float Target { get; set; }
        public bool Positive { get; set; }
        public string Class { get; set; } = "";
        public float Weight { get; set; } = 1f;
        /// <summary>One of ten groups (row index mod 10), for grouped cross-validation folds.</summary>
        public string Group { get; set; } = "";
    }

    /// <summary>A nonlinear target of the first three features; classes are its terciles.</summary>
    public static Row[] Rows(int n, int seed)
    {
        var random = new Random(seed);
        var rows = new Row[n];
        for (int i = 0; i < n; i++)
        {
            var x = Enumerable.Range(0, FeatureCount).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
            // Features live on different scales to exercise the built-in standardisation.
            x[3] *= 100;
            float y = MathF.Sin(x[0]) * 2 + x[1] * x[1] - 1.3f + 0.5f * x[2];
            rows[i] = new Row
            {
                Features = x,
                Target = y + 10,
                Positive = y > 0,
                Class = y < -0.5f ? "low" : y < 0.8f ? "mid" : "high",
                Group = $"g{i % 10}",
            };
        }
        return rows;
    }

    /// <summary>
    /// The rows as an <see cref="IDataView"/> with a key label "Label" built from <see cref="Row.Class"/>, keys in
    /// value order (high, low, mid) so that separately keyed train and test sets agree.
    /// </summary>
    public static IDataView Keyed(MLContext ml, Row[] rows)
    {
        var data = ml.Data.LoadFromEnumerable(rows);
        return ml.Transforms.Conversion.MapValueToKey("Label", nameof(Row.Class), keyOrdinality: Microsoft.ML.Transforms.ValueToKeyMappingEstimator.KeyOrdinality.ByValue)
            .Fit(data).Transform(data);
    }
}
