using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Ordinal;
using MLExtensions.Studies;
using Xunit;

namespace MLExtensions.Tests.Ordinal;

/// <summary><c>PrestoTrainer.Options.RareClass</c>: cross-validation on the named class's Brier score, and its checks.</summary>
public class PrestoRareClassTests
{
    private sealed class RankRow
    {
        public float[] Features { get; set; } = [];
        public float Label { get; set; }
        public float Fold { get; set; }
    }

    /// <summary>Simulated rows with a rank label ("1".."4") and a fold column (row index mod 3).</summary>
    private static (IDataView View, OrdinalSimulationData Data) Ranked(MLContext ml, int rows, int seed, int features = 5)
    {
        var data = OrdinalTestData.Simulate(rows, seed, features: features);
        var schema = SchemaDefinition.Create(typeof(RankRow));
        schema[nameof(RankRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, features);
        var view = ml.Data.LoadFromEnumerable(Enumerable.Range(0, data.Rows)
            .Select(i => new RankRow { Features = data.Row(i), Label = data.Labels[i] + 1, Fold = i % 3 }).ToArray(), schema);
        return (view, data);
    }

    [Fact]
    public void Naming_the_rare_class_makes_it_the_cross_validation_criterion_unless_the_metric_is_set()
    {
        var options = new PrestoTrainer.Options();
        Assert.Equal(PrestoCrossValidationMetric.Brier, options.CrossValidationMetric);
        options.RareClass = "1";
        Assert.Equal(PrestoCrossValidationMetric.RareClassBrier, options.CrossValidationMetric);
        options.CrossValidationMetric = PrestoCrossValidationMetric.RareClassBrier;
        _ = new PrestoTrainer(new MLContext(1), options); // agreeing settings are fine
    }

    [Fact]
    public void The_reported_scores_are_the_named_class_s_held_out_Brier_score_computed_independently()
    {
        // Far above λ_max every fold's fit is the null model, whose class probabilities are that fold's training
        // frequencies: the held-out Brier score of class r is then known in closed form. Class "2" sits in the middle,
        // so a trainer that ignored RareClass (all-class Brier, or the last class's) would report something else.
        var ml = new MLContext(1);
        var (view, data) = Ranked(ml, 600, seed: 41);
        foreach (var rare in new[] { 0, 1, 3 })
        {
            var options = new PrestoTrainer.Options { RareClass = (rare + 1).ToString(), FoldColumnName = "Fold", LambdaSequence = [1e3], TestProportionalOdds = false, Seed = 1 };
            using var model = ml.Ordinal().Trainers.Presto(options).Fit(view);
            double expected = 0;
            for (int fold = 0; fold < 3; fold++)
            {
                var training = Enumerable.Range(0, data.Rows).Where(i => i % 3 != fold).ToArray();
                double frequency = training.Count(i => data.Labels[i] == rare) / (double)training.Length;
                expected += Enumerable.Range(0, data.Rows).Where(i => i % 3 == fold).Sum(i => Math.Pow((data.Labels[i] == rare ? 1 : 0) - frequency, 2));
            }
            expected /= data.Rows;
            Assert.Equal(expected, model.Parameters.CrossValidationScores.Single(), 8);
            Assert.Equal(PrestoCrossValidationMetric.RareClassBrier, model.Parameters.CrossValidationMetric);
            Assert.Equal((rare + 1).ToString(), model.Parameters.RareClass);
        }
    }

    [Fact]
    public void Rare_class_cross_validation_gives_another_curve_and_here_a_larger_lambda_than_the_all_class_Brier_score()
    {
        var ml = new MLContext(1);
        var (view, _) = Ranked(ml, 800, seed: 49, features: 6); // classes 397, 364, 32, 7 rows
        PrestoModel Fit(string? rare) => ml.Ordinal().Trainers.Presto(new PrestoTrainer.Options
        {
            RareClass = rare, NumberOfLambdas = 15, NumberOfFolds = 3, TestProportionalOdds = false, Seed = 2,
        }).Fit(view);
        using var all = Fit(null);
        using var first = Fit("1");
        using var last = Fit("4");
        Assert.Equal(PrestoCrossValidationMetric.Brier, all.Parameters.CrossValidationMetric);
        Assert.Null(all.Parameters.RareClass);
        // Same path, same folds: only the criterion differs.
        Assert.Equal(all.Parameters.LambdaPath, first.Parameters.LambdaPath);
        Assert.NotEqual(all.Parameters.CrossValidationScores, first.Parameters.CrossValidationScores);
        Assert.NotEqual(first.Parameters.CrossValidationScores, last.Parameters.CrossValidationScores);
        // One class's Brier score is part of the all-class sum, so it is smaller at every λ.
        Assert.All(all.Parameters.CrossValidationScores.Zip(first.Parameters.CrossValidationScores), s => Assert.True(s.Second < s.First));
        Assert.Equal(first.Parameters.CrossValidationScores.Min(), first.Parameters.CrossValidationScores[first.Parameters.LambdaIndex], 12);
        // Here the rare last class (7 rows) wants a much sparser model than the all-class score (λ index 3 against 9 of 15).
        Assert.True(last.Parameters.Lambda > all.Parameters.Lambda, $"rare-class λ {last.Parameters.Lambda} ≤ all-class λ {all.Parameters.Lambda}");
    }

    [Fact]
    public void A_rare_class_that_is_not_a_class_or_that_conflicts_with_other_settings_is_refused()
    {
        var ml = new MLContext(1);
        var (view, _) = Ranked(ml, 300, seed: 44, features: 3);
        var missing = Assert.Throws<ArgumentException>(() => ml.Ordinal().Trainers.Presto(new PrestoTrainer.Options { RareClass = "Too Much", NumberOfLambdas = 3 }).Fit(view));
        Assert.Equal("RareClass", missing.ParamName);
        Assert.Contains("'Too Much'", missing.Message);
        Assert.Contains("'1', '2', '3', '4'", missing.Message);

        var conflict = Assert.Throws<ArgumentException>(() => ml.Ordinal().Trainers.Presto(new PrestoTrainer.Options
        {
            RareClass = "4", CrossValidationMetric = PrestoCrossValidationMetric.Brier,
        }));
        Assert.Contains("CrossValidationMetric", conflict.Message);
        Assert.Contains("RareClass", conflict.Message);
        Assert.Contains("Lambda", Assert.Throws<ArgumentException>(() => ml.Ordinal().Trainers.Presto(new PrestoTrainer.Options { RareClass = "4", Lambda = 0.01 })).Message);
        Assert.Throws<ArgumentException>(() => ml.Ordinal().Trainers.Presto(new PrestoTrainer.Options { RareClass = " " }));
    }

    [Fact]
    public void Without_a_name_the_rare_class_Brier_metric_scores_the_last_class_as_before()
    {
        var ml = new MLContext(1);
        var (view, _) = Ranked(ml, 500, seed: 45, features: 4);
        PrestoModel Fit(string? rare) => ml.Ordinal().Trainers.Presto(new PrestoTrainer.Options
        {
            RareClass = rare, CrossValidationMetric = PrestoCrossValidationMetric.RareClassBrier, NumberOfLambdas = 8, NumberOfFolds = 3, TestProportionalOdds = false, Seed = 3,
        }).Fit(view);
        using var unnamed = Fit(null);
        using var named = Fit("4");
        Assert.Equal(unnamed.Parameters.CrossValidationScores, named.Parameters.CrossValidationScores);
        Assert.Equal("4", unnamed.Parameters.RareClass);
    }
}
