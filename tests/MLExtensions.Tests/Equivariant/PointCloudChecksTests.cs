using MLExtensions.Equivariant;
using Xunit;

namespace MLExtensions.Tests.Equivariant;

public class PointCloudChecksTests
{
    private static readonly bool[] FirstThreeTypes = [true, true, true];

    private static int Validate(float[] positions, float[] types, long row)
    {
        int n = PointCloudChecks.ValidatePositions(positions, row, "Positions");
        PointCloudChecks.ValidateTypes(types, n, FirstThreeTypes, row, "AtomTypes", "Positions");
        return n;
    }

    private static string Fails(float[] positions, float[] types) =>
        Assert.Throws<InvalidDataException>(() => Validate(positions, types, 7)).Message;

    [Fact]
    public void Bad_point_clouds_are_named_by_column_and_row()
    {
        Assert.Equal(2, Validate([0, 0, 0, 1, 0, 0], [0, 2], 0));
        Assert.Contains("multiple of 3", Fails([0, 0, 0, 1], [0]));
        Assert.Contains("'AtomTypes', row 7", Fails([0, 0, 0, 1, 0, 0], [0]));
        Assert.Contains("NaN", Fails([0, 0, float.NaN, 1, 0, 0], [0, 1]));
        Assert.Contains("never saw in training (known types: 0, 1, 2)", Fails([0, 0, 0, 1, 0, 0], [0, 3]));
        Assert.Contains("type 1.5", Fails([0, 0, 0, 1, 0, 0], [0, 1.5f]));
        Assert.Contains("coincide", Fails([0, 0, 0, 1, 1, 1, 0, 0, 0], [0, 1, 2]));
        Assert.Contains("no points", Fails([], []));
        Assert.Contains("'Positions', row 7", Fails([0, 0, 0, 0, 0, 0], [0, 1]));
    }
}
