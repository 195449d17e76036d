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

    [Fact]
    public void Coincidence_is_judged_on_the_cloud_s_own_scale()
    {
        float[] water = [0, 0, 0, 0.96f, 0, 0, -0.24f, 0.93f, 0];
        foreach (float unit in new[] { 1f, 1e-9f, 1e-10f, 1e6f })
            Assert.Equal(3, Validate(water.Select(p => p * unit).ToArray(), [1, 0, 0], 0));
        // A point a millionth of a bond from another coincides with it, in any unit.
        foreach (float unit in new[] { 1f, 1e-10f })
            Assert.Contains("points 0 and 3 coincide", Fails([.. water.Select(p => p * unit), 0.5e-6f * unit, 0, 0], [1, 0, 0, 1]));
        // Far from the origin, points one float32 step apart cannot be told apart.
        Assert.Contains("points 0 and 1 coincide", Fails([1e6f, 0, 0, MathF.BitIncrement(1e6f), 0, 0, 1e6f + 1, 0, 0], [0, 1, 2]));
        // One far atom does not make the rest of the molecule coincide.
        Assert.Equal(4, Validate([.. water, 1e9f, 0, 0], [1, 0, 0, 1], 0));
    }
}

