using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Equivariant;
using MLExtensions.Studies;
using Xunit;

namespace MLExtensions.Tests.Equivariant;

/// <summary>The public vector estimator on EGNN's charged N-body task: displacements over Δt = 1 from positions, charges and velocities.</summary>
public class PonitaVectorTrainerTests
{
    public sealed class ParticleRow
    {
        [VectorType] public float[] Positions { get; set; } = [];
        [VectorType] public int[] AtomTypes { get; set; } = [];
        [VectorType] public float[] Velocities { get; set; } = [];
        [VectorType] public float[] Label { get; set; } = [];
    }

    public sealed class Displacement
    {
        public float[] PredictedVectors { get; set; } = [];
    }

    internal static List<ParticleRow> Rows(int count, int seed) => ChargedParticles.GenerateEgnnProtocol(count, seed).Select(s => new ParticleRow
    {
        Positions = s.Positions,
        AtomTypes = s.Charges.Select(q => q > 0 ? 1 : 0).ToArray(),
        Velocities = s.Velocities,
        Label = s.Target.Select((x, k) => x - s.Positions[k]).ToArray(),
    }).ToList();

    [Fact]
    public void Learns_N_body_displacements_beyond_linear_extrapolation_and_survives_save_and_load()
    {
        var ml = new MLContext(1);
        var train = ml.Data.LoadFromEnumerable(Rows(200, 1));
        var testRows = Rows(100, 2);
        var test = ml.Data.LoadFromEnumerable(testRows);
        using var model = ml.Equivariant().Trainers.PonitaVectors(new PonitaVectorTrainer.Options
        {
            InputVectorsColumnName = "Velocities", NumberOfOrientations = 8, HiddenSize = 16, NumberOfLayers = 2, Cutoff = 3.0,
            NumberOfEpochs = 8, BatchSize = 25, Seed = 1,
        }).Fit(train);
        Assert.True(model.ExportParity.RelativeError <= 1e-5, model.ExportParity.ToString());

        var predicted = model.Transform(test).GetColumn<float[]>("PredictedVectors").ToArray();
        double linear = testRows.Average(r => r.Label.Select((d, k) => Math.Pow(d - r.Velocities[k], 2)).Average());
        double learned = testRows.Select((r, i) => r.Label.Select((d, k) => Math.Pow(d - predicted[i][k], 2)).Average()).Average();
        Assert.True(learned < 0.6 * linear, $"test MSE {learned:G4} vs linear extrapolation {linear:G4}");
        Assert.Null(model.Transform(test).Schema.GetColumnOrNull("Score"));

        var loaded = ModelRoundTrip.SaveLoadAndScore<float[]>(model, test, "PredictedVectors");
        for (int i = 0; i < predicted.Length; i++) Assert.Equal(predicted[i], loaded[i]);

        // Bad input vectors are named.
        using var engine = ml.Model.CreatePredictionEngine<ParticleRow, Displacement>(model, new PredictionEngineOptions { OwnsTransformer = false });
        var bad = testRows[0];
        var error = Assert.ThrowsAny<Exception>(() => engine.Predict(new ParticleRow { Positions = bad.Positions, AtomTypes = bad.AtomTypes, Velocities = [1, 2], Label = bad.Label }));
        Assert.Contains("Velocities", (error as InvalidDataException ?? error.InnerException)!.Message);
    }

    [Fact]
    public void Without_input_vectors_the_output_still_rotates_and_options_are_checked()
    {
        var ml = new MLContext(1);
        var rows = Rows(40, 3);
        using var model = ml.Equivariant().Trainers.PonitaVectors(new PonitaVectorTrainer.Options
        {
            NumberOfOrientations = 8, HiddenSize = 8, NumberOfLayers = 1, Cutoff = 3.0, NumberOfEpochs = 1, Seed = 2,
        }).Fit(ml.Data.LoadFromEnumerable(rows));
        // After one epoch the outputs are far smaller than the targets (a mean over the grid that nearly cancels), so
        // float32 parity is measured at the larger of the two scales.
        var parity = model.ExportParity;
        Assert.True(parity.MaxAbsoluteError <= 1e-5 * Math.Max(parity.MaxReference, model.VectorScale), $"{parity}, target scale {model.VectorScale:E2}");
        Assert.All(model.Transform(ml.Data.LoadFromEnumerable(rows)).GetColumn<float[]>("PredictedVectors"), v => Assert.Equal(15, v.Length));
        Assert.Throws<ArgumentException>(() => ml.Equivariant().Trainers.PonitaVectors(new PonitaVectorTrainer.Options { PredictedVectorsColumnName = "Positions" }));
        Assert.Throws<ArgumentOutOfRangeException>(() => ml.Equivariant().Trainers.PonitaVectors(new PonitaVectorTrainer.Options { NumberOfOrientations = 2 }));
    }
}
