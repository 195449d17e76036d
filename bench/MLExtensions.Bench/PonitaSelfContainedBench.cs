using Microsoft.ML.OnnxRuntime;
using MLExtensions.Equivariant;
using MLExtensions.Onnx;
using MLExtensions.Onnx.Scoring;
using static TorchSharp.torch;

namespace MLExtensions.Bench;

/// <summary>
/// One evaluation (energy and forces, stress for the cell) through the self-contained ONNX graph, which finds the
/// neighbours itself from all N² × M pairs, against the ordinary chain (<see cref="PonitaPotential"/>: row checks,
/// the cell-list radius graph in .NET, then ONNX Runtime on the graph that takes the edges).
/// </summary>
public static class PonitaSelfContainedBench
{
    public static void Run(int clusterAtoms)
    {
        const int hidden = 16, layers = 2, orientations = 8;
        Console.WriteLine($"PONITA energy + forces, self-contained graph vs the ordinary chain ({orientations} orientations, hidden {hidden}, {layers} layers, random weights), 2-core CPU:");
        Console.WriteLine("| system | atoms | images M | pairs N²·M | edges | ordinary chain | peak memory | self-contained | peak memory | |Δ energy| / |E| |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|");
        // A silicon-like diamond crystal: 3 × 3 × 3 cubes of 5.43 Å, 216 atoms, jittered by up to 0.05 Å, cutoff 4 Å (16 neighbours).
        var (silicon, cell) = Diamond(5.43f, 3, new Random(1));
        Compare("Si-like cell (periodic)", silicon, Enumerable.Repeat(0f, silicon.Length / 3).ToArray(), cell, cutoff: 4.0, hidden, layers, orientations);
        var (cloud, types) = PonitaBench.Lattice(clusterAtoms, 2.15, new Random(clusterAtoms));
        Compare("cloud (open)", cloud, types, null, cutoff: 3.0, hidden, layers, orientations);
    }

    private static void Compare(string name, float[] x, float[] types, float[]? cell, double cutoff, int hidden, int layers, int orientations)
    {
        random.manual_seed(1);
        using var network = new PonitaNetwork(2, hidden, layers, orientations, cutoff);
        network.eval();
        bool periodic = cell is not null;
        int n = x.Length / 3;
        var description = new PonitaDescription
        {
            TypesAreIndices = true, FeatureCount = 2, KnownTypes = [0, 1], HiddenSize = hidden, NumberOfLayers = layers, NumberOfOrientations = orientations,
            Cutoff = cutoff, KernelScale = cutoff, PositionOnly = false, ReferenceEnergies = [0f, 0f], EnergyScale = 1, PredictedForcesColumnName = "forces",
            PredictedStressColumnName = periodic ? "stress" : null, CellColumnName = periodic ? "Cell" : null,
        };
        var ordinary = PonitaOnnxExporter.ExportForScoring(network, typesAreIndices: true, "forces", new Dictionary<string, string> { [PonitaDescription.MetadataKey] = description.ToJson() },
            periodic, periodic ? "stress" : null);
        using var potential = PonitaPotential.FromOnnx(ordinary);
        var limits = new PonitaSelfContainedOptions { MaximumAtoms = n, MaximumImages = 27 };
        var selfContained = PonitaOnnxExporter.ExportSelfContained(network, typesAreIndices: true, periodic, null, false, limits, forces: true, stress: periodic, atomEnergies: false);
        using var session = new InferenceSession(selfContained);
        var values = new List<OrtValue> { OrtValue.CreateTensorValueFromMemory(x, [n, 3]), OrtValue.CreateTensorValueFromMemory(types, [n]) };
        var names = new List<string> { PonitaSelfContainedOptions.Positions, PonitaSelfContainedOptions.Types };
        if (cell is not null)
        {
            values.Add(OrtValue.CreateTensorValueFromMemory(cell, [3, 3]));
            names.Add(PonitaSelfContainedOptions.Cell);
        }
        string[] outputs = periodic ? [PonitaSelfContainedOptions.Energy, PonitaSelfContainedOptions.Forces, PonitaSelfContainedOptions.Stress] : [PonitaSelfContainedOptions.Energy, PonitaSelfContainedOptions.Forces];
        float energy = 0;
        var (ordinarySeconds, ordinaryBytes) = PonitaBench.Peak(() => energy = potential.Evaluate(x, types, cell).Energy);
        float inGraph = 0;
        var (selfSeconds, selfBytes) = PonitaBench.Peak(() =>
        {
            using var options = new RunOptions();
            using var results = session.Run(options, names, values, outputs);
            inGraph = results[0].GetTensorDataAsSpan<float>()[0];
        });
        foreach (var v in values) v.Dispose();
        int images = periodic ? 27 : 1;
        int edges = (cell is null ? RadiusGraph.Build(x, cutoff).Senders : RadiusGraph.BuildPeriodic(x, cell, cutoff).Senders).Length;
        Console.WriteLine($"| {name} | {n:N0} | {images} | {(double)n * n * images:G3} | {edges:N0} | {ordinarySeconds * 1e3:F0} ms | {ordinaryBytes / 1048576.0:F0} MB | " +
                          $"{selfSeconds * 1e3:F0} ms | {selfBytes / 1048576.0:F0} MB | {Math.Abs(inGraph - energy) / Math.Abs(energy):E1} |");
    }

    /// <summary>A diamond lattice of <paramref name="repeat"/>³ cubic cells of edge <paramref name="a"/>, atoms jittered by up to 0.05 Å.</summary>
    private static (float[] Positions, float[] Cell) Diamond(float a, int repeat, Random random)
    {
        double[][] basis = [[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0], [0.25, 0.25, 0.25], [0.25, 0.75, 0.75], [0.75, 0.25, 0.75], [0.75, 0.75, 0.25]];
        var x = new List<float>();
        for (int i = 0; i < repeat; i++)
            for (int j = 0; j < repeat; j++)
                for (int k = 0; k < repeat; k++)
                    foreach (var b in basis)
                        x.AddRange([(float)((i + b[0]) * a + 0.1 * (random.NextDouble() - 0.5)), (float)((j + b[1]) * a + 0.1 * (random.NextDouble() - 0.5)),
                            (float)((k + b[2]) * a + 0.1 * (random.NextDouble() - 0.5))]);
        float edge = a * repeat;
        return ([.. x], [edge, 0, 0, 0, edge, 0, 0, 0, edge]);
    }
}
