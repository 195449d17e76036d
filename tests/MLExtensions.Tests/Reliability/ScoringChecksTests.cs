using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Mlp;
using MLExtensions.Nas;
using MLExtensions.Onnx.Scoring;
using MLExtensions.Ordinal;
using MLExtensions.Tests.Ordinal;
using Xunit;

namespace MLExtensions.Tests.Reliability;

/// <summary>
/// Rows a model cannot score (a NaN or infinite feature, a feature vector of another size) are refused at scoring
/// time on every path and whatever column is read, never answered with a plausible-looking prediction: blocks name the
/// column, slot and row; the per-row chain and prediction engines name the column and row; a plainly loaded model
/// fails in the graph's check, whose name says why.
/// </summary>
public class ScoringChecksTests
{
    private static readonly MLContext Ml = new(1);

    private static OnnxScoredModel Fit(string kind, MlpActivation activation = MlpActivation.Tanh)
    {
        var train = Synthetic.Keyed(Ml, Synthetic.Rows(80, 1));
        var options = new MlpTrainer.Options { HiddenLayerSizes = [8], Activation = activation, NumberOfEpochs = 2, Seed = 1 };
        return kind switch
        {
            "regression" => Ml.Nas().Trainers.MlpRegression(With(options, "Target")).Fit(train),
            "binary" => Ml.Nas().Trainers.MlpBinaryClassification(With(options, "Positive")).Fit(train),
            "multiclass" => Ml.Nas().Trainers.MlpMulticlassClassification(options).Fit(train),
            _ => Presto(),
        };
    }

    private static MlpTrainer.Options With(MlpTrainer.Options options, string label)
    {
        options.LabelColumnName = label;
        return options;
    }

    private static OnnxScoredModel Presto()
    {
        var sim = OrdinalTestData.Simulate(150, 1, features: Synthetic.FeatureCount);
        return Ml.Ordinal().Trainers.Presto(new PrestoTrainer.Options { Lambda = 0.01, Seed = 1 })
            .Fit(OrdinalTestData.ToDataView(Ml, sim.Features, sim.Labels, Synthetic.FeatureCount, 4));
    }

    /// <summary>Twelve rows to score, row 7 with <paramref name="bad"/> in feature slot 2.</summary>
    private static IDataView Scoring(float bad, out Synthetic.Row badRow)
    {
        var rows = Synthetic.Rows(12, 2);
        rows[7].Features[2] = bad;
        badRow = rows[7];
        return Synthetic.Keyed(Ml, rows);
    }

    [Theory]
    [InlineData("regression")]
    [InlineData("binary")]
    [InlineData("multiclass")]
    [InlineData("presto")]
    public void A_non_finite_feature_is_refused_by_every_scoring_path(string kind)
    {
        using var model = Fit(kind);
        foreach (var bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
        {
            var data = Scoring(bad, out var badRow);
            var blocks = Assert.Throws<InvalidDataException>(() => Read(model.Transform(data)));
            Assert.Contains("Column 'Features'", blocks.Message);
            Assert.Contains("slot 2 at row 7", blocks.Message);

            AssertRefusedWithRow(() => Read(model.TransformPerRow(data)));
            using var stream = new MemoryStream();
            Ml.Model.Save(model, data.Schema, stream);
            stream.Position = 0;
            var loaded = Ml.Model.Load(stream, out _);
            try
            {
                AssertRefusedByTheGraph(() => Read(loaded.Transform(data)));
            }
            finally
            {
                (loaded as IDisposable)?.Dispose();
            }
        }
    }

    [Theory]
    [InlineData("multiclass")]
    [InlineData("presto")]
    public void Reading_only_the_class_probabilities_is_refused_too(string kind)
    {
        using var model = Fit(kind);
        var data = Scoring(float.PositiveInfinity, out var badRow);
        AssertRefusedWithRow(() => model.TransformPerRow(data).GetColumn<float[]>("Score").ToArray());
        Assert.Throws<InvalidDataException>(() => model.Transform(data).GetColumn<float[]>("Score").ToArray());
        var engine = Ml.Model.CreatePredictionEngine<Synthetic.Row, Probabilities>(model, new PredictionEngineOptions { OwnsTransformer = false });
        Assert.All(engine.Predict(Synthetic.Rows(1, 3)[0]).Score, p => Assert.True(float.IsFinite(p)));
        var error = Assert.Throws<InvalidDataException>(() => engine.Predict(badRow));
        Assert.Contains("Column 'Features'", error.Message);
    }

    [Theory]
    [InlineData("regression")]
    [InlineData("binary")]
    public void A_prediction_engine_refuses_a_row_with_a_non_finite_feature(string kind)
    {
        using var model = Fit(kind);
        Scoring(float.PositiveInfinity, out var badRow);
        var engine = Ml.Model.CreatePredictionEngine<Synthetic.Row, Scored>(model, new PredictionEngineOptions { OwnsTransformer = false });
        Assert.True(float.IsFinite(engine.Predict(Synthetic.Rows(1, 3)[0]).Score));
        var error = Assert.Throws<InvalidDataException>(() => engine.Predict(badRow));
        Assert.Contains("Column 'Features' holds a NaN or infinite value", error.Message);
    }

    [Fact]
    public void Finite_rows_around_a_refused_one_score_as_before()
    {
        using var model = Fit("regression");
        var good = Synthetic.Keyed(Ml, Synthetic.Rows(12, 2));
        var scores = model.Transform(good).GetColumn<float>("Score").ToArray();
        Assert.All(scores, s => Assert.True(float.IsFinite(s)));
        Assert.Equal(scores, model.TransformPerRow(good).GetColumn<float>("Score").ToArray());
    }

    [Fact]
    public void A_feature_vector_of_another_size_is_refused_by_name_at_scoring()
    {
        using var model = Fit("regression");
        var rows = new[] { new WideRow { Features = new float[Synthetic.FeatureCount + 1] } };
        var error = Assert.ThrowsAny<Exception>(() => model.Transform(Ml.Data.LoadFromEnumerable(rows)));
        Assert.True(error is ArgumentException or InvalidOperationException, error.ToString());
        Assert.Contains("Features", error.Message);
    }

    /// <summary>Our per-row guards turn the graph's refusal into one that names the column and the row.</summary>
    private static void AssertRefusedWithRow(Action score)
    {
        var error = Assert.Throws<InvalidDataException>(score);
        Assert.Contains("Column 'Features' holds a NaN or infinite value at row 7", error.Message);
    }

    /// <summary>A plainly loaded chain fails in ONNX Runtime, at the check node whose name says why.</summary>
    private static void AssertRefusedByTheGraph(Action score)
    {
        var error = Assert.ThrowsAny<Exception>(score);
        var messages = string.Join(" | ", Chain(error).Select(e => e.Message));
        Assert.Contains("mlx_refuse_non_finite__Features__holds_NaN_or_infinity", messages);
    }

    private static IEnumerable<Exception> Chain(Exception error)
    {
        for (var e = (Exception?)error; e is not null; e = e.InnerException) yield return e;
    }

    /// <summary>Reads every column of every row.</summary>
    private static void Read(IDataView view)
    {
        using var cursor = view.GetRowCursor(view.Schema);
        var getters = view.Schema.Where(c => !c.IsHidden).Select(c => MakeReader(cursor, c)).ToArray();
        while (cursor.MoveNext())
            foreach (var read in getters) read();
    }

    private static Action MakeReader(DataViewRowCursor cursor, DataViewSchema.Column column) =>
        (Action)typeof(ScoringChecksTests).GetMethod(nameof(Reader), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
            .MakeGenericMethod(column.Type.RawType).Invoke(null, [cursor, column])!;

    private static Action Reader<T>(DataViewRowCursor cursor, DataViewSchema.Column column)
    {
        var getter = cursor.GetGetter<T>(column);
        T value = default!;
        return () => getter(ref value);
    }

    private sealed class Scored
    {
        public float Score { get; set; }
    }

    private sealed class Probabilities
    {
        public float[] Score { get; set; } = [];
    }

    private sealed class WideRow
    {
        [VectorType(Synthetic.FeatureCount + 1)] public float[] Features { get; set; } = [];
    }
}
