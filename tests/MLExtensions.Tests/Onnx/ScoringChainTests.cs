using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Onnx.Graph;
using MLExtensions.Onnx.Scoring;
using Xunit;
using static MLExtensions.Tests.Onnx.LinearModels;

namespace MLExtensions.Tests.Onnx;

/// <summary>The glue on hand-built linear models, so it is tested apart from any trainer.</summary>
public class ScoringChainTests
{
    private static Row[] MakeRows(int n, int seed) => LinearModels.Rows(n, seed);

    private static OnnxScoredModel Fit(MLContext ml, IDataView data, PredictionKind kind, ClassLabels? classes = null) => LinearModels.Fit(ml, data, kind, classes);

    [Fact]
    public void Regression_scores_evaluate_predict_and_survive_save_load()
    {
        var ml = new MLContext(0);
        var rows = MakeRows(200, 1);
        var data = ml.Data.LoadFromEnumerable(rows);
        using var model = Fit(ml, data, PredictionKind.Regression);

        var scored = model.Transform(data);
        Assert.Equal(NumberDataViewType.Single, scored.Schema["Score"].Type);
        var metrics = ml.Regression.Evaluate(scored, labelColumnName: "Target");
        Assert.True(metrics.MeanAbsoluteError < 1e-5, $"MAE {metrics.MeanAbsoluteError}");

        var engine = ml.Model.CreatePredictionEngine<Row, RegressionPrediction>(model, new PredictionEngineOptions { OwnsTransformer = false });
        Assert.Equal(rows[7].Target, engine.Predict(rows[7]).Score, 5);

        var before = scored.GetColumn<float>("Score").ToArray();
        Assert.Equal(before, ModelRoundTrip.SaveLoadAndScore<float>(model, data, "Score"));
        Assert.DoesNotContain("mlx_score", scored.Schema.Select(c => c.Name));
    }

    [Fact]
    public void Binary_scores_evaluate_predict_and_survive_save_load()
    {
        var ml = new MLContext(0);
        var rows = MakeRows(300, 2);
        var data = ml.Data.LoadFromEnumerable(rows);
        using var model = Fit(ml, data, PredictionKind.BinaryClassification);

        var scored = model.Transform(data);
        var metrics = ml.BinaryClassification.Evaluate(scored, labelColumnName: "Flag");
        Assert.Equal(1.0, metrics.Accuracy, 3);
        Assert.True(metrics.AreaUnderRocCurve > 0.999);

        var engine = ml.Model.CreatePredictionEngine<Row, BinaryPrediction>(model, new PredictionEngineOptions { OwnsTransformer = false });
        var p = engine.Predict(rows[3]);
        Assert.Equal(1 / (1 + MathF.Exp(-p.Score)), p.Probability, 5);
        Assert.Equal(rows[3].Flag, p.PredictedLabel);

        Assert.Equal(scored.GetColumn<float>("Probability").ToArray(), ModelRoundTrip.SaveLoadAndScore<float>(model, data, "Probability"));
        Assert.Equal(scored.GetColumn<bool>("PredictedLabel").ToArray(), ModelRoundTrip.SaveLoadAndScore<bool>(model, data, "PredictedLabel"));
    }

    [Fact]
    public void Multiclass_scores_carry_slot_names_and_label_values_and_survive_save_load()
    {
        var ml = new MLContext(0);
        var rows = MakeRows(300, 3);
        var data = ml.Transforms.Conversion.MapValueToKey("Label", "Colour", keyOrdinality: Microsoft.ML.Transforms.ValueToKeyMappingEstimator.KeyOrdinality.ByValue)
            .Fit(ml.Data.LoadFromEnumerable(rows)).Transform(ml.Data.LoadFromEnumerable(rows));
        var classes = ClassLabels.FromKeyColumn(data.Schema["Label"]);
        Assert.Equal(["blue", "green", "red"], classes.Names);

        // The test model's classes are low/middle/high = red/green/blue; remap to the key order blue, green, red.
        using var model = Fit(ml, data, PredictionKind.MulticlassClassification, ClassLabels.FromNames(["red", "green", "blue"]));
        var scored = model.Transform(data);
        var slotNames = default(VBuffer<ReadOnlyMemory<char>>);
        scored.Schema["Score"].GetSlotNames(ref slotNames);
        Assert.Equal(["red", "green", "blue"], slotNames.DenseValues().Select(s => s.ToString()));
        Assert.Equal(3, Assert.IsType<VectorDataViewType>(scored.Schema["Score"].Type).Size);
        var predictedType = Assert.IsType<KeyDataViewType>(scored.Schema["PredictedLabel"].Type);
        Assert.Equal(3UL, predictedType.Count);

        var predicted = ml.Transforms.Conversion.MapKeyToValue("PredictedColour", "PredictedLabel").Fit(scored).Transform(scored)
            .GetColumn<ReadOnlyMemory<char>>("PredictedColour").Select(c => c.ToString()).ToArray();
        var agreement = predicted.Zip(rows, (p, r) => p == r.Colour).Count(ok => ok) / (double)rows.Length;
        Assert.True(agreement > 0.8, $"agreement {agreement}");

        var probabilities = scored.GetColumn<float[]>("Score").ToArray();
        Assert.All(probabilities, p => Assert.Equal(1f, p.Sum(), 5));
        var loaded = ModelRoundTrip.SaveLoadAndScore<float[]>(model, data, "Score");
        Assert.Equal(probabilities.SelectMany(p => p), loaded.SelectMany(p => p));
    }

    [Fact]
    public void Multiclass_evaluate_accepts_the_output_when_classes_come_from_the_label_key()
    {
        var ml = new MLContext(0);
        var rows = MakeRows(300, 4);
        var raw = ml.Data.LoadFromEnumerable(rows);
        // Key order by occurrence; the test model's class order is red, green, blue, so build the key in that order.
        var keyed = ml.Transforms.Conversion.MapValue("Label",
                new[] { "red", "green", "blue" }.Select(c => new KeyValuePair<string, string>(c, c)), "Colour", treatValuesAsKeyType: true)
            .Fit(raw).Transform(raw);
        var classes = ClassLabels.FromKeyColumn(keyed.Schema["Label"]);
        using var model = Fit(ml, keyed, PredictionKind.MulticlassClassification, classes);
        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(keyed));
        Assert.True(metrics.MacroAccuracy > 0.8, $"macro accuracy {metrics.MacroAccuracy}");
        Assert.True(metrics.LogLoss < 1.0, $"log-loss {metrics.LogLoss}");

        var engine = ml.Model.CreatePredictionEngine<Row, MulticlassPrediction>(model, new PredictionEngineOptions { OwnsTransformer = false });
        var scoredKeys = model.Transform(keyed).GetColumn<uint>("PredictedLabel").ToArray();
        Assert.Equal(scoredKeys[5], engine.Predict(rows[5]).PredictedLabel);
        Assert.Equal(scoredKeys, ModelRoundTrip.SaveLoadAndScore<uint>(model, keyed, "PredictedLabel"));
    }

    [Fact]
    public void The_model_ML_NET_reads_lives_in_memory_and_is_gone_after_Dispose()
    {
        var ml = new MLContext(0);
        var data = ml.Data.LoadFromEnumerable(MakeRows(10, 5));
        var model = Fit(ml, data, PredictionKind.Regression);
        var file = model.ModelFile;
        Assert.Equal(OperatingSystem.IsLinux(), file.InMemory);
        if (file.InMemory) Assert.StartsWith("/proc/self/fd/", file.Path);
        else Assert.StartsWith(Path.GetTempPath(), file.Path);
        Assert.Equal(model.GetOnnxModel(), File.ReadAllBytes(file.Path));
        model.Dispose();
        Assert.False(File.Exists(file.Path) && File.ReadAllBytes(file.Path).AsSpan().SequenceEqual(model.GetOnnxModel()));
        Assert.Throws<ObjectDisposedException>(() => model.Transform(data));
    }

    [Fact]
    public void A_model_without_the_expected_head_is_rejected_with_the_missing_output_named()
    {
        var ml = new MLContext(0);
        var data = ml.Data.LoadFromEnumerable(MakeRows(10, 6));
        var error = Assert.Throws<ArgumentException>(() => OnnxScoringChain.Fit(ml, data, new OnnxScoringSpec
        {
            Model = LinearModels.Model(PredictionKind.Regression), Kind = PredictionKind.BinaryClassification, InputColumns = ["Features"],
        }));
        Assert.Contains("mlx_probability", error.Message);
    }
}
