using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Plotting;
using MLExtensions.Ordinal;
using MLExtensions.Studies;
using Xunit;

namespace MLExtensions.Tests.Ordinal;

/// <summary>The ordinalNet/glmnet controls: a given λ sequence, penalty factors, the CV metric and the one-standard-error rule.</summary>
public class PrestoPathOptionsTests
{
    private static PrestoTrainer.Options Options() => new() { NumberOfLambdas = 12, NumberOfFolds = 3, Seed = 1 };

    [Fact]
    public void A_given_lambda_sequence_is_the_path_fitted_and_bad_sequences_are_refused()
    {
        var ml = new MLContext(1);
        var data = OrdinalTestData.ToDataView(ml, OrdinalTestData.Simulate(500, 21, features: 4));
        var options = Options();
        options.LambdaSequence = [0.05, 0.02, 0.01, 0.005];
        using var model = ml.Ordinal().Trainers.Presto(options).Fit(data);
        Assert.Equal(options.LambdaSequence, model.Parameters.LambdaPath);
        Assert.Contains(model.Parameters.Lambda, options.LambdaSequence);
        Assert.Equal(4, model.Parameters.CrossValidationScores.Count);
        Assert.Contains("decrease", Assert.Throws<ArgumentException>(() => ml.Ordinal().Trainers.Presto(new PrestoTrainer.Options { LambdaSequence = [0.1, 0.2] })).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ordinal().Trainers.Presto(new PrestoTrainer.Options { LambdaSequence = [0.1, -0.2] }));
    }

    [Fact]
    public void A_zero_penalty_factor_leaves_that_features_differences_free_and_lambda_max_ignores_it()
    {
        var ml = new MLContext(1);
        var data = OrdinalTestData.ToDataView(ml, OrdinalTestData.Simulate(800, 22, features: 4));
        using var reference = ml.Ordinal().Trainers.Presto(Options()).Fit(data);
        var options = Options();
        options.PenaltyFactors = [0, 1, 1, 1];
        options.Lambda = 10 * reference.Parameters.LambdaMax;
        using var model = ml.Ordinal().Trainers.Presto(options).Fit(data);
        // Far above λ_max every penalised coefficient is zero, the unpenalised feature is not.
        Assert.All(model.Parameters.Weights, row => Assert.All(row.Skip(1), w => Assert.Equal(0.0, w)));
        Assert.Contains(model.Parameters.Weights, row => row[0] != 0);
        var wrong = Options();
        wrong.PenaltyFactors = [1, 1];
        Assert.Contains("PenaltyFactors", Assert.Throws<ArgumentException>(() => ml.Ordinal().Trainers.Presto(wrong).Fit(data)).Message);
        var negative = Options();
        negative.PenaltyFactors = [1, -1, 1, 1];
        Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ordinal().Trainers.Presto(negative));
    }

    [Fact]
    public void Each_metric_scores_the_path_and_the_one_standard_error_rule_picks_a_larger_lambda_within_one_error()
    {
        var ml = new MLContext(1);
        var data = OrdinalTestData.ToDataView(ml, OrdinalTestData.Simulate(600, 23, features: 5));
        var curves = new List<double[]>();
        foreach (var metric in Enum.GetValues<PrestoCrossValidationMetric>())
        {
            var options = Options();
            options.CrossValidationMetric = metric;
            using var best = ml.Ordinal().Trainers.Presto(options).Fit(data);
            options.UseOneStandardErrorRule = true;
            using var sparse = ml.Ordinal().Trainers.Presto(options).Fit(data);
            var scores = best.Parameters.CrossValidationScores;
            curves.Add(scores.ToArray());
            int bestIndex = best.Parameters.LambdaIndex;
            Assert.Equal(scores.Min(), scores[bestIndex], 12);
            Assert.True(sparse.Parameters.Lambda >= best.Parameters.Lambda, $"{metric}: 1-SE λ {sparse.Parameters.Lambda} < best λ {best.Parameters.Lambda}");
            int sparseIndex = sparse.Parameters.LambdaIndex;
            Assert.True(scores[sparseIndex] <= scores[bestIndex] + best.Parameters.CrossValidationStandardErrors[bestIndex] + 1e-12, metric.ToString());
            if (metric == PrestoCrossValidationMetric.Misclassification) Assert.All(scores, s => Assert.InRange(s, 0, 1));
            if (metric == PrestoCrossValidationMetric.LogLikelihood) Assert.All(scores, s => Assert.True(s > 0));
        }
        // Four different curves: the metric reaches the cross-validation.
        Assert.Equal(4, curves.Select(c => string.Join(",", c)).Distinct().Count());
    }

    [Fact]
    public void Elastic_net_mixing_scales_lambda_max_keeps_ridge_dense_and_lasso_sparse()
    {
        var ml = new MLContext(1);
        var data = OrdinalTestData.ToDataView(ml, OrdinalTestData.Simulate(800, 24, features: 5));
        PrestoModel Fit(double alpha, double? lambda)
        {
            var options = Options();
            (options.Alpha, options.Lambda) = (alpha, lambda);
            return ml.Ordinal().Trainers.Presto(options).Fit(data);
        }
        using var lasso = Fit(1, null);
        using var half = Fit(0.5, 0.3 * lasso.Parameters.LambdaMax);
        // λ_max is where the L1 part α·λ·f first lets a difference move: halving α doubles it.
        Assert.Equal(2 * lasso.Parameters.LambdaMax, half.Parameters.LambdaMax, 9);
        double lambda = 0.3 * lasso.Parameters.LambdaMax;
        using var sparse = Fit(1, lambda);
        using var ridge = Fit(0, lambda);
        int Zeros(PrestoModel m) => m.Parameters.Differences.Skip(1).SelectMany(d => d).Count(d => d == 0);
        Assert.True(Zeros(sparse) > 0, "the lasso at 0.3 λ_max sets some differences to zero");
        Assert.Equal(0, Zeros(ridge));
        Assert.True(Zeros(half) <= Zeros(sparse), $"elastic net zeros {Zeros(half)} > lasso zeros {Zeros(sparse)}");
        Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ordinal().Trainers.Presto(new PrestoTrainer.Options { Alpha = 1.5 }));
    }

    [Fact]
    public void Path_diagnostics_start_at_the_null_model_grow_along_the_path_and_match_the_models_own_likelihood()
    {
        var ml = new MLContext(1);
        var sim = OrdinalTestData.Simulate(700, 25, features: 4);
        var data = OrdinalTestData.ToDataView(ml, sim);
        using var model = ml.Ordinal().Trainers.Presto(Options()).Fit(data);
        var points = model.Parameters.PathDiagnostics;
        Assert.Equal(model.Parameters.LambdaPath, points.Select(p => p.Lambda));
        Assert.Equal(0, points[0].DevianceExplained, 9); // λ_max: the null model
        Assert.Equal(0, points[0].NonzeroDifferences);
        for (int i = 1; i < points.Count; i++)
            Assert.True(points[i].LogLikelihood >= points[i - 1].LogLikelihood - 1e-6, $"log-likelihood fell at λ {points[i].Lambda}");
        Assert.All(points, p => Assert.Equal(-2 * p.LogLikelihood + 2 * p.DegreesOfFreedom, p.Aic, 9));
        Assert.All(points, p => Assert.Equal(-2 * p.LogLikelihood + Math.Log(700) * p.DegreesOfFreedom, p.Bic, 9));

        // The chosen λ's log-likelihood is the fitted model's own, computed from its scored class probabilities.
        var chosen = points.Single(p => p.Lambda == model.Parameters.Lambda);
        var probabilities = model.Transform(data).GetColumn<float[]>("Score").ToArray();
        double logLikelihood = probabilities.Select((p, i) => Math.Log(p[sim.Labels[i]])).Sum();
        Assert.Equal(logLikelihood, chosen.LogLikelihood, 1);

        var fixedOptions = Options();
        fixedOptions.Lambda = model.Parameters.Lambda;
        using var fixedModel = ml.Ordinal().Trainers.Presto(fixedOptions).Fit(data);
        Assert.Single(fixedModel.Parameters.PathDiagnostics);
    }

    public sealed class GroupedRow
    {
        [VectorType(4)] public float[] Features { get; set; } = [];
        public float Label { get; set; }
        public string Fold { get; set; } = "";
    }

    [Fact]
    public void A_fold_column_sets_the_folds_so_the_seed_no_longer_matters_and_bad_folds_are_named()
    {
        var ml = new MLContext(1);
        var sim = OrdinalSimulation.Generate(OrdinalDifferences.Sparse, 600, 4, [-1, 0.5, 2], seed: 26);
        var rows = Enumerable.Range(0, sim.Rows).Select(i => new GroupedRow
        {
            Features = sim.Features.AsSpan(i * 4, 4).ToArray(), Label = sim.Labels[i], Fold = $"site {i % 4}",
        }).ToArray();
        var data = ml.Data.LoadFromEnumerable(rows);
        double[] Scores(int seed, string? foldColumn)
        {
            var options = Options();
            (options.Seed, options.FoldColumnName) = (seed, foldColumn);
            using var model = ml.Ordinal().Trainers.Presto(options).Fit(data);
            return model.Parameters.CrossValidationScores.ToArray();
        }
        Assert.Equal(Scores(1, "Fold"), Scores(2, "Fold"));
        Assert.NotEqual(Scores(1, null), Scores(2, null));
        Assert.NotEqual(Scores(1, "Fold"), Scores(1, null));

        var single = ml.Data.LoadFromEnumerable(rows.Select(r => new GroupedRow { Features = r.Features, Label = r.Label, Fold = "one" }).ToArray());
        var options = Options();
        options.FoldColumnName = "Fold";
        Assert.Contains("single value", Assert.Throws<InvalidDataException>(() => ml.Ordinal().Trainers.Presto(options).Fit(single)).Message);
        options.FoldColumnName = "Site";
        Assert.Contains("'Site'", Assert.ThrowsAny<ArgumentException>(() => ml.Ordinal().Trainers.Presto(options).Fit(data)).Message);
    }

    [Fact]
    public void The_path_and_the_cross_validation_curve_are_plotted_as_svg_or_png_and_the_chosen_point_is_the_model()
    {
        var ml = new MLContext(1);
        var data = OrdinalTestData.ToDataView(ml, OrdinalTestData.Simulate(500, 27, features: 3));
        using var model = ml.Ordinal().Trainers.Presto(Options()).Fit(data);
        var chosen = model.Parameters.PathDiagnostics.Single(p => p.Lambda == model.Parameters.Lambda);
        for (int k = 0; k < chosen.Differences.Count; k++)
            for (int j = 0; j < chosen.Differences[k].Count; j++)
                Assert.Equal(model.Parameters.Differences[k][j], chosen.Differences[k][j], 9);
        var folder = Directory.CreateTempSubdirectory("presto-plots").FullName;
        try
        {
            foreach (var name in new[] { "path.svg", "path.png", "cv.svg", "cv.png" })
            {
                var file = Path.Combine(folder, name);
                if (name.StartsWith("path")) model.Parameters.SavePathPlot(file); else model.Parameters.SaveCrossValidationPlot(file);
                var bytes = File.ReadAllBytes(file);
                if (name.EndsWith(".png")) Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes.Take(4).ToArray());
                else Assert.Contains("<svg", System.Text.Encoding.UTF8.GetString(bytes));
            }
            Assert.Contains("chosen λ", File.ReadAllText(Path.Combine(folder, "cv.svg")));
            Assert.Throws<ArgumentException>(() => model.Parameters.SavePathPlot(Path.Combine(folder, "path.gif")));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
        var fixedOptions = Options();
        fixedOptions.Lambda = model.Parameters.Lambda;
        using var fixedModel = ml.Ordinal().Trainers.Presto(fixedOptions).Fit(data);
        Assert.Throws<InvalidOperationException>(() => fixedModel.Parameters.SaveCrossValidationPlot("cv.svg"));
    }
}
