using System.Text.Json.Nodes;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Equivariant;
using Xunit;

namespace MLExtensions.Tests.Equivariant;

/// <summary>Periodic crystals with a smooth pair potential summed over images (by brute force), in eV.</summary>
internal static class PairCrystals
{
    public const double Range = 3.0;

    /// <summary>φ(r) = (R − r)² − 0.5 (R − r)³ for r &lt; R: smooth at the range.</summary>
    private static (double Energy, double Slope) Pair(double r) => r >= Range ? (0, 0)
        : ((Range - r) * (Range - r) - 0.5 * Math.Pow(Range - r, 3), -2 * (Range - r) + 1.5 * (Range - r) * (Range - r));

    /// <summary>Energy ½ Σ φ over every pair and image, the forces −∂E/∂x and the stress (1/V)·½ Σ φ′(r) d dᵀ / r (row-major).</summary>
    public static (double Energy, float[] Forces, float[] Stress) Evaluate(float[] x, float[] cell)
    {
        double energy = 0;
        var forces = new double[x.Length];
        var virial = new double[9];
        foreach (var (i, j, a, b, c) in PeriodicCells.BruteForce(x, cell, Range, 4))
        {
            var d = new double[3];
            for (int k = 0; k < 3; k++) d[k] = (double)x[3 * j + k] - x[3 * i + k] + a * (double)cell[k] + b * (double)cell[3 + k] + c * (double)cell[6 + k];
            double r = Math.Sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
            var (e, slope) = Pair(r);
            energy += 0.5 * e;
            for (int k = 0; k < 3; k++) forces[3 * i + k] += slope * d[k] / r;
            for (int k = 0; k < 9; k++) virial[k] += 0.5 * slope * d[k / 3] * d[k % 3] / r;
        }
        double volume = PeriodicRadiusGraph.Volume(cell);
        return (energy, forces.Select(f => (float)f).ToArray(), virial.Select(w => (float)(w / volume)).ToArray());
    }

    public static List<MoleculeRow> Rows(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ =>
        {
            var cell = PeriodicCells.Triclinic(random, 3.6);
            var x = PeriodicCells.Atoms(random, cell, 4, spacing: 1.2);
            var (energy, forces, stress) = Evaluate(x, cell);
            return new MoleculeRow { Positions = x, AtomTypes = [1, 1, 2, 2], Label = (float)energy, Forces = forces, Cell = cell, Stress = stress };
        }).ToList();
    }
}

public class PeriodicTrainingTests
{
    private static PonitaTrainer.Options Options(bool periodic) => new()
    {
        ForcesColumnName = "Forces", PredictedForcesColumnName = "PredictedForces", CellColumnName = periodic ? "Cell" : null,
        EnergyUnit = PonitaEnergyUnit.ElectronVolt, Cutoff = PairCrystals.Range, KernelScale = 1.5,
        NumberOfOrientations = 6, HiddenSize = 8, NumberOfLayers = 2, NumberOfEpochs = 2, BatchSize = 4, Seed = 3,
    };

    [Fact]
    public void A_model_trained_on_periodic_cells_scores_them_exactly_through_the_transformer_the_potential_and_a_saved_model()
    {
        var ml = new MLContext(1);
        var rows = PairCrystals.Rows(16, 1);
        var data = ml.Data.LoadFromEnumerable(rows);
        using var model = ml.Equivariant().Trainers.Ponita(Options(periodic: true)).Fit(data);
        Assert.Equal(PonitaEnergyUnit.ElectronVolt, model.Description.EnergyUnit);
        Assert.Equal("Cell", model.Description.CellColumnName);
        Assert.True(model.Potential.IsPeriodic);
        Assert.True(model.Description.CanonicalFrame); // crystals in their lattice frame
        Assert.True(model.ExportParity.RelativeError <= 1e-5, model.ExportParity.ToString());

        // Test rows: a few crystals, one atom moved by a lattice vector, and an open cluster (empty cell).
        var test = PairCrystals.Rows(3, 9);
        var moved = test.Select(r =>
        {
            var x = (float[])r.Positions.Clone();
            for (int c = 0; c < 3; c++) x[6 + c] += r.Cell[3 + c] - r.Cell[c]; // atom 2 by b − a
            return new MoleculeRow { Positions = x, AtomTypes = r.AtomTypes, Cell = r.Cell, Label = r.Label, Forces = r.Forces };
        }).ToList();
        var open = new MoleculeRow { Positions = test[0].Positions, AtomTypes = test[0].AtomTypes, Cell = [], Forces = test[0].Forces };
        var all = test.Concat(moved).Append(open).ToList();
        var scored = model.Transform(ml.Data.LoadFromEnumerable(all));
        var scores = scored.GetColumn<float>("Score").ToArray();
        var forces = scored.GetColumn<float[]>("PredictedForces").ToArray();
        for (int i = 0; i < all.Count; i++)
        {
            var types = all[i].AtomTypes.Select(t => (float)t).ToArray();
            var direct = model.Potential.Evaluate(all[i].Positions, types, all[i].Cell);
            Assert.Equal(direct.Energy, scores[i], 4);
            Assert.True(direct.Forces!.Zip(forces[i], (a, b) => Math.Abs(a - b)).Max() <= 1e-4);
        }
        for (int i = 0; i < test.Count; i++)
        {
            Assert.True(Math.Abs(scores[i] - scores[test.Count + i]) <= 1e-4 * Math.Max(1, Math.Abs(scores[i])), $"{scores[i]} vs {scores[test.Count + i]}");
            Assert.True(forces[i].Zip(forces[test.Count + i], (a, b) => Math.Abs(a - b)).Max() <= 1e-3);
        }
        // A crystal turned with its cell: the same energy, and forces turned with it, through the potential and the transformer.
        var rotation = Rotations.Random(new Random(5));
        var turned = test.Select(r => new MoleculeRow { Positions = Rotations.Apply(rotation, r.Positions), AtomTypes = r.AtomTypes, Cell = Rotations.Apply(rotation, r.Cell) }).ToList();
        var turnedScores = model.Transform(ml.Data.LoadFromEnumerable(turned)).GetColumn<float>("Score").ToArray();
        for (int i = 0; i < test.Count; i++)
        {
            Assert.True(Math.Abs(turnedScores[i] - scores[i]) <= 1e-5 * Math.Max(1, Math.Abs(scores[i])), $"row {i} turned: {turnedScores[i]} vs {scores[i]}");
            var turnedForces = model.Potential.Evaluate(turned[i].Positions, [1, 1, 2, 2], turned[i].Cell).Forces!;
            Assert.True(Rotations.Apply(rotation, forces[i]).Zip(turnedForces, (a, b) => Math.Abs(a - b)).Max() <= 1e-4);
        }
        // The open cluster is scored without images: a different energy from the same atoms in their cell.
        Assert.True(Math.Abs(scores[^1] - scores[0]) > 1e-3);
        Assert.Equal(model.Potential.Evaluate(open.Positions, [1, 1, 2, 2]).Energy, scores[^1], 4);

        // Saved and loaded: the per-row chain rebuilds the periodic graph and keeps the unit.
        string path = Path.Combine(Path.GetTempPath(), $"ponita-periodic-{Guid.NewGuid():N}.zip");
        try
        {
            ml.Model.Save(model, data.Schema, path);
            Assert.Equal(PonitaEnergyUnit.ElectronVolt, PonitaDescription.FromSavedModel(path)!.EnergyUnit);
            var loaded = new MLContext(2).Model.Load(path, out _);
            var again = loaded.Transform(ml.Data.LoadFromEnumerable(all)).GetColumn<float>("Score").ToArray();
            for (int i = 0; i < all.Count; i++) Assert.True(Math.Abs(again[i] - scores[i]) <= 1e-4 * Math.Max(1, Math.Abs(scores[i])), $"row {i}: {again[i]} vs {scores[i]}");
        }
        finally
        {
            File.Delete(path);
        }

        // A bad cell is refused naming the column and the row.
        var bad = new List<MoleculeRow> { test[0], new() { Positions = test[1].Positions, AtomTypes = test[1].AtomTypes, Cell = [3, 0, 0, 0, 3, 0] } };
        var error = Assert.Throws<InvalidDataException>(() => model.Transform(ml.Data.LoadFromEnumerable(bad)).GetColumn<float>("Score").ToArray());
        Assert.Contains("Column 'Cell', row 1", error.Message);

        // Molecular dynamics in the model's unit, through its periodic potential.
        double[] masses = [28.085, 28.085, 12.011, 12.011];
        var run = MolecularDynamics.VelocityVerlet(model.Potential, test[0].Positions, [1, 1, 2, 2], test[0].Cell, masses,
            MolecularDynamics.ThermalVelocities(masses, 300, new Random(4)), timeStep: 0.5, steps: 5);
        Assert.Equal(PonitaEnergyUnit.ElectronVolt, run.EnergyUnit);
        Assert.All(run.Total, e => Assert.True(double.IsFinite(e)));
    }

    [Fact]
    public void A_model_trained_without_a_cell_column_refuses_cells_and_takes_no_shifts()
    {
        var ml = new MLContext(1);
        var rows = PairCrystals.Rows(8, 2).Select(r => new MoleculeRow { Positions = r.Positions, AtomTypes = r.AtomTypes, Label = r.Label, Forces = r.Forces }).ToList();
        using var model = ml.Equivariant().Trainers.Ponita(Options(periodic: false)).Fit(ml.Data.LoadFromEnumerable(rows));
        Assert.False(model.Potential.IsPeriodic);
        Assert.Null(model.Description.CellColumnName);
        Assert.True(model.Description.CanonicalFrame);
        var types = new float[] { 1, 1, 2, 2 };
        var message = Assert.Throws<ArgumentException>(() => model.Potential.Evaluate(rows[0].Positions, types, [4, 0, 0, 0, 4, 0, 0, 0, 4])).Message;
        Assert.Contains("CellColumnName", message);
        // The vector head does not take cells yet, and says so.
        var vectors = Assert.Throws<ArgumentException>(() => ml.Equivariant().Trainers.PonitaVectors(new PonitaVectorTrainer.Options { CellColumnName = "Cell" }));
        Assert.Contains("CellColumnName", vectors.Message);
        // An empty or null cell is an open cluster, as before.
        Assert.Equal(model.Potential.Evaluate(rows[0].Positions, types).Energy, model.Potential.Evaluate(rows[0].Positions, types, null).Energy);
        Assert.Equal(model.Potential.Evaluate(rows[0].Positions, types).Energy, model.Potential.Evaluate(rows[0].Positions, types, []).Energy);
    }

    private sealed class DoubleLabelRow
    {
        [VectorType] public float[] Positions { get; set; } = [];
        [VectorType] public int[] AtomTypes { get; set; } = [];
        public double Label { get; set; }
    }

    [Fact]
    public void Double_labels_keep_large_totals_to_their_last_digits_until_the_baseline_is_removed()
    {
        var ml = new MLContext(1);
        var rows = new[] { -400000.0123, -400000.0056, -400001.5 }.Select((e, i) => new DoubleLabelRow
        {
            Positions = [0, 0, 0, 1.1f + 0.1f * i, 0, 0], AtomTypes = [1, 1], Label = e,
        }).ToList();
        var options = new PonitaTrainer.Options();
        var set = PointCloudData.Read(ml.Data.LoadFromEnumerable(rows), new PointCloudColumns(options, "Label", null, null), default);
        Assert.Equal(-400000.0123, set.Clouds[0].Energy);
        Assert.Equal(-400000.0056, set.Clouds[1].Energy);
        // In float32 the first two labels would be the same number; after the baseline the difference survives.
        Assert.Equal((float)-400000.0123, (float)-400000.0056);
        var baseline = EnergyBaseline.Fit(set.Clouds, set.FeatureCount);
        double difference = (baseline.Normalise(set.Clouds[0]).Energy - baseline.Normalise(set.Clouds[1]).Energy) * baseline.Scale;
        Assert.Equal(-0.0067, difference, 6);
    }
}

public class EnergyUnitTests
{
    [Fact]
    public void Unit_conversions_use_the_CODATA_values()
    {
        Assert.Equal(23.0605, PonitaEnergyUnits.Convert(1, PonitaEnergyUnit.ElectronVolt, PonitaEnergyUnit.KilocaloriePerMole), 4);
        Assert.Equal(627.5095, PonitaEnergyUnits.Convert(1, PonitaEnergyUnit.Hartree, PonitaEnergyUnit.KilocaloriePerMole), 4);
        Assert.Equal(4.184, PonitaEnergyUnits.Convert(1, PonitaEnergyUnit.KilocaloriePerMole, PonitaEnergyUnit.KilojoulePerMole), 12);
        Assert.Equal(8.617333e-5, PonitaEnergyUnit.ElectronVolt.Boltzmann(), 10);
        Assert.Equal(MolecularDynamics.Boltzmann, PonitaEnergyUnit.KilocaloriePerMole.Boltzmann(), 9);
        Assert.Equal(4.184e-4, PonitaEnergyUnit.KilocaloriePerMole.AccelerationPerForce());
        Assert.Equal(PonitaEnergyUnit.KilocaloriePerMole, new PonitaTrainer.Options().EnergyUnit);
    }

    /// <summary>A bonded triatomic: harmonic bonds in kcal/mol.</summary>
    private static (double Energy, float[] Forces) Springs(float[] x, double scale)
    {
        double energy = 0;
        var forces = new double[x.Length];
        foreach (var (i, j) in new[] { (0, 1), (1, 2) })
        {
            var d = Enumerable.Range(0, 3).Select(k => (double)x[3 * j + k] - x[3 * i + k]).ToArray();
            double r = Math.Sqrt(d.Sum(v => v * v)), stretch = r - 1.1;
            energy += 300 * stretch * stretch;
            for (int k = 0; k < 3; k++)
            {
                forces[3 * i + k] += 600 * stretch * d[k] / r;
                forces[3 * j + k] -= 600 * stretch * d[k] / r;
            }
        }
        return (energy * scale, forces.Select(f => (float)(f * scale)).ToArray());
    }

    [Fact]
    public void Dynamics_of_a_model_in_eV_follows_the_same_trajectory_as_the_same_physics_in_kcal_per_mol()
    {
        float[] x = [0, 0, 0, 1.25f, 0.1f, 0, 2.2f, 0.9f, 0.2f];
        double[] masses = [12.011, 15.999, 1.008];
        var v = MolecularDynamics.ThermalVelocities(masses, 300, new Random(5));
        double perEv = PonitaEnergyUnits.Convert(1, PonitaEnergyUnit.KilocaloriePerMole, PonitaEnergyUnit.ElectronVolt);
        var kcal = MolecularDynamics.VelocityVerlet(p => Springs(p, 1), x, masses, v, 0.2, 200, 10);
        var ev = MolecularDynamics.VelocityVerlet(p => Springs(p, perEv), x, masses, v, 0.2, 200, 10, PonitaEnergyUnit.ElectronVolt);
        Assert.True(kcal.FinalPositions.Zip(x, (a, b) => Math.Abs(a - b)).Max() > 0.01, "the atoms must move");
        Assert.True(kcal.FinalPositions.Zip(ev.FinalPositions, (a, b) => Math.Abs(a - b)).Max() <= 1e-5);
        Assert.True(kcal.FinalVelocities!.Zip(ev.FinalVelocities!, (a, b) => Math.Abs(a - b)).Max() <= 1e-7);
        for (int s = 0; s < kcal.Total.Length; s++)
        {
            // Forces pass through float32 in both units, so the runs agree to float rounding.
            Assert.True(Math.Abs(kcal.Potential[s] * perEv - ev.Potential[s]) <= 1e-6 * Math.Abs(ev.Potential[s]) + 1e-12);
            Assert.True(Math.Abs(kcal.Kinetic[s] * perEv - ev.Kinetic[s]) <= 1e-6 * Math.Abs(ev.Kinetic[s]) + 1e-12);
        }
        Assert.True(Math.Abs(kcal.Temperature - ev.Temperature) <= 1e-5 * kcal.Temperature);
        // The kcal/mol overload is today's: the same numbers as naming the unit.
        var named = MolecularDynamics.VelocityVerlet(p => Springs(p, 1), x, masses, v, 0.2, 200, 10, PonitaEnergyUnit.KilocaloriePerMole);
        Assert.Equal(kcal.FinalPositions, named.FinalPositions);
    }

    [Fact]
    public void The_unit_is_saved_in_the_description_and_descriptions_saved_before_units_read_as_kcal_per_mol()
    {
        var description = new PonitaDescription
        {
            TypesAreIndices = true, FeatureCount = 3, HiddenSize = 8, NumberOfLayers = 2, NumberOfOrientations = 6, Cutoff = 3, PositionOnly = false,
            ReferenceEnergies = [0f, 1f, 2f], EnergyScale = 1, EnergyUnit = PonitaEnergyUnit.Hartree, CellColumnName = "Cell",
        };
        var json = description.ToJson();
        Assert.Contains("\"Hartree\"", json);
        var back = PonitaDescription.FromJson(json);
        Assert.Equal(PonitaEnergyUnit.Hartree, back.EnergyUnit);
        Assert.Equal("Cell", back.CellColumnName);
        var old = JsonNode.Parse(json)!.AsObject();
        old.Remove("EnergyUnit");
        old.Remove("CellColumnName");
        var legacy = PonitaDescription.FromJson(old.ToJsonString());
        Assert.Equal(PonitaEnergyUnit.KilocaloriePerMole, legacy.EnergyUnit);
        Assert.Null(legacy.CellColumnName);
    }

    [Fact]
    public void Input_contracts_of_models_saved_before_cells_still_read()
    {
        var contract = new PonitaInputContract("Positions", "AtomTypes", true, 3, [false, true, true], 3.0, null, false, new PonitaMemoryCost(1, 2, 3)) { CellColumn = "Cell" };
        var parts = contract.Encode().Split(';');
        Assert.Equal(12, parts.Length);
        Assert.Equal("Cell", PonitaInputContract.Decode([contract.Encode()])!.CellColumn);
        var older = string.Join(';', ["ponita-input/4", .. parts[1..11]]);
        var decoded = PonitaInputContract.Decode([older])!;
        Assert.Null(decoded.CellColumn);
        Assert.Equal(3.0, decoded.Cutoff);
    }
}

public class ExtendedXyzPeriodicTests
{
    [Fact]
    public void Lattice_pbc_and_stress_round_trip_through_extended_xyz()
    {
        var rows = new List<MoleculeRow>
        {
            new() { Positions = [0, 0, 0, 1.3575f, 1.3575f, 1.3575f], AtomTypes = [14, 14], Label = -10.8375f, Forces = [0.1f, -0.2f, 0.3f, -0.1f, 0.2f, -0.3f],
                    Cell = [0, 2.715f, 2.715f, 2.715f, 0, 2.715f, 2.715f, 2.715f, 0], Stress = [0.01f, 0.002f, 0.003f, 0.002f, 0.02f, 0.004f, 0.003f, 0.004f, 0.03f] },
            new() { Positions = [0, 0, 5, 1.4f, 0.3f, 5.2f], AtomTypes = [6, 8], Label = -3.25f, Cell = [2.5f, 0, 0, -1.25f, 2.165f, 0, 0, 0, 0] }, // a slab
            new() { Positions = [0, 0, 0, 0.96f, 0, 0, -0.24f, 0.93f, 0], AtomTypes = [8, 1, 1], Label = -76543.21f }, // a molecule
        };
        var writer = new StringWriter();
        ExtendedXyz.Write(writer, rows);
        var text = writer.ToString();
        Assert.Contains("pbc=\"T T F\"", text);
        Assert.Contains("Lattice=\"0 2.715 2.715", text);
        var back = ExtendedXyz.Read(new StringReader(text)).ToList();
        Assert.Equal(3, back.Count);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(rows[i].Positions, back[i].Positions);
            Assert.Equal(rows[i].AtomTypes, back[i].AtomTypes);
            Assert.Equal(rows[i].Label, back[i].Label);
            Assert.Equal(rows[i].Forces, back[i].Forces);
            Assert.Equal(rows[i].Cell, back[i].Cell);
            Assert.Equal(rows[i].Stress, back[i].Stress);
        }

        // Other key names, Voigt stress, a Lattice without pbc (periodic) and pbc F F F (open).
        var keys = new ExtendedXyzKeys { Energy = "REF_energy", Forces = "REF_forces", Stress = "REF_stress" };
        var custom = "1\nLattice=\"3 0 0 0 3 0 0 0 3\" Properties=species:S:1:pos:R:3:REF_forces:R:3 REF_energy=-1.5 REF_stress=\"1 2 3 4 5 6\"\nSi 0 0 0 0.5 0 0\n" +
                     "1\nLattice=\"3 0 0 0 3 0 0 0 3\" pbc=\"F F F\" Properties=species:S:1:pos:R:3 REF_energy=-2\nSi 0 0 0\n";
        var read = ExtendedXyz.Read(new StringReader(custom), keys).ToList();
        Assert.Equal([3f, 0, 0, 0, 3, 0, 0, 0, 3], read[0].Cell);
        Assert.Equal([1f, 6, 5, 6, 2, 4, 5, 4, 3], read[0].Stress);
        Assert.Equal([0.5f, 0, 0], read[0].Forces);
        Assert.Empty(read[1].Cell);
        var roundTrip = new StringWriter();
        ExtendedXyz.Write(roundTrip, read, keys);
        Assert.Contains("REF_energy=-1.5", roundTrip.ToString());
        Assert.Equal(read[0].Stress, ExtendedXyz.Read(new StringReader(roundTrip.ToString()), keys).First().Stress);

        // Bad periodic fields name the line.
        var badLattice = "1\nLattice=\"3 0 0 0 3 0\" energy=1\nSi 0 0 0\n";
        Assert.Contains("line 2", Assert.Throws<InvalidDataException>(() => ExtendedXyz.Read(new StringReader(badLattice)).ToList()).Message);
        var pbcWithoutLattice = "1\npbc=\"T T T\" energy=1\nSi 0 0 0\n";
        Assert.Contains("Lattice", Assert.Throws<InvalidDataException>(() => ExtendedXyz.Read(new StringReader(pbcWithoutLattice)).ToList()).Message);
    }

    [Fact]
    public void Rotating_a_row_turns_its_cell_and_stress()
    {
        var row = new MoleculeRow { Positions = [0, 0, 0], AtomTypes = [14], Cell = [3, 0, 0, 0, 4, 0, 0, 0, 5], Stress = [1, 0, 0, 0, 2, 0, 0, 0, 3] };
        var quarter = new double[,] { { 0, -1, 0 }, { 1, 0, 0 }, { 0, 0, 1 } }; // 90° about z
        var turned = row.Rotated(quarter);
        Assert.Equal([0f, 3, 0, -4, 0, 0, 0, 0, 5], turned.Cell);
        Assert.Equal([2f, 0, 0, 0, 1, 0, 0, 0, 3], turned.Stress);
    }
}

public class EnergySumPrecisionTests
{
    [Fact]
    public void Large_totals_are_summed_in_double_in_TorchSharp_and_in_the_ONNX_graph()
    {
        TorchSharp.torch.random.manual_seed(31);
        using var network = new PonitaNetwork(2, hidden: 8, layers: 2, orientations: 6, cutoff: 2.5);
        network.eval();
        var samples = RandomGraphs.Samples(32, 2.5, 2, 60);
        using (TorchSharp.torch.no_grad()) network.Ends.Reference.weight!.zero_();
        float learned = network.Energy(RandomGraphs.Graph(samples, 2)).item<float>();
        // DFT-like reference energies: a total near −1.4×10⁶, where float32 steps are 0.125.
        float[] references = [-23900.7f, -23900.3f];
        network.FoldEnergyScale(1.0, references);
        var counts = Enumerable.Range(0, 2).Select(t => samples[0].Cloud.Features.Where((v, k) => k % 2 == t && v == 1).Count()).ToArray();
        double exact = counts[0] * (double)references[0] + counts[1] * (double)references[1] + learned;
        float total = network.Energy(RandomGraphs.Graph(samples, 2)).item<float>();
        Assert.True(Math.Abs(total - exact) <= 0.5 * (MathF.BitIncrement(MathF.Abs(total)) - MathF.Abs(total)) + 1e-3, $"{total} vs {exact}");
        var onnx = PonitaOnnxExporter.ExportForScoring(network, typesAreIndices: false, forcesName: null);
        var set = new PointCloudSet(samples.Select(s => s.Cloud).ToList(), 2, false, null);
        var parity = MLExtensions.Torch.OnnxParity.Compare(_ => [total], onnx, PonitaExportCheck.Inputs(samples, set), MLExtensions.Onnx.Scoring.OnnxOutputHeads.RawScore);
        Assert.Equal(0, parity.MaxAbsoluteError);
    }
}

/// <summary>The export check on a near-perfect crystal, whose forces are sums of pair terms that almost cancel.</summary>
public class NearEquilibriumExportTests
{
    [Fact]
    public void A_crystal_near_equilibrium_fits_although_its_small_forces_round_differently_in_onnx()
    {
        var random = new Random(5);
        var rows = Enumerable.Range(0, 6).Select(_ =>
        {
            var (x, cell) = SelfContainedRuns.Diamond(5.43f, 2);
            for (int i = 0; i < x.Length; i++) x[i] += (float)(0.01 * (random.NextDouble() - 0.5));
            var (energy, forces, stress) = PairCrystals.Evaluate(x, cell);
            return new MoleculeRow { Positions = x, AtomTypes = new int[x.Length / 3], Label = (float)energy, Forces = forces, Cell = cell, Stress = stress };
        }).ToList();
        var ml = new MLContext(1);
        using var model = ml.Equivariant().Trainers.Ponita(new PonitaTrainer.Options
        {
            ForcesColumnName = "Forces", PredictedForcesColumnName = "PredictedForces", CellColumnName = "Cell", EnergyUnit = PonitaEnergyUnit.ElectronVolt,
            NumberOfOrientations = 8, HiddenSize = 16, NumberOfLayers = 2, NumberOfEpochs = 2, BatchSize = 2, Seed = 1, ValidationFraction = 0,
        }).Fit(ml.Data.LoadFromEnumerable(rows));

        // The forces are judged against the labels' scale as well as their own: 1e-5 of either.
        double labels = Math.Sqrt(rows.SelectMany(r => r.Forces).Average(f => (double)f * f));
        var parity = model.ForcesExportParity!;
        Assert.True(parity.MaxAbsoluteError <= 1e-5 * Math.Max(parity.MaxReference, labels), parity.ToString());
    }
}

/// <summary>Forces of a condensed single-species crystal, where each is a small difference of many neighbours' pulls.</summary>
public class CondensedForceTrainingTests
{
    [Theory]
    [InlineData(16)]
    [InlineData(0)]
    public void Forces_of_a_thermal_crystal_train_only_with_radial_basis_functions(int radialBasis)
    {
        var rows = Rows(16, seed: 1);
        var test = Rows(4, seed: 2);
        var ml = new MLContext(1);
        using var model = ml.Equivariant().Trainers.Ponita(new PonitaTrainer.Options
        {
            ForcesColumnName = "Forces", PredictedForcesColumnName = "PredictedForces", CellColumnName = "Cell", EnergyUnit = PonitaEnergyUnit.ElectronVolt,
            NumberOfOrientations = 6, HiddenSize = 16, NumberOfLayers = 2, NumberOfEpochs = 12, BatchSize = 1, Seed = 1, ValidationFraction = 0, LearningRate = 5e-3,
            NumberOfRadialBasisFunctions = radialBasis,
        }).Fit(ml.Data.LoadFromEnumerable(rows));
        Assert.Equal(radialBasis, model.Description.NumberOfRadialBasisFunctions);

        double error = 0, size = 0;
        foreach (var row in test)
        {
            var forces = model.Potential.Evaluate(row.Positions, new float[row.AtomTypes.Length], row.Cell).Forces!;
            for (int i = 0; i < forces.Length; i++)
            {
                error += Math.Abs(forces[i] - row.Forces[i]);
                size += Math.Abs(row.Forces[i]);
            }
        }
        // Predicting no force at all scores 1; the default kernels (16 Gaussians of the distance) learn the pair forces,
        // the polynomial kernels alone hardly move from zero.
        if (radialBasis > 0) Assert.True(error / size < 0.65, $"relative force error {error / size:F3}");
        else Assert.True(error / size > 0.8, $"relative force error {error / size:F3}: the polynomial kernels learned the forces; is the test still needed?");
    }

    /// <summary>64-atom diamond cells (a = 5.43 Å) with atoms displaced by up to ±0.15 Å, labelled by the smooth pair potential.</summary>
    private static List<MoleculeRow> Rows(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ =>
        {
            var (x, cell) = SelfContainedRuns.Diamond(5.43f, 2);
            for (int i = 0; i < x.Length; i++) x[i] += (float)(0.3 * (random.NextDouble() - 0.5));
            var (energy, forces, _) = PairCrystals.Evaluate(x, cell);
            return new MoleculeRow { Positions = x, AtomTypes = new int[x.Length / 3], Label = (float)energy, Forces = forces, Cell = cell };
        }).ToList();
    }
}
