using MLExtensions.Equivariant;
using Xunit;

namespace MLExtensions.Tests.Equivariant;

public class SphereGridTests
{
    private static readonly int[][] HalfTurns = [[1, -1, -1], [-1, 1, -1], [-1, -1, 1]];

    [Theory]
    [InlineData(4)]
    [InlineData(6)]
    [InlineData(8)]
    [InlineData(10)]
    [InlineData(16)]
    [InlineData(30)]
    [InlineData(64)]
    [InlineData(1000)]
    public void The_even_grid_is_closed_under_the_half_turns_about_the_axes(int count)
    {
        var grid = SphereGrid.HalfTurnSymmetric(count);
        var points = Enumerable.Range(0, count).Select(i => (grid[3 * i], grid[3 * i + 1], grid[3 * i + 2])).ToList();
        Assert.Equal(count, points.Distinct().Count());
        foreach (var (x, y, z) in points)
        {
            Assert.Equal(1.0, Math.Sqrt(x * x + y * y + z * z), 6);
            foreach (var s in HalfTurns) Assert.Contains((s[0] * x, s[1] * y, s[2] * z), points);
        }
        Assert.Equal(grid, SphereGrid.HalfTurnSymmetric(count));
    }

    [Theory]
    [InlineData(4, 109.47)]     // the tetrahedron
    [InlineData(6, 90.0)]       // the octahedron
    [InlineData(12, 63.43)]     // the icosahedron
    [InlineData(8, 0)]
    [InlineData(16, 0)]
    [InlineData(32, 0)]
    [InlineData(64, 0)]
    public void The_even_grid_spreads_its_points_at_least_as_well_as_the_Fibonacci_grid(int count, double bestKnown)
    {
        double symmetric = SmallestAngle(SphereGrid.HalfTurnSymmetric(count)), fibonacci = SmallestAngle(SphereGrid.Fibonacci(count));
        Assert.True(symmetric >= fibonacci, $"{count} points: closest pair {symmetric:F1}° apart, Fibonacci's {fibonacci:F1}°");
        Assert.True(symmetric >= bestKnown - 0.5, $"{count} points: closest pair {symmetric:F2}° apart, the best arrangement's {bestKnown}°");
    }

    [Fact]
    public void Networks_take_the_closed_grid_for_even_counts_and_Fibonacci_for_odd()
    {
        Assert.Equal(SphereGrid.HalfTurnSymmetric(8), SphereGrid.For(8));
        Assert.Equal(SphereGrid.Fibonacci(9), SphereGrid.For(9));
        Assert.Throws<ArgumentOutOfRangeException>(() => SphereGrid.HalfTurnSymmetric(9));
    }

    private static double SmallestAngle(float[] grid)
    {
        int n = grid.Length / 3;
        double largestCosine = -1;
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
                largestCosine = Math.Max(largestCosine, grid[3 * i] * grid[3 * j] + grid[3 * i + 1] * grid[3 * j + 1] + grid[3 * i + 2] * grid[3 * j + 2]);
        return Math.Acos(Math.Min(1, largestCosine)) * 180 / Math.PI;
    }
}
