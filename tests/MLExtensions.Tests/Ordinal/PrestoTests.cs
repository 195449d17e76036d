using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Onnx.Scoring;
using MLExtensions.Ordinal;
using MLExtensions.Studies;
using Xunit;
using Xunit.Abstractions;

namespace MLExtensions.Tests.Ordinal;

public class PrestoTests(ITestOutputHelper output)
{
    private static PrestoTrainer.Options Quick(double? lambda = null) => new()
    {
        Lambda = lambda, NumberOfLambdas = 15, NumberOfFolds = 3, Seed = 3,
    };

    /// <summary>Mean log-likelihood written directly from the model's definition, independent of the library's code.</summary>
    private static double MeanLogLikelihood(double[] alpha, double[][] beta, OrdinalSimulationData data)
    {
        int boundaries = alpha.Length;
        double sum = 0;
        for (int i = 0; i < data.Rows; i++)
        {
            var x = data.Row(i);
            double Cumulative(int k) => k < 0 ? 0 : k >= boundaries ? 1 : 1 / (1 + Math.Exp(-(alpha[k] + x.Select((v, j) => v * beta[k][j]).Sum())));
            int y = data.Labels[i];
            sum += Math.Log(Cumulative(y) - Cumulative(y - 1));
        }
        return sum / data.Rows;
    }

    /// <summary>Central finite differences of the mean log-likelihood in every intercept and slope.</summary>
    private static double MaxAbsGradient(PrestoParameters parameters, OrdinalSimulationData data)
    {
        const double h = 1e-5;
        var alpha = parameters.Intercepts.ToArray();
        var beta = parameters.Weights.Select(r => r.ToArray()).ToArray();
        double largest = 0;
        void Probe(Func<double> get, Action<double> set)
        {
            double v = get();
            set(v + h);
            double up = MeanLogLikelihood(alpha, beta, data);
            set(v - h);
            double down = MeanLogLikelihood(alpha, beta, data);
            set(v);
            largest = Math.Max(largest, Math.Abs((up - down) / (2 * h)));
        }
        for (int k = 0; k < alpha.Length; k++)
        {
            int kk = k;
            Probe(() => alpha[kk], v => alpha[kk] = v);
            for (int j = 0; j < beta[k].Length; j++)
            {
                int jj = j;
                Probe(() => beta[kk][jj], v => beta[kk][jj] = v);
            }
        }
        return largest;
    }

    /// <summary>Unpenalised logistic regression of 1{y ≤ k} by Newton's method, written out here.</summary>
    private static double[] SeparateLogistic(OrdinalSimulationData data, int k)
    {
        int p = data.FeatureCount, d = p + 1;
        var theta = new double[d];
        for (int iteration = 0; iteration < 50; iteration++)
        {
            var g = new double[d];
            var h = new double[d, d];
            for (int i = 0; i < data.Rows; i++)
            {
                var z = new[] { 1.0 }.Concat(data.Row(i).Select(v => (double)v)).ToArray();
                double eta = z.Select((v, j) => v * theta[j]).Sum(), prob = 1 / (1 + Math.Exp(-eta));
                double t = data.Labels[i] <= k ? 1 : 0;
                for (int a = 0; a < d; a++)
                {
                    g[a] += (t - prob) * z[a];
                    for (int b = 0; b < d; b++) h[a, b] += prob * (1 - prob) * z[a] * z[b];
                }
            }
            var step = Solve(h, g);
            for (int a = 0; a < d; a++) theta[a] += step[a];
            if (step.Max(Math.Abs) < 1e-12) break;
        }
        return theta;
    }

    private static double[] Solve(double[,] a, double[] b)
    {
        int n = b.Length;
        var m = (double[,])a.Clone();
        var x = (double[])b.Clone();
        for (int c = 0; c < n; c++)
        {
            int pivot = Enumerable.Range(c, n - c).MaxBy(r => Math.Abs(m[r, c]));
            for (int j = 0; j < n; j++) (m[c, j], m[pivot, j]) = (m[pivot, j], m[c, j]);
            (x[c], x[pivot]) = (x[pivot], x[c]);
            for (int r = c + 1; r < n; r++)
            {
                double f = m[r, c] / m[c, c];
                for (int j = c; j < n; j++) m[r, j] -= f * m[c, j];
                x[r] -= f * x[c];
            }
        }
        for (int r = n - 1; r >= 0; r--)
        {
            for (int j = r + 1; j < n; j++) x[r] -= m[r, j] * x[j];
            x[r] /= m[r, r];
        }
        return x;
    }

    [Fact]
    public void At_or_above_lambda_max_the_fit_is_the_intercept_only_model()
    {
        var ml = new MLContext(1);
        var sim = OrdinalTestData.Simulate(800, 11, features: 5);
        var data = OrdinalTestData.ToDataView(ml, sim);
        using var path = ml.Ordinal().Trainers.Presto(Quick()).Fit(data);
        foreach (var lambda in new[] { path.Parameters.LambdaMax, 10 * path.Parameters.LambdaMax })
        {
            using var model = ml.Ordinal().Trainers.Presto(Quick(lambda)).Fit(data);
            Assert.All(model.Parameters.Weights.SelectMany(w => w), w => Assert.Equal(0.0, w));
            for (int k = 0; k < 3; k++)
            {
                double cumulative = sim.Labels.Count(y => y <= k) / (double)sim.Rows;
                Assert.Equal(Math.Log(cumulative / (1 - cumulative)), model.Parameters.Intercepts[k], 9);
            }
        }
        // Just below λ_max some difference enters.
        using (var below = ml.Ordinal().Trainers.Presto(Quick(0.95 * path.Parameters.LambdaMax)).Fit(data))
            Assert.Contains(below.Parameters.Weights.SelectMany(w => w), w => w != 0);
    }

    [Fact]
    public void Lambda_zero_is_the_non_parallel_maximum_likelihood_fit_not_separate_logistic_regressions()
    {
        var ml = new MLContext(1);
        var sim = OrdinalSimulation.Generate(OrdinalDifferences.Dense, 400, 3, [-1, 0.5, 2], seed: 5);
        using var model = ml.Ordinal().Trainers.Presto(Quick(0)).Fit(OrdinalTestData.ToDataView(ml, sim));

        double gradient = MaxAbsGradient(model.Parameters, sim);
        output.WriteLine($"max |∂ log-likelihood| at the λ = 0 fit: {gradient:E2}");
        Assert.True(gradient < 1e-6, $"gradient {gradient}");

        // Boundary k's separate logistic regression differs from the joint fit's boundary k, and the joint fit has
        // the higher joint likelihood: the separate fits are not its maximiser.
        var separate = Enumerable.Range(0, 3).Select(k => SeparateLogistic(sim, k)).ToArray();
        double largestDifference = 0;
        for (int k = 0; k < 3; k++)
        {
            largestDifference = Math.Max(largestDifference, Math.Abs(separate[k][0] - model.Parameters.Intercepts[k]));
            for (int j = 0; j < 3; j++) largestDifference = Math.Max(largestDifference, Math.Abs(separate[k][1 + j] - model.Parameters.Weights[k][j]));
        }
        double joint = MeanLogLikelihood(model.Parameters.Intercepts.ToArray(), model.Parameters.Weights.Select(r => r.ToArray()).ToArray(), sim);
        double separated = MeanLogLikelihood(separate.Select(t => t[0]).ToArray(), separate.Select(t => t.Skip(1).ToArray()).ToArray(), sim);
        output.WriteLine($"largest joint-vs-separate coefficient difference {largestDifference:F4}; mean log-likelihood {joint:F6} vs {separated:F6}");
        Assert.True(largestDifference > 0.01, $"difference {largestDifference}");
        Assert.True(joint > separated + 1e-5, $"{joint} vs {separated}");
    }

    [Fact]
    public void Proportional_odds_is_presto_at_large_lambda_with_the_first_boundary_free()
    {
        var ml = new MLContext(1);
        var sim = OrdinalTestData.Simulate(700, 12, features: 4);
        var data = OrdinalTestData.ToDataView(ml, sim);
        using var po = ml.Ordinal().Trainers.ProportionalOdds().Fit(data);
        var options = Quick(1e3);
        options.PenalizeFirstBoundary = false;
        using var presto = ml.Ordinal().Trainers.Presto(options).Fit(data);
        for (int k = 0; k < 3; k++)
        {
            Assert.Equal(po.Parameters.Intercepts[k], presto.Parameters.Intercepts[k], 7);
            for (int j = 0; j < 4; j++)
            {
                Assert.Equal(po.Parameters.Weights[0][j], po.Parameters.Weights[k][j]);
                Assert.Equal(po.Parameters.Weights[k][j], presto.Parameters.Weights[k][j], 7);
            }
        }
        Assert.True(double.IsPositiveInfinity(po.Parameters.Lambda));
        Assert.True(MaxAbsGradientOfSharedSlope(po.Parameters, sim) < 1e-6);
    }

    /// <summary>Optimality of a proportional-odds fit: the derivative along the shared slope (all boundaries together) vanishes.</summary>
    private static double MaxAbsGradientOfSharedSlope(PrestoParameters parameters, OrdinalSimulationData data)
    {
        const double h = 1e-5;
        var alpha = parameters.Intercepts.ToArray();
        var beta = parameters.Weights.Select(r => r.ToArray()).ToArray();
        double largest = 0;
        for (int j = 0; j < beta[0].Length; j++)
        {
            foreach (var row in beta) row[j] += h;
            double up = MeanLogLikelihood(alpha, beta, data);
            foreach (var row in beta) row[j] -= 2 * h;
            double down = MeanLogLikelihood(alpha, beta, data);
            foreach (var row in beta) row[j] += h;
            largest = Math.Max(largest, Math.Abs((up - down) / (2 * h)));
        }
        return largest;
    }

    private sealed class WineRow
    {
        public float Rating { get; set; }
        [VectorType(2)] public float[] Features { get; set; } = [];
    }

    [Fact]
    public void Proportional_odds_reproduces_the_published_wine_fit()
    {
        // Christensen's ordinal package: clm(rating ~ temp + contact, data = wine) gives thresholds
        // −1.3444, 1.2508, 3.4669, 5.0064 and slopes tempwarm 2.5031, contactyes 1.5278 (logit P(y ≤ k) = θ_k − xᵀb).
        var lines = File.ReadAllLines(SharedData.Path("wine.csv")).Skip(1).Select(l => l.Split(',').Select(f => f.Trim('"')).ToArray());
        var rows = lines.Select(f => new WineRow { Rating = float.Parse(f[1]), Features = [f[2] == "warm" ? 1 : 0, f[3] == "yes" ? 1 : 0] }).ToArray();
        var ml = new MLContext(1);
        using var model = ml.Ordinal().Trainers.ProportionalOdds(labelColumnName: "Rating").Fit(ml.Data.LoadFromEnumerable(rows));
        double[] thresholds = [-1.3444, 1.2508, 3.4669, 5.0064];
        for (int k = 0; k < 4; k++) Assert.Equal(thresholds[k], model.Parameters.Intercepts[k], 3);
        Assert.Equal(-2.5031, model.Parameters.Weights[0][0], 3);
        Assert.Equal(-1.5278, model.Parameters.Weights[0][1], 3);
        // Ranks 1..5 become the classes, and their values come back in PredictedLabel (as text: ML.NET's value maps key text).
        Assert.Equal(["1", "2", "3", "4", "5"], model.Classes.Names);
        var scored = model.Transform(ml.Data.LoadFromEnumerable(rows));
        var predicted = ml.Transforms.Conversion.MapKeyToValue("PredictedRating", "PredictedLabel").Fit(scored).Transform(scored);
        Assert.All(predicted.GetColumn<ReadOnlyMemory<char>>("PredictedRating"), r => Assert.Contains(r.ToString(), model.Classes.Names));
        var metrics = ml.Ordinal().Evaluate(scored, labelColumnName: "Rating");
        Assert.True(metrics.MeanAbsoluteRankError < 1, $"rank error {metrics.MeanAbsoluteRankError}");
    }

    [Fact]
    public void Shifting_or_rescaling_features_leaves_lambda_and_predictions_unchanged()
    {
        var ml = new MLContext(1);
        var sim = OrdinalTestData.Simulate(600, 13, features: 4);
        // Power-of-two scales and small shifts keep the float32 features (nearly) exact, so only the model is tested.
        float[] scale = [4, 0.125f, -2, 64], shift = [-3, 5, 1.5f, 0.25f];
        float[] Transform(float[] x) => x.Select((v, i) => v * scale[i % 4] + shift[i % 4]).ToArray();
        using var original = ml.Ordinal().Trainers.Presto(Quick()).Fit(OrdinalTestData.ToDataView(ml, sim));
        using var moved = ml.Ordinal().Trainers.Presto(Quick()).Fit(OrdinalTestData.ToDataView(ml, Transform(sim.Features), sim.Labels, 4, 4));
        // Only the float32 rounding of the moved features separates the two fits.
        Assert.Equal(1.0, moved.Parameters.Lambda / original.Parameters.Lambda, 6);
        var random = new Random(1);
        for (int i = 0; i < 50; i++)
        {
            var x = Enumerable.Range(0, 4).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
            var a = original.PredictProbabilities(x);
            var b = moved.PredictProbabilities(Transform(x));
            for (int k = 0; k < 4; k++) Assert.True(Math.Abs(a[k] - b[k]) < 1e-6, $"class {k}: {a[k]} vs {b[k]}");
        }
    }

    [Fact]
    public void Onnx_probabilities_match_managed_ones_and_stay_valid_far_outside_the_training_range()
    {
        var ml = new MLContext(1);
        var sim = OrdinalSimulation.Generate(OrdinalDifferences.Dense, 800, 5, [0, 3.5, 5.5], seed: 14);
        using var model = ml.Ordinal().Trainers.Presto(Quick(0.002)).Fit(OrdinalTestData.ToDataView(ml, sim));
        Assert.True(model.ExportParity.RelativeError <= 1e-5, model.ExportParity.ToString());

        var random = new Random(2);
        int crossed = 0;
        foreach (var spread in new[] { 1f, 50f })
        {
            var features = Enumerable.Range(0, 400 * 5).Select(_ => (float)(random.NextDouble() * 2 - 1) * spread).ToArray();
            var scored = model.Transform(OrdinalTestData.ToDataView(ml, features, new int[400], 5, 4));
            var scores = scored.GetColumn<float[]>("Score").ToArray();
            for (int i = 0; i < scores.Length; i++)
            {
                var managed = model.PredictProbabilities(features.AsSpan(i * 5, 5));
                Assert.All(scores[i], p => Assert.InRange(p, 0f, 1f));
                Assert.Equal(1.0, scores[i].Sum(), 5);
                for (int k = 0; k < 4; k++) Assert.True(Math.Abs(scores[i][k] - managed[k]) <= 1e-5, $"row {i} class {k}: {scores[i][k]} vs {managed[k]}");
                var eta = model.Parameters.Intercepts.Select((a, k) => a + features.AsSpan(i * 5, 5).ToArray().Select((v, j) => v * model.Parameters.Weights[k][j]).Sum()).ToArray();
                if (eta.Zip(eta.Skip(1), (lo, hi) => hi < lo).Any(c => c)) crossed++;
            }
        }
        output.WriteLine($"{crossed} scored rows had crossing boundaries and were repaired");
        Assert.True(crossed > 0, "the far-out rows should include crossing boundaries");
    }

    [Fact]
    public void Features_with_large_offsets_export_accurately()
    {
        // Years, timestamps: a mean far from zero relative to the spread must not cost float32 accuracy.
        var ml = new MLContext(1);
        var sim = OrdinalTestData.Simulate(600, 17, features: 3);
        var shifted = sim.Features.Select((v, i) => v + (i % 3 == 0 ? 20_000f : 2_000f)).ToArray();
        using var model = ml.Ordinal().Trainers.Presto(Quick()).Fit(OrdinalTestData.ToDataView(ml, shifted, sim.Labels, 3, 4));
        Assert.True(model.ExportParity.RelativeError <= 1e-5, model.ExportParity.ToString());
    }

    [Fact]
    public void Rare_class_probabilities_beat_logistic_regression_and_proportional_odds_on_the_papers_design()
    {
        var result = RareClassStudy.Run(new MLContext(1), OrdinalDifferences.Sparse, 2500, 10, [0, 3.5, 5.5], replications: 5, seed: 100,
            new PrestoTrainer.Options { NumberOfLambdas = 25 });
        output.WriteLine($"median MSE ratio vs logistic regression {result.MedianRatioToLogisticRegression:F3}, vs proportional odds {result.MedianRatioToProportionalOdds:F3}");
        Assert.True(result.MedianRatioToLogisticRegression < 1);
        Assert.True(result.MedianRatioToProportionalOdds < 1);
    }

    [Fact]
    public void Scores_evaluate_predict_and_survive_save_and_load()
    {
        var ml = new MLContext(1);
        var data = OrdinalTestData.ToDataView(ml, OrdinalTestData.Simulate(900, 15, features: 6));
        using var model = ml.Ordinal().Trainers.Presto(Quick()).Fit(data);
        var scored = model.Transform(data);
        var multiclass = ml.MulticlassClassification.Evaluate(scored);
        Assert.True(multiclass.MicroAccuracy > 0.5);
        var ordinal = ml.Ordinal().Evaluate(scored);
        Assert.Equal("3", ordinal.RareClass.Name);
        Assert.InRange(ordinal.BrierScore, 0, 1);

        using var stream = new MemoryStream();
        ml.Model.Save(model, data.Schema, stream);
        stream.Position = 0;
        var loaded = new MLContext().LoadWithBatchedScoring(stream, out _);
        Assert.Equal(scored.GetColumn<float[]>("Score").SelectMany(s => s), loaded.Transform(data).GetColumn<float[]>("Score").SelectMany(s => s));
        (loaded as IDisposable)?.Dispose();
        Assert.NotEmpty(model.Parameters.LambdaPath);
        Assert.Equal(model.Parameters.LambdaPath.Count, model.Parameters.CrossValidationScores.Count);
        Assert.Equal(model.Parameters.CrossValidationScores.Min(), model.Parameters.CrossValidationScores[model.Parameters.LambdaIndex]);
    }

    [Fact]
    public void Same_seed_same_model_and_backends_agree()
    {
        var ml = new MLContext(1);
        var data = OrdinalTestData.ToDataView(ml, OrdinalTestData.Simulate(700, 16, features: 5));
        PrestoParameters Fit(OrdinalSolverBackend backend)
        {
            var options = Quick();
            options.Backend = backend;
            using var model = ml.Ordinal().Trainers.Presto(options).Fit(data);
            return model.Parameters;
        }
        var managed = Fit(OrdinalSolverBackend.Managed);
        var again = Fit(OrdinalSolverBackend.Managed);
        var torch = Fit(OrdinalSolverBackend.TorchSharp);
        Assert.Equal(managed.Intercepts, again.Intercepts);
        Assert.Equal(managed.Weights.SelectMany(w => w), again.Weights.SelectMany(w => w));
        Assert.Equal(1.0, torch.Lambda / managed.Lambda, 12);
        for (int k = 0; k < 3; k++)
        {
            Assert.Equal(managed.Intercepts[k], torch.Intercepts[k], 6);
            for (int j = 0; j < 5; j++) Assert.Equal(managed.Weights[k][j], torch.Weights[k][j], 6);
        }
    }
}
