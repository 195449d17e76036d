using MLExtensions.Equivariant;
using Xunit;

namespace MLExtensions.Tests.Equivariant;

public class RadiusGraphTests
{
    private static float[] RandomCloud(int n, double side, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, 3 * n).Select(_ => (float)(random.NextDouble() * side)).ToArray();
    }

    private static double Distance(float[] x, long i, long j) =>
        Math.Sqrt(Enumerable.Range(0, 3).Sum(k => Math.Pow(x[3 * i + k] - x[3 * j + k], 2)));

    [Theory]
    [InlineData(1, 1.0, 2.0)]
    [InlineData(50, 4.0, 1.3)]
    [InlineData(400, 10.0, 1.7)]
    [InlineData(30, 1000.0, 1.0)]
    public void The_cell_list_finds_exactly_the_pairs_within_the_cutoff(int n, double side, double cutoff)
    {
        var x = RandomCloud(n, side, n);
        var (senders, receivers) = RadiusGraph.Build(x, cutoff);
        var found = senders.Zip(receivers).ToHashSet();
        var expected = new HashSet<(long, long)>();
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                if (i != j && Distance(x, i, j) < cutoff) expected.Add((j, i));
        Assert.Equal(expected.Count, senders.Length);
        Assert.True(expected.SetEquals(found));
        // Ordered by receiver, then sender: the same points always give the same list.
        var pairs = receivers.Zip(senders).ToList();
        Assert.Equal(pairs.OrderBy(p => p.First).ThenBy(p => p.Second), pairs);
    }

    [Fact]
    public void Self_loops_and_the_neighbour_limit_keep_the_nearest()
    {
        var x = RandomCloud(60, 3.0, 7);
        var (senders, receivers) = RadiusGraph.Build(x, 2.0, maximumNeighbors: 5, selfLoops: true);
        for (long i = 0; i < 60; i++)
        {
            var mine = senders.Where((_, e) => receivers[e] == i).ToList();
            Assert.Contains(i, mine);
            var others = mine.Where(j => j != i).ToList();
            Assert.Equal(5, others.Count);
            double farthestKept = others.Max(j => Distance(x, i, j));
            var nearerOutside = Enumerable.Range(0, 60).Where(j => j != i && !others.Contains(j) && Distance(x, i, j) < farthestKept);
            Assert.Empty(nearerOutside);
        }
    }

    [Fact]
    public void Lone_points_have_no_edges_and_bad_arguments_are_refused()
    {
        var (senders, _) = RadiusGraph.Build([0, 0, 0, 100, 0, 0], 1.0);
        Assert.Empty(senders);
        Assert.Throws<ArgumentException>(() => RadiusGraph.Build([0, 0], 1.0));
        Assert.Throws<ArgumentOutOfRangeException>(() => RadiusGraph.Build([0, 0, 0], 0.0));
        Assert.Throws<ArgumentOutOfRangeException>(() => RadiusGraph.Build([0, 0, 0], double.NaN));
    }
}

public class ExtendedXyzTests
{
    private static string EthanolPath => Path.Combine(AppContext.BaseDirectory, "ethanol-xtb.extxyz.gz");

    [Fact]
    public void Reads_the_shipped_xtb_ethanol_frames()
    {
        var frames = ExtendedXyz.Read(EthanolPath);
        Assert.Equal(600, frames.Count);
        Assert.All(frames, f =>
        {
            Assert.Equal([6, 6, 8, 1, 1, 1, 1, 1, 1], f.AtomTypes);
            Assert.Equal(27, f.Positions.Length);
            Assert.Equal(27, f.Forces.Length);
            // Forces of an isolated molecule sum to zero.
            for (int d = 0; d < 3; d++) Assert.True(Math.Abs(Enumerable.Range(0, 9).Sum(a => f.Forces[3 * a + d])) < 1e-3);
        });
        Assert.InRange(frames.Average(f => f.Label), -7150, -7130); // kcal/mol (GFN2-xTB total energy)
    }

    [Fact]
    public void Malformed_files_name_the_line()
    {
        string Error(string text) => Assert.Throws<InvalidDataException>(() => ExtendedXyz.Read(new StringReader(text), "test.xyz").ToList()).Message;
        Assert.Contains("line 2", Error("1\nProperties=species:S:1:pos:R:3 pbc=\"F F F\"\nH 0 0 0\n"));
        Assert.Contains("Unknown element", Error("1\nProperties=species:S:1:pos:R:3 energy=1.0\nQq 0 0 0\n"));
        Assert.Contains("line 3", Error("1\nProperties=species:S:1:pos:R:3:forces:R:3 energy=1.0\nH 0 0 0\n"));
        Assert.Contains("line 1", Error("x\n"));
        // Columns stand where Properties says: here momenta come before the forces (as ASE writes MD frames).
        var moving = ExtendedXyz.Read(new StringReader("1\nProperties=species:S:1:pos:R:3:momenta:R:3:forces:R:3 energy=2\nC 1 2 3 9 9 9 0.5 0.25 -1\n")).Single();
        Assert.Equal([0.5f, 0.25f, -1f], moving.Forces);
        Assert.Equal([1f, 2f, 3f], moving.Positions);
        Assert.Contains("pos:R:3", Error("1\nProperties=species:S:1:pos:R:2 energy=1\nH 0 0\n"));
        var frame = ExtendedXyz.Read(new StringReader("2\nenergy=-1.5 Properties=species:S:1:pos:R:3\nO 0 0 0\nH 1 0 0\n")).Single();
        Assert.Equal(-1.5f, frame.Label);
        Assert.Equal([8, 1], frame.AtomTypes);
        Assert.Empty(frame.Forces);
    }
}

public class PonitaDefaultsTests
{
    [Fact]
    public void The_default_cutoff_keeps_bonded_neighbours_well_inside_the_smooth_window()
    {
        // Diatomics: the median pair distance is the bond itself, where the window (1 − d²/r²)³ would be zero.
        var diatomics = Enumerable.Range(0, 20).Select(i => new PointCloud([0, 0, 0, 1f + 0.01f * i, 0, 0], [1, 0, 0, 1], 0f, null)).ToList();
        double cutoff = PonitaTrainerSteps.Lengths(new PonitaTrainer.Options(), diatomics).Cutoff;
        Assert.InRange(cutoff, 2.0, 2.5);
        // Small molecules keep the median pair distance: fewer than 32 neighbours to cap.
        var molecule = new PointCloud(Enumerable.Range(0, 3 * 20).Select(_ => (float)(new Random(3).NextDouble() * 4)).ToArray(), new float[20], 0f, null);
        Assert.Equal(PonitaTrainerSteps.DefaultCutoff([molecule], PonitaTrainerSteps.NearestNeighbourDistance([molecule])),
            Math.Max(MedianPairDistance(molecule), 2 * PonitaTrainerSteps.NearestNeighbourDistance([molecule])), 9);
    }

    [Fact]
    public void The_default_cutoff_follows_the_density_not_the_size_of_large_systems()
    {
        // Random clouds of one density (0.625 per unit volume) in cubes of 12 and 20: the median pair distance grows
        // with the cube (about 6 and 10); the default must not, or the edges grow with the square of the system.
        var random = new Random(1);
        PointCloud Cube(double side, int points, float[]? cell = null) =>
            new(Enumerable.Range(0, 3 * points).Select(_ => (float)(random.NextDouble() * side)).ToArray(), new float[points], 0f, null, Cell: cell);
        double small = PonitaTrainerSteps.Lengths(new PonitaTrainer.Options(), [Cube(12, 1080)]).Cutoff;
        double large = PonitaTrainerSteps.Lengths(new PonitaTrainer.Options(), [Cube(20, 5000)]).Cutoff;
        double sphere = Math.Cbrt(3.0 * 33 / (4 * Math.PI * 0.625)); // the radius holding 32 neighbours at that density
        Assert.InRange(large, 0.95 * sphere, 1.3 * sphere);
        Assert.InRange(large / small, 0.85, 1.15);
        // A periodic cell: images count, so the density alone sets it (no boundary points short of neighbours).
        double periodic = PonitaTrainerSteps.Lengths(new PonitaTrainer.Options(), [Cube(20, 5000, [20, 0, 0, 0, 20, 0, 0, 0, 20])]).Cutoff;
        Assert.Equal(sphere, periodic, 6);
    }

    private static double MedianPairDistance(PointCloud cloud)
    {
        var distances = new List<double>();
        for (int i = 0; i < cloud.Count; i++)
            for (int j = i + 1; j < cloud.Count; j++)
            {
                double dx = cloud.Positions[3 * i] - cloud.Positions[3 * j], dy = cloud.Positions[3 * i + 1] - cloud.Positions[3 * j + 1], dz = cloud.Positions[3 * i + 2] - cloud.Positions[3 * j + 2];
                distances.Add(Math.Sqrt(dx * dx + dy * dy + dz * dz));
            }
        distances.Sort();
        return distances[distances.Count / 2];
    }
}
