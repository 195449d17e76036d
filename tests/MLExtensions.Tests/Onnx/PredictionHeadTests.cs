using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Onnx.Scoring;
using Xunit;

namespace MLExtensions.Tests.Onnx;

/// <summary>Each prediction kind's head: what it builds, what it recognises and what it batches agree.</summary>
public class PredictionHeadTests
{
    private static readonly MLContext Ml = new(0);

    private static IDataView KeyedData()
    {
        var raw = Ml.Data.LoadFromEnumerable(LinearModels.Rows(30, 31));
        return Ml.Transforms.Conversion.MapValueToKey("Label", "Colour").Fit(raw).Transform(raw);
    }

    private static OnnxScoringChain Fit(IDataView data, PredictionKind kind) =>
        OnnxScoringChain.Fit(Ml, data, kind == PredictionKind.Outputs
            ? new OnnxScoringSpec
            {
                // As PONITA's vector models use it: a preparation whose temporary columns the chain drops.
                Model = LinearModels.Model(PredictionKind.Regression), Kind = kind, InputColumns = ["Features"], ExtraOutputs = [OnnxOutputHeads.RawScore],
                Preparation = Ml.Transforms.CopyColumns("Scratch", "Target"), TemporaryColumns = ["Scratch"],
            }
            : new OnnxScoringSpec
            {
                Model = LinearModels.Model(kind), Kind = kind, InputColumns = ["Features"],
                Classes = kind == PredictionKind.MulticlassClassification ? ClassLabels.FromKeyColumn(data.Schema["Label"]) : null,
            });

    private static List<ITransformer> SavedAndLoaded(ITransformer chain, DataViewSchema schema)
    {
        using var stream = new MemoryStream();
        Ml.Model.Save(chain, schema, stream);
        stream.Position = 0;
        return Assert.IsType<TransformerChain<ITransformer>>(new MLContext(1).Model.Load(stream, out _)).ToList();
    }

    [Fact]
    public void Every_kind_has_its_own_head()
    {
        foreach (var kind in Enum.GetValues<PredictionKind>())
            Assert.Equal(kind, PredictionHeadRegistry.For(kind).Kind);
        Assert.Throws<ArgumentOutOfRangeException>(() => PredictionHeadRegistry.For((PredictionKind)99));
    }

    [Theory]
    [InlineData(PredictionKind.Regression)]
    [InlineData(PredictionKind.BinaryClassification)]
    [InlineData(PredictionKind.MulticlassClassification)]
    public void A_head_recognises_its_own_chain_fitted_and_loaded_and_no_other_head_does(PredictionKind kind)
    {
        var data = KeyedData();
        using var chain = Fit(data, kind);
        foreach (var parts in new[] { chain.Transformer.ToList(), SavedAndLoaded(chain.Transformer, data.Schema) })
        {
            Assert.Equal(kind, PredictionHeadRegistry.Recognise(parts)?.Kind);
            Assert.Equal([kind], Enum.GetValues<PredictionKind>().Where(k => PredictionHeadRegistry.For(k).IsFittedChain(parts)));
        }
    }

    [Fact]
    public void A_raw_outputs_chain_is_no_heads_and_scores_per_row()
    {
        var data = KeyedData();
        using var chain = Fit(data, PredictionKind.Outputs);
        Assert.Null(PredictionHeadRegistry.Recognise(chain.Transformer.ToList()));
        Assert.Null(PredictionHeadRegistry.Recognise(SavedAndLoaded(chain.Transformer, data.Schema)));
        Assert.Null(PredictionHeadRegistry.For(PredictionKind.Outputs).BatchedColumns);
        Assert.False(chain.Batched.IsBatched);
    }

    [Theory]
    [InlineData(PredictionKind.Regression)]
    [InlineData(PredictionKind.BinaryClassification)]
    [InlineData(PredictionKind.MulticlassClassification)]
    public void A_heads_schema_shape_and_batched_columns_are_the_columns_its_chain_adds(PredictionKind kind)
    {
        var data = KeyedData();
        using var chain = Fit(data, kind);
        var head = PredictionHeadRegistry.For(kind);
        var perRow = chain.Transformer.GetOutputSchema(data.Schema);
        var added = perRow.Where(c => !c.IsHidden && data.Schema.GetColumnOrNull(c.Name) is null).Select(c => c.Name).Order().ToArray();

        Assert.Equal(added, head.BatchedColumns!.Select(c => c.Name).Order());
        Assert.Equal(added, chain.Batched.GetOutputSchema(data.Schema).Skip(data.Schema.Count).Select(c => c.Name).Order());

        var input = EstimatorContractTests.ShapeOf(data.Schema);
        var label = kind == PredictionKind.MulticlassClassification ? input.First(c => c.Name == "Label") : (SchemaShape.Column?)null;
        var promised = ScoringSchema.Extend(Ml, input, kind, label).Where(c => data.Schema.GetColumnOrNull(c.Name) is null).ToArray();
        Assert.Equal(added, promised.Select(c => c.Name).Order());
        var fitted = EstimatorContractTests.ShapeOf(perRow).ToDictionary(c => c.Name);
        foreach (var column in promised)
        {
            var actual = fitted[column.Name];
            Assert.Equal((column.Kind, column.ItemType, column.IsKey), (actual.Kind, actual.ItemType, actual.IsKey));
        }
    }

    [Fact]
    public void A_chain_that_adds_columns_its_blocks_do_not_make_scores_per_row_rather_than_drop_them()
    {
        var data = Ml.Data.LoadFromEnumerable(LinearModels.Rows(20, 32));
        // A regression head with an extra ONNX output and no preparation: blocks make only Score.
        using var chain = OnnxScoringChain.Fit(Ml, data, new OnnxScoringSpec
        {
            Model = RegressionWithDoubledScore(), Kind = PredictionKind.Regression, InputColumns = ["Features"], ExtraOutputs = ["Doubled"],
        });
        Assert.False(chain.Batched.IsBatched);
        Assert.Contains("'Doubled'", chain.Batched.WhyNotBatched);
        var perRow = chain.Transformer.Transform(data);
        var scored = chain.Batched.Transform(data);
        Assert.Equal(perRow.Schema.Select(c => c.Name), scored.Schema.Select(c => c.Name));
        Assert.Equal(perRow.Schema.Select(c => c.Name), chain.Batched.GetOutputSchema(data.Schema).Select(c => c.Name));
        Assert.Contains("Doubled", scored.Schema.Select(c => c.Name));
        Assert.Equal(perRow.GetColumn<float[]>("Doubled").Select(v => v[0]), scored.GetColumn<float[]>("Doubled").Select(v => v[0]));
        Assert.Equal(perRow.GetColumn<float>("Score"), scored.GetColumn<float>("Score"));
    }

    [Fact]
    public void Raw_outputs_need_no_temporary_columns_and_say_why_they_score_per_row()
    {
        var data = Ml.Data.LoadFromEnumerable(LinearModels.Rows(5, 33));
        using var chain = OnnxScoringChain.Fit(Ml, data, new OnnxScoringSpec
        {
            Model = RegressionWithDoubledScore(), Kind = PredictionKind.Outputs, InputColumns = ["Features"], ExtraOutputs = ["Doubled"],
        });
        var scored = chain.Batched.Transform(data);
        Assert.Equal(LinearModels.Rows(5, 33).Select(r => 2 * r.Target), scored.GetColumn<float[]>("Doubled").Select(v => v[0]), new FloatTolerance(1e-5f));
        Assert.Equal("the Outputs head has no batched columns", chain.Batched.WhyNotBatched);
    }

    private sealed class FloatTolerance(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => Math.Abs(x - y) <= tolerance * Math.Max(1, Math.Abs(x));

        public int GetHashCode(float value) => 0;
    }

    /// <summary>The linear regression model with a second output, "Doubled": twice the score.</summary>
    private static byte[] RegressionWithDoubledScore()
    {
        var g = new MLExtensions.Onnx.Graph.OnnxGraphBuilder();
        var x = g.AddInput("Features", MLExtensions.Onnx.Graph.OnnxElementType.Float, MLExtensions.Onnx.Graph.OnnxDim.Batch, LinearModels.FeatureCount);
        var score = g.MatMul(x, g.AddInitializer("w", [0.5f, -1f, 2f], LinearModels.FeatureCount, 1));
        OnnxOutputHeads.AddRegressionHead(g, score);
        g.AddOutput(g.Identity(g.Mul(score, g.Scalar(2f)), "Doubled"), MLExtensions.Onnx.Graph.OnnxElementType.Float, MLExtensions.Onnx.Graph.OnnxDim.Batch, 1);
        return g.ToBytes();
    }

    [Fact]
    public void An_input_column_named_like_a_prediction_is_replaced_in_blocks_and_one_the_blocks_do_not_make_sends_scoring_per_row()
    {
        var rows = Ml.Data.LoadFromEnumerable(LinearModels.Rows(20, 34));
        using var chain = OnnxScoringChain.Fit(Ml, rows, new OnnxScoringSpec { Model = LinearModels.Model(PredictionKind.Regression), Kind = PredictionKind.Regression, InputColumns = ["Features"] });
        Assert.True(chain.Batched.IsBatched);

        // An earlier model's Score: the chain replaces it, and so do the blocks.
        var withScore = Ml.Transforms.CopyColumns("Score", "Target").Fit(rows).Transform(rows);
        var blocks = chain.Batched.Transform(withScore);
        Assert.IsType<MLExtensions.Onnx.Batching.BatchedOnnxDataView>(GuardedViews.Unwrap(blocks));
        Assert.Equal(chain.Transformer.Transform(withScore).GetColumn<float>("Score"), blocks.GetColumn<float>("Score"));

        // A column named like the raw ONNX score, which the chain drops: blocks would keep it, so rows are scored one by one.
        var withRaw = Ml.Transforms.CopyColumns(OnnxOutputHeads.RawScore, "Target").Fit(rows).Transform(rows);
        var perRow = chain.Transformer.Transform(withRaw);
        var scored = chain.Batched.Transform(withRaw);
        Assert.IsNotType<MLExtensions.Onnx.Batching.BatchedOnnxDataView>(GuardedViews.Unwrap(scored));
        Assert.Equal(perRow.Schema.Select(c => c.Name), scored.Schema.Select(c => c.Name));
        Assert.Equal(perRow.Schema.Select(c => c.Name), chain.Batched.GetOutputSchema(withRaw.Schema).Select(c => c.Name));
    }
}
