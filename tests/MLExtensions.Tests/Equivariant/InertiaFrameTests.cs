using MLExtensions.Equivariant;
using MLExtensions.Torch;
using Xunit;
using TorchSharp;
using static TorchSharp.torch;

namespace MLExtensions.Tests.Equivariant;

/// <summary>
/// The canonical frame with random weights, which are far from invariant on their own: any pose the frame fails to
/// undo shows up at the size of the network's whole output.
/// </summary>
public class InertiaFrameTests
{
    private const int Types = 3;
    private const double Cutoff = 2.5;

    private static PonitaNetwork Network(int seed)
    {
        random.manual_seed(seed);
        var network = new PonitaNetwork(Types, hidden: 16, layers: 2, orientations: 8, cutoff: Cutoff) { CanonicalFrame = true };
        network.eval();
        return network;
    }

    /// <summary>Random clouds (6 and 9 points) and the clouds with no principal axes: one point, two, and three on a line.</summary>
    private static List<GraphSample> Clouds(int seed)
    {
        var clouds = RandomGraphs.Samples(seed, Cutoff, Types, 6, 9);
        PointCloud Of(float[] positions) => new(positions, PointCloudData.OneHot(Enumerable.Range(0, positions.Length / 3).Select(i => (float)(i % Types)).ToArray(), Types), 0f, null);
        foreach (var degenerate in new[] { Of([0.3f, 0.1f, -0.2f]), Of([0f, 0f, 0f, 0.7f, 0.4f, -0.5f]), Of([0f, 0f, 0f, 0.5f, 0.5f, 0.5f, 1.1f, 1.1f, 1.1f]) })
            clouds.Add(GraphSample.Of(degenerate, Cutoff, null));
        return clouds;
    }

    /// <summary>Every cloud turned by its own random rotation (<paramref name="rotations"/>) and moved by a random translation.</summary>
    private static List<GraphSample> Moved(List<GraphSample> samples, int seed) => Moved(samples, seed, out _);

    private static List<GraphSample> Moved(List<GraphSample> samples, int seed, out List<double[,]> rotations)
    {
        var generator = new Random(seed);
        var turns = rotations = samples.Select(_ => Rotations.Random(generator)).ToList();
        return samples.Select((s, b) =>
        {
            var positions = Rotations.Apply(turns[b], s.Cloud.Positions);
            var shift = new[] { generator.NextDouble() * 8 - 4, generator.NextDouble() * 8 - 4, generator.NextDouble() * 8 - 4 };
            for (int i = 0; i < positions.Length; i++) positions[i] += (float)shift[i % 3];
            return GraphSample.Of(s.Cloud with { Positions = positions }, Cutoff, null);
        }).ToList();
    }

    [Fact]
    public void The_frame_makes_energies_of_open_clouds_invariant_whatever_the_weights()
    {
        using var scope = NewDisposeScope();
        using var network = Network(1);
        var samples = Clouds(2);
        var before = PonitaTrainingLoop.Predict(network, samples, Types, samples.Count).Energies;
        var after = PonitaTrainingLoop.Predict(network, Moved(samples, 3), Types, samples.Count).Energies;
        for (int b = 0; b < 2; b++) Assert.True(Math.Abs(after[b] - before[b]) <= 1e-6 * Math.Abs(before[b]), $"cloud {b}: {before[b]} vs {after[b]}");
        // Without the frame the same weights are far from invariant: the check above has teeth.
        network.CanonicalFrame = false;
        var fixedGrid = PonitaTrainingLoop.Predict(network, Moved(samples, 3), Types, samples.Count).Energies;
        var original = PonitaTrainingLoop.Predict(network, samples, Types, samples.Count).Energies;
        double worst = Enumerable.Range(0, 2).Max(b => Math.Abs(fixedGrid[b] - original[b]) / Math.Abs(original[b]));
        Assert.True(worst > 1e-5, $"without the frame, the energies moved by at most {worst:E2} of themselves");
    }

    [Theory]
    [InlineData(8, false)]
    [InlineData(9, true)]
    public void The_energy_does_not_step_where_a_moving_clouds_frame_flips(int orientations, bool steps)
    {
        // A cloud moved along a fixed direction until one of its axes' third moments changes sign, where the frame turns
        // that axis (and another) round. An even grid is closed under such half-turns, so the energy runs straight
        // through, as an MD step must see it; the odd Fibonacci grid is not and steps there.
        using var scope = NewDisposeScope();
        random.manual_seed(11);
        using var network = new PonitaNetwork(Types, hidden: 16, layers: 2, orientations, cutoff: Cutoff) { CanonicalFrame = true };
        network.eval();
        network.to(ScalarType.Float64);
        var generator = new Random(12);
        var cloud = Enumerable.Range(0, 24).Select(_ => 1.6 * generator.NextDouble() - 0.8).ToArray();
        var direction = cloud.Select(_ => generator.NextDouble() * 2 - 1).ToArray();
        var sample = GraphSample.Of(new PointCloud(cloud.Select(x => (float)x).ToArray(), PointCloudData.OneHot([0, 1, 2, 0, 1, 2, 0, 1], Types), 0f, null), Cutoff, null);
        Assert.Equal(8 * 7, sample.Edges.Count);                                         // all pairs: the graph stays the same along the path
        // In double precision throughout: float32 would round the path's steps.
        Tensor At(IReadOnlyList<double> offsets) =>
            tensor(offsets.SelectMany(t => cloud.Zip(direction, (x, d) => x + t * d)).ToArray(), [offsets.Count * 8, 3]);
        bool Flipped(double a, double b)
        {
            var frames = InertiaFrame.Of(RandomGraphs.Graph([sample, sample], Types, ScalarType.Float64).WithPositions(At([a, b])));
            return frames[0].mul(frames[1]).sum([0]).min().item<double>() < -0.9;    // an axis turned round
        }
        double lower = Enumerable.Range(0, 400).Select(k => -1 + k * 0.005).First(t => Flipped(t, t + 0.005)), upper = lower + 0.005;
        for (int i = 0; i < 40; i++)
        {
            double middle = (lower + upper) / 2;
            if (Flipped(lower, middle)) upper = middle;
            else lower = middle;
        }
        const double step = 1e-7;
        var offsets = Enumerable.Range(0, 40).Select(k => lower + (k - 19.5) * step).ToList();
        var path = RandomGraphs.Graph(offsets.Select(_ => sample).ToList(), Types, ScalarType.Float64).WithPositions(At(offsets));
        var energies = network.Energy(path).data<double>().ToArray();
        var changes = energies.Zip(energies.Skip(1), (a, b) => Math.Abs(b - a)).ToArray();
        double typical = changes.Order().ElementAt(changes.Length / 2), largest = changes.Max();
        if (steps) Assert.True(largest > 20 * typical, $"the odd grid's energy should step at the flip: largest change {largest:E3}, typical {typical:E3}");
        else Assert.True(largest <= 1.5 * typical, $"the energy stepped by {largest:E3} where it moves by {typical:E3} per step");
    }

    [Fact]
    public void Planar_clouds_are_oriented_by_their_in_plane_shape()
    {
        // No third moment across the plane: the frame must not hang on the sign of rounding noise there.
        using var scope = NewDisposeScope();
        using var network = Network(9);
        var generator = new Random(10);
        var flat = Enumerable.Range(0, 7).SelectMany(_ => new[] { (float)(generator.NextDouble() * 3 - 1.5), (float)(generator.NextDouble() * 3 - 1.5), 0f }).ToArray();
        var planar = new List<GraphSample> { GraphSample.Of(new PointCloud(flat, PointCloudData.OneHot([0, 1, 2, 0, 1, 2, 0], Types), 0f, null), Cutoff, null) };
        float expected = PonitaTrainingLoop.Predict(network, planar, Types, 1).Energies[0];
        for (int seed = 0; seed < 6; seed++)
        {
            float moved = PonitaTrainingLoop.Predict(network, Moved(planar, seed), Types, 1).Energies[0];
            Assert.True(Math.Abs(moved - expected) <= 1e-6 * Math.Abs(expected), $"pose {seed}: {expected} vs {moved}");
        }
    }

    [Fact]
    public void Forces_through_the_frame_match_central_finite_differences_in_double_precision()
    {
        using var scope = NewDisposeScope();
        using var network = Network(4);
        network.to(ScalarType.Float64);
        var graph = RandomGraphs.Graph(Clouds(5), Types, ScalarType.Float64);
        var x = graph.Positions;
        var grad = x.clone().requires_grad_();
        network.Energy(graph.WithPositions(grad)).sum().backward();
        var analytic = grad.grad!.neg();
        Assert.False(analytic.isnan().any().item<bool>());
        const double step = 1e-6;
        foreach (var (b, i, d) in new[] { (0, 0, 0), (0, 4, 2), (1, 7, 1), (1, 14, 0), (3, 16, 2) })
        {
            var plus = x.clone();
            plus[i, d] = plus[i, d] + step;
            var minus = x.clone();
            minus[i, d] = minus[i, d] - step;
            double numeric = -(network.Energy(graph.WithPositions(plus))[b].item<double>() - network.Energy(graph.WithPositions(minus))[b].item<double>()) / (2 * step);
            Assert.Equal(numeric, analytic[i, d].item<double>(), 6);
        }
    }

    [Fact]
    public void The_exported_frame_matches_TorchSharp_and_keeps_the_forces_conservative_and_equivariant()
    {
        using var network = Network(6);
        var onnx = PonitaOnnxExporter.ExportForScoring(network, typesAreIndices: true, "forces");
        var samples = Clouds(7);
        var set = new PointCloudSet(samples.Select(s => s.Cloud).ToList(), Types, true, null);
        var inputs = PonitaExportCheck.Inputs(samples, set);
        var predicted = PonitaTrainingLoop.Predict(network, samples, Types, samples.Count);
        var energy = OnnxParity.Compare(_ => predicted.Energies.ToArray(), onnx, inputs, MLExtensions.Onnx.Scoring.OnnxOutputHeads.RawScore);
        Assert.True(energy.RelativeError <= 1e-5, energy.ToString());
        // TorchSharp's forces are autograd through its eigensolver: the graph's written-out reverse pass must agree.
        var forces = OnnxParity.Compare(_ => predicted.Forces.SelectMany(f => f).ToArray(), onnx, inputs, "forces");
        Assert.True(forces.RelativeError <= 1e-5, forces.ToString());
        Assert.True(forces.MaxReference > 1e-3, $"forces too small to test: {forces.MaxReference}");

        // Scored in ONNX Runtime: rotated and translated clouds (those with axes) keep their energies, and their forces turn with them.
        var moved = Moved(samples, 8, out var rotations).Take(2).ToList();
        var movedInputs = PonitaExportCheck.Inputs(moved, set with { Clouds = moved.Select(s => s.Cloud).ToList() });
        var invariant = OnnxParity.Compare(_ => predicted.Energies[..2], onnx, movedInputs, MLExtensions.Onnx.Scoring.OnnxOutputHeads.RawScore);
        Assert.True(invariant.RelativeError <= 1e-5, invariant.ToString());
        var equivariant = OnnxParity.Compare(_ => predicted.Forces.Take(2).SelectMany((f, b) => Rotations.Apply(rotations[b], f)).ToArray(), onnx, movedInputs, "forces");
        Assert.True(equivariant.RelativeError <= 1e-4, equivariant.ToString());
    }
}
