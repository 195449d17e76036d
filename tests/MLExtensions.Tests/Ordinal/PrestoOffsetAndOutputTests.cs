using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Onnx.Scoring;
using MLExtensions.Ordinal;
using Xunit;
using Xunit.Abstractions;

namespace MLExtensions.Tests.Ordinal;

/// <summary>Offsets (issue 24, item 1), the cumulative-probability and linear-predictor outputs and the proportional-odds test (item 4).</summary>
public class PrestoOffsetAndOutputTests(ITestOutputHelper output)
{
    private const int FeatureCount = 3;

    private sealed class Row
    {
        [VectorType(FeatureCount)]
        public float[] Features { get; set; } = [];

        /// <summary>Ranks 0..K−1 (a Single label: class order = numeric order).</summary>
        public float Label { get; set; }

        public float Offset { get; set; }
    }

    private sealed class RowWithoutOffset
    {
        [VectorType(FeatureCount)]
        public float[] Features { get; set; } = [];

        public float Label { get; set; }
    }

    /// <summary>
    /// Rows of <c>P(y ≤ k | x) = σ(α_k + xᵀβ_k + offset)</c> drawn directly from that definition (K = 4 classes), with
    /// x ~ N(0, 1) and the offsets <paramref name="offsetOf"/> gives each row.
    /// </summary>
    private static Row[] Generate(int rows, int seed, double[] alpha, double[][] beta, Func<Random, double> offsetOf)
    {
        var random = new Random(seed);
        var result = new Row[rows];
        for (int i = 0; i < rows; i++)
        {
            var x = Enumerable.Range(0, FeatureCount).Select(_ => (float)Normal(random)).ToArray();
            float offset = (float)offsetOf(random);
            double u = random.NextDouble(), running = 0;
            int y = alpha.Length;
            for (int k = 0; k < alpha.Length; k++)
            {
                double eta = alpha[k] + offset + x.Select((v, j) => v * beta[k][j]).Sum();
                running = Math.Max(running, 1 / (1 + Math.Exp(-eta)));
                if (u <= running)
                {
                    y = k;
                    break;
                }
            }
            result[i] = new Row { Features = x, Label = y, Offset = offset };
        }
        return result;
    }

    private static double Normal(Random random) => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    private static readonly double[] Alpha = [-1.5, 0, 1.5];

    private static readonly double[][] Parallel = [[0.8, -0.5, 0.3], [0.8, -0.5, 0.3], [0.8, -0.5, 0.3]];

    private static readonly double[][] NonParallel = [[0.2, -0.5, 0.3], [0.8, -0.5, 0.3], [1.6, -0.5, 0.3]];

    private static IDataView View(MLContext ml, Row[] rows) => ml.Data.LoadFromEnumerable(rows);

    private static IDataView ViewWithoutOffset(MLContext ml, Row[] rows) =>
        ml.Data.LoadFromEnumerable(rows.Select(r => new RowWithoutOffset { Features = r.Features, Label = r.Label }));

    [Fact]
    public void A_constant_offset_shifts_every_intercept_and_leaves_the_weights_and_the_cross_validation()
    {
        var ml = new MLContext(1);
        const float c = 0.75f;
        var rows = Generate(500, 1, Alpha, NonParallel, _ => 0).Select(r => new Row { Features = r.Features, Label = r.Label, Offset = c }).ToArray();
        PrestoTrainer.Options Options(string? offset) => new() { NumberOfLambdas = 8, NumberOfFolds = 3, Seed = 3, OffsetColumnName = offset, TestProportionalOdds = false };
        using var plain = ml.Ordinal().Trainers.Presto(Options(null)).Fit(View(ml, rows));
        using var shifted = ml.Ordinal().Trainers.Presto(Options("Offset")).Fit(View(ml, rows));

        // logit P(y ≤ k) = α_k + xᵀβ_k + c: the intercepts absorb −c.
        Assert.Equal("Offset", shifted.Parameters.OffsetColumnName);
        // λ_max comes from the fitted intercepts with an offset, from the class frequencies without: equal up to round-off.
        Assert.Equal(1, shifted.Parameters.Lambda / plain.Parameters.Lambda, 9);
        for (int l = 0; l < plain.Parameters.CrossValidationScores.Count; l++)
            Assert.Equal(1, shifted.Parameters.CrossValidationScores[l] / plain.Parameters.CrossValidationScores[l], 7);
        for (int k = 0; k < 3; k++)
        {
            Assert.Equal(plain.Parameters.Intercepts[k] - c, shifted.Parameters.Intercepts[k], 6);
            for (int j = 0; j < FeatureCount; j++) Assert.Equal(plain.Parameters.Weights[k][j], shifted.Parameters.Weights[k][j], 6);
        }

        // The same for the proportional-odds trainer, and the scores do not move.
        using var poPlain = ml.Ordinal().Trainers.ProportionalOdds(new ProportionalOddsTrainer.Options()).Fit(View(ml, rows));
        using var poShifted = ml.Ordinal().Trainers.ProportionalOdds(new ProportionalOddsTrainer.Options { OffsetColumnName = "Offset" }).Fit(View(ml, rows));
        for (int k = 0; k < 3; k++)
        {
            Assert.Equal(poPlain.Parameters.Intercepts[k] - c, poShifted.Parameters.Intercepts[k], 6);
            Assert.Equal(poPlain.Parameters.Weights[k][0], poShifted.Parameters.Weights[k][0], 6);
        }
        var a = poPlain.Transform(View(ml, rows)).GetColumn<float[]>("Score").SelectMany(s => s).ToArray();
        var b = poShifted.Transform(View(ml, rows)).GetColumn<float[]>("Score").SelectMany(s => s).ToArray();
        Assert.All(a.Zip(b), pair => Assert.True(Math.Abs(pair.First - pair.Second) <= 1e-5));
    }

    [Fact]
    public void Both_backends_use_the_offset_alike_and_the_same_seed_gives_the_same_model()
    {
        var ml = new MLContext(1);
        var data = View(ml, Generate(400, 8, Alpha, NonParallel, r => 3 * r.NextDouble() - 1.5));
        PrestoParameters Fit(OrdinalSolverBackend backend)
        {
            var options = new PrestoTrainer.Options { NumberOfLambdas = 6, NumberOfFolds = 3, Seed = 5, OffsetColumnName = "Offset", Backend = backend };
            using var model = ml.Ordinal().Trainers.Presto(options).Fit(data);
            return model.Parameters;
        }
        var managed = Fit(OrdinalSolverBackend.Managed);
        var again = Fit(OrdinalSolverBackend.Managed);
        var torch = Fit(OrdinalSolverBackend.TorchSharp);
        Assert.Equal(managed.Intercepts, again.Intercepts);
        Assert.Equal(managed.Weights.SelectMany(w => w), again.Weights.SelectMany(w => w));
        Assert.Equal(managed.ProportionalOddsTest, again.ProportionalOddsTest);
        Assert.Equal(1.0, torch.Lambda / managed.Lambda, 9);
        for (int k = 0; k < 3; k++)
        {
            Assert.Equal(managed.Intercepts[k], torch.Intercepts[k], 6);
            for (int j = 0; j < FeatureCount; j++) Assert.Equal(managed.Weights[k][j], torch.Weights[k][j], 6);
        }
        Assert.Equal(managed.ProportionalOddsTest!.Statistic, torch.ProportionalOddsTest!.Statistic, 5);
    }

    [Fact]
    public void A_known_exposure_offset_raises_the_held_out_likelihood()
    {
        var ml = new MLContext(1);
        Func<Random, double> exposure = r => Math.Log(0.1 + 10 * r.NextDouble());
        var train = Generate(600, 2, Alpha, Parallel, exposure);
        var test = Generate(3000, 3, Alpha, Parallel, exposure);
        double HeldOut(string? offset)
        {
            var options = new PrestoTrainer.Options { NumberOfLambdas = 8, NumberOfFolds = 3, Seed = 3, OffsetColumnName = offset, TestProportionalOdds = false };
            using var model = ml.Ordinal().Trainers.Presto(options).Fit(View(ml, train));
            var scores = model.Transform(View(ml, test)).GetColumn<float[]>("Score").ToArray();
            return scores.Select((s, i) => Math.Log(Math.Max(s[(int)test[i].Label], 1e-12))).Average();
        }
        double with = HeldOut("Offset"), without = HeldOut(null);
        output.WriteLine($"held-out mean log-likelihood: with the offset {with:F4}, without {without:F4}");
        Assert.True(with > without + 0.02, $"with {with}, without {without}");
    }

    [Fact]
    public void An_offset_model_agrees_with_onnx_survives_save_and_load_and_refuses_a_missing_or_bad_offset()
    {
        var ml = new MLContext(1);
        var rows = Generate(500, 4, Alpha, NonParallel, r => 2 * r.NextDouble() - 1);
        var data = View(ml, rows);
        using var model = ml.Ordinal().Trainers.Presto(new PrestoTrainer.Options { Lambda = 0.003, OffsetColumnName = "Offset" }).Fit(data);
        Assert.True(model.ExportParity.RelativeError <= 1e-5, model.ExportParity.ToString());

        // ONNX Runtime (through the scoring chain) against the managed double-precision probabilities, offsets included.
        var scores = model.Transform(data).GetColumn<float[]>("Score").ToArray();
        for (int i = 0; i < rows.Length; i++)
        {
            var managed = model.PredictProbabilities(rows[i].Features, rows[i].Offset);
            var withoutOffset = model.PredictProbabilities(rows[i].Features);
            for (int k = 0; k < 4; k++) Assert.True(Math.Abs(scores[i][k] - managed[k]) <= 1e-5 * Math.Max(1, managed[k]), $"row {i} class {k}: {scores[i][k]} vs {managed[k]}");
            if (i < 20 && Math.Abs(rows[i].Offset) > 0.2) Assert.True(Math.Abs(managed[0] - withoutOffset[0]) > 1e-3);
        }

        using var stream = new MemoryStream();
        ml.Model.Save(model, data.Schema, stream);
        stream.Position = 0;
        var loaded = new MLContext().LoadWithBatchedScoring(stream, out _);
        Assert.Equal(scores.SelectMany(s => s), loaded.Transform(data).GetColumn<float[]>("Score").SelectMany(s => s));

        var missing = Assert.ThrowsAny<Exception>(() => model.Transform(ViewWithoutOffset(ml, rows)).GetColumn<float[]>("Score").ToArray());
        output.WriteLine(missing.Message);
        Assert.Contains("Offset", missing.Message);
        var bad = rows.Select((r, i) => new Row { Features = r.Features, Label = r.Label, Offset = i == 7 ? float.NaN : r.Offset }).ToArray();
        var refused = Assert.ThrowsAny<Exception>(() => model.Transform(View(ml, bad)).GetColumn<float[]>("Score").ToArray());
        output.WriteLine(refused.Message);
        Assert.Contains("Offset", refused.Message);
        Assert.Contains("7", refused.Message);
        (loaded as IDisposable)?.Dispose();

        // Training refuses a NaN offset by column and row too.
        var trainingRefusal = Assert.Throws<InvalidDataException>(() => ml.Ordinal().Trainers.Presto(new PrestoTrainer.Options { Lambda = 0.003, OffsetColumnName = "Offset" }).Fit(View(ml, bad)));
        Assert.Contains("'Offset'", trainingRefusal.Message);
        Assert.Contains("row 7", trainingRefusal.Message);
    }

    [Fact]
    public void Cumulative_probabilities_and_linear_predictors_are_optional_outputs_in_the_onnx_graph()
    {
        var ml = new MLContext(1);
        var rows = Generate(400, 5, Alpha, NonParallel, r => r.NextDouble() - 0.5);
        var data = View(ml, rows);
        var options = new PrestoTrainer.Options
        {
            Lambda = 0.003, OffsetColumnName = "Offset", CumulativeProbabilitiesColumnName = "Cumulative", LinearPredictorsColumnName = "Eta", TestProportionalOdds = false,
        };
        var trainer = ml.Ordinal().Trainers.Presto(options);
        var shape = trainer.GetOutputSchema(EstimatorContractTests.ShapeOf(data.Schema));
        Assert.Contains(shape, c => c.Name == "Cumulative");
        Assert.Contains(shape, c => c.Name == "Eta");
        using var model = trainer.Fit(data);
        var scored = model.Transform(data);
        var scores = scored.GetColumn<float[]>("Score").ToArray();
        var cumulative = scored.GetColumn<float[]>("Cumulative").ToArray();
        var eta = scored.GetColumn<float[]>("Eta").ToArray();
        for (int i = 0; i < rows.Length; i++)
        {
            Assert.Equal(4, cumulative[i].Length);
            Assert.Equal(1f, cumulative[i][3]);
            double partial = 0;
            for (int k = 0; k < 4; k++)
            {
                if (k > 0) Assert.True(cumulative[i][k] >= cumulative[i][k - 1], $"row {i}: not monotone");
                partial += scores[i][k];
                Assert.True(Math.Abs(cumulative[i][k] - partial) <= 1e-5, $"row {i} boundary {k}: {cumulative[i][k]} vs Σ scores {partial}");
            }
            var managed = PrestoModel.LinearPredictors(model.Parameters, rows[i].Features, rows[i].Offset);
            Assert.Equal(3, eta[i].Length);
            for (int k = 0; k < 3; k++) Assert.True(Math.Abs(eta[i][k] - managed[k]) <= 1e-5 * Math.Max(1, Math.Abs(managed[k])), $"row {i} η_{k}: {eta[i][k]} vs {managed[k]}");
        }

        // This chain scores row by row (block scoring does not make the extra outputs): it refuses a NaN offset as clearly.
        var bad = rows.Select((r, i) => new Row { Features = r.Features, Label = r.Label, Offset = i == 3 ? float.PositiveInfinity : r.Offset }).ToArray();
        var refused = Assert.ThrowsAny<Exception>(() => model.Transform(View(ml, bad)).GetColumn<float[]>("Score").ToArray());
        output.WriteLine(refused.Message);
        Assert.Contains("Offset", refused.Message);
        Assert.Contains("row 3", refused.Message);

        // Saved and loaded, the outputs are still there; without the options they are not produced.
        using var stream = new MemoryStream();
        ml.Model.Save(model, data.Schema, stream);
        stream.Position = 0;
        var loaded = new MLContext().Model.Load(stream, out _);
        Assert.Equal(cumulative.SelectMany(c => c), loaded.Transform(data).GetColumn<float[]>("Cumulative").SelectMany(c => c));
        (loaded as IDisposable)?.Dispose();
        using var plain = ml.Ordinal().Trainers.Presto(new PrestoTrainer.Options { Lambda = 0.003, OffsetColumnName = "Offset", TestProportionalOdds = false }).Fit(data);
        Assert.Null(plain.Transform(data).Schema.GetColumnOrNull("Cumulative"));
        Assert.Throws<ArgumentException>(() => ml.Ordinal().Trainers.Presto(new PrestoTrainer.Options { LinearPredictorsColumnName = "Score" }));
        Assert.Throws<NotSupportedException>(() => ml.Ordinal().Trainers.Presto(new PrestoTrainer.Options { OffsetColumnName = "Offset", StreamData = true }));
    }

    [Fact]
    public void The_likelihood_ratio_test_rejects_non_proportional_effects_and_not_proportional_ones()
    {
        var ml = new MLContext(1);
        ProportionalOddsTest Test(double[][] beta, int seed, out IDataView data)
        {
            data = View(ml, Generate(1500, seed, Alpha, beta, _ => 0));
            using var model = ml.Ordinal().Trainers.Presto(new PrestoTrainer.Options { Lambda = 0.01 }).Fit(data);
            return model.Parameters.ProportionalOddsTest!;
        }
        var nonParallel = Test(NonParallel, 6, out var nonParallelData);
        var parallel = Test(Parallel, 7, out _);
        output.WriteLine($"non-proportional data: {nonParallel}");
        output.WriteLine($"proportional data: {parallel}");
        Assert.Equal(FeatureCount * (4 - 2), nonParallel.DegreesOfFreedom);
        Assert.True(nonParallel.Converged && parallel.Converged);
        Assert.True(nonParallel.PValue < 1e-3, $"p = {nonParallel.PValue}");
        Assert.True(parallel.PValue > 0.05, $"p = {parallel.PValue}");

        // The two log-likelihoods are those of the proportional-odds trainer and of PRESTO at λ = 0.
        using var po = ml.Ordinal().Trainers.ProportionalOdds().Fit(nonParallelData);
        using var unpenalised = ml.Ordinal().Trainers.Presto(new PrestoTrainer.Options { Lambda = 0, TestProportionalOdds = false }).Fit(nonParallelData);
        Assert.Equal(po.Parameters.PathDiagnostics[0].LogLikelihood, nonParallel.ProportionalOddsLogLikelihood, 5);
        Assert.Equal(unpenalised.Parameters.PathDiagnostics[0].LogLikelihood, nonParallel.NonParallelLogLikelihood, 5);
        Assert.Equal(2 * (nonParallel.NonParallelLogLikelihood - nonParallel.ProportionalOddsLogLikelihood), nonParallel.Statistic, 9);
    }

    [Fact]
    public void The_proportional_odds_test_is_calibrated_over_seeds_on_proportional_data()
    {
        // Under the null the p-values are uniform: over 12 seeds at most a few fall below 0.1 (12·0.1 = 1.2 expected).
        var ml = new MLContext(1);
        var pValues = Enumerable.Range(20, 12).Select(seed =>
        {
            using var model = ml.Ordinal().Trainers.Presto(new PrestoTrainer.Options { Lambda = 0.05 }).Fit(View(ml, Generate(800, seed, Alpha, Parallel, _ => 0)));
            return model.Parameters.ProportionalOddsTest!.PValue;
        }).ToArray();
        output.WriteLine(string.Join(", ", pValues.Select(p => p.ToString("F3"))));
        Assert.True(pValues.Count(p => p < 0.1) <= 4);
        Assert.True(pValues.Count(p => p > 0.5) >= 3, "p-values should spread over (0, 1), not pile up near 0");
    }

    [Fact]
    public void Chi_square_upper_tail_matches_known_values()
    {
        foreach (var x in new[] { 0.1, 1.0, 3.0, 10.0, 40.0 }) Assert.Equal(Math.Exp(-x / 2), ChiSquare.UpperTail(x, 2), 12);
        Assert.Equal(0.05, ChiSquare.UpperTail(3.841458820694124, 1), 10);
        Assert.Equal(0.05, ChiSquare.UpperTail(12.591587243743977, 6), 10);
        Assert.Equal(0.01, ChiSquare.UpperTail(50.89218131151707, 30), 6);
        Assert.Equal(1.0, ChiSquare.UpperTail(0, 4));
    }
}
