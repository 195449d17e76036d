using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Equivariant;
using MLExtensions.Mlp;
using MLExtensions.Nas;
using MLExtensions.Onnx.Scoring;
using MLExtensions.Studies;

namespace MLExtensions.Probes;

/// <summary>The scenarios, by name.</summary>
internal static class Scenarios
{
    public static readonly IReadOnlyDictionary<string, Action> All = new Dictionary<string, Action>
    {
        ["use-after-dispose"] = UseAfterDispose,
        ["dispose-while-scoring"] = DisposeWhileScoring,
        ["leave-undisposed"] = () => LeaveUndisposed(),
        ["unhandled-exception"] = UnhandledException,
    };

    private const int FeatureCount = 4;

    private sealed class Row
    {
        [VectorType(FeatureCount)] public float[] Features { get; set; } = [];
        public float Label { get; set; }
    }

    private sealed class Prediction
    {
        public float Score { get; set; }
    }

    private static IDataView Tabular(MLContext ml, int rows)
    {
        var random = new Random(7);
        return ml.Data.LoadFromEnumerable(Enumerable.Range(0, rows).Select(_ =>
        {
            var x = Enumerable.Range(0, FeatureCount).Select(_ => (float)random.NextDouble()).ToArray();
            return new Row { Features = x, Label = x[0] + 2 * x[1] };
        }).ToList());
    }

    private static MlpModel Mlp(MLContext ml, IDataView data) => ml.Nas().Trainers.MlpRegression(new MlpTrainer.Options
    {
        HiddenLayerSizes = [8], NumberOfEpochs = 2, Seed = 1,
    }).Fit(data);

    private static PonitaModel Ponita(MLContext ml) => ml.Equivariant().Trainers.Ponita(new PonitaTrainer.Options
    {
        NumberOfOrientations = 4, HiddenSize = 4, NumberOfLayers = 1, NumberOfEpochs = 1, ValidationFraction = 0,
        ForcesColumnName = "Forces", PredictedForcesColumnName = "PredictedForces", Seed = 1,
    }).Fit(ml.Data.LoadFromEnumerable(SyntheticMolecules.Generate(8, 1).ToList()));

    /// <summary>Every object made from a disposed model refuses with <see cref="ObjectDisposedException"/>, many times over.</summary>
    private static void UseAfterDispose()
    {
        var ml = new MLContext(1);
        var data = Tabular(ml, 64);
        var molecule = SyntheticMolecules.Generate(1, 5).Single();
        for (int round = 0; round < 8; round++)
        {
            var mlp = Mlp(ml, data);
            var scored = mlp.Transform(data);
            var perRow = mlp.TransformPerRow(data);
            var engine = ml.Model.CreatePredictionEngine<Row, Prediction>(mlp, new PredictionEngineOptions { OwnsTransformer = false });
            mlp.Dispose();
            ExpectDisposed(() => scored.GetColumn<float>("Score").ToArray());
            ExpectDisposed(() => perRow.GetColumn<float>("Score").ToArray());
            ExpectDisposed(() => engine.Predict(new Row { Features = new float[FeatureCount] }));
            ExpectDisposed(() => mlp.Transform(data));
            ExpectDisposed(() => ml.Model.Save(mlp, data.Schema, new MemoryStream()));

            // A PONITA fit costs seconds (its export and parity checks) where the MLP's costs milliseconds, and the
            // refusals are not timing-dependent: a missing guard fails the first round. Two rounds (the second after
            // several models were disposed) are enough for it; the MLP takes every round.
            if (round % 4 != 0) continue;
            var ponita = Ponita(ml);
            var potential = ponita.Potential;
            var view = ponita.Transform(ml.Data.LoadFromEnumerable(new[] { molecule }));
            ponita.Dispose();
            ExpectDisposed(() => potential.Evaluate(molecule.Positions, molecule.AtomTypes.Select(t => (float)t).ToArray()));
            ExpectDisposed(() => view.GetColumn<float>("Score").ToArray());
            ExpectDisposed(() => ponita.Potential);
        }
    }

    /// <summary>Threads keep scoring while the model is disposed: each either finishes or gets <see cref="ObjectDisposedException"/>.</summary>
    private static void DisposeWhileScoring()
    {
        var ml = new MLContext(1);
        var data = Tabular(ml, 2000);
        var molecule = SyntheticMolecules.Generate(1, 5).Single();
        var types = molecule.AtomTypes.Select(t => (float)t).ToArray();
        for (int round = 0; round < 6; round++)
        {
            var mlp = Mlp(ml, data);
            var ponita = Ponita(ml);
            var engine = ml.Model.CreatePredictionEngine<Row, Prediction>(mlp, new PredictionEngineOptions { OwnsTransformer = false });
            var workers = new[]
            {
                Task.Run(() => Repeat(() => mlp.Transform(data).GetColumn<float>("Score").Sum())),
                Task.Run(() => Repeat(() => mlp.TransformPerRow(data).GetColumn<float>("Score").Sum())),
                Task.Run(() => Repeat(() => ponita.Potential.Evaluate(molecule.Positions, types).Energy)),
            };
            Thread.Sleep(50 + 40 * round);
            mlp.Dispose();
            ponita.Dispose();
            Task.WaitAll(workers);
            ExpectDisposed(() => engine.Predict(new Row { Features = new float[FeatureCount] }));
        }
    }

    private static void Repeat(Func<float> score)
    {
        try
        {
            for (int i = 0; i < 10_000; i++) score();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>Fits, saves and loads models and never disposes them; the caller checks the temp folder after exit.</summary>
    private static List<object> LeaveUndisposed()
    {
        var ml = new MLContext(1);
        var data = Tabular(ml, 64);
        var kept = new List<object>();
        var path = Path.Combine(Path.GetTempPath(), "..", $"probe-{Environment.ProcessId}.zip");
        for (int i = 0; i < 3; i++)
        {
            var model = Mlp(ml, data);
            kept.Add(model);
            ml.Model.Save(model, data.Schema, path);
            kept.Add(ml.Model.Load(path, out _));
            kept.Add(ml.LoadWithBatchedScoring(path, out _));
        }
        File.Delete(path);
        kept.Add(Ponita(ml));
        return kept;
    }

    private static void UnhandledException()
    {
        var kept = LeaveUndisposed();
        var thread = new Thread(() => throw new InvalidOperationException($"probe: unhandled, with {kept.Count} models alive"));
        thread.Start();
        thread.Join();
    }

    private static void ExpectDisposed(Func<object?> use)
    {
        try
        {
            use();
        }
        catch (ObjectDisposedException)
        {
            return;
        }
        throw new InvalidOperationException("A disposed model was used without ObjectDisposedException.");
    }

    private static void ExpectDisposed(Action use) => ExpectDisposed(() => { use(); return null; });
}
