using MLExtensions.Equivariant;
using Xunit;
using TorchSharp;
using static TorchSharp.torch;

namespace MLExtensions.Tests.Equivariant;

/// <summary>Symmetries of the PONITA energy with random weights.</summary>
public class PonitaNetworkTests
{
    private const int Types = 3;

    private static PonitaNetwork Network(int seed)
    {
        random.manual_seed(seed);
        var network = new PonitaNetwork(Types, hidden: 16, layers: 2, orientations: 12, cutoff: 3.0);
        network.eval();
        return network;
    }

    /// <summary>A batch of two molecules (5 and 3 atoms, the second padded) with random positions and types.</summary>
    private static (Tensor Positions, Tensor Types, Tensor Mask) Batch(int seed, ScalarType dtype = ScalarType.Float32)
    {
        var generator = new Random(seed);
        var positions = new double[2 * 5 * 3];
        for (int i = 0; i < positions.Length; i++) positions[i] = generator.NextDouble() * 3 - 1.5;
        var types = new double[2 * 5 * Types];
        for (int i = 0; i < 10; i++) types[i * Types + generator.Next(Types)] = 1;
        double[] mask = [1, 1, 1, 1, 1, 1, 1, 1, 0, 0];
        return (tensor(positions, [2, 5, 3]).to_type(dtype), tensor(types, [2, 5, Types]).to_type(dtype), tensor(mask, [2, 5]).to_type(dtype));
    }

    private static Tensor RandomRotation(int seed, ScalarType dtype = ScalarType.Float32)
    {
        var generator = new Random(seed);
        // Gram–Schmidt of a random matrix, with determinant +1.
        var q = linalg.qr(tensor(Enumerable.Range(0, 9).Select(_ => generator.NextDouble() - 0.5).ToArray(), [3, 3])).Q;
        if (linalg.det(q).item<double>() < 0) q = q.mul(tensor(new double[] { 1, 1, -1 }));
        return q.to_type(dtype);
    }

    private static double Relative(Tensor a, Tensor b) => (a - b).abs().max().item<float>() / Math.Max(1e-6, b.abs().max().item<float>());

    [Fact]
    public void Rotating_points_and_grid_together_leaves_the_energy_unchanged()
    {
        using var scope = NewDisposeScope();
        using var network = Network(1);
        var (x, t, m) = Batch(2);
        var rotation = RandomRotation(3);
        var expected = network.Energy(x, t, m, network.Grid);
        var actual = network.Energy(x.matmul(rotation.t()), t, m, network.Grid.matmul(rotation.t()));
        Assert.True(Relative(actual, expected) <= 1e-4, $"{Relative(actual, expected)}");
        // Not vacuous: the energy depends on the geometry, and with the grid held fixed a rotation is only approximately invariant.
        Assert.True(Relative(network.Energy(x.mul(1.3f), t, m, network.Grid), expected) > 1e-3);
        Assert.True(Relative(network.Energy(x.matmul(rotation.t()), t, m, network.Grid), expected) > 1e-6);
    }

    [Fact]
    public void Translation_and_permutation_leave_the_energy_unchanged_and_padding_changes_nothing()
    {
        using var scope = NewDisposeScope();
        using var network = Network(4);
        var (x, t, m) = Batch(5);
        var energy = network.forward(x, t, m);
        Assert.True(Relative(network.forward(x + tensor(new float[] { 3.5f, -2f, 0.25f }), t, m), energy) <= 1e-5);
        var order = tensor(new long[] { 3, 0, 4, 1, 2 });
        var permuted = network.forward(x.index_select(1, order), t.index_select(1, order), m.index_select(1, order));
        // The second molecule's padding moves too; its real atoms stay real.
        Assert.True(Relative(permuted, energy) <= 1e-5, $"{Relative(permuted, energy)}");
        // Moving padded atoms anywhere, or dropping them, changes nothing.
        var moved = x.clone();
        moved[1, 3] = tensor(new float[] { 0.01f, 0.02f, 0.03f });
        Assert.Equal(energy[1].item<float>(), network.forward(moved, t, m)[1].item<float>(), 5);
        var alone = network.forward(x[1..2, 0..3], t[1..2, 0..3], m[1..2, 0..3]);
        Assert.Equal(energy[1].item<float>(), alone[0].item<float>(), 4);
    }

    [Fact]
    public void Forces_by_autograd_match_central_finite_differences_in_double_precision()
    {
        using var scope = NewDisposeScope();
        using var network = Network(6);
        network.to(ScalarType.Float64);
        var (x, t, m) = Batch(7, ScalarType.Float64);
        var grad = x.clone().requires_grad_();
        network.forward(grad, t, m).sum().backward();
        var analytic = grad.grad!.neg();
        const double step = 1e-6;
        foreach (var (b, i, d) in new[] { (0, 0, 0), (0, 3, 2), (1, 2, 1) })
        {
            var plus = x.clone();
            plus[b, i, d] = plus[b, i, d] + step;
            var minus = x.clone();
            minus[b, i, d] = minus[b, i, d] - step;
            double numeric = -(network.forward(plus, t, m)[b].item<double>() - network.forward(minus, t, m)[b].item<double>()) / (2 * step);
            Assert.Equal(numeric, analytic[b, i, d].item<double>(), 6);
        }
        Assert.False(analytic.isnan().any().item<bool>());
        Assert.Equal(0.0, analytic[1, 3].abs().sum().item<double>());
    }

    [Fact]
    public void Forces_rotate_with_the_points()
    {
        using var scope = NewDisposeScope();
        using var network = Network(8);
        var (x, t, m) = Batch(9);
        var rotation = RandomRotation(10);
        Tensor Forces(Tensor positions, Tensor grid)
        {
            var p = positions.clone().requires_grad_();
            network.Energy(p, t, m, grid).sum().backward();
            return p.grad!.neg();
        }
        var expected = Forces(x, network.Grid).matmul(rotation.t());
        var actual = Forces(x.matmul(rotation.t()), network.Grid.matmul(rotation.t()));
        Assert.True(Relative(actual, expected) <= 1e-4, $"{Relative(actual, expected)}");
    }
}

public class PonitaOnnxTests
{
    [Theory]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(9)]
    public void The_exported_energy_matches_TorchSharp_for_several_atom_counts(int atoms)
    {
        random.manual_seed(11);
        using var network = new PonitaNetwork(3, hidden: 16, layers: 2, orientations: 12, cutoff: 3.0);
        network.eval();
        var onnx = PonitaOnnxExporter.ExportEnergy(network, "Positions", "AtomTypes", "Mask");
        var generator = new Random(atoms);
        var positions = Enumerable.Range(0, 2 * atoms * 3).Select(_ => (float)(generator.NextDouble() * 3 - 1.5)).ToArray();
        var types = new float[2 * atoms * 3];
        for (int i = 0; i < 2 * atoms; i++) types[i * 3 + generator.Next(3)] = 1;
        var mask = Enumerable.Repeat(1f, 2 * atoms).ToArray();
        var report = MLExtensions.Torch.OnnxParity.Compare(inputs => network.forward(inputs[0], inputs[1], inputs[2]), onnx,
            [new("Positions", positions, [2, atoms, 3]), new("AtomTypes", types, [2, atoms, 3]), new("Mask", mask, [2, atoms])],
            PonitaOnnxExporter.EnergyOutput);
        Assert.True(report.RelativeError <= 1e-5, report.ToString());

        // Conservative forces: the graph's written-out reverse pass against TorchSharp's autograd.
        var forces = MLExtensions.Torch.OnnxParity.Compare(given =>
        {
            using var scope = NewDisposeScope();
            var x = tensor(given[0].Values, given[0].Shape).requires_grad_();
            network.forward(x, tensor(given[1].Values, given[1].Shape), tensor(given[2].Values, given[2].Shape)).sum().backward();
            return x.grad!.neg().data<float>().ToArray();
        }, onnx, [new("Positions", positions, [2, atoms, 3]), new("AtomTypes", types, [2, atoms, 3]), new("Mask", mask, [2, atoms])],
            PonitaOnnxExporter.ForcesOutput);
        Assert.True(forces.RelativeError <= 1e-5, forces.ToString());
        Assert.True(forces.MaxReference > 1e-3, $"forces too small to test: {forces.MaxReference}");
        Assert.Equal(2 * atoms * 3, forces.Elements);
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
        var generator = new Random(13);
        var x = tensor(Enumerable.Range(0, 15).Select(_ => (float)(generator.NextDouble() * 2 - 1)).ToArray(), [1, 5, 3]);
        var v = tensor(Enumerable.Range(0, 15).Select(_ => (float)(generator.NextDouble() * 2 - 1)).ToArray(), [1, 5, 3]);
        var types = tensor(new float[] { 1, 0, 0, 1, 1, 0, 0, 1, 1, 0 }, [1, 5, 2]);
        var mask = ones(1, 5);
        double c = Math.Cos(0.8), s = Math.Sin(0.8);
        var rotation = tensor(new float[] { (float)c, 0, (float)s, 0, 1, 0, (float)-s, 0, (float)c }, [3, 3]);
        var plain = network.Vectors(x, types, mask, v, network.Grid);
        var rotated = network.Vectors(x.matmul(rotation.t()), types, mask, v.matmul(rotation.t()), network.Grid.matmul(rotation.t()));
        var expected = plain.matmul(rotation.t());
        double scale = plain.abs().max().item<float>();
        Assert.True(scale > 1e-4);
        Assert.True((rotated - expected).abs().max().item<float>() <= 1e-4 * scale);
        var shifted = network.Vectors(x + tensor(new float[] { 5, -3, 1 }), types, mask, v, network.Grid);
        Assert.True((shifted - plain).abs().max().item<float>() <= 1e-5 * Math.Max(1, scale));
        // The input vectors matter.
        Assert.True((network.Vectors(x, types, mask, v.neg(), network.Grid) - plain).abs().max().item<float>() > 1e-4);
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
        var onnx = PonitaOnnxExporter.ExportVectors(network, "Positions", "Velocities", "Types", "Mask");
        var generator = new Random(points);
        float[] Values(int count) => Enumerable.Range(0, count).Select(_ => (float)(generator.NextDouble() * 2 - 1)).ToArray();
        var positions = Values(2 * points * 3);
        var velocities = Values(2 * points * 3);
        var types = new float[2 * points * 2];
        for (int i = 0; i < 2 * points; i++) types[i * 2 + generator.Next(2)] = 1;
        var mask = Enumerable.Repeat(1f, 2 * points).ToArray();
        var report = MLExtensions.Torch.OnnxParity.Compare(
            inputs => network.Vectors(inputs[0], inputs[2], inputs[3], inputs[1], network.Grid), onnx,
            [new("Positions", positions, [2, points, 3]), new("Velocities", velocities, [2, points, 3]), new("Types", types, [2, points, 2]), new("Mask", mask, [2, points])],
            PonitaOnnxExporter.VectorsOutput);
        Assert.True(report.RelativeError <= 1e-5, report.ToString());
        Assert.True(report.MaxReference > 1e-4);
    }
}
