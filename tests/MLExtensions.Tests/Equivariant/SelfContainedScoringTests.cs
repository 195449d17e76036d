using MLExtensions.Equivariant;
using MLExtensions.Torch;
using Xunit;
using static TorchSharp.torch;

namespace MLExtensions.Tests.Equivariant;

/// <summary>The self-contained PONITA graph (neighbours found inside it) against TorchSharp on the managed radius graph.</summary>
public class SelfContainedScoringTests
{
    private const int Types = 2;
    private const double Cutoff = 3.0;

    /// <summary>Energy, forces and (with a volume) stress of the self-contained graph against TorchSharp's, each within 1e-5.</summary>
    private static void AssertAgrees(PonitaNetwork network, float[] x, float[]? cell, int? maximumNeighbors, bool selfLoops, bool periodic)
    {
        bool stress = periodic && float.IsFinite(PeriodicRadiusGraph.StressVolume(cell));
        var onnx = PonitaOnnxExporter.ExportSelfContained(network, typesAreIndices: true, periodic, maximumNeighbors, selfLoops,
            new PonitaSelfContainedOptions { MaximumAtoms = 64 }, forces: true, stress: periodic, atomEnergies: true);
        var kinds = Enumerable.Range(0, x.Length / 3).Select(i => (float)(i % Types)).ToArray();
        var sample = GraphSample.Of(new PointCloud(x, PointCloudData.OneHot(kinds, Types), 0.0, null, null, periodic ? cell : null), Cutoff, maximumNeighbors, selfLoops);
        var expected = PonitaTrainingLoop.Predict(network, [sample], Types, 1, withStress: stress);
        var actual = SelfContainedRuns.Run(onnx, x, kinds, periodic ? cell ?? new float[9] : null);
        double energy = SelfContainedRuns.RelativeError(actual[PonitaSelfContainedOptions.Energy], [expected.Energies[0]]);
        double forces = SelfContainedRuns.RelativeError(actual[PonitaSelfContainedOptions.Forces], expected.Forces[0]);
        Assert.True(energy <= 1e-5, $"energy {actual[PonitaSelfContainedOptions.Energy][0]} vs {expected.Energies[0]}");
        Assert.True(forces <= 1e-5, $"forces: relative error {forces:E2}");
        Assert.True(expected.Forces[0].Max(MathF.Abs) > 1e-3, "forces too small to test");
        Assert.Equal(x.Length / 3, actual[PonitaSelfContainedOptions.AtomEnergies].Length);
        string line = $"{x.Length / 3} atoms, {sample.Edges.Senders.Length} edges: energy {energy:E2}, forces {forces:E2}";
        if (stress)
        {
            double error = SelfContainedRuns.RelativeError(actual[PonitaSelfContainedOptions.Stress], expected.Stresses![0]);
            Assert.True(error <= 1e-5, $"stress: relative error {error:E2}");
            line += $", stress {error:E2}";
        }
        else if (periodic) Assert.All(actual[PonitaSelfContainedOptions.Stress], v => Assert.True(float.IsNaN(v)));   // a slab or an open cloud has no volume
        Console.WriteLine(line);
    }

    [Theory]
    [InlineData(21, 3.4, 5, null, true)]     // triclinic, thinner than twice the cutoff
    [InlineData(22, 2.6, 3, null, false)]    // thinner than the cutoff
    [InlineData(23, 6.5, 16, null, false)]   // thick triclinic
    [InlineData(24, 4.0, 8, 6, true)]        // the neighbour limit binds
    public void Periodic_cells_score_as_in_TorchSharp(int seed, double size, int atoms, int? maximumNeighbors, bool selfLoops)
    {
        using var network = PeriodicNetworkTests.Network(seed);
        var random = new Random(seed);
        var cell = PeriodicCells.Triclinic(random, size);
        var x = PeriodicCells.Atoms(random, cell, atoms);
        if (maximumNeighbors is int k) Assert.True(RadiusGraph.BuildPeriodic(x, cell, Cutoff).Senders.Length > atoms * k, "the limit does not bind");
        AssertAgrees(network, x, cell, maximumNeighbors, selfLoops, periodic: true);
    }

    [Fact]
    public void A_slab_and_an_all_zero_cell_score_as_in_TorchSharp()
    {
        using var network = PeriodicNetworkTests.Network(31);
        var random = new Random(31);
        var cell = PeriodicCells.Triclinic(random, 3.8);
        var x = PeriodicCells.Atoms(random, cell, 6);
        cell[6] = cell[7] = cell[8] = 0;
        AssertAgrees(network, x, cell, null, true, periodic: true);
        AssertAgrees(network, x, new float[9], null, true, periodic: true);
    }

    [Theory]
    [InlineData(false, null)]
    [InlineData(false, 4)]   // the limit binds
    [InlineData(true, 4)]    // the canonical frame, inside the graph already, on top of in-graph neighbours
    public void Open_clusters_score_as_in_TorchSharp(bool canonicalFrame, int? maximumNeighbors)
    {
        using var network = PeriodicNetworkTests.Network(41);
        network.CanonicalFrame = canonicalFrame;
        var random = new Random(42);
        var x = Enumerable.Range(0, 3 * 24).Select(_ => (float)(5 * random.NextDouble())).ToArray();
        if (maximumNeighbors is int k) Assert.True(RadiusGraph.Build(x, Cutoff).Senders.Length > 24 * k, "the limit does not bind");
        AssertAgrees(network, x, null, maximumNeighbors, selfLoops: true, periodic: false);
    }
}
