using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Equivariant;
using MLExtensions.Onnx.Scoring;
using MLExtensions.Studies;
using Xunit;

namespace MLExtensions.Tests.Equivariant;

/// <summary>The public PONITA estimator: training on generated molecules, ML.NET integration, Save/Load.</summary>
public class PonitaTrainerTests
{
    private static PonitaTrainer.Options SmallOptions(int epochs = 4) => new()
    {
        ForcesColumnName = "Forces",
        PredictedForcesColumnName = "PredictedForces",
        NumberOfOrientations = 8,
        HiddenSize = 16,
        NumberOfLayers = 2,
        NumberOfEpochs = epochs,
        BatchSize = 16,
        Seed = 3,
    };

    private static IDataView Molecules(MLContext ml, int count, int seed) => ml.Data.LoadFromEnumerable(SyntheticMolecules.Generate(count, seed).ToList());

    [Fact]
    public void Learns_energies_and_scores_through_the_ML_NET_pipeline()
    {
        var ml = new MLContext(1);
        var train = Molecules(ml, 160, 1);
        var test = Molecules(ml, 60, 2);
        using var model = ml.Equivariant().Trainers.Ponita(SmallOptions(epochs: 12)).Fit(train);

        Assert.True(model.ExportParity.RelativeError <= 1e-5, model.ExportParity.ToString());
        Assert.True(model.ForcesExportParity!.RelativeError <= 1e-5, model.ForcesExportParity.ToString());
        Assert.True(model.TrainingHistory[^1].TrainingLoss < 0.6 * model.TrainingHistory[0].TrainingLoss,
            string.Join(", ", model.TrainingHistory.Select(h => h.TrainingLoss.ToString("G3"))));

        // Against the composition-only baseline (reference energies per type), the network must explain much of the rest.
        var scored = model.Transform(test);
        var metrics = ml.Regression.Evaluate(scored);
        var rows = SyntheticMolecules.Generate(60, 2).ToList();
        var reference = model.Description.ReferenceEnergies;
        double baselineError = rows.Average(r => Math.Abs(r.Label - r.AtomTypes.Sum(t => reference[t])));
        Assert.True(metrics.MeanAbsoluteError < 0.6 * baselineError, $"MAE {metrics.MeanAbsoluteError:G4} vs composition baseline {baselineError:G4}");

        // Predicted forces: one per coordinate, summing to zero (translation invariance).
        var forces = scored.GetColumn<float[]>("PredictedForces").ToList();
        for (int i = 0; i < rows.Count; i++)
        {
            Assert.Equal(rows[i].Positions.Length, forces[i].Length);
            for (int d = 0; d < 3; d++) Assert.True(Math.Abs(Enumerable.Range(0, forces[i].Length / 3).Sum(a => forces[i][3 * a + d])) < 1e-3);
        }
    }

    [Fact]
    public void Predicted_forces_are_minus_the_gradient_of_the_predicted_energy()
    {
        var ml = new MLContext(1);
        using var model = ml.Equivariant().Trainers.Ponita(SmallOptions(epochs: 2)).Fit(Molecules(ml, 40, 5));
        var molecule = SyntheticMolecules.Generate(1, 9, minAtoms: 5, maxAtoms: 5).Single();
        using var engine = ml.Model.CreatePredictionEngine<MoleculeRow, EnergyPrediction>(model, new PredictionEngineOptions { OwnsTransformer = false });
        var predicted = engine.Predict(molecule);
        const float h = 2e-3f;
        for (int k = 0; k < molecule.Positions.Length; k++)
        {
            float Energy(float shift)
            {
                var moved = (float[])molecule.Positions.Clone();
                moved[k] += shift;
                return engine.Predict(new MoleculeRow { Positions = moved, AtomTypes = molecule.AtomTypes, Forces = molecule.Forces }).Score;
            }
            double difference = -(Energy(h) - Energy(-h)) / (2 * h);
            double scale = Math.Max(1, predicted.PredictedForces.Max(Math.Abs));
            Assert.True(Math.Abs(difference - predicted.PredictedForces[k]) < 2e-2 * scale, $"coordinate {k}: {difference} vs {predicted.PredictedForces[k]}");
        }
    }

    [Fact]
    public void Save_and_load_keep_predictions_and_the_description()
    {
        var ml = new MLContext(1);
        var train = Molecules(ml, 40, 1);
        var test = Molecules(ml, 10, 2);
        using var model = ml.Equivariant().Trainers.Ponita(SmallOptions(epochs: 2)).Fit(train);
        // A loaded chain scores row by row: the same bits as the model's own per-row path (blocks round differently).
        var expected = model.TransformPerRow(test).GetColumn<float>("Score").ToArray();
        var expectedForces = model.TransformPerRow(test).GetColumn<float[]>("PredictedForces").ToArray();
        Assert.Equal(expected, ModelRoundTrip.SaveLoadAndScore<float>(model, test, "Score"));
        var loadedForces = ModelRoundTrip.SaveLoadAndScore<float[]>(model, test, "PredictedForces");
        for (int i = 0; i < expectedForces.Length; i++) Assert.Equal(expectedForces[i], loadedForces[i]);

        var path = Path.Combine(Path.GetTempPath(), $"ponita-{Guid.NewGuid():N}.zip");
        try
        {
            ml.Model.Save(model, train.Schema, path);
            var description = PonitaDescription.FromSavedModel(path)!;
            Assert.Equal(model.Description.ReferenceEnergies, description.ReferenceEnergies);
            Assert.Equal(3, description.FeatureCount);
            Assert.True(description.TypesAreIndices);
            // Loaded for batched scoring (PONITA's chain scores row by row there): the same numbers.
            var batched = new MLContext(1).LoadWithBatchedScoring(path, out _).Transform(test);
            Assert.Equal(expected, batched.GetColumn<float>("Score").ToArray());
            var batchedForces = batched.GetColumn<float[]>("PredictedForces").ToArray();
            for (int i = 0; i < expectedForces.Length; i++) Assert.Equal(expectedForces[i], batchedForces[i]);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Transform_scores_blocks_of_concatenated_clouds_as_row_by_row_scoring_does()
    {
        var ml = new MLContext(1);
        using var model = ml.Equivariant().Trainers.Ponita(SmallOptions(epochs: 2)).Fit(Molecules(ml, 40, 1));
        var rows = SyntheticMolecules.Generate(37, 3, minAtoms: 2, maxAtoms: 9).ToList();
        rows[5] = new MoleculeRow { Positions = [0.5f, 0.5f, 0.5f], AtomTypes = [1], Forces = new float[3] }; // a lone atom: no edges
        var test = ml.Data.LoadFromEnumerable(rows);
        var perRow = model.TransformPerRow(test);
        var expected = perRow.GetColumn<float>("Score").ToArray();
        var expectedForces = perRow.GetColumn<float[]>("PredictedForces").ToArray();
        foreach (var scored in new[] { model.Transform(test), model.Transform(test, new MLExtensions.Onnx.Batching.BatchScoringOptions { BlockSize = 5 }) })
        {
            Assert.Equal(perRow.Schema.Select(c => (c.Name, c.Type.ToString())), scored.Schema.Select(c => (c.Name, c.Type.ToString())));
            var energies = scored.GetColumn<float>("Score").ToArray();
            var forces = scored.GetColumn<float[]>("PredictedForces").ToArray();
            Assert.Equal(rows.Select(r => r.Label), scored.GetColumn<float>("Label"));
            for (int i = 0; i < rows.Count; i++)
            {
                Assert.Equal(expected[i], energies[i], 1e-5f * Math.Max(1, Math.Abs(expected[i])));
                Assert.Equal(expectedForces[i].Length, forces[i].Length);
                for (int k = 0; k < forces[i].Length; k++) Assert.Equal(expectedForces[i][k], forces[i][k], 1e-5f * Math.Max(1, expectedForces[i].Max(Math.Abs)));
            }
        }
        // The potential gives the same numbers outside ML.NET, also rebuilt from the exported ONNX file alone.
        var clouds = rows.Select(r => (r.Positions, r.AtomTypes.Select(t => (float)t).ToArray())).ToList();
        var direct = model.Potential.Evaluate(clouds);
        using var fromFile = PonitaPotential.FromOnnx(model.GetOnnxModel());
        Assert.Equal(model.Description.Cutoff, fromFile.Description.Cutoff);
        var again = fromFile.Evaluate(clouds);
        for (int i = 0; i < rows.Count; i++)
        {
            Assert.Equal(expected[i], direct[i].Energy, 1e-5f * Math.Max(1, Math.Abs(expected[i])));
            Assert.Equal(direct[i].Energy, again[i].Energy);
            Assert.Equal(direct[i].Forces, again[i].Forces);
        }
        Assert.Throws<InvalidDataException>(() => fromFile.Evaluate([0, 0, 0, 1, 0, 0], [0, 9]));
        // A bad row inside a block is named with its row.
        rows[20] = new MoleculeRow { Positions = [0, 0, 0, 0, 0, 0], AtomTypes = [0, 1], Forces = new float[6] };
        var error = Assert.ThrowsAny<Exception>(() => model.Transform(ml.Data.LoadFromEnumerable(rows)).GetColumn<float>("Score").ToArray());
        Assert.Contains("row 20", (error as InvalidDataException ?? error.InnerException)!.Message);
    }

    [Fact]
    public void Same_seed_gives_the_same_model_and_Single_types_match_Int32_types()
    {
        var ml = new MLContext(1);
        var rows = SyntheticMolecules.Generate(30, 4).ToList();
        var data = ml.Data.LoadFromEnumerable(rows);
        var options = SmallOptions(epochs: 2);
        using var first = ml.Equivariant().Trainers.Ponita(options).Fit(data);
        using var second = ml.Equivariant().Trainers.Ponita(SmallOptions(epochs: 2)).Fit(data);
        var singles = ml.Data.LoadFromEnumerable(rows.Select(r => new SingleTypedRow { Positions = r.Positions, AtomTypes = r.AtomTypes.Select(t => (float)t).ToArray(), Label = r.Label, Forces = r.Forces }));
        using var third = ml.Equivariant().Trainers.Ponita(SmallOptions(epochs: 2)).Fit(singles);
        var a = first.Transform(data).GetColumn<float>("Score").ToArray();
        Assert.Equal(a, second.Transform(data).GetColumn<float>("Score").ToArray());
        Assert.Equal(a, third.Transform(singles).GetColumn<float>("Score").ToArray());
    }

    [Fact]
    public void Works_inside_an_estimator_chain_with_other_column_names()
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(SyntheticMolecules.Generate(30, 4).ToList());
        var pipeline = ml.Transforms.CopyColumns("Coordinates", "Positions")
            .Append(ml.Transforms.Conversion.ConvertType("Kinds", "AtomTypes", DataKind.Single))
            .Append(ml.Transforms.DropColumns("Positions", "AtomTypes"))
            .Append(ml.Equivariant().Trainers.Ponita(new PonitaTrainer.Options
            {
                PositionsColumnName = "Coordinates",
                AtomTypesColumnName = "Kinds",
                NumberOfOrientations = 4,
                HiddenSize = 8,
                NumberOfLayers = 1,
                NumberOfEpochs = 1,
            }));
        using var model = pipeline.Fit(data);
        var scored = model.Transform(data);
        Assert.Null(scored.Schema.GetColumnOrNull("mlx_ponita_points"));
        var metrics = ml.Regression.Evaluate(scored);
        Assert.True(double.IsFinite(metrics.RootMeanSquaredError));

        var bad = ml.Data.LoadFromEnumerable(new[] { new MoleculeRow { Positions = [0, 0, 0, 1, 0, 0], AtomTypes = [0, 9] } });
        var error = Assert.ThrowsAny<Exception>(() => model.Transform(bad).GetColumn<float>("Score").ToArray());
        Assert.Contains("Column 'Kinds'", (error as InvalidDataException ?? error.InnerException)!.Message);
    }

    [Fact]
    public void Known_size_columns_of_same_size_molecules_work_too()
    {
        var ml = new MLContext(1);
        var rows = SyntheticMolecules.Generate(24, 6, minAtoms: 5, maxAtoms: 5).Select(r => new FixedRow
        {
            Positions = r.Positions, AtomTypes = r.AtomTypes.Select(t => (float)t).ToArray(), Label = r.Label, Forces = r.Forces,
        }).ToList();
        var data = ml.Data.LoadFromEnumerable(rows);
        var options = SmallOptions(epochs: 1);
        using var model = ml.Equivariant().Trainers.Ponita(options).Fit(data);
        var scored = model.Transform(data);
        Assert.All(scored.GetColumn<float>("Score"), s => Assert.True(float.IsFinite(s)));
        Assert.Equal(ModelRoundTrip.SaveLoadAndScore<float>(model, data, "Score"), scored.GetColumn<float>("Score").ToArray());
    }

    [Fact]
    public void Scores_on_CUDA_with_CPU_fallback_when_asked()
    {
        var ml = new MLContext(1);
        var data = Molecules(ml, 20, 4);
        var options = SmallOptions(epochs: 1);
        options.ScoringDevice = MLExtensions.Onnx.Runtime.OnnxExecutionDevice.CudaWithCpuFallback;
        using var model = ml.Equivariant().Trainers.Ponita(options).Fit(data);
        Assert.Equal(MLExtensions.Onnx.Runtime.OnnxModelSession.Probe(MLExtensions.Onnx.Runtime.OnnxExecutionDevice.CudaWithCpuFallback).UsesCuda, model.Execution.UsesCuda);
        Assert.All(model.Transform(data).GetColumn<float>("Score"), s => Assert.True(float.IsFinite(s)));
    }

    [Fact]
    public void The_position_only_variant_is_exactly_rotation_invariant()
    {
        var ml = new MLContext(1);
        var options = SmallOptions(epochs: 2);
        options.PositionOnly = true;
        using var model = ml.Equivariant().Trainers.Ponita(options).Fit(Molecules(ml, 40, 1));
        Assert.Equal(1, model.Description.NumberOfOrientations);
        var rows = SyntheticMolecules.Generate(10, 8).ToList();
        var rotation = MoleculeRow.RandomRotation(new Random(5));
        var original = model.Transform(ml.Data.LoadFromEnumerable(rows)).GetColumn<float>("Score").ToArray();
        var rotated = model.Transform(ml.Data.LoadFromEnumerable(rows.Select(r => r.Rotated(rotation)))).GetColumn<float>("Score").ToArray();
        for (int i = 0; i < rows.Count; i++) Assert.True(Math.Abs(original[i] - rotated[i]) <= 1e-5 * Math.Max(1, Math.Abs(original[i])), $"{original[i]} vs {rotated[i]}");
    }

    [Fact]
    public void Per_point_feature_vectors_can_replace_type_indices()
    {
        var ml = new MLContext(1);
        var rows = SyntheticMolecules.Generate(30, 4).Select(r => new SingleTypedRow
        {
            Positions = r.Positions,
            AtomTypes = r.AtomTypes.SelectMany(t => Enumerable.Range(0, 3).Select(k => k == t ? 1f : 0f)).ToArray(),
            Label = r.Label,
            Forces = r.Forces,
        }).ToList();
        var options = SmallOptions(epochs: 1);
        options.FeaturesPerAtom = 3;
        using var model = ml.Equivariant().Trainers.Ponita(options).Fit(ml.Data.LoadFromEnumerable(rows));
        Assert.False(model.Description.TypesAreIndices);
        Assert.All(model.Transform(ml.Data.LoadFromEnumerable(rows)).GetColumn<float>("Score"), s => Assert.True(float.IsFinite(s)));
    }

    public sealed class EnergyPrediction
    {
        public float Score { get; set; }

        public float[] PredictedForces { get; set; } = [];
    }

    public sealed class FixedRow
    {
        [VectorType(15)]
        public float[] Positions { get; set; } = [];

        [VectorType(5)]
        public float[] AtomTypes { get; set; } = [];

        public float Label { get; set; }

        [VectorType(15)]
        public float[] Forces { get; set; } = [];
    }

    public sealed class SingleTypedRow
    {
        [VectorType]
        public float[] Positions { get; set; } = [];

        [VectorType]
        public float[] AtomTypes { get; set; } = [];

        public float Label { get; set; }

        [VectorType]
        public float[] Forces { get; set; } = [];
    }
}
