using MLExtensions.Equivariant;
using MLExtensions.Torch;
using Xunit;
using TorchSharp;
using static TorchSharp.torch;

namespace MLExtensions.Tests.Equivariant;

/// <summary>Periodic cells built for the tests: random triclinic lattices and atoms (not wrapped into the cell).</summary>
internal static class PeriodicCells
{
    /// <summary>A triclinic cell of edge about <paramref name="size"/> (sheared by up to 30 %), lattice vectors as rows.</summary>
    public static float[] Triclinic(Random random, double size) =>
    [
        (float)(size * (1 + 0.1 * random.NextDouble())), (float)(0.1 * size * random.NextDouble()), (float)(0.1 * size * random.NextDouble()),
        (float)(0.3 * size * (random.NextDouble() - 0.5)), (float)(size * (1 + 0.1 * random.NextDouble())), (float)(0.1 * size * random.NextDouble()),
        (float)(0.3 * size * (random.NextDouble() - 0.5)), (float)(0.3 * size * (random.NextDouble() - 0.5)), (float)(size * (1 + 0.1 * random.NextDouble())),
    ];

    /// <summary>Atoms at fractional coordinates in [−0.5, 1.5) (so wrapping is exercised), at least <paramref name="spacing"/> Å apart.</summary>
    public static float[] Atoms(Random random, float[] cell, int n, double spacing = 0.7)
    {
        var positions = new List<float>();
        while (positions.Count < 3 * n)
        {
            double f0 = 2 * random.NextDouble() - 0.5, f1 = 2 * random.NextDouble() - 0.5, f2 = 2 * random.NextDouble() - 0.5;
            var x = Enumerable.Range(0, 3).Select(c => (float)(f0 * cell[c] + f1 * cell[3 + c] + f2 * cell[6 + c])).ToArray();
            bool clear = true;
            for (int j = 0; j < positions.Count / 3 && clear; j++)
                clear = MinimumDistance(x, positions.Skip(3 * j).Take(3).ToArray(), cell) >= spacing;
            if (clear) positions.AddRange(x);
        }
        return positions.ToArray();
    }

    /// <summary>The shortest distance between two atoms over images −3..3 along the periodic directions.</summary>
    public static double MinimumDistance(float[] a, float[] b, float[] cell)
    {
        double best = double.PositiveInfinity;
        foreach (var n in Images(cell, 3))
        {
            double d2 = 0;
            for (int c = 0; c < 3; c++)
            {
                double d = b[c] - a[c] + n.A * cell[c] + n.B * cell[3 + c] + n.C * cell[6 + c];
                d2 += d * d;
            }
            best = Math.Min(best, Math.Sqrt(d2));
        }
        return best;
    }

    public static IEnumerable<(int A, int B, int C)> Images(float[] cell, int reach)
    {
        var periodic = new[] { 0, 3, 6 }.Select(k => cell[k] != 0 || cell[k + 1] != 0 || cell[k + 2] != 0).ToArray();
        int ra = periodic[0] ? reach : 0, rb = periodic[1] ? reach : 0, rc = periodic[2] ? reach : 0;
        for (int a = -ra; a <= ra; a++)
            for (int b = -rb; b <= rb; b++)
                for (int c = -rc; c <= rc; c++) yield return (a, b, c);
    }

    /// <summary>Every (sender, receiver, image) within the cutoff, by enumerating images −reach..reach: the reference for the cell list.</summary>
    public static SortedSet<(long Receiver, long Sender, int A, int B, int C)> BruteForce(float[] x, float[] cell, double cutoff, int reach)
    {
        var edges = new SortedSet<(long, long, int, int, int)>();
        int n = x.Length / 3;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                foreach (var (a, b, c) in Images(cell, reach))
                {
                    if (i == j && a == 0 && b == 0 && c == 0) continue;
                    double d2 = 0;
                    for (int k = 0; k < 3; k++)
                    {
                        double d = (double)x[3 * j + k] - x[3 * i + k] + a * (double)cell[k] + b * (double)cell[3 + k] + c * (double)cell[6 + k];
                        d2 += d * d;
                    }
                    if (d2 < cutoff * cutoff) edges.Add((i, j, a, b, c));
                }
        return edges;
    }

    /// <summary>A periodic graph sample with one-hot types.</summary>
    public static GraphSample Sample(float[] positions, float[] kinds, int types, float[]? cell, double cutoff, bool selfLoops = false) =>
        GraphSample.Of(new PointCloud(positions, PointCloudData.OneHot(kinds, types), 0.0, null, null, cell), cutoff, null, selfLoops);

    /// <summary>The samples as one graph in <paramref name="dtype"/> (positions, features and shifts).</summary>
    public static PointGraph Graph(IReadOnlyList<GraphSample> samples, int types, ScalarType dtype)
    {
        var g = MoleculeBatch.From(samples, types, withForces: false).Graph;
        return g with { Positions = g.Positions.to_type(dtype), Features = g.Features.to_type(dtype), Shifts = g.Shifts?.to_type(dtype), Cells = g.Cells?.to_type(dtype) };
    }
}

public class PeriodicRadiusGraphTests
{
    [Theory]
    [InlineData(1, 3.0, 4.0, 6, 5)]     // cell thinner than twice the cutoff: several images of one neighbour, self-images
    [InlineData(2, 2.2, 3.1, 3, 5)]     // thinner than the cutoff itself
    [InlineData(3, 9.0, 2.5, 80, 2)]    // a larger cell, many atoms: the cell list's bins
    public void The_periodic_radius_graph_matches_brute_force_image_enumeration(int seed, double size, double cutoff, int atoms, int reach)
    {
        var random = new Random(seed);
        var cell = PeriodicCells.Triclinic(random, size);
        var x = PeriodicCells.Atoms(random, cell, atoms, spacing: 0.5);
        var (senders, receivers, images, shifts) = RadiusGraph.BuildPeriodic(x, cell, cutoff);
        var expected = PeriodicCells.BruteForce(x, cell, cutoff, reach);
        var actual = Enumerable.Range(0, senders.Length).Select(e => (receivers[e], senders[e], images[3 * e], images[3 * e + 1], images[3 * e + 2])).ToList();
        Assert.Equal(expected.Count, actual.Count);
        Assert.Equal(expected.ToList(), actual); // the same edges, ordered by receiver, sender, image
        // Not vacuous: thin cells have neighbours through several images and atoms that see themselves.
        if (size < 2 * cutoff)
        {
            Assert.Contains(actual, e => e.Item1 == e.Item2);
            Assert.Contains(actual.GroupBy(e => (e.Item1, e.Item2)), g => g.Count() > 1);
        }
        // Shifts are the images in Cartesian form, and every edge vector is shorter than the cutoff.
        for (int e = 0; e < senders.Length; e++)
        {
            double d2 = 0;
            for (int c = 0; c < 3; c++)
            {
                double shift = images[3 * e] * (double)cell[c] + images[3 * e + 1] * (double)cell[3 + c] + images[3 * e + 2] * (double)cell[6 + c];
                Assert.Equal(shift, shifts[3 * e + c], 4);
                double d = x[3 * senders[e] + c] - x[3 * receivers[e] + c] + shifts[3 * e + c];
                d2 += d * d;
            }
            Assert.True(d2 < cutoff * cutoff * (1 + 1e-5));
        }
    }

    [Fact]
    public void A_slab_repeats_along_its_periodic_vectors_only_and_self_loops_and_open_cells_fall_back()
    {
        var random = new Random(7);
        var cell = PeriodicCells.Triclinic(random, 3.5);
        Array.Clear(cell, 6, 3); // c = 0: open along the slab's normal
        var x = PeriodicCells.Atoms(random, cell, 6);
        var (s, r, images, _) = RadiusGraph.BuildPeriodic(x, cell, 3.0, selfLoops: true);
        var expected = PeriodicCells.BruteForce(x, cell, 3.0, 4);
        foreach (var i in Enumerable.Range(0, 6)) expected.Add((i, i, 0, 0, 0)); // the self-loops
        Assert.Equal(expected.ToList(), Enumerable.Range(0, s.Length).Select(e => (r[e], s[e], images[3 * e], images[3 * e + 1], images[3 * e + 2])).ToList());
        Assert.All(Enumerable.Range(0, s.Length), e => Assert.Equal(0, images[3 * e + 2]));
        // No cell (or an all-zero one) is the open radius graph.
        var open = RadiusGraph.Build(x, 3.0);
        var (so, ro, io, sh) = RadiusGraph.BuildPeriodic(x, new float[9], 3.0);
        Assert.Equal(open.Senders, so);
        Assert.Equal(open.Receivers, ro);
        Assert.All(io, v => Assert.Equal(0, v));
        Assert.All(sh, v => Assert.Equal(0f, v));
    }

    [Fact]
    public void Bad_cells_are_refused_with_a_message_naming_the_column_and_row()
    {
        var x = new float[] { 0, 0, 0, 1, 1, 1 };
        Assert.Contains("9", Assert.Throws<ArgumentException>(() => RadiusGraph.BuildPeriodic(x, new float[] { 1, 0, 0 }, 2.0)).Message);
        var flat = new float[] { 3, 0, 0, 0, 3, 0, 6, 6, 0 };
        Assert.Contains("linearly dependent", Assert.Throws<ArgumentException>(() => RadiusGraph.BuildPeriodic(x, flat, 2.0)).Message);
        var message = Assert.Throws<InvalidDataException>(() => PointCloudChecks.ValidateCell([3, 0, float.NaN, 0, 3, 0, 0, 0, 3], 4, "Cell")).Message;
        Assert.Contains("Column 'Cell', row 4", message);
        Assert.Contains("lattice vector a", message);
        Assert.Null(PointCloudChecks.ValidateCell([], 0, "Cell"));
        // Two atoms one lattice vector apart are the same site: refused like coincident points, naming the cloud.
        float[] cubic = [3, 0, 0, 0, 3, 0, 0, 0, 3];
        float[] same = [0.5f, 0.5f, 0.5f, 3.5f, 0.5f, 0.5f];
        Assert.Contains("coincide", Assert.Throws<ArgumentException>(() => RadiusGraph.BuildPeriodic(same, cubic, 2.0)).Message);
        var cost = PonitaMemory.Scoring(6, 8, 2, withForces: true);
        var error = Assert.Throws<InvalidDataException>(() =>
            PonitaMemory.Edges(same, 2.0, null, false, cost, PonitaMemory.Cloud("Positions", 2), PonitaMemory.ScoringAdvice, 0, cubic)).Message;
        Assert.Contains("column 'Positions', row 2", error);
        Assert.Contains("points 1 and 0 coincide", error);
    }
}

/// <summary>The PONITA energy under periodic boundaries, with random weights.</summary>
public class PeriodicNetworkTests
{
    private const int Types = 2;
    private const double Cutoff = 3.0;

    internal static PonitaNetwork Network(int seed, ScalarType dtype = ScalarType.Float32)
    {
        random.manual_seed(seed);
        var network = new PonitaNetwork(Types, hidden: 8, layers: 2, orientations: 8, cutoff: Cutoff, kernelScale: 1.5);
        network.eval();
        if (dtype != ScalarType.Float32) network.to(dtype);
        return network;
    }

    private static (Tensor Energy, Tensor Forces) EnergyAndForces(PonitaNetwork network, GraphSample sample, ScalarType dtype)
    {
        var graph = PeriodicCells.Graph([sample], Types, dtype);
        var x = graph.Positions.clone().requires_grad_();
        var energy = network.Energy(graph.WithPositions(x));
        energy.sum().backward();
        return (energy.detach(), x.grad!.neg());
    }

    private static (float[] Cell, float[] X, float[] Kinds) Crystal(int seed, double size, int atoms)
    {
        var random = new Random(seed);
        var cell = PeriodicCells.Triclinic(random, size);
        var x = PeriodicCells.Atoms(random, cell, atoms);
        var kinds = Enumerable.Range(0, atoms).Select(i => (float)(i % Types)).ToArray();
        return (cell, x, kinds);
    }

    [Fact]
    public void Moving_an_atom_by_a_lattice_vector_changes_neither_energy_nor_forces()
    {
        using var scope = NewDisposeScope();
        using var network = Network(1, ScalarType.Float64);
        var (cell, x, kinds) = Crystal(2, 3.4, 5); // thinner than twice the cutoff
        var (energy, forces) = EnergyAndForces(network, PeriodicCells.Sample(x, kinds, Types, cell, Cutoff), ScalarType.Float64);
        var moved = (float[])x.Clone();
        for (int c = 0; c < 3; c++) moved[3 + c] += cell[c] - 2 * cell[6 + c]; // atom 1 by a − 2c
        var (movedEnergy, movedForces) = EnergyAndForces(network, PeriodicCells.Sample(moved, kinds, Types, cell, Cutoff), ScalarType.Float64);
        // Equal up to the float32 rounding of the moved coordinates.
        Assert.True(Math.Abs(energy.item<double>() - movedEnergy.item<double>()) <= 1e-5 * Math.Max(1, Math.Abs(energy.item<double>())));
        Assert.True((forces - movedForces).abs().max().item<double>() < 1e-5 * Math.Max(1, forces.abs().max().item<double>()));
        // Not vacuous: the periodic energy is not the open cluster's, and the same move in an open cluster changes it.
        var (open, _) = EnergyAndForces(network, PeriodicCells.Sample(x, kinds, Types, null, Cutoff), ScalarType.Float64);
        var (openMoved, _) = EnergyAndForces(network, PeriodicCells.Sample(moved, kinds, Types, null, Cutoff), ScalarType.Float64);
        Assert.True(Math.Abs(open.item<double>() - energy.item<double>()) > 1e-4);
        Assert.True(Math.Abs(open.item<double>() - openMoved.item<double>()) > 1e-4);
    }

    [Fact]
    public void A_two_by_one_by_one_supercell_doubles_the_energy_and_repeats_the_forces()
    {
        using var scope = NewDisposeScope();
        using var network = Network(3, ScalarType.Float64);
        var (cell, x, kinds) = Crystal(4, 3.3, 4);
        var (energy, forces) = EnergyAndForces(network, PeriodicCells.Sample(x, kinds, Types, cell, Cutoff), ScalarType.Float64);
        var superCell = (float[])cell.Clone();
        for (int c = 0; c < 3; c++) superCell[c] = 2 * cell[c];
        var superX = x.Concat(x.Select((v, k) => v + cell[k % 3])).ToArray();
        var (superEnergy, superForces) = EnergyAndForces(network, PeriodicCells.Sample(superX, [.. kinds, .. kinds], Types, superCell, Cutoff), ScalarType.Float64);
        Assert.True(Math.Abs(2 * energy.item<double>() - superEnergy.item<double>()) <= 1e-5 * Math.Max(1, Math.Abs(superEnergy.item<double>())));
        double scale = Math.Max(1, forces.abs().max().item<double>());
        Assert.True(forces.abs().max().item<double>() > 1e-3, "forces too small to test");
        Assert.True((superForces.narrow(0, 0, 4) - forces).abs().max().item<double>() < 1e-5 * scale);
        Assert.True((superForces.narrow(0, 4, 4) - forces).abs().max().item<double>() < 1e-5 * scale);
        // Not vacuous: the same atoms in the single cell, scored as an open cluster twice over, do not double.
        var (open, _) = EnergyAndForces(network, PeriodicCells.Sample(x, kinds, Types, null, Cutoff), ScalarType.Float64);
        Assert.True(Math.Abs(2 * open.item<double>() - superEnergy.item<double>()) > 1e-3);
    }

    [Fact]
    public void Periodic_forces_match_central_finite_differences_of_the_energy()
    {
        using var scope = NewDisposeScope();
        using var network = Network(5, ScalarType.Float64);
        var (cell, x, kinds) = Crystal(6, 3.2, 4);
        var (_, forces) = EnergyAndForces(network, PeriodicCells.Sample(x, kinds, Types, cell, Cutoff, selfLoops: true), ScalarType.Float64);
        const double step = 1e-5;
        foreach (var k in new[] { 0, 4, 8, 11 })
        {
            // The edges of the undisplaced geometry serve: a pair crossing the cutoff enters with zero weight and slope.
            double Shifted(double delta)
            {
                var graph = PeriodicCells.Graph([PeriodicCells.Sample(x, kinds, Types, cell, Cutoff, selfLoops: true)], Types, ScalarType.Float64);
                var p = x.Select(v => (double)v).ToArray();
                p[k] += delta;
                return network.Energy(graph with { Positions = tensor(p, [x.Length / 3, 3]) }).item<double>();
            }
            double numeric = -(Shifted(step) - Shifted(-step)) / (2 * step);
            Assert.Equal(numeric, forces[k / 3, k % 3].item<double>(), 6);
        }
        Assert.True(forces.abs().max().item<double>() > 1e-3);
        // Forces in a periodic cell still sum to zero.
        Assert.True(forces.sum(dim: 0).abs().max().item<double>() < 1e-9);
    }
}

public class PeriodicOnnxTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void The_exported_periodic_energy_and_forces_match_TorchSharp(bool typesAreIndices)
    {
        const double cutoff = 3.0;
        TorchSharp.torch.random.manual_seed(21);
        using var network = new PonitaNetwork(2, hidden: 16, layers: 2, orientations: 12, cutoff: cutoff, kernelScale: 1.5);
        network.eval();
        var onnx = PonitaOnnxExporter.ExportForScoring(network, typesAreIndices, "forces", periodic: true);
        var generator = new Random(22);
        var thin = PeriodicCells.Triclinic(generator, 3.2);
        var wide = PeriodicCells.Triclinic(generator, 7.0);
        var slab = PeriodicCells.Triclinic(generator, 4.0);
        Array.Clear(slab, 6, 3);
        var samples = new List<GraphSample>();
        foreach (var (cell, n) in new (float[]? Cell, int N)[] { (thin, 4), (null, 5), (wide, 20), (slab, 6) })
        {
            var x = PeriodicCells.Atoms(generator, cell ?? [4, 0, 0, 0, 4, 0, 0, 0, 4], n);
            samples.Add(PeriodicCells.Sample(x, Enumerable.Range(0, n).Select(i => (float)(i % 2)).ToArray(), 2, cell, cutoff, selfLoops: true));
        }
        var set = new PointCloudSet(samples.Select(s => s.Cloud).ToList(), 2, typesAreIndices, null);
        var inputs = PonitaExportCheck.Inputs(samples, set, periodic: true);
        var energy = OnnxParity.Compare(_ =>
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            return network.Energy(MoleculeBatch.From(samples, 2, withForces: false).Graph).data<float>().ToArray();
        }, onnx, inputs, MLExtensions.Onnx.Scoring.OnnxOutputHeads.RawScore);
        Assert.True(energy.RelativeError <= 1e-5, energy.ToString());
        Assert.Equal(4, energy.Elements);
        var forces = OnnxParity.Compare(_ => PonitaTrainingLoop.Predict(network, samples, 2, 4).Forces.SelectMany(f => f).ToArray(), onnx, inputs, "forces");
        Assert.True(forces.RelativeError <= 1e-5, forces.ToString());
        Assert.True(forces.MaxReference > 1e-3, $"forces too small to test: {forces.MaxReference}");
        // Not vacuous: the same graph without its shifts scores differently.
        var zeroShifts = inputs.Select(i => i.Name == PonitaColumns.Shifts ? new ParityInput(i.Name, new float[i.Values.Length], i.Shape) : i).ToList();
        var unshifted = OnnxParity.Compare(_ => network.Energy(MoleculeBatch.From(samples, 2, withForces: false).Graph).detach().data<float>().ToArray(),
            onnx, zeroShifts, MLExtensions.Onnx.Scoring.OnnxOutputHeads.RawScore);
        Assert.True(unshifted.RelativeError > 1e-3);
    }
}
