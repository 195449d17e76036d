using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Equivariant;
using MLExtensions.Studies;
using Xunit;

namespace MLExtensions.Tests.Equivariant;

/// <summary>
/// The model <see cref="PonitaBadInputTests"/> scores with, fitted once for the class (a fit costs seconds, mostly its
/// export checks); the tests only score it.
/// </summary>
public sealed class PonitaBadInputFixture : IDisposable
{
    public PonitaBadInputFixture()
    {
        var ml = new MLContext(1);
        Model = ml.Equivariant().Trainers.Ponita(PonitaBadInputTests.Options()).Fit(ml.Data.LoadFromEnumerable(Rows));
    }

    /// <summary>The training rows, never changed.</summary>
    public List<MoleculeRow> Rows { get; } = SyntheticMolecules.Generate(24, 1).ToList();

    public PonitaModel Model { get; }

    public void Dispose() => Model.Dispose();
}

/// <summary>Bad point clouds give clear errors naming the column (and the row in training), never NaN scores.</summary>
public class PonitaBadInputTests(PonitaBadInputFixture fixture) : IClassFixture<PonitaBadInputFixture>
{
    private readonly MLContext _ml = new(1);
    private readonly List<MoleculeRow> _rows = fixture.Rows;
    private readonly PonitaModel _model = fixture.Model;

    internal static PonitaTrainer.Options Options() => new()
    {
        NumberOfOrientations = 4,
        HiddenSize = 8,
        NumberOfLayers = 1,
        NumberOfEpochs = 1,
        Seed = 1,
        PredictedForcesColumnName = "PredictedForces",
    };

    private static MoleculeRow Row(float[] positions, int[] types) => new() { Positions = positions, AtomTypes = types, Forces = new float[positions.Length] };

    private static readonly MoleculeRow[] BadRows =
    [
        Row([0, 0, 0, 1, 0, 0, 2], [0, 1]),
        Row([0, 0, 0, 1, 0, 0], [0, 1, 2]),
        Row([0, 0, float.NaN, 1, 0, 0], [0, 1]),
        Row([0, 0, 0, 1, 1, 1, 0, 0, 0], [0, 1, 2]),
        Row([0, 0, 0, 1.5f, 0, 0], [0, 7]),
        Row([0, 0, 0, 1.5f, 0, 0], [0, -1]),
        Row([], []),
    ];

    private static readonly string[] Expected =
    [
        "not a multiple of 3",
        "3 types for 2 points",
        "NaN",
        "points 0 and 2 coincide",
        "point 1 has type 7, which the model never saw in training (known types: 0, 1, 2)",
        "point 1 has type -1",
        "no points",
    ];

    [Fact]
    public void Training_rejects_bad_rows_naming_column_and_row()
    {
        for (int k = 0; k < BadRows.Length; k++)
        {
            if (k == 4) continue; // any whole type is a new type in training
            var rows = _rows.Take(5).Append(BadRows[k]).ToList();
            var error = Assert.Throws<InvalidDataException>(() => _ml.Equivariant().Trainers.Ponita(Options()).Fit(_ml.Data.LoadFromEnumerable(rows)));
            Assert.Contains("row 5", error.Message);
            Assert.Contains(k is 1 or 5 ? "'AtomTypes'" : "'Positions'", error.Message);
            Assert.Contains(Expected[k], error.Message);
        }
    }

    [Fact]
    public void Training_rejects_bad_labels_forces_empty_data_and_wrong_columns()
    {
        var nanLabel = _rows.Take(3).Append(new MoleculeRow { Positions = _rows[0].Positions, AtomTypes = _rows[0].AtomTypes, Label = float.NaN }).ToList();
        Assert.Contains("Column 'Label', row 3", Assert.Throws<InvalidDataException>(() => _ml.Equivariant().Trainers.Ponita(Options()).Fit(_ml.Data.LoadFromEnumerable(nanLabel))).Message);

        var withForces = Options();
        withForces.ForcesColumnName = "Forces";
        var shortForces = _rows.Take(3).Append(new MoleculeRow { Positions = _rows[0].Positions, AtomTypes = _rows[0].AtomTypes, Forces = [1, 2] }).ToList();
        var forcesError = Assert.Throws<InvalidDataException>(() => _ml.Equivariant().Trainers.Ponita(withForces).Fit(_ml.Data.LoadFromEnumerable(shortForces))).Message;
        Assert.Contains("Column 'Forces', row 3", forcesError);

        Assert.Contains("no rows", Assert.Throws<InvalidDataException>(() => _ml.Equivariant().Trainers.Ponita(Options()).Fit(_ml.Data.LoadFromEnumerable(new List<MoleculeRow>()))).Message);

        var missing = Options();
        missing.PositionsColumnName = "Coordinates";
        Assert.Contains("'Coordinates'", Assert.ThrowsAny<ArgumentException>(() => _ml.Equivariant().Trainers.Ponita(missing).Fit(_ml.Data.LoadFromEnumerable(_rows))).Message);

        var wrongType = _ml.Transforms.Conversion.ConvertType("AtomTypes", outputKind: DataKind.Double).Fit(_ml.Data.LoadFromEnumerable(_rows)).Transform(_ml.Data.LoadFromEnumerable(_rows));
        Assert.Contains("ConvertType", Assert.Throws<ArgumentException>(() => _ml.Equivariant().Trainers.Ponita(Options()).Fit(wrongType)).Message);

        var clash = Options();
        clash.PredictedForcesColumnName = "Positions";
        Assert.Throws<ArgumentException>(() => _ml.Equivariant().Trainers.Ponita(clash));
    }

    [Fact]
    public void Scoring_rejects_bad_rows_before_and_after_Save_and_Load()
    {
        using var stream = new MemoryStream();
        _ml.Model.Save(_model, _ml.Data.LoadFromEnumerable(_rows).Schema, stream);
        stream.Position = 0;
        var loaded = new MLContext(2).Model.Load(stream, out _);
        try
        {
            foreach (var transformer in new ITransformer[] { _model, loaded })
                for (int k = 0; k < BadRows.Length; k++)
                {
                    var data = _ml.Data.LoadFromEnumerable(new[] { _rows[0], BadRows[k] });
                    var error = Assert.ThrowsAny<Exception>(() => transformer.Transform(data).GetColumn<float>("Score").ToArray());
                    var inner = error as InvalidDataException ?? error.InnerException as InvalidDataException;
                    Assert.True(inner is not null, $"row kind {k}: {error}");
                    Assert.Contains(Expected[k], inner!.Message);
                    if (k is not 6) Assert.Contains(k is 1 or 4 or 5 ? "'AtomTypes'" : "'Positions'", inner.Message);
                }
        }
        finally
        {
            (loaded as IDisposable)?.Dispose();
        }
    }

    [Fact]
    public void Types_missing_from_training_are_refused_and_huge_indices_are_named()
    {
        // Atomic numbers: hydrogen, carbon and oxygen in training; lithium (3) was never seen.
        int[] elements = [1, 6, 8];
        var rows = _rows.Select(r => new MoleculeRow { Positions = r.Positions, AtomTypes = r.AtomTypes.Select(t => elements[t]).ToArray(), Label = r.Label }).ToList();
        using var model = _ml.Equivariant().Trainers.Ponita(Options()).Fit(_ml.Data.LoadFromEnumerable(rows));
        Assert.Equal(elements, model.Description.KnownTypes);
        var lithium = _ml.Data.LoadFromEnumerable(new[] { new MoleculeRow { Positions = [0, 0, 0, 1.5f, 0, 0], AtomTypes = [1, 3] } });
        var error = Assert.ThrowsAny<Exception>(() => model.Transform(lithium).GetColumn<float>("Score").ToArray());
        Assert.Contains("type 3, which the model never saw in training (known types: 1, 6, 8)", (error as InvalidDataException ?? error.InnerException)!.Message);

        var huge = rows.Take(3).Append(new MoleculeRow { Positions = [0, 0, 0, 1.5f, 0, 0], AtomTypes = [1, 100000] }).ToList();
        Assert.Contains("Column 'AtomTypes', row 3", Assert.Throws<InvalidDataException>(() => _ml.Equivariant().Trainers.Ponita(Options()).Fit(_ml.Data.LoadFromEnumerable(huge))).Message);
    }

    [Fact]
    public void Divergent_training_and_bad_settings_are_reported()
    {
        var options = Options();
        options.LearningRate = 1e12;
        options.NumberOfEpochs = 3;
        var diverged = Assert.Throws<InvalidOperationException>(() => _ml.Equivariant().Trainers.Ponita(options).Fit(_ml.Data.LoadFromEnumerable(_rows))).Message;
        Assert.Contains("diverged", diverged);
        Assert.Contains("KernelScale", diverged);
        Assert.Throws<ArgumentOutOfRangeException>(() => _ml.Equivariant().Trainers.Ponita(new PonitaTrainer.Options { NumberOfOrientations = 2 }));
        foreach (int radial in new[] { 1, -1 })
            Assert.Equal("NumberOfRadialBasisFunctions",
                Assert.Throws<ArgumentOutOfRangeException>(() => _ml.Equivariant().Trainers.Ponita(new PonitaTrainer.Options { NumberOfRadialBasisFunctions = radial })).ParamName);
        Assert.Throws<ArgumentException>(() => _ml.Equivariant().Trainers.Ponita(new PonitaTrainer.Options { ForcesColumnName = "Forces", PredictedForcesColumnName = "Forces" }));
        Assert.Throws<ArgumentException>(() => _ml.Equivariant().Trainers.Ponita(new PonitaTrainer.Options { PredictedForcesColumnName = "mlx_score" }));
    }

    [Fact]
    public void A_system_too_large_for_memory_fails_with_a_message_before_allocating()
    {
        // Every pair of a dense cloud interacts: enough points that the edges alone exceed the memory guard.
        // Every directed pair is an edge: n² edges, well past the limit (which moves a little with the memory free).
        int n = (int)(1.5 * Math.Sqrt(PonitaMemory.EdgeLimit(PonitaMemory.Scoring(4, 8, 1, withForces: true), 0))) + 10;
        var random = new Random(3);
        var positions = Enumerable.Range(0, 3 * n).Select(_ => (float)(random.NextDouble() * 0.5 * _model.Description.Cutoff)).ToArray();
        var row = new MoleculeRow { Positions = positions, AtomTypes = Enumerable.Range(0, n).Select(i => i % 3).ToArray(), Forces = new float[3 * n] };
        using var engine = _ml.Model.CreatePredictionEngine<MoleculeRow, PonitaTrainerTests.EnergyPrediction>(_model, new PredictionEngineOptions { OwnsTransformer = false });
        var error = Assert.ThrowsAny<Exception>(() => engine.Predict(row));
        var memory = error as InsufficientMemoryException ?? error.InnerException as InsufficientMemoryException;
        Assert.NotNull(memory);
        Assert.Contains("Column 'Positions'".Replace("Column ", "column "), memory!.Message);
        Assert.Contains("Cutoff", memory.Message);
    }

    [Fact]
    public void A_good_row_scores_to_a_finite_energy_and_forces()
    {
        using var engine = _ml.Model.CreatePredictionEngine<MoleculeRow, PonitaTrainerTests.EnergyPrediction>(_model, new PredictionEngineOptions { OwnsTransformer = false });
        var prediction = engine.Predict(_rows[3]);
        Assert.True(float.IsFinite(prediction.Score));
        Assert.Equal(_rows[3].Positions.Length, prediction.PredictedForces.Length);
        Assert.All(prediction.PredictedForces, f => Assert.True(float.IsFinite(f)));

        // An atom far beyond the cutoff adds its own isolated energy and feels no force; huge distances must not overflow to NaN.
        var molecule = _rows[3];
        var far = new MoleculeRow { Positions = [.. molecule.Positions, 1e9f, 0, 0], AtomTypes = [.. molecule.AtomTypes, 1] };
        var lone = engine.Predict(new MoleculeRow { Positions = [0, 0, 0], AtomTypes = [1] });
        var together = engine.Predict(far);
        Assert.Equal(prediction.Score + lone.Score, together.Score, 1e-3f * Math.Max(1, Math.Abs(together.Score)));
        Assert.All(together.PredictedForces, f => Assert.True(float.IsFinite(f)));
        Assert.All(together.PredictedForces[^3..], f => Assert.Equal(0f, f));
        Assert.Contains("overflow", Assert.ThrowsAny<Exception>(() => engine.Predict(new MoleculeRow { Positions = [0, 0, 0, 1e16f, 0, 0], AtomTypes = [0, 1] })).Message);
    }
}
