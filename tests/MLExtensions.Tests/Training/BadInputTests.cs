using MLExtensions.Mlp;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Nas;
using Xunit;

namespace MLExtensions.Tests.Training;

/// <summary>Every bad input gets an exception that names the column (and the row where there is one).</summary>
public class BadInputTests
{
    private static readonly MLContext Ml = new(0);

    private static MlpTrainer.Options Options(string label = "Target", string features = "Features", string? weight = null) => new()
    {
        LabelColumnName = label, FeatureColumnName = features, ExampleWeightColumnName = weight,
        HiddenLayerSizes = [4], NumberOfEpochs = 1, Seed = 1,
    };

    private sealed class DoubleRow
    {
        [VectorType(2)] public double[] Features { get; set; } = [];
        public float Target { get; set; }
    }

    private sealed class VariableRow
    {
        [VectorType] public float[] Features { get; set; } = [];
        public float Target { get; set; }
    }

    private static IDataView WithValue(int row, Action<Synthetic.Row> change)
    {
        var rows = Synthetic.Rows(20, 1);
        change(rows[row]);
        return Ml.Data.LoadFromEnumerable(rows);
    }

    [Fact]
    public void Missing_feature_column_is_named_with_the_columns_present()
    {
        var data = Ml.Data.LoadFromEnumerable(Synthetic.Rows(10, 1));
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => Ml.Nas().Trainers.MlpRegression(Options(features: "Inputs")).Fit(data));
        Assert.Contains("'Inputs'", error.Message);
        Assert.Contains("'Features'", error.Message);
    }

    [Fact]
    public void Missing_label_column_is_named()
    {
        var data = Ml.Data.LoadFromEnumerable(Synthetic.Rows(10, 1));
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => Ml.Nas().Trainers.MlpRegression(Options(label: "Price")).Fit(data));
        Assert.Contains("label column 'Price'", error.Message);
    }

    [Fact]
    public void Mistyped_features_name_the_column_and_the_fix()
    {
        var data = Ml.Data.LoadFromEnumerable(new[] { new DoubleRow { Features = [1, 2], Target = 1 } });
        var error = Assert.Throws<ArgumentException>(() => Ml.Nas().Trainers.MlpRegression(Options()).Fit(data));
        Assert.Contains("'Features'", error.Message);
        Assert.Contains("ConvertType", error.Message);
    }

    [Fact]
    public void Mistyped_labels_name_the_column_for_each_task()
    {
        var data = Ml.Data.LoadFromEnumerable(Synthetic.Rows(10, 1));
        Assert.Contains("'Positive'", Assert.Throws<ArgumentException>(() => Ml.Nas().Trainers.MlpRegression(Options(label: "Positive")).Fit(data)).Message);
        Assert.Contains("'Target'", Assert.Throws<ArgumentException>(() => Ml.Nas().Trainers.MlpBinaryClassification(Options(label: "Target")).Fit(data)).Message);
        var error = Assert.Throws<ArgumentException>(() => Ml.Nas().Trainers.MlpMulticlassClassification(Options(label: "Class")).Fit(data));
        Assert.Contains("'Class'", error.Message);
        Assert.Contains("MapValueToKey", error.Message);
    }

    [Fact]
    public void NaN_and_infinite_features_name_column_row_and_slot()
    {
        var nan = Assert.Throws<InvalidDataException>(() => Ml.Nas().Trainers.MlpRegression(Options()).Fit(WithValue(7, r => r.Features[2] = float.NaN)));
        Assert.Contains("Column 'Features', row 7", nan.Message);
        Assert.Contains("slot 2", nan.Message);
        var inf = Assert.Throws<InvalidDataException>(() => Ml.Nas().Trainers.MlpRegression(Options()).Fit(WithValue(12, r => r.Features[0] = float.PositiveInfinity)));
        Assert.Contains("row 12", inf.Message);
    }

    [Fact]
    public void NaN_labels_and_bad_weights_name_column_and_row()
    {
        var label = Assert.Throws<InvalidDataException>(() => Ml.Nas().Trainers.MlpRegression(Options()).Fit(WithValue(3, r => r.Target = float.NaN)));
        Assert.Contains("Column 'Target', row 3", label.Message);
        var weight = Assert.Throws<InvalidDataException>(() => Ml.Nas().Trainers.MlpRegression(Options(weight: "Weight")).Fit(WithValue(5, r => r.Weight = -1)));
        Assert.Contains("Column 'Weight', row 5", weight.Message);
    }

    [Fact]
    public void Empty_data_is_rejected()
    {
        var data = Ml.Data.LoadFromEnumerable(Array.Empty<Synthetic.Row>());
        var error = Assert.Throws<InvalidDataException>(() => Ml.Nas().Trainers.MlpRegression(Options()).Fit(data));
        Assert.Contains("no rows", error.Message);
    }

    [Fact]
    public void A_single_class_is_rejected_naming_the_label()
    {
        var rows = Synthetic.Rows(30, 2);
        foreach (var r in rows) r.Positive = true;
        var error = Assert.Throws<InvalidDataException>(() => Ml.Nas().Trainers.MlpBinaryClassification(Options(label: "Positive")).Fit(Ml.Data.LoadFromEnumerable(rows)));
        Assert.Contains("'Positive'", error.Message);
        Assert.Contains("single class", error.Message);
    }

    [Fact]
    public void A_class_key_that_is_missing_names_the_row()
    {
        var raw = Ml.Data.LoadFromEnumerable(Synthetic.Rows(30, 3));
        // Keys learnt from "low" and "mid" only: "high" rows become missing keys.
        var keys = Ml.Data.LoadFromEnumerable(new[] { new { Class = "low" }, new { Class = "mid" } });
        var data = Ml.Transforms.Conversion.MapValueToKey("Label", "Class", keyData: keys).Fit(raw).Transform(raw);
        var firstHigh = Synthetic.Rows(30, 3).Select((r, i) => (r, i)).First(p => p.r.Class == "high").i;
        var error = Assert.Throws<InvalidDataException>(() => Ml.Nas().Trainers.MlpMulticlassClassification(Options(label: "Label")).Fit(data));
        Assert.Contains($"Column 'Label', row {firstHigh}", error.Message);
    }

    [Fact]
    public void Variable_size_feature_vectors_are_rejected_before_training()
    {
        var data = Ml.Data.LoadFromEnumerable(new[] { new VariableRow { Features = [1, 2], Target = 1 }, new VariableRow { Features = [1], Target = 2 } });
        var error = Assert.Throws<ArgumentException>(() => Ml.Nas().Trainers.MlpRegression(Options()).Fit(data));
        Assert.Contains("'Features'", error.Message);
        Assert.Contains("variable-size", error.Message);
    }

    private sealed class WideRow
    {
        [VectorType(Synthetic.FeatureCount + 1)] public float[] Features { get; set; } = [];
    }

    [Fact]
    public void Scoring_data_with_another_vector_size_names_the_column()
    {
        using var model = Ml.Nas().Trainers.MlpRegression(Options()).Fit(Ml.Data.LoadFromEnumerable(Synthetic.Rows(20, 4)));
        var wide = Ml.Data.LoadFromEnumerable(new[] { new WideRow { Features = new float[Synthetic.FeatureCount + 1] } });
        var error = Assert.ThrowsAny<Exception>(() => model.Transform(wide).GetColumn<float>("Score").ToArray());
        Assert.Contains("'Features'", error.Message);
    }

    [Fact]
    public void Bad_options_fail_at_construction_with_the_option_named()
    {
        var options = Options();
        options.LearningRate = -1;
        Assert.Equal("LearningRate", Assert.Throws<ArgumentOutOfRangeException>(() => Ml.Nas().Trainers.MlpRegression(options)).ParamName);
        options = Options();
        options.HiddenLayerSizes = [8, 0];
        Assert.Throws<ArgumentOutOfRangeException>(() => Ml.Nas().Trainers.MlpRegression(options));
    }
}
