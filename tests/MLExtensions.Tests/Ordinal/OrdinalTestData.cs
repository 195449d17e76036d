using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Ordinal;

namespace MLExtensions.Tests.Ordinal;

/// <summary>Ordinal data sets as IDataViews: simulated (key label without key values) and real (from ../shared/data).</summary>
public static class OrdinalTestData
{
    public sealed class Row
    {
        public float[] Features { get; set; } = [];
        public uint Label { get; set; }
        public float Rank { get; set; }
    }

    public static IDataView ToDataView(MLContext ml, float[] features, int[] labels, int featureCount, int classCount)
    {
        var rows = labels.Select((y, i) => new Row
        {
            Features = features.AsSpan(i * featureCount, featureCount).ToArray(),
            Label = (uint)y, // LoadFromEnumerable stores key fields zero-based (class k becomes key k + 1)
            Rank = 10 * (y + 1),
        }).ToArray();
        var schema = SchemaDefinition.Create(typeof(Row));
        schema[nameof(Row.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, featureCount);
        schema[nameof(Row.Label)].ColumnType = new KeyDataViewType(typeof(uint), classCount);
        return ml.Data.LoadFromEnumerable(rows, schema);
    }

    public static IDataView ToDataView(MLContext ml, OrdinalSimulationData data) =>
        ToDataView(ml, data.Features, data.Labels, data.FeatureCount, data.ClassCount);

    public static OrdinalSimulationData Simulate(int rows, int seed, OrdinalDifferences differences = OrdinalDifferences.Sparse, int features = 10) =>
        OrdinalSimulation.Generate(differences, rows, features, [0, 3.5, 5.5], seed);
}
