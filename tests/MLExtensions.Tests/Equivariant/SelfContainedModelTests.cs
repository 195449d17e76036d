using Microsoft.ML;
using Microsoft.ML.OnnxRuntime;
using MLExtensions.Equivariant;
using MLExtensions.Studies;
using Xunit;

namespace MLExtensions.Tests.Equivariant;

/// <summary>The periodic model two of <see cref="SelfContainedModelTests"/> export, fitted once (a fit costs seconds, mostly its export checks).</summary>
public sealed class PeriodicModelFixture : IDisposable
{
    public PonitaModel Model { get; } = SelfContainedModelTests.PeriodicModel(new MLContext(1));

    public void Dispose() => Model.Dispose();
}

/// <summary>
/// <see cref="PonitaModel.SaveSelfContainedOnnx(string, PonitaSelfContainedOptions?)"/>: the saved file on ONNX
/// Runtime against the ordinary scoring chain (<see cref="PonitaPotential"/>, which builds the edges in .NET).
/// </summary>
public class SelfContainedModelTests(PeriodicModelFixture periodic) : IClassFixture<PeriodicModelFixture>
{
    internal static PonitaModel PeriodicModel(MLContext ml) => ml.Equivariant().Trainers.Ponita(new PonitaTrainer.Options
    {
        ForcesColumnName = "Forces", PredictedForcesColumnName = "PredictedForces", CellColumnName = "Cell",
        StressColumnName = "Stress", PredictedStressColumnName = "PredictedStress", PredictedAtomEnergiesColumnName = "AtomEnergies",
        EnergyUnit = PonitaEnergyUnit.ElectronVolt, Cutoff = PairCrystals.Range, KernelScale = 1.5, MaximumNeighbors = 10, SelfInteraction = true,
        NumberOfOrientations = 6, HiddenSize = 8, NumberOfLayers = 2, NumberOfEpochs = 1, BatchSize = 4, Seed = 3,
    }).Fit(ml.Data.LoadFromEnumerable(PairCrystals.Rows(8, 1)));

    private static string TempPath() => Path.Combine(Path.GetTempPath(), $"ponita-self-contained-{Guid.NewGuid():N}.onnx");

    private static void AssertAgrees(PonitaModel model, InferenceSession onnx, float[] x, float[] types, float[]? cell)
    {
        var expected = model.Potential.Evaluate(x, types, cell);
        var actual = SelfContainedRuns.Run(onnx, x, types, model.Potential.IsPeriodic ? cell ?? new float[9] : null);
        Assert.True(SelfContainedRuns.RelativeError(actual[PonitaSelfContainedOptions.Energy], [expected.Energy]) <= 1e-5, $"energy {actual[PonitaSelfContainedOptions.Energy][0]} vs {expected.Energy}");
        double forces = SelfContainedRuns.RelativeError(actual[PonitaSelfContainedOptions.Forces], expected.Forces!);
        Assert.True(forces <= 1e-5, $"forces: relative error {forces:E2}");
        Assert.True(SelfContainedRuns.RelativeError(actual[PonitaSelfContainedOptions.AtomEnergies], expected.AtomEnergies!) <= 1e-5);
        if (expected.Stress is { } stress)
        {
            double error = SelfContainedRuns.RelativeError(actual[PonitaSelfContainedOptions.Stress], stress);
            Assert.True(error <= 1e-5, $"stress: relative error {error:E2}");
        }
        else if (model.Description.PredictedStressColumnName is not null) Assert.All(actual[PonitaSelfContainedOptions.Stress], v => Assert.True(float.IsNaN(v)));
    }

    [Fact]
    public void A_periodic_model_saved_self_contained_scores_fresh_cells_as_the_ordinary_chain()
    {
        var model = periodic.Model;
        string path = TempPath();
        try
        {
            model.SaveSelfContainedOnnx(path, new PonitaSelfContainedOptions { MaximumAtoms = 40 });
            using var onnx = new InferenceSession(path);
            var random = new Random(7);
            float[] Types(int n) => Enumerable.Range(0, n).Select(i => (float)(1 + i % 2)).ToArray();
            // Triclinic cells thinner than twice the cutoff (the limit of 10 neighbours binds there) and thicker.
            foreach (var (size, atoms) in new[] { (3.4, 6), (4.2, 12), (6.5, 30) })
            {
                var cell = PeriodicCells.Triclinic(random, size);
                var x = PeriodicCells.Atoms(random, cell, atoms, spacing: 1.2);
                AssertAgrees(model, onnx, x, Types(atoms), cell);
            }
            // A slab (c zero: no stress) and an open cluster (no cell) through the same graph.
            var slab = PeriodicCells.Triclinic(random, 3.8);
            var y = PeriodicCells.Atoms(random, slab, 6, spacing: 1.2);
            AssertAgrees(model, onnx, y, Types(6), [.. slab[..6], 0, 0, 0]);
            AssertAgrees(model, onnx, y, Types(6), null);

            // Refusals by the graph's check nodes, which ONNX Runtime names in its error.
            var big = PeriodicCells.Triclinic(random, 9.0);
            var many = PeriodicCells.Atoms(random, big, 41, spacing: 1.0);
            var error = Assert.ThrowsAny<OnnxRuntimeException>(() => SelfContainedRuns.Run(onnx, many, Types(41), big));
            Assert.Contains("mlx_refuse__more_than_40_atoms_or_none", error.Message);
            Assert.Contains("mlx_refuse__more_than_40_atoms_or_none", Assert.ThrowsAny<OnnxRuntimeException>(() => SelfContainedRuns.Run(onnx, [], [], big)).Message);
            float[] needle = [0.9f, 0, 0, 0, 0.9f, 0, 0, 0, 0.9f];   // 0.9 Å against a 3 Å cutoff: 9 images each way
            Assert.Contains("mlx_refuse__cell_needs_more_than_125_images", Assert.ThrowsAny<OnnxRuntimeException>(() => SelfContainedRuns.Run(onnx, [0.1f, 0.2f, 0.3f], [1], needle)).Message);
            Assert.Contains("mlx_refuse_non_finite__positions", Assert.ThrowsAny<OnnxRuntimeException>(() => SelfContainedRuns.Run(onnx, [float.NaN, 0, 0], [1], big)).Message);
            // A type the model never trained on, or not a whole number, would embed as an atom of no type: refused by name.
            var three = PeriodicCells.Atoms(random, big, 3, spacing: 1.0);
            float unseen = Enumerable.Range(0, 64).First(t => !model.Description.KnownTypes!.Contains(t));
            foreach (float bad in new[] { 1.5f, unseen, -1f, 1000f })
                Assert.Contains("mlx_refuse__unknown_atom_type", Assert.ThrowsAny<OnnxRuntimeException>(() => SelfContainedRuns.Run(onnx, three, [1, bad, 2], big)).Message);
            Assert.Single(SelfContainedRuns.Run(onnx, three, [1, 2, 2], big)[PonitaSelfContainedOptions.Energy]);
            // Not vacuous: the limit itself is fine.
            var fine = PeriodicCells.Atoms(random, big, 40, spacing: 1.0);
            Assert.Equal(40 * 3, SelfContainedRuns.Run(onnx, fine, Types(40), big)[PonitaSelfContainedOptions.Forces].Length);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void An_open_cluster_model_with_a_binding_neighbour_limit_and_the_canonical_frame_scores_as_the_ordinary_chain()
    {
        var ml = new MLContext(1);
        using var model = ml.Equivariant().Trainers.Ponita(new PonitaTrainer.Options
        {
            ForcesColumnName = "Forces", PredictedForcesColumnName = "PredictedForces", PredictedAtomEnergiesColumnName = "AtomEnergies",
            MaximumNeighbors = 4, NumberOfOrientations = 6, HiddenSize = 8, NumberOfLayers = 1, NumberOfEpochs = 1, BatchSize = 8, Seed = 3,
        }).Fit(ml.Data.LoadFromEnumerable(SyntheticMolecules.Generate(16, 1).ToList()));
        Assert.True(model.Description.CanonicalFrame);
        using var stream = new MemoryStream();
        model.SaveSelfContainedOnnx(stream, new PonitaSelfContainedOptions { MaximumAtoms = 100 });
        using var onnx = new InferenceSession(stream.ToArray());
        var types = model.Description.KnownTypes!.Select(t => (float)t).ToArray();
        foreach (var molecule in SyntheticMolecules.Generate(3, 9))
        {
            AssertAgrees(model, onnx, molecule.Positions, molecule.AtomTypes.Select(t => (float)t).ToArray(), null);
        }
        // A dense cloud of 60 atoms, far more neighbours within the cutoff than the limit of 4.
        var random = new Random(4);
        double side = 1.2 * model.Description.Cutoff;
        var cloud = Enumerable.Range(0, 180).Select(_ => (float)(side * random.NextDouble())).ToArray();
        Assert.True(RadiusGraph.Build(cloud, model.Description.Cutoff).Senders.Length > 60 * 4 * 3);
        AssertAgrees(model, onnx, cloud, Enumerable.Range(0, 60).Select(i => types[i % types.Length]).ToArray(), null);
    }

    [Fact]
    public void Limits_no_graph_can_meet_are_refused_at_export_and_an_existing_file_survives()
    {
        var model = periodic.Model;
        string path = TempPath();
        File.WriteAllText(path, "an older model");
        try
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => model.SaveSelfContainedOnnx(path, new PonitaSelfContainedOptions { MaximumAtoms = 0 }));
            var error = Assert.Throws<ArgumentOutOfRangeException>(() => model.SaveSelfContainedOnnx(path, new PonitaSelfContainedOptions { MaximumAtoms = 5_000, MaximumImages = 125 }));
            Assert.Contains("candidate pairs", error.Message);
            Assert.Throws<ArgumentOutOfRangeException>(() => model.SaveSelfContainedOnnx(path, new PonitaSelfContainedOptions { MaximumImages = 0 }));
            Assert.Equal("an older model", File.ReadAllText(path));
            Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(path)!, $".{Path.GetFileName(path)}.*.tmp"));
            // A disposed model refuses too, and the file still holds the old model.
            var disposed = PeriodicModel(new MLContext(1));
            disposed.Dispose();
            Assert.Throws<ObjectDisposedException>(() => disposed.SaveSelfContainedOnnx(path));
            Assert.Equal("an older model", File.ReadAllText(path));
        }
        finally
        {
            File.Delete(path);
        }
        // Not vacuous: a valid export replaces the file.
        try
        {
            File.WriteAllText(path, "an older model");
            model.SaveSelfContainedOnnx(path, new PonitaSelfContainedOptions { MaximumAtoms = 8, MaximumImages = 27 });
            Assert.NotEqual("an older model", File.ReadAllText(path));
            using var session = new InferenceSession(path);
            var description = PonitaDescription.FromJson(session.ModelMetadata.CustomMetadataMap[PonitaSelfContainedOptions.DescriptionKey]);
            Assert.Equal(PonitaEnergyUnit.ElectronVolt, description.EnergyUnit);
            Assert.Equal(3, session.InputMetadata.Count);   // positions, types, cell: nothing else
        }
        finally
        {
            File.Delete(path);
        }
    }
}
