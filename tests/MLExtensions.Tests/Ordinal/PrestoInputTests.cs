using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Ordinal;
using Xunit;

namespace MLExtensions.Tests.Ordinal;

/// <summary>PRESTO's bad-input handling and the ordinal evaluator, on small hand-made data.</summary>
public class PrestoInputTests
{
    private static readonly MLContext Ml = new(1);

    private static PrestoTrainer.Options Quick(double? lambda = null) => new() { Lambda = lambda, NumberOfLambdas = 10, NumberOfFolds = 3, Seed = 1 };

    [Fact]
    public void Two_classes_are_not_ordinal()
    {
        var sim = OrdinalTestData.Simulate(200, 1, features: 3);
        var labels = sim.Labels.Select(y => Math.Min(y, 1)).ToArray();
        var data = OrdinalTestData.ToDataView(Ml, sim.Features, labels, 3, 2);
        var error = Assert.Throws<InvalidDataException>(() => Ml.Ordinal().Trainers.Presto(Quick()).Fit(data));
        Assert.Contains("'Label'", error.Message);
        Assert.Contains("at least 3", error.Message);
    }

    [Fact]
    public void A_class_without_rows_is_named()
    {
        var sim = OrdinalTestData.Simulate(300, 2, features: 3);
        // Declare five classes; the fifth has no rows.
        var data = OrdinalTestData.ToDataView(Ml, sim.Features, sim.Labels, 3, 5);
        var error = Assert.Throws<InvalidDataException>(() => Ml.Ordinal().Trainers.Presto(Quick()).Fit(data));
        Assert.Contains("'4'", error.Message);
        Assert.Contains("no training rows", error.Message);
    }

    [Fact]
    public void A_class_whose_rows_all_weigh_zero_is_named()
    {
        var sim = OrdinalTestData.Simulate(300, 7, features: 3);
        var rows = Enumerable.Range(0, sim.Rows).Select(i => new WeightedRow { Features = sim.Row(i), Label = (uint)sim.Labels[i], Weight = sim.Labels[i] == 1 ? 0 : 1 }).ToArray();
        var schema = SchemaDefinition.Create(typeof(WeightedRow));
        schema["Features"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, 3);
        schema["Label"].ColumnType = new KeyDataViewType(typeof(uint), 4);
        var options = Quick();
        options.ExampleWeightColumnName = "Weight";
        var error = Assert.Throws<InvalidDataException>(() => Ml.Ordinal().Trainers.Presto(options).Fit(Ml.Data.LoadFromEnumerable(rows, schema)));
        Assert.Contains("'1'", error.Message);
        Assert.Contains("positive weight", error.Message);
    }

    [Fact]
    public void Constant_features_get_zero_coefficients_and_a_warning()
    {
        var sim = OrdinalTestData.Simulate(500, 3, features: 4);
        var features = (float[])sim.Features.Clone();
        for (int i = 0; i < sim.Rows; i++) features[i * 4 + 2] = 7.5f;
        var messages = new List<string>();
        var ml = new MLContext(1);
        ml.Log += (_, e) => { lock (messages) messages.Add(e.Message); };
        using var model = ml.Ordinal().Trainers.Presto(Quick()).Fit(OrdinalTestData.ToDataView(ml, features, sim.Labels, 4, 4));
        Assert.All(model.Parameters.Weights, w => Assert.Equal(0.0, w[2]));
        Assert.Contains(messages, m => m.Contains("slot(s) 2") && m.Contains("constant"));
    }

    [Fact]
    public void NaN_features_name_column_and_row()
    {
        var sim = OrdinalTestData.Simulate(100, 4, features: 3);
        var features = (float[])sim.Features.Clone();
        features[17 * 3 + 1] = float.NaN;
        var error = Assert.Throws<InvalidDataException>(() => Ml.Ordinal().Trainers.Presto(Quick()).Fit(OrdinalTestData.ToDataView(Ml, features, sim.Labels, 3, 4)));
        Assert.Contains("Column 'Features', row 17", error.Message);
    }

    [Fact]
    public void Separable_classes_give_a_finite_penalised_fit_and_a_clear_error_without_a_penalty()
    {
        // The class is a step function of the first feature: the data are perfectly separable.
        var random = new Random(5);
        int n = 300;
        var features = Enumerable.Range(0, n * 2).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var labels = Enumerable.Range(0, n).Select(i => features[i * 2] < -0.3f ? 0 : features[i * 2] < 0.2f ? 1 : 2).ToArray();
        var data = OrdinalTestData.ToDataView(Ml, features, labels, 2, 3);

        using var model = Ml.Ordinal().Trainers.Presto(Quick()).Fit(data);
        Assert.All(model.Parameters.Weights.SelectMany(w => w).Concat(model.Parameters.Intercepts), v => Assert.True(double.IsFinite(v)));
        Assert.All(model.Transform(data).GetColumn<float[]>("Score"), p => Assert.Equal(1.0, p.Sum(), 4));

        var error = Assert.Throws<InvalidOperationException>(() => Ml.Ordinal().Trainers.Presto(Quick(0)).Fit(data));
        Assert.Contains("separable", error.Message);
        Assert.Throws<InvalidOperationException>(() => Ml.Ordinal().Trainers.ProportionalOdds().Fit(data));
    }

    [Fact]
    public void Bad_options_name_the_option()
    {
        Assert.Equal("Lambda", Assert.Throws<ArgumentOutOfRangeException>(() => Ml.Ordinal().Trainers.Presto(new PrestoTrainer.Options { Lambda = -1 })).ParamName);
        Assert.Equal("NumberOfFolds", Assert.Throws<ArgumentOutOfRangeException>(() => Ml.Ordinal().Trainers.Presto(new PrestoTrainer.Options { NumberOfFolds = 1 })).ParamName);
        Assert.Equal("LambdaMinRatio", Assert.Throws<ArgumentOutOfRangeException>(() => Ml.Ordinal().Trainers.Presto(new PrestoTrainer.Options { LambdaMinRatio = 2 })).ParamName);
    }

    private sealed class WeightedRow
    {
        public float[] Features { get; set; } = [];
        public uint Label { get; set; }
        public float Weight { get; set; }
    }

    [Fact]
    public void An_example_weight_of_two_is_a_duplicated_row()
    {
        var sim = OrdinalTestData.Simulate(400, 6, features: 3);
        var weighted = Enumerable.Range(0, sim.Rows).Select(i => new WeightedRow { Features = sim.Row(i), Label = (uint)sim.Labels[i], Weight = i % 3 == 0 ? 2 : 1 }).ToArray();
        var duplicated = weighted.SelectMany(r => Enumerable.Repeat(new WeightedRow { Features = r.Features, Label = r.Label, Weight = 1 }, (int)r.Weight)).ToArray();
        IDataView View(WeightedRow[] rows)
        {
            var schema = SchemaDefinition.Create(typeof(WeightedRow));
            schema["Features"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, 3);
            schema["Label"].ColumnType = new KeyDataViewType(typeof(uint), 4);
            return Ml.Data.LoadFromEnumerable(rows, schema);
        }
        var options = Quick(0.01);
        options.ExampleWeightColumnName = "Weight";
        using var a = Ml.Ordinal().Trainers.Presto(options).Fit(View(weighted));
        using var b = Ml.Ordinal().Trainers.Presto(options).Fit(View(duplicated));
        for (int k = 0; k < 3; k++)
        {
            Assert.Equal(a.Parameters.Intercepts[k], b.Parameters.Intercepts[k], 8);
            for (int j = 0; j < 3; j++) Assert.Equal(a.Parameters.Weights[k][j], b.Parameters.Weights[k][j], 8);
        }
        using var unweighted = Ml.Ordinal().Trainers.Presto(Quick(0.01)).Fit(View(weighted));
        Assert.NotEqual(a.Parameters.Intercepts[0], unweighted.Parameters.Intercepts[0], 4);
    }

    private sealed class Scored
    {
        public uint Label { get; set; }
        public float[] Score { get; set; } = [];
    }

    [Fact]
    public void Ordinal_metrics_match_hand_computation()
    {
        var rows = new[]
        {
            new Scored { Label = 0, Score = [0.7f, 0.2f, 0.1f] },  // class 0, predicted 0
            new Scored { Label = 2, Score = [0.5f, 0.3f, 0.2f] },  // class 2, predicted 0: rank error 2
            new Scored { Label = 1, Score = [0.1f, 0.6f, 0.3f] },  // class 1, predicted 1
            new Scored { Label = 1, Score = [0.2f, 0.3f, 0.5f] },  // class 1, predicted 2: rank error 1
        };
        var schema = SchemaDefinition.Create(typeof(Scored));
        schema["Label"].ColumnType = new KeyDataViewType(typeof(uint), 3);
        schema["Score"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, 3);
        var data = Ml.Data.LoadFromEnumerable(rows, schema);
        var metrics = Ml.Ordinal().Evaluate(data, numberOfBins: 2);

        Assert.Equal(4, metrics.Rows);
        Assert.Equal(0.75, metrics.MeanAbsoluteRankError, 6);
        Assert.Equal(0.5, metrics.Accuracy, 6);
        double brier = ((0.09 + 0.04 + 0.01) + (0.25 + 0.09 + 0.64) + (0.01 + 0.16 + 0.09) + (0.04 + 0.49 + 0.25)) / 4;
        Assert.Equal(brier, metrics.BrierScore, 5);
        Assert.Equal(-(Math.Log(0.7) + Math.Log(0.2) + Math.Log(0.6) + Math.Log(0.3)) / 4, metrics.LogLoss, 5);
        // The least frequent class is 0 and 2 (one row each); ties go to the lower class.
        Assert.Equal(0, metrics.RareClass.Index);
        Assert.Equal(((0.3 * 0.3) + 0.25 + 0.01 + 0.04) / 4, metrics.RareClass.BrierScore, 5);
        // Class 0's probabilities 0.7, 0.5, 0.1, 0.2 in bins [0, 0.5) and [0.5, 1]; only the 0.7 row is of class 0.
        Assert.Equal(2, metrics.RareClass.Calibration[0].Count);
        Assert.Equal(0.0, metrics.RareClass.Calibration[0].ObservedFrequency);
        Assert.Equal(2, metrics.RareClass.Calibration[1].Count);
        Assert.Equal(0.6, metrics.RareClass.Calibration[1].MeanPredicted, 6);
        Assert.Equal(0.5, metrics.RareClass.Calibration[1].ObservedFrequency, 6);

        var chosen = Ml.Ordinal().Evaluate(data, rareClass: "2");
        Assert.Equal(2, chosen.RareClass.Index);
        Assert.Throws<ArgumentException>(() => Ml.Ordinal().Evaluate(data, rareClass: "nope"));
    }
}
