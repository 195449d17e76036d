using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Equivariant;
using MLExtensions.Onnx;
using MLExtensions.Studies;
using Xunit;

namespace MLExtensions.Tests.Equivariant;

/// <summary>Per-atom energies (<see cref="PonitaTrainer.Options.PredictedAtomEnergiesColumnName"/>): TorchSharp, the ONNX graph, the scoring chain and the potential.</summary>
public class AtomEnergyTests
{
    private const string Column = "PredictedAtomEnergies";

    private static PonitaTrainer.Options Options(string? atomEnergies = Column) => new()
    {
        PredictedForcesColumnName = "PredictedForces", PredictedAtomEnergiesColumnName = atomEnergies,
        NumberOfOrientations = 6, HiddenSize = 8, NumberOfLayers = 2, NumberOfEpochs = 2, BatchSize = 8, Seed = 3,
    };

    private static float[] Types(MoleculeRow row) => row.AtomTypes.Select(t => (float)t).ToArray();

    /// <summary>|Σ e_i − E| within float32 rounding of the terms.</summary>
    private static void AssertSumsToEnergy(float[] atoms, float energy, string what)
    {
        double sum = atoms.Sum(e => (double)e), size = atoms.Sum(e => Math.Abs((double)e)) + Math.Abs(energy);
        Assert.True(Math.Abs(sum - energy) <= 1e-6 * size, $"{what}: Σ atom energies {sum} vs energy {energy}");
    }

    [Fact]
    public void Atom_energies_sum_to_the_energy_and_are_invariant_and_permutation_equivariant_through_every_road()
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(SyntheticMolecules.Generate(40, 5).ToList());
        using var model = ml.Equivariant().Trainers.Ponita(Options()).Fit(data);
        Assert.Equal(Column, model.Description.PredictedAtomEnergiesColumnName);
        Assert.True(model.AtomEnergiesExportParity!.RelativeError <= 1e-5, model.AtomEnergiesExportParity.ToString());
        Assert.True(model.Description.CanonicalFrame);

        // The scoring chain: N values per row that add up to Score, as the potential gives them.
        var test = SyntheticMolecules.Generate(12, 8).ToList();
        var scored = model.Transform(ml.Data.LoadFromEnumerable(test));
        var scores = scored.GetColumn<float>("Score").ToArray();
        var atoms = scored.GetColumn<float[]>(Column).ToArray();
        var potential = model.Potential;
        Assert.True(potential.PredictsAtomEnergies);
        var random = new Random(4);
        for (int i = 0; i < test.Count; i++)
        {
            Assert.Equal(test[i].AtomTypes.Length, atoms[i].Length);
            AssertSumsToEnergy(atoms[i], scores[i], $"row {i}");
            var direct = potential.Evaluate(test[i].Positions, Types(test[i]));
            double scale = Math.Max(1, atoms[i].Max(Math.Abs));
            Assert.True(direct.AtomEnergies!.Zip(atoms[i], (a, b) => Math.Abs(a - b)).Max() <= 1e-5 * scale);
            // The learned part must differ between atoms of one type, or the test would only see the reference energies.
            if (i == 0) Assert.True(atoms[i].Select((e, k) => e - model.Description.ReferenceEnergies[test[i].AtomTypes[k]]).Distinct().Count() > 1);

            // Rotated and translated: the same energy per atom (the canonical frame).
            var turned = test[i].Rotated(MoleculeRow.RandomRotation(random)).Positions.Select((v, k) => v + (k % 3 + 1) * 2.5f).ToArray();
            var moved = potential.Evaluate(turned, Types(test[i])).AtomEnergies!;
            Assert.True(moved.Zip(direct.AtomEnergies!, (a, b) => Math.Abs(a - b)).Max() <= 1e-4 * scale, $"row {i}: {string.Join(", ", moved)} vs {string.Join(", ", direct.AtomEnergies!)}");

            // Atoms permuted: their energies permuted alike.
            int n = test[i].AtomTypes.Length;
            var order = Enumerable.Range(0, n).OrderBy(_ => random.Next()).ToArray();
            var permuted = potential.Evaluate(order.SelectMany(a => test[i].Positions.Skip(3 * a).Take(3)).ToArray(), order.Select(a => (float)test[i].AtomTypes[a]).ToArray()).AtomEnergies!;
            for (int k = 0; k < n; k++) Assert.True(Math.Abs(permuted[k] - direct.AtomEnergies![order[k]]) <= 1e-4 * scale, $"row {i}, atom {order[k]}");
        }

        // Saved and loaded: the per-row chain keeps the column.
        string path = Path.Combine(Path.GetTempPath(), $"ponita-atoms-{Guid.NewGuid():N}.zip");
        try
        {
            ml.Model.Save(model, data.Schema, path);
            Assert.Equal(Column, PonitaDescription.FromSavedModel(path)!.PredictedAtomEnergiesColumnName);
            var again = new MLContext(2).Model.Load(path, out _).Transform(ml.Data.LoadFromEnumerable(test)).GetColumn<float[]>(Column).ToArray();
            for (int i = 0; i < test.Count; i++) Assert.True(again[i].Zip(atoms[i], (a, b) => Math.Abs(a - b)).Max() <= 1e-4 * Math.Max(1, atoms[i].Max(Math.Abs)), $"row {i}");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Without_the_option_the_graph_has_no_atom_energies_and_the_name_is_checked()
    {
        var ml = new MLContext(1);
        using var model = ml.Equivariant().Trainers.Ponita(Options(atomEnergies: null)).Fit(ml.Data.LoadFromEnumerable(SyntheticMolecules.Generate(20, 5).ToList()));
        var outputs = OnnxModelInfo.Read(model.GetOnnxModel()).OutputNames;
        Assert.Equal(2, outputs.Count); // the energy head and the forces, as before atom energies existed
        Assert.Contains("PredictedForces", outputs);
        Assert.Null(model.AtomEnergiesExportParity);
        var row = SyntheticMolecules.Generate(1, 6).Single();
        Assert.Null(model.Potential.Evaluate(row.Positions, Types(row)).AtomEnergies);
        Assert.False(model.Potential.PredictsAtomEnergies);

        var clash = Options("PredictedForces");
        var error = Assert.Throws<ArgumentException>(() => ml.Equivariant().Trainers.Ponita(clash));
        Assert.Contains(nameof(PonitaTrainer.Options.PredictedAtomEnergiesColumnName), error.Message);
    }

    [Fact]
    public void A_two_by_one_by_one_supercell_repeats_the_atom_energies()
    {
        var ml = new MLContext(1);
        var options = new PonitaTrainer.Options
        {
            ForcesColumnName = "Forces", CellColumnName = "Cell", PredictedStressColumnName = "PredictedStress", PredictedAtomEnergiesColumnName = Column,
            EnergyUnit = PonitaEnergyUnit.ElectronVolt, Cutoff = PairCrystals.Range, KernelScale = 1.5,
            NumberOfOrientations = 6, HiddenSize = 8, NumberOfLayers = 2, NumberOfEpochs = 2, BatchSize = 4, Seed = 3,
        };
        using var model = ml.Equivariant().Trainers.Ponita(options).Fit(ml.Data.LoadFromEnumerable(PairCrystals.Rows(16, 1)));
        Assert.True(model.AtomEnergiesExportParity!.RelativeError <= 1e-5, model.AtomEnergiesExportParity.ToString());
        var crystal = PairCrystals.Rows(1, 11)[0];
        var types = Types(crystal);
        var unit = model.Potential.Evaluate(crystal.Positions, types, crystal.Cell);
        AssertSumsToEnergy(unit.AtomEnergies!, unit.Energy, "unit cell");
        var superCell = (float[])crystal.Cell.Clone();
        for (int c = 0; c < 3; c++) superCell[c] *= 2;
        var superX = crystal.Positions.Concat(crystal.Positions.Select((v, k) => v + crystal.Cell[k % 3])).ToArray();
        var doubled = model.Potential.Evaluate(superX, [.. types, .. types], superCell);
        AssertSumsToEnergy(doubled.AtomEnergies!, doubled.Energy, "supercell");
        float[] once = unit.AtomEnergies!, twice = doubled.AtomEnergies!;
        double scale = Math.Max(1, once.Max(Math.Abs));
        for (int k = 0; k < types.Length; k++)
        {
            Assert.True(Math.Abs(twice[k] - once[k]) <= 1e-4 * scale, $"atom {k}: {twice[k]} vs {once[k]}");
            Assert.True(Math.Abs(twice[k + types.Length] - once[k]) <= 1e-4 * scale, $"image of atom {k}");
        }
        // The scoring chain gives the column for periodic rows too.
        var column = model.Transform(ml.Data.LoadFromEnumerable(new[] { crystal })).GetColumn<float[]>(Column).Single();
        Assert.True(column.Zip(once, (a, b) => Math.Abs(a - b)).Max() <= 1e-5 * scale);
    }
}
