using MLExtensions.Equivariant;
using MLExtensions.Torch;
using Xunit;
using TorchSharp;
using static TorchSharp.torch;

namespace MLExtensions.Tests.Equivariant;

/// <summary>Crystals read in the frame of their lattice: exact invariance, and a stress that stays ∂E/∂ε although a strain turns the frame.</summary>
public class LatticeFrameTests
{
    private const int Types = 2;

    private static PonitaNetwork Network(int seed, bool frame)
    {
        var network = PeriodicNetworkTests.Network(seed, ScalarType.Float64);
        network.CanonicalFrame = frame;
        network.Periodic = true;
        return network;
    }

    private static GraphSample Crystal(int seed, double size, int atoms) => StressNetworkTests.Crystal(seed, size, atoms);

    /// <summary>The sample's points, shifts and cell turned by <paramref name="rotation"/>.</summary>
    private static GraphSample Rotated(GraphSample sample, double[,] rotation) => sample with
    {
        Cloud = sample.Cloud with { Positions = Rotations.Apply(rotation, sample.Cloud.Positions), Cell = Rotations.Apply(rotation, sample.Cloud.Cell!) },
        Edges = sample.Edges.Rotated(rotation),
    };

    [Fact]
    public void Rotating_a_crystal_and_its_cell_leaves_the_energy_unchanged_only_in_the_lattice_frame()
    {
        using var scope = NewDisposeScope();
        var sample = Crystal(51, 3.4, 5);
        var turned = Rotated(sample, Rotations.Random(new Random(52)));
        double Change(bool frame)
        {
            using var network = Network(53, frame);
            double before = network.Energy(PeriodicCells.Graph([sample], Types, ScalarType.Float64)).item<double>();
            double after = network.Energy(PeriodicCells.Graph([turned], Types, ScalarType.Float64)).item<double>();
            return Math.Abs(after - before) / Math.Abs(before);
        }
        double fixedGrid = Change(frame: false), lattice = Change(frame: true);
        Console.WriteLine($"relative energy change under a rotation: fixed grid {fixedGrid:E2}, lattice frame {lattice:E2}");
        Assert.True(fixedGrid > 1e-4, $"the fixed grid happened to be invariant ({fixedGrid}): the test cannot tell the frames apart");
        // Float32 inputs: the turned positions are rounded to 1e-7 of their size, and nothing else changes.
        Assert.True(lattice <= 1e-6, $"{lattice}");
    }

    [Fact]
    public void In_the_lattice_frame_the_virial_matches_central_differences_of_a_strain_that_also_turns_the_frame()
    {
        using var scope = NewDisposeScope();
        using var network = Network(54, frame: true);
        var sample = Crystal(55, 3.3, 5);
        var graph = PeriodicCells.Graph([sample], Types, ScalarType.Float64);
        Assert.NotNull(graph.Cells);
        var (_, _, virial) = PonitaTrainingLoop.EnergyForcesAndVirial(network, graph, training: false);
        double largest = virial.abs().max().item<double>();
        Assert.True(largest > 1e-2, $"virial too small to test: {largest}");
        const double h = 1e-5;
        double Strained(int a, int b, double step, bool turnFrame = true)
        {
            var strain = new double[9];
            strain[3 * a + b] += step / 2;
            strain[3 * b + a] += step / 2;
            using var e = tensor(strain, [3, 3]);
            var g = PeriodicCells.Graph([sample], Types, ScalarType.Float64);
            // Points, shifts and the lattice vectors themselves strain, so the frame turns with the strain.
            return network.Energy(g with
            {
                Positions = g.Positions.matmul(e.t()).add(g.Positions),
                Shifts = g.Shifts!.matmul(e.t()).add(g.Shifts!),
                Cells = turnFrame ? g.Cells!.matmul(e.t()).add(g.Cells!) : g.Cells,
            }).item<double>();
        }
        double worst = 0, turn = 0;
        for (int a = 0; a < 3; a++)
            for (int b = a; b < 3; b++)
            {
                double numeric = (Strained(a, b, h) - Strained(a, b, -h)) / (2 * h);
                double frameHeld = (Strained(a, b, h, turnFrame: false) - Strained(a, b, -h, turnFrame: false)) / (2 * h);
                turn = Math.Max(turn, Math.Abs(numeric - frameHeld) / largest);
                worst = Math.Max(worst, Math.Abs(numeric - virial[0, a, b].item<double>()) / largest);
                Assert.True(Math.Abs(numeric - virial[0, a, b].item<double>()) <= 1e-6 * largest, $"({a},{b}): {numeric} vs {virial[0, a, b].item<double>()}");
            }
        Assert.Equal(virial[0, 0, 1].item<double>(), virial[0, 1, 0].item<double>(), 12);
        // Not vacuous: the frame's turn matters, so the symmetric part of the frame-held strain gradient would be wrong.
        Assert.True(turn > 1e-4, $"the frame's turn changes the strain derivative by only {turn:E2}");
        Console.WriteLine($"lattice-frame virial: worst deviation from central differences {worst:E2} of the largest component ({largest:G3}); the frame's turn accounts for {turn:E2}");
    }

    [Fact]
    public void The_exported_graph_reads_the_cells_and_agrees_with_TorchSharp_on_energy_forces_and_stress()
    {
        using var network = PeriodicNetworkTests.Network(56);
        network.CanonicalFrame = true;
        network.Periodic = true;
        var onnx = PonitaOnnxExporter.ExportForScoring(network, typesAreIndices: true, "forces", periodic: true, stressName: "stress");
        var samples = new[] { Crystal(57, 3.2, 4), Crystal(58, 6.5, 16), Crystal(59, 4.0, 6) };
        var set = new PointCloudSet(samples.Select(s => s.Cloud).ToList(), Types, true, null);
        var inputs = PonitaExportCheck.Inputs(samples, set, periodic: true, volumes: true, cells: true);
        var predicted = PonitaTrainingLoop.Predict(network, samples, Types, 3, withStress: true);
        var forces = OnnxParity.Compare(_ => predicted.Forces.SelectMany(f => f).ToArray(), onnx, inputs, "forces");
        var stress = OnnxParity.Compare(_ => predicted.Stresses!.SelectMany(s => s).ToArray(), onnx, inputs, "stress");
        Assert.True(forces.RelativeError <= 1e-5, forces.ToString());
        Assert.True(stress.RelativeError <= 1e-5, stress.ToString());
        // Not vacuous: the cells reach the graph (swapped between clouds, the frames and so the results change).
        var swapped = inputs.Select(i => i.Name == PonitaColumns.Cells ? new ParityInput(i.Name, [.. i.Values[18..], .. i.Values[9..18], .. i.Values[..9]], i.Shape) : i).ToList();
        var wrong = OnnxParity.Compare(_ => predicted.Forces.SelectMany(f => f).ToArray(), onnx, swapped, "forces");
        Assert.True(wrong.RelativeError > 1e-3, wrong.ToString());
    }
}
