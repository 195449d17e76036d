using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Equivariant;
using MLExtensions.Torch;
using Xunit;
using TorchSharp;
using static TorchSharp.torch;

namespace MLExtensions.Tests.Equivariant;

/// <summary>The stress (1/V)·∂E/∂ε of the PONITA network in TorchSharp and in its ONNX graph.</summary>
public class StressNetworkTests
{
    private const int Types = 2;
    private const double Cutoff = 3.0;

    private static PonitaNetwork Network(int seed, ScalarType dtype = ScalarType.Float32) => PeriodicNetworkTests.Network(seed, dtype);

    /// <summary>A random triclinic crystal of <paramref name="atoms"/> points, alternating types, its periodic graph with self-loops.</summary>
    internal static GraphSample Crystal(int seed, double size, int atoms)
    {
        var generator = new Random(seed);
        var cell = PeriodicCells.Triclinic(generator, size);
        var x = PeriodicCells.Atoms(generator, cell, atoms);
        return PeriodicCells.Sample(x, Enumerable.Range(0, atoms).Select(i => (float)(i % Types)).ToArray(), Types, cell, Cutoff, selfLoops: true);
    }

    /// <summary>E((I + ε)(x − c) + c) with ε = h·sym(e_a e_bᵀ), on the unstrained geometry's edges (float64; the shifts strain with the cell).</summary>
    private static double Strained(PonitaNetwork network, GraphSample sample, int a, int b, double h, double[] origin)
    {
        var graph = PeriodicCells.Graph([sample], Types, ScalarType.Float64);
        var strain = new double[9];
        strain[3 * a + b] += h / 2;
        strain[3 * b + a] += h / 2;
        using var e = tensor(strain, [3, 3]);
        using var c = tensor(origin, [1, 3]);
        var x = graph.Positions.sub(c).matmul(e.t()).add(graph.Positions);
        var shifts = graph.Shifts!.matmul(e.t()).add(graph.Shifts!);
        return network.Energy(graph with { Positions = x, Shifts = shifts }).item<double>();
    }

    [Fact]
    public void The_virial_matches_central_differences_of_a_homogeneous_strain_about_any_origin()
    {
        using var scope = NewDisposeScope();
        using var network = Network(41, ScalarType.Float64);
        var sample = Crystal(42, 3.3, 5);
        var (_, _, virial) = PonitaTrainingLoop.EnergyForcesAndVirial(network, PeriodicCells.Graph([sample], Types, ScalarType.Float64), training: false);
        const double h = 1e-5;
        double largest = virial.abs().max().item<double>();
        Assert.True(largest > 1e-2, $"virial too small to test: {largest}");
        double worst = 0;
        // About the origin and about a far point: an energy that read absolute positions would differ between the two.
        foreach (var origin in new[] { new double[3], [7.5, -4.0, 11.0] })
            for (int a = 0; a < 3; a++)
                for (int b = a; b < 3; b++)
                {
                    double numeric = (Strained(network, sample, a, b, h, origin) - Strained(network, sample, a, b, -h, origin)) / (2 * h);
                    worst = Math.Max(worst, Math.Abs(numeric - virial[0, a, b].item<double>()) / largest);
                    Assert.True(Math.Abs(numeric - virial[0, a, b].item<double>()) <= 1e-6 * largest, $"({a},{b}) origin {origin[0]}: {numeric} vs {virial[0, a, b].item<double>()}");
                }
        Assert.Equal(virial[0, 0, 1].item<double>(), virial[0, 1, 0].item<double>());
        Console.WriteLine($"float64 strain derivative: worst deviation {worst:E2} of the largest virial component ({largest:G3})");
    }

    [Fact]
    public void The_exported_stress_matches_TorchSharp()
    {
        using var network = Network(43);
        var onnx = PonitaOnnxExporter.ExportForScoring(network, typesAreIndices: true, "forces", periodic: true, stressName: "stress");
        var samples = new[] { Crystal(44, 3.2, 4), Crystal(45, 6.5, 16), Crystal(46, 4.0, 6) };
        var set = new PointCloudSet(samples.Select(s => s.Cloud).ToList(), Types, true, null);
        var inputs = PonitaExportCheck.Inputs(samples, set, periodic: true, volumes: true);
        var stress = OnnxParity.Compare(_ => PonitaTrainingLoop.Predict(network, samples, Types, 3, withStress: true).Stresses!.SelectMany(s => s).ToArray(),
            onnx, inputs, "stress");
        Assert.Equal(27, stress.Elements);
        Assert.True(stress.MaxReference > 1e-4, $"stress too small to test: {stress.MaxReference}");
        Assert.True(stress.RelativeError <= 1e-5, stress.ToString());
        Console.WriteLine($"stress parity: {stress}");
        // Not vacuous: with the volumes swapped between clouds the stresses differ.
        var swapped = inputs.Select(i => i.Name == PonitaColumns.Volumes ? new ParityInput(i.Name, [.. i.Values.Reverse()], i.Shape) : i).ToList();
        var wrong = OnnxParity.Compare(_ => PonitaTrainingLoop.Predict(network, samples, Types, 3, withStress: true).Stresses!.SelectMany(s => s).ToArray(),
            onnx, swapped, "stress");
        Assert.True(wrong.RelativeError > 1e-2);
    }

    [Fact]
    public void A_stress_output_needs_a_periodic_graph()
    {
        using var network = Network(47);
        Assert.Throws<ArgumentException>(() => PonitaOnnxExporter.ExportForScoring(network, true, "forces", stressName: "stress"));
    }
}

/// <summary>A small periodic model trained with a stress column, shared by the tests of its public surface.</summary>
public sealed class StressModelFixture : IDisposable
{
    public MLContext Ml { get; } = new(1);

    public PonitaModel Model { get; }

    public List<MoleculeRow> Training { get; } = PairCrystals.Rows(24, 1);

    public StressModelFixture() => Model = Ml.Equivariant().Trainers.Ponita(StressTrainingTests.Options(stress: true, epochs: 2)).Fit(Ml.Data.LoadFromEnumerable(Training));

    public void Dispose() => Model.Dispose();
}

public class StressTrainingTests : IClassFixture<StressModelFixture>
{
    private static readonly float[] Types = [1, 1, 2, 2];
    private readonly StressModelFixture _fixture;

    public StressTrainingTests(StressModelFixture fixture) => _fixture = fixture;

    internal static PonitaTrainer.Options Options(bool stress, int epochs) => new()
    {
        ForcesColumnName = "Forces", PredictedForcesColumnName = "PredictedForces", CellColumnName = "Cell", PredictedStressColumnName = "PredictedStress",
        StressColumnName = stress ? "Stress" : null, EnergyUnit = PonitaEnergyUnit.ElectronVolt, Cutoff = PairCrystals.Range, KernelScale = 1.5,
        NumberOfOrientations = 6, HiddenSize = 8, NumberOfLayers = 2, NumberOfEpochs = epochs, BatchSize = 4, Seed = 3,
    };

    /// <summary>Positions and cell under the strain ε = h·sym(e_a e_bᵀ): x → (I + ε)·x, lattice vectors likewise.</summary>
    private static (float[] X, float[] Cell) Strain(float[] x, float[] cell, int a, int b, double h)
    {
        var e = new double[9];
        e[3 * a + b] += h / 2;
        e[3 * b + a] += h / 2;
        float[] Apply(float[] v) => v.Select((value, k) => (float)(value + e[3 * (k % 3)] * v[k - k % 3] + e[3 * (k % 3) + 1] * v[k - k % 3 + 1] + e[3 * (k % 3) + 2] * v[k - k % 3 + 2])).ToArray();
        return (Apply(x), Apply(cell));
    }

    [Fact]
    public void The_potentials_stress_matches_central_differences_of_its_energy_and_survives_a_supercell()
    {
        var potential = _fixture.Model.Potential;
        Assert.True(potential.PredictsStress);
        Assert.True(_fixture.Model.StressExportParity!.RelativeError <= 1e-5, _fixture.Model.StressExportParity.ToString());
        var crystal = PairCrystals.Rows(1, 11)[0];
        var stress = potential.Evaluate(crystal.Positions, Types, crystal.Cell).Stress!;
        double volume = PeriodicRadiusGraph.Volume(crystal.Cell), largest = stress.Max(Math.Abs) * volume;
        Assert.True(largest > 1e-2, $"virial too small to test: {largest}");
        // Float32 end to end, the graph rebuilt from the strained cell: energies of a few eV carry rounding of a few
        // 1e-7 eV, which a step of 1e-3 turns into a few 1e-4 eV of virial: allow 0.5 % of the largest component (measured: 0.05 %).
        const double h = 1e-3;
        double worst = 0;
        for (int a = 0; a < 3; a++)
            for (int b = a; b < 3; b++)
            {
                var (xp, cp) = Strain(crystal.Positions, crystal.Cell, a, b, h);
                var (xm, cm) = Strain(crystal.Positions, crystal.Cell, a, b, -h);
                double numeric = (potential.Evaluate(xp, Types, cp).Energy - (double)potential.Evaluate(xm, Types, cm).Energy) / (2 * h) / volume;
                worst = Math.Max(worst, Math.Abs(numeric - stress[3 * a + b]) * volume / largest);
                Assert.True(Math.Abs(numeric - stress[3 * a + b]) * volume <= 5e-3 * largest, $"({a},{b}): {numeric} vs {stress[3 * a + b]}");
            }

        Console.WriteLine($"float32 potential: worst finite-difference deviation {worst:E2} of the largest virial component ({largest:G3} eV)");
        // Read in the lattice frame, the crystal turned with its cell has the turned stress.
        var rotation = Rotations.Random(new Random(12));
        var turned = potential.Evaluate(Rotations.Apply(rotation, crystal.Positions), Types, Rotations.Apply(rotation, crystal.Cell)).Stress!;
        var expected = Rotations.ApplyToTensor(rotation, stress);
        Assert.True(Enumerable.Range(0, 9).Max(k => Math.Abs(turned[k] - expected[k])) <= 1e-4 * stress.Max(Math.Abs), $"{string.Join(", ", turned)} vs {string.Join(", ", expected)}");
        // A 2×1×1 supercell has the same stress (twice the virial in twice the volume).
        var superCell = (float[])crystal.Cell.Clone();
        for (int c = 0; c < 3; c++) superCell[c] *= 2;
        var superX = crystal.Positions.Concat(crystal.Positions.Select((v, k) => v + crystal.Cell[k % 3])).ToArray();
        var superStress = potential.Evaluate(superX, [.. Types, .. Types], superCell).Stress!;
        double supercell = Enumerable.Range(0, 9).Max(k => Math.Abs(superStress[k] - stress[k])) / stress.Max(Math.Abs);
        Console.WriteLine($"2×1×1 supercell: stress differs by {supercell:E2} of the largest component");
        Assert.True(supercell <= 1e-4, $"{string.Join(", ", superStress)} vs {string.Join(", ", stress)}");

        // No volume, no stress: an open cluster and a slab.
        Assert.Null(potential.Evaluate(crystal.Positions, Types, null).Stress);
        var slab = (float[])crystal.Cell.Clone();
        Array.Clear(slab, 6, 3);
        Assert.Null(potential.Evaluate(crystal.Positions, Types, slab).Stress);
    }

    [Fact]
    public void The_stress_column_matches_the_potential_in_blocks_row_by_row_and_after_loading()
    {
        var (ml, model) = (_fixture.Ml, _fixture.Model);
        var rows = PairCrystals.Rows(3, 12);
        rows.Add(new MoleculeRow { Positions = rows[0].Positions, AtomTypes = rows[0].AtomTypes, Cell = [] });
        var data = ml.Data.LoadFromEnumerable(rows);
        var blocks = model.Transform(data).GetColumn<float[]>("PredictedStress").ToArray();
        var engine = ml.Model.CreatePredictionEngine<MoleculeRow, StressPrediction>(model);   // not disposed: that would dispose the shared model
        string path = Path.Combine(Path.GetTempPath(), $"ponita-stress-{Guid.NewGuid():N}.zip");
        try
        {
            ml.Model.Save(model, data.Schema, path);
            var loaded = new MLContext(2).Model.Load(path, out _).Transform(data).GetColumn<float[]>("PredictedStress").ToArray();
            for (int i = 0; i < rows.Count; i++)
            {
                var direct = model.Potential.Evaluate(rows[i].Positions, Types, rows[i].Cell).Stress;
                foreach (var scored in new[] { blocks[i], engine.Predict(rows[i]).PredictedStress, loaded[i] })
                {
                    Assert.Equal(9, scored.Length);
                    if (direct is null) Assert.All(scored, v => Assert.True(float.IsNaN(v)));
                    else for (int k = 0; k < 9; k++) Assert.Equal(direct[k], scored[k], 1e-5 * direct.Max(Math.Abs));
                }
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    private sealed class StressPrediction
    {
        public float[] PredictedStress { get; set; } = [];
    }

    [Theory]
    [InlineData("five values")]
    [InlineData("NaN")]
    [InlineData("open cluster")]
    [InlineData("slab")]
    public void Bad_stress_labels_are_refused_naming_the_column_and_the_row(string problem)
    {
        var ml = new MLContext(1);
        var rows = PairCrystals.Rows(4, 5);
        switch (problem)
        {
            case "five values": rows[2].Stress = [1, 2, 3, 4, 5]; break;
            case "NaN": rows[2].Stress[4] = float.NaN; break;
            case "open cluster": rows[2].Cell = []; break;
            default: Array.Clear(rows[2].Cell, 6, 3); break;
        }
        var trainer = ml.Equivariant().Trainers.Ponita(Options(stress: true, epochs: 1));
        var error = Assert.Throws<InvalidDataException>(() => trainer.Fit(ml.Data.LoadFromEnumerable(rows)));
        Assert.Contains("Column 'Stress', row 2", error.Message);
    }

    [Fact]
    public void A_stress_without_a_cell_column_is_refused_and_Voigt_labels_and_empty_labels_are_read()
    {
        var ml = new MLContext(1);
        foreach (var stress in new[] { true, false })
        {
            var options = Options(stress, epochs: 1);
            options.CellColumnName = null;
            var error = Assert.Throws<ArgumentException>(() => ml.Equivariant().Trainers.Ponita(options));
            Assert.Contains(stress ? "StressColumnName ('Stress')" : "PredictedStressColumnName ('PredictedStress')", error.Message);
            Assert.Contains("CellColumnName", error.Message);
        }
        var rows = PairCrystals.Rows(3, 6);
        var full = rows[0].Stress;
        rows[0].Stress = [full[0], full[4], full[8], full[5], full[2], full[1]];   // Voigt: xx yy zz yz xz xy
        rows[1].Stress = [];
        var set = PointCloudData.Read(ml.Data.LoadFromEnumerable(rows), new PointCloudColumns(Options(true, 1), "Label", "Forces", null) { Stress = "Stress" }, default);
        Assert.Equal(full, set.Clouds[0].Stress);
        Assert.Null(set.Clouds[1].Stress);
        Assert.Equal(rows[2].Stress, set.Clouds[2].Stress);
    }
}

public class StressLearningTests
{
    [Fact]
    public void Training_with_a_stress_column_lowers_the_held_out_stress_error()
    {
        var ml = new MLContext(1);
        var training = ml.Data.LoadFromEnumerable(PairCrystals.Rows(24, 1));
        var test = PairCrystals.Rows(8, 21);
        double Error(bool stress)
        {
            var options = StressTrainingTests.Options(stress, epochs: 6);
            options.LearningRate = 0.01;   // a few epochs must do: the same for both fits
            using var model = ml.Equivariant().Trainers.Ponita(options).Fit(training);
            return test.Average(r => model.Potential.Evaluate(r.Positions, [1, 1, 2, 2], r.Cell).Stress!.Zip(r.Stress, (p, t) => Math.Abs(p - t)).Average());
        }
        double without = Error(false), with = Error(true);
        double spread = test.Average(r => r.Stress.Average(v => Math.Abs(v - test.Average(q => q.Stress.Average()))));
        Console.WriteLine($"held-out stress MAE: with the stress column {with:G4}, without {without:G4} eV/Å³ (labels' spread {spread:G4})");
        Assert.True(with < 0.7 * without, $"stress MAE with the stress column {with:G4}, without {without:G4} eV/Å³ (labels' spread {spread:G4})");
    }
}
