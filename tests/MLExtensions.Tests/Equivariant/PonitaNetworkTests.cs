using MLExtensions.Equivariant;
using MLExtensions.Torch;
using Xunit;
using TorchSharp;
using static TorchSharp.torch;

namespace MLExtensions.Tests.Equivariant;

/// <summary>Random point clouds as PONITA graphs, for the network and export tests.</summary>
internal static class RandomGraphs
{
    /// <summary>Clouds of the given sizes with coordinates uniform in [−spread/2, spread/2] and random one-hot types.</summary>
    public static List<GraphSample> Samples(int seed, double cutoff, int types, params int[] sizes) => Samples(seed, cutoff, types, false, sizes);

    public static List<GraphSample> Samples(int seed, double cutoff, int types, bool selfLoops, params int[] sizes)
    {
        var generator = new Random(seed);
        return sizes.Select(n =>
        {
            var positions = Enumerable.Range(0, 3 * n).Select(_ => (float)(generator.NextDouble() * 3 - 1.5)).ToArray();
            var kinds = Enumerable.Range(0, n).Select(_ => (float)generator.Next(types)).ToArray();
            return GraphSample.Of(new PointCloud(positions, PointCloudData.OneHot(kinds, types), 0f, null), cutoff, null, selfLoops);
        }).ToList();
    }

    public static PointGraph Graph(IReadOnlyList<GraphSample> samples, int types, ScalarType dtype = ScalarType.Float32)
    {
        var batch = MoleculeBatch.From(samples, types, withForces: false);
        var g = batch.Graph;
        return dtype == ScalarType.Float32 ? g : g with { Positions = g.Positions.to_type(dtype), Features = g.Features.to_type(dtype) };
    }

    public static Tensor RandomRotation(int seed, ScalarType dtype = ScalarType.Float32)
    {
        var generator = new Random(seed);
        // Gram–Schmidt of a random matrix, with determinant +1.
        var q = linalg.qr(tensor(Enumerable.Range(0, 9).Select(_ => generator.NextDouble() - 0.5).ToArray(), [3, 3])).Q;
        if (linalg.det(q).item<double>() < 0) q = q.mul(tensor(new double[] { 1, 1, -1 }));
        return q.to_type(dtype);
    }

    public static double Relative(Tensor a, Tensor b) => (a - b).abs().max().item<float>() / Math.Max(1e-6, b.abs().max().item<float>());
}

/// <summary>Symmetries of the PONITA energy with random weights.</summary>
public class PonitaNetworkTests
{
    private const int Types = 3;
    private const double Cutoff = 2.5;

    private static PonitaNetwork Network(int seed, bool readoutEveryLayer = false, int orientations = 12)
    {
        random.manual_seed(seed);
        var network = new PonitaNetwork(Types, hidden: 16, layers: 2, orientations, cutoff: Cutoff, readoutEveryLayer: readoutEveryLayer);
        network.eval();
        return network;
    }

    /// <summary>Two clouds (5 and 3 points) concatenated, with self-loops (the symmetry tests cover both kinds of edge).</summary>
    private static PointGraph Batch(int seed, ScalarType dtype = ScalarType.Float32) =>
        RandomGraphs.Graph(RandomGraphs.Samples(seed, Cutoff, Types, true, 5, 3), Types, dtype);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Rotating_points_and_grid_together_leaves_the_energy_unchanged(bool readoutEveryLayer)
    {
        using var scope = NewDisposeScope();
        // 8 orientations: the 12 of the other tests form an icosahedron, whose symmetry leaves the fixed grid's error near float32 rounding.
        using var network = Network(1, readoutEveryLayer, orientations: 8);
        var graph = Batch(2);
        var rotation = RandomGraphs.RandomRotation(3);
        var expected = network.Energy(graph, network.Grid);
        var actual = network.Energy(graph.WithPositions(graph.Positions.matmul(rotation.t())), network.Grid.matmul(rotation.t()));
        Assert.Equal(2, expected.shape[0]);
        Assert.True(RandomGraphs.Relative(actual, expected) <= 1e-4, $"{RandomGraphs.Relative(actual, expected)}");
        // Not vacuous: the energy depends on the geometry, and with the grid held fixed a rotation is only approximately invariant.
        Assert.True(RandomGraphs.Relative(network.Energy(graph.WithPositions(graph.Positions.mul(1.3f))), expected) > 1e-3);
        Assert.True(RandomGraphs.Relative(network.Energy(graph.WithPositions(graph.Positions.matmul(rotation.t()))), expected) > 1e-6);
    }

    [Fact]
    public void Translation_and_permutation_leave_the_energy_unchanged_and_each_cloud_scores_alone_as_in_a_batch()
    {
        using var scope = NewDisposeScope();
        using var network = Network(4);
        var samples = RandomGraphs.Samples(5, Cutoff, Types, 5, 3);
        var graph = RandomGraphs.Graph(samples, Types);
        var energy = network.Energy(graph);
        Assert.True(RandomGraphs.Relative(network.Energy(graph.WithPositions(graph.Positions + tensor(new float[] { 3.5f, -2f, 0.25f }))), energy) <= 1e-5);
        // Permuting the points of the first cloud (and renumbering its edges) changes nothing.
        int[] order = [3, 0, 4, 1, 2];
        var first = samples[0].Cloud;
        var permuted = new PointCloud(order.SelectMany(i => first.Positions[(3 * i)..(3 * i + 3)]).ToArray(),
            order.SelectMany(i => first.Features[(Types * i)..(Types * i + Types)]).ToArray(), 0f, null);
        var again = network.Energy(RandomGraphs.Graph([GraphSample.Of(permuted, Cutoff, null), samples[1]], Types));
        Assert.True(RandomGraphs.Relative(again, energy) <= 1e-5, $"{RandomGraphs.Relative(again, energy)}");
        // The second cloud alone gets the energy it had in the batch.
        var alone = network.Energy(RandomGraphs.Graph([samples[1]], Types));
        Assert.Equal(energy[1].item<float>(), alone[0].item<float>(), 4);
    }

    [Fact]
    public void A_point_sees_its_own_features_through_the_self_loop()
    {
        using var scope = NewDisposeScope();
        using var network = Network(14);
        // One isolated point: no neighbour, only its self-loop. Its energy must depend on its type through the convolution.
        var isolated = new PointCloud([0f, 0f, 0f], PointCloudData.OneHot([1f], Types), 0f, null);
        var sample = GraphSample.Of(isolated, Cutoff, null, selfLoops: true);
        Assert.Equal(1, sample.Edges.Count);
        var withLoop = network.Energy(RandomGraphs.Graph([sample], Types));
        var withoutLoop = network.Energy(RandomGraphs.Graph([sample with { Edges = new EdgeList([], []) }], Types));
        Assert.True(Math.Abs(withLoop.item<float>() - withoutLoop.item<float>()) > 1e-4);
    }

    [Fact]
    public void Forces_by_autograd_match_central_finite_differences_in_double_precision()
    {
        using var scope = NewDisposeScope();
        using var network = Network(6);
        network.to(ScalarType.Float64);
        var graph = Batch(7, ScalarType.Float64);
        var x = graph.Positions;
        var grad = x.clone().requires_grad_();
        network.Energy(graph.WithPositions(grad)).sum().backward();
        var analytic = grad.grad!.neg();
        const double step = 1e-6;
        foreach (var (b, i, d) in new[] { (0, 0, 0), (0, 3, 2), (1, 6, 1) })
        {
            var plus = x.clone();
            plus[i, d] = plus[i, d] + step;
            var minus = x.clone();
            minus[i, d] = minus[i, d] - step;
            double numeric = -(network.Energy(graph.WithPositions(plus))[b].item<double>() - network.Energy(graph.WithPositions(minus))[b].item<double>()) / (2 * step);
            Assert.Equal(numeric, analytic[i, d].item<double>(), 6);
        }
        Assert.False(analytic.isnan().any().item<bool>());
        // Forces on one cloud sum to zero (translation invariance).
        Assert.True(analytic.narrow(0, 0, 5).sum(dim: 0).abs().max().item<double>() < 1e-9);
    }

    [Fact]
    public void Forces_rotate_with_the_points()
    {
        using var scope = NewDisposeScope();
        using var network = Network(8);
        var graph = Batch(9);
        var rotation = RandomGraphs.RandomRotation(10);
        Tensor Forces(Tensor positions, Tensor grid)
        {
            var p = positions.clone().requires_grad_();
            network.Energy(graph.WithPositions(p), grid).sum().backward();
            return p.grad!.neg();
        }
        var expected = Forces(graph.Positions, network.Grid).matmul(rotation.t());
        var actual = Forces(graph.Positions.matmul(rotation.t()), network.Grid.matmul(rotation.t()));
        Assert.True(RandomGraphs.Relative(actual, expected) <= 1e-4, $"{RandomGraphs.Relative(actual, expected)}");
    }

    [Fact]
    public void A_point_beyond_the_cutoff_of_all_others_adds_its_isolated_energy_and_feels_no_force()
    {
        using var scope = NewDisposeScope();
        using var network = Network(15);
        var samples = RandomGraphs.Samples(16, Cutoff, Types, 4);
        var near = samples[0].Cloud;
        var far = new PointCloud([1e6f, -2e6f, 5e5f], PointCloudData.OneHot([2f], Types), 0f, null);
        var lone = new PointCloud([0f, 0f, 0f], far.Features, 0f, null);
        var together = near with { Positions = [.. near.Positions, .. far.Positions], Features = [.. near.Features, .. far.Features] };
        var sample = GraphSample.Of(together, Cutoff, null);
        var graph = RandomGraphs.Graph([sample], Types);
        var x = graph.Positions.clone().requires_grad_();
        var energy = network.Energy(graph.WithPositions(x));
        energy.sum().backward();
        double expected = network.Energy(RandomGraphs.Graph(samples, Types)).item<float>() + network.Energy(RandomGraphs.Graph([GraphSample.Of(lone, Cutoff, null)], Types)).item<float>();
        Assert.Equal(expected, energy.item<float>(), 4);
        Assert.Equal(0.0, x.grad![4].abs().sum().item<float>());
        Assert.False(x.grad!.isnan().any().item<bool>());
    }
}

public class PonitaOnnxTests
{
    private const double Cutoff = 2.5;

    /// <summary>Clouds of the given sizes concatenated into one graph, as the ONNX model's inputs.</summary>
    private static (List<GraphSample> Samples, PointCloudSet Set, List<ParityInput> Inputs) Case(int seed, int types, bool indices, bool selfLoops, params int[] sizes)
    {
        var samples = RandomGraphs.Samples(seed, Cutoff, types, selfLoops, sizes);
        var set = new PointCloudSet(samples.Select(s => s.Cloud).ToList(), types, indices, null);
        return (samples, set, PonitaExportCheck.Inputs(samples, set));
    }

    [Theory]
    [InlineData(3, false, true, true)]
    [InlineData(5, true, false, false)]
    [InlineData(9, false, false, true)]
    [InlineData(40, true, true, true)]
    public void The_exported_energy_and_forces_match_TorchSharp(int atoms, bool readoutEveryLayer, bool typesAreIndices, bool selfLoops)
    {
        random.manual_seed(11);
        using var network = new PonitaNetwork(3, hidden: 16, layers: 2, orientations: 12, cutoff: Cutoff, readoutEveryLayer: readoutEveryLayer);
        network.eval();
        var onnx = PonitaOnnxExporter.ExportForScoring(network, typesAreIndices, "forces");
        // Two clouds in one call: the graph index keeps their energies apart.
        var (samples, set, inputs) = Case(atoms, 3, typesAreIndices, selfLoops, atoms, atoms + 2);
        var energy = OnnxParity.Compare(_ =>
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            return network.Energy(RandomGraphs.Graph(samples, 3)).data<float>().ToArray();
        }, onnx, inputs, MLExtensions.Onnx.Scoring.OnnxOutputHeads.RawScore);
        Assert.True(energy.RelativeError <= 1e-5, energy.ToString());
        Assert.Equal(2, energy.Elements);

        // Conservative forces: the graph's written-out reverse pass against TorchSharp's autograd.
        var forces = OnnxParity.Compare(_ => PonitaTrainingLoop.Predict(network, samples, 3, 2).Forces.SelectMany(f => f).ToArray(), onnx, inputs, "forces");
        Assert.True(forces.RelativeError <= 1e-5, forces.ToString());
        Assert.True(forces.MaxReference > 1e-3, $"forces too small to test: {forces.MaxReference}");
        Assert.Equal((2 * atoms + 2) * 3, forces.Elements);
    }

    [Fact]
    public void The_position_only_variant_exports_too()
    {
        random.manual_seed(12);
        using var network = new PonitaNetwork(2, hidden: 8, layers: 2, orientations: 12, cutoff: Cutoff, positionOnly: true);
        network.eval();
        var onnx = PonitaOnnxExporter.ExportForScoring(network, typesAreIndices: false, "forces");
        var (samples, _, inputs) = Case(3, 2, false, false, 6);
        var forces = OnnxParity.Compare(_ => PonitaTrainingLoop.Predict(network, samples, 2, 1).Forces[0], onnx, inputs, "forces");
        Assert.True(forces.RelativeError <= 1e-5, forces.ToString());
    }
}

public class PonitaVectorTests
{
    [Fact]
    public void Vector_outputs_rotate_with_points_grid_and_input_vectors_and_ignore_translation()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(12);
        using var network = new PonitaNetwork(2, hidden: 16, layers: 2, orientations: 12, cutoff: 4.0);
        network.eval();
        var graph = RandomGraphs.Graph(RandomGraphs.Samples(13, 4.0, 2, 5), 2);
        var generator = new Random(13);
        var v = tensor(Enumerable.Range(0, 15).Select(_ => (float)(generator.NextDouble() * 2 - 1)).ToArray(), [5, 3]);
        double c = Math.Cos(0.8), s = Math.Sin(0.8);
        var rotation = tensor(new float[] { (float)c, 0, (float)s, 0, 1, 0, (float)-s, 0, (float)c }, [3, 3]);
        var plain = network.Vectors(graph, v, network.Grid);
        var rotated = network.Vectors(graph.WithPositions(graph.Positions.matmul(rotation.t())), v.matmul(rotation.t()), network.Grid.matmul(rotation.t()));
        var expected = plain.matmul(rotation.t());
        double scale = plain.abs().max().item<float>();
        Assert.True(scale > 1e-4);
        Assert.True((rotated - expected).abs().max().item<float>() <= 1e-4 * scale);
        var shifted = network.Vectors(graph.WithPositions(graph.Positions + tensor(new float[] { 5, -3, 1 })), v, network.Grid);
        Assert.True((shifted - plain).abs().max().item<float>() <= 1e-5 * Math.Max(1, scale));
        // The input vectors matter.
        Assert.True((network.Vectors(graph, v.neg(), network.Grid) - plain).abs().max().item<float>() > 1e-4);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(5)]
    [InlineData(8)]
    public void The_exported_vector_head_matches_TorchSharp(int points)
    {
        random.manual_seed(14);
        using var network = new PonitaNetwork(2, hidden: 16, layers: 2, orientations: 12, cutoff: 4.0);
        network.eval();
        var onnx = PonitaOnnxExporter.ExportVectors(network, typesAreIndices: false, inputVectors: true, addInputVectors: false);
        var samples = RandomGraphs.Samples(points, 4.0, 2, points, points + 1);
        var set = new PointCloudSet(samples.Select(s => s.Cloud).ToList(), 2, false, null);
        var generator = new Random(points);
        var velocities = Enumerable.Range(0, (2 * points + 1) * 3).Select(_ => (float)(generator.NextDouble() * 2 - 1)).ToArray();
        var inputs = PonitaExportCheck.Inputs(samples, set);
        inputs.Add(new ParityInput(PonitaColumns.PointVectors, velocities, [1, 2 * points + 1, 3]));
        var report = OnnxParity.Compare(_ =>
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            return network.Vectors(RandomGraphs.Graph(samples, 2), tensor(velocities, [2 * points + 1, 3]), network.Grid).data<float>().ToArray();
        }, onnx, inputs, PonitaOnnxExporter.VectorsOutput);
        Assert.True(report.RelativeError <= 1e-5, report.ToString());
        Assert.True(report.MaxReference > 1e-4);
    }
}
