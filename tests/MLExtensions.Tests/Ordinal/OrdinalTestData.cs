using Microsoft.ML;
using MLExtensions.Ordinal;
using MLExtensions.Studies;

namespace MLExtensions.Tests.Ordinal;

/// <summary>Ordinal data sets as IDataViews: simulated (key label without key values) and real (from ../shared/data).</summary>
public static class OrdinalTestData
{
    /// <summary>Arbitrary features and classes (possibly with more classes declared than present) as simulated data.</summary>
    public static IDataView ToDataView(MLContext ml, float[] features, int[] labels, int featureCount, int classCount) =>
        new OrdinalSimulationData(features, labels, new double[labels.Length * classCount], [], [], featureCount, classCount).ToDataView(ml);

    public static IDataView ToDataView(MLContext ml, OrdinalSimulationData data) => data.ToDataView(ml);

    public static OrdinalSimulationData Simulate(int rows, int seed, OrdinalDifferences differences = OrdinalDifferences.Sparse, int features = 10) =>
        OrdinalSimulation.Generate(differences, rows, features, [0, 3.5, 5.5], seed);
}
