using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Onnx.Batching;
using MLExtensions.Onnx.Graph;
using MLExtensions.Onnx.Scoring;
using Xunit;

namespace MLExtensions.Tests.Onnx;

public class BatchedScoringTests
{
    private static readonly MLContext Ml = new(0);

    private static IDataView KeyedData(int rows, int seed)
    {
        var raw = Ml.Data.LoadFromEnumerable(LinearModels.Rows(rows, seed));
        return Ml.Transforms.Conversion.MapValueToKey("Label", "Colour").Fit(raw).Transform(raw);
    }

    private static string[] PredictionColumns(PredictionKind kind) => kind switch
    {
        PredictionKind.Regression => ["Score"],
        PredictionKind.BinaryClassification => ["Score", "Probability", "PredictedLabel"],
        _ => ["Score", "PredictedLabel"],
    };

    /// <summary>Every value of the named columns, in row order, rendered exactly (floats by their bits).</summary>
    private static List<string> Values(IDataView data, params string[] columns)
    {
        var cols = columns.Select(c => data.Schema[c]).ToArray();
        var rows = new List<string>();
        using var cursor = data.GetRowCursor(cols);
        var readers = cols.Select(c => Reader(cursor, c)).ToArray();
        while (cursor.MoveNext()) rows.Add(string.Join("|", readers.Select(r => r())));
        return rows;
    }

    private static Func<string> Reader(DataViewRowCursor cursor, DataViewSchema.Column column)
    {
        switch (column.Type)
        {
            case NumberDataViewType t when t == NumberDataViewType.Single:
                var f = cursor.GetGetter<float>(column); float fv = 0;
                return () => { f(ref fv); return BitConverter.SingleToInt32Bits(fv).ToString(); };
            case BooleanDataViewType:
                var b = cursor.GetGetter<bool>(column); bool bv = false;
                return () => { b(ref bv); return bv.ToString(); };
            case KeyDataViewType:
                var k = cursor.GetGetter<uint>(column); uint kv = 0;
                return () => { k(ref kv); return kv.ToString(); };
            case TextDataViewType:
                var s = cursor.GetGetter<ReadOnlyMemory<char>>(column); ReadOnlyMemory<char> sv = default;
                return () => { s(ref sv); return sv.ToString(); };
            case VectorDataViewType { ItemType: var item } when item == NumberDataViewType.Single:
                var v = cursor.GetGetter<VBuffer<float>>(column); VBuffer<float> vv = default;
                return () => { v(ref vv); return string.Join(",", vv.DenseValues().Select(x => BitConverter.SingleToInt32Bits(x))); };
            default:
                throw new NotSupportedException(column.Type.ToString());
        }
    }

    private static void AssertSameSchemaForPredictions(DataViewSchema perRow, DataViewSchema batched, string[] columns)
    {
        foreach (var name in columns)
        {
            Assert.Equal(perRow[name].Type, batched[name].Type);
            Assert.Equal(perRow[name].Annotations.Schema.Select(a => (a.Name, a.Type)), batched[name].Annotations.Schema.Select(a => (a.Name, a.Type)));
        }
        if (perRow["Score"].HasSlotNames())
        {
            VBuffer<ReadOnlyMemory<char>> a = default, b = default;
            perRow["Score"].GetSlotNames(ref a);
            batched["Score"].GetSlotNames(ref b);
            Assert.Equal(a.DenseValues().Select(x => x.ToString()), b.DenseValues().Select(x => x.ToString()));
        }
        if (perRow.GetColumnOrNull("PredictedLabel")?.Type is KeyDataViewType)
        {
            VBuffer<ReadOnlyMemory<char>> a = default, b = default;
            perRow["PredictedLabel"].GetKeyValues(ref a);
            batched["PredictedLabel"].GetKeyValues(ref b);
            Assert.Equal(a.DenseValues().Select(x => x.ToString()), b.DenseValues().Select(x => x.ToString()));
        }
    }

    public static TheoryData<PredictionKind, int> KindsAndBlocks()
    {
        var data = new TheoryData<PredictionKind, int>();
        foreach (var kind in Enum.GetValues<PredictionKind>().Where(k => k != PredictionKind.Outputs)) // Outputs has no head to batch (the PONITA vector tests cover it)
            foreach (var block in new[] { 1, 7, 25, 100, 4096 })
                data.Add(kind, block);
        return data;
    }

    [Theory]
    [InlineData(PredictionKind.BinaryClassification, 1000)]
    [InlineData(PredictionKind.MulticlassClassification, int.MaxValue)]
    public void Block_buffers_grow_with_the_rows_so_a_block_size_beyond_the_data_costs_nothing_more(PredictionKind kind, int blockSize)
    {
        var data = KeyedData(700, 3); // more rows than a block's buffers start with, so they grow twice
        var classes = kind == PredictionKind.MulticlassClassification ? ClassLabels.FromKeyColumn(data.Schema["Label"]) : null;
        using var model = LinearModels.Fit(Ml, data, kind, classes);
        var columns = PredictionColumns(kind).Append("Colour").Append("Features").ToArray();
        Assert.Equal(Values(model.TransformPerRow(data), columns), Values(model.Transform(data, new BatchScoringOptions { BlockSize = blockSize }), columns));
    }

    [Theory]
    [MemberData(nameof(KindsAndBlocks))]
    public void Batched_scoring_gives_the_per_row_values_columns_and_annotations(PredictionKind kind, int blockSize)
    {
        var data = KeyedData(100, 1);
        var classes = kind == PredictionKind.MulticlassClassification ? ClassLabels.FromKeyColumn(data.Schema["Label"]) : null;
        using var model = LinearModels.Fit(Ml, data, kind, classes);
        var batched = model.Transform(data, new BatchScoringOptions { BlockSize = blockSize });
        var perRow = model.TransformPerRow(data);
        Assert.IsNotType<TransformerChain<ITransformer>>(batched);

        var columns = PredictionColumns(kind).Append("Colour").Append("Features").ToArray();
        Assert.Equal(Values(perRow, columns), Values(batched, columns));
        AssertSameSchemaForPredictions(perRow.Schema, batched.Schema, PredictionColumns(kind));
        Assert.Equal(data.Schema.Count + PredictionColumns(kind).Length, batched.Schema.Count);
    }

    [Theory]
    [InlineData(PredictionKind.Regression)]
    [InlineData(PredictionKind.BinaryClassification)]
    [InlineData(PredictionKind.MulticlassClassification)]
    public void Empty_input_gives_no_rows(PredictionKind kind)
    {
        var data = Ml.Data.FilterRowsByColumn(KeyedData(10, 2), "Target", lowerBound: 1e9);
        var classes = kind == PredictionKind.MulticlassClassification ? ClassLabels.FromKeyColumn(data.Schema["Label"]) : null;
        using var model = LinearModels.Fit(Ml, data, kind, classes);
        Assert.Empty(Values(model.Transform(data), PredictionColumns(kind)));
    }

    [Theory]
    [InlineData(PredictionKind.Regression)]
    [InlineData(PredictionKind.BinaryClassification)]
    [InlineData(PredictionKind.MulticlassClassification)]
    public void A_saved_model_loads_back_batched_and_scores_as_before(PredictionKind kind)
    {
        var data = KeyedData(90, 3);
        var classes = kind == PredictionKind.MulticlassClassification ? ClassLabels.FromKeyColumn(data.Schema["Label"]) : null;
        using var model = LinearModels.Fit(Ml, data, kind, classes);
        // A user pipeline around the model: the loaded chain nests the model's own chain.
        var pipeline = new TransformerChain<ITransformer>(Ml.Transforms.CopyColumns("Input", "Features").Fit(data), model);
        using var stream = new MemoryStream();
        Ml.Model.Save(pipeline, data.Schema, stream);

        stream.Position = 0;
        var loaded = new MLContext(5).LoadWithBatchedScoring(stream, out var schema, new BatchScoringOptions { BlockSize = 16 });
        Assert.Equal(data.Schema.Count, schema.Count);
        var inner = Assert.IsType<TransformerChain<ITransformer>>(loaded).Last();
        Assert.True(Assert.IsType<BatchedOnnxTransformer>(inner).IsBatched);

        var columns = PredictionColumns(kind).Append("Input").ToArray();
        Assert.Equal(Values(model.TransformPerRow(Ml.Transforms.CopyColumns("Input", "Features").Fit(data).Transform(data)), columns),
            Values(loaded.Transform(data), columns));

        // The batched wrapper saves the per-row chain again.
        using var again = new MemoryStream();
        Ml.Model.Save(loaded, schema, again);
        again.Position = 0;
        Assert.Equal(Values(loaded.Transform(data), columns), Values(new MLContext().Model.Load(again, out _).Transform(data), columns));
        (loaded as IDisposable)?.Dispose();
    }

    [Theory]
    [InlineData(PredictionKind.Regression, "saved-regression.zip")]
    [InlineData(PredictionKind.BinaryClassification, "saved-binary.zip")]
    [InlineData(PredictionKind.MulticlassClassification, "saved-multiclass.zip")]
    public void A_model_saved_by_an_earlier_version_loads_back_batched_as_its_kinds_chain(PredictionKind kind, string file)
    {
        // The data and model the fixture was saved from (see TestData/README.md).
        var data = KeyedData(20, 21);
        var classes = kind == PredictionKind.MulticlassClassification ? ClassLabels.FromKeyColumn(data.Schema["Label"]) : null;
        using var fresh = LinearModels.Fit(Ml, data, kind, classes);
        var path = Path.Combine(AppContext.BaseDirectory, "TestData", file);
        var perRow = new MLContext(1).Model.Load(path, out _);
        var loaded = new MLContext(1).LoadWithBatchedScoring(path, out _);
        try
        {
            // The head chain as a whole is recognised, rather than batching only the ONNX transformer inside it.
            var batched = Assert.IsType<BatchedOnnxTransformer>(loaded);
            Assert.True(batched.IsBatched);
            Assert.IsType<TransformerChain<ITransformer>>(batched.PerRowTransformer);
            Assert.IsType<BatchedOnnxDataView>(GuardedViews.Unwrap(loaded.Transform(data)));

            var columns = PredictionColumns(kind);
            var expected = fresh.TransformPerRow(data);
            Assert.Equal(Values(expected, columns), Values(perRow.Transform(data), columns));
            Assert.Equal(Values(expected, columns), Values(loaded.Transform(data), columns));
            AssertSameSchemaForPredictions(expected.Schema, loaded.Transform(data).Schema, columns);
            Assert.Equal(data.Schema.Count + columns.Length, loaded.Transform(data).Schema.Count);
        }
        finally
        {
            (loaded as IDisposable)?.Dispose();
            (perRow as IDisposable)?.Dispose();
        }
    }

    [Fact]
    public void Shuffled_and_parallel_cursors_serve_the_rows_of_the_input()
    {
        var data = KeyedData(500, 4);
        using var model = LinearModels.Fit(Ml, data, PredictionKind.Regression);
        var batched = model.Transform(data, new BatchScoringOptions { BlockSize = 64 });
        var perRow = model.TransformPerRow(data);
        var cols = new[] { batched.Schema["Score"], batched.Schema["Colour"] };

        List<string> Shuffled(IDataView view)
        {
            var c = new[] { view.Schema["Score"], view.Schema["Colour"] };
            using var cursor = view.GetRowCursor(c, new Random(42));
            var readers = c.Select(x => Reader(cursor, x)).ToArray();
            var rows = new List<string>();
            while (cursor.MoveNext()) rows.Add(string.Join("|", readers.Select(r => r())));
            return rows;
        }
        Assert.Equal(Shuffled(perRow), Shuffled(batched));

        var cursors = batched.GetRowCursorSet(cols, 2);
        var seen = new List<string>();
        foreach (var cursor in cursors)
        {
            var readers = cols.Select(x => Reader(cursor, x)).ToArray();
            while (cursor.MoveNext()) seen.Add(string.Join("|", readers.Select(r => r())));
            cursor.Dispose();
        }
        Assert.Equal(Values(perRow, "Score", "Colour").Order(), seen.Order());
    }

    [Fact]
    public void Concurrent_cursors_on_one_model_agree()
    {
        var data = Ml.Data.Cache(KeyedData(3000, 5));
        using var model = LinearModels.Fit(Ml, data, PredictionKind.BinaryClassification);
        var batched = model.Transform(data, new BatchScoringOptions { BlockSize = 100 });
        var expected = Values(batched, "Probability", "PredictedLabel");
        var results = Enumerable.Range(0, 4).AsParallel().WithDegreeOfParallelism(4)
            .Select(_ => Values(batched, "Probability", "PredictedLabel")).ToList();
        Assert.All(results, r => Assert.Equal(expected, r));
    }

    [Fact]
    public void Cancellation_stops_the_cursor_between_blocks()
    {
        var data = KeyedData(200, 6);
        using var model = LinearModels.Fit(Ml, data, PredictionKind.Regression);
        using var cancel = new CancellationTokenSource();
        var batched = model.Transform(data, new BatchScoringOptions { BlockSize = 50, CancellationToken = cancel.Token });
        using var cursor = batched.GetRowCursor(batched.Schema);
        for (int i = 0; i < 50; i++) Assert.True(cursor.MoveNext());
        cancel.Cancel();
        Assert.Throws<OperationCanceledException>(() => cursor.MoveNext());
    }

    [Fact]
    public void A_cursor_disposed_early_closes_its_input_cursor()
    {
        var source = new CursorCountingView(KeyedData(300, 7));
        using var model = LinearModels.Fit(Ml, source, PredictionKind.Regression);
        var batched = model.Transform(source, new BatchScoringOptions { BlockSize = 32 });
        using (var cursor = batched.GetRowCursor(batched.Schema))
        {
            cursor.MoveNext();
            cursor.MoveNext();
            Assert.Equal(1, source.OpenCursors);
        }
        Assert.Equal(0, source.OpenCursors);
        foreach (var cursor in batched.GetRowCursorSet(batched.Schema, 2)) cursor.Dispose();
        Assert.Equal(0, source.OpenCursors);
    }

    [Fact]
    public void Only_requested_columns_are_read_and_no_model_runs_without_predictions()
    {
        var source = new CursorCountingView(KeyedData(50, 8));
        using var model = LinearModels.Fit(Ml, source, PredictionKind.Regression);
        var batched = model.Transform(source);
        Assert.Equal(Values(source, "Colour"), Values(batched, "Colour"));
        Assert.DoesNotContain("Features", source.ColumnsRequested.Last());
        Values(batched, "Score");
        Assert.Contains("Features", source.ColumnsRequested.Last());
    }

    [Fact]
    public void A_users_onnx_model_scores_in_blocks_through_the_public_entry_point()
    {
        var g = new OnnxGraphBuilder();
        var x = g.AddInput("Features", OnnxElementType.Float, OnnxDim.Batch, LinearModels.FeatureCount);
        g.AddOutput(g.Tanh(g.MatMul(x, g.AddInitializer("w", Enumerable.Range(0, 12).Select(i => i / 7f - 0.8f).ToArray(), 3, 4)), "hidden"),
            OnnxElementType.Float, OnnxDim.Batch, 4);
        g.AddOutput(g.ArgMax(x, 1, keepDims: true, output: "winner"), OnnxElementType.Int64, OnnxDim.Batch, 1);
        var path = Path.Combine(Path.GetTempPath(), $"user-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(path, g.ToBytes());
        try
        {
            var data = KeyedData(77, 9);
            var perRow = Ml.Transforms.ApplyOnnxModel(["hidden", "winner"], ["Features"], path).Fit(data);
            using var batchedModel = Ml.Transforms.ApplyOnnxModelBatched(["hidden", "winner"], ["Features"], path,
                options: new BatchScoringOptions { BlockSize = 10 }).Fit(data);
            Assert.True(batchedModel.IsBatched);
            var expected = perRow.Transform(data);
            var actual = batchedModel.Transform(data);
            Assert.Equal(Values(expected, "hidden"), Values(actual, "hidden"));
            Assert.Equal(expected.Schema["winner"].Type, actual.Schema["winner"].Type);
            Assert.Equal(expected.GetColumn<long[]>("winner").SelectMany(v => v), actual.GetColumn<long[]>("winner").SelectMany(v => v));

            using var stream = new MemoryStream();
            Ml.Model.Save(batchedModel, data.Schema, stream);
            stream.Position = 0;
            var loaded = Ml.LoadWithBatchedScoring(stream, out _);
            Assert.True(Assert.IsType<BatchedOnnxTransformer>(loaded).IsBatched);
            Assert.Equal(Values(expected, "hidden"), Values(loaded.Transform(data), "hidden"));
            (loaded as IDisposable)?.Dispose();
            (perRow as IDisposable)?.Dispose();
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_finished_cursor_has_no_row_and_a_disposed_model_refuses_to_score()
    {
        var data = KeyedData(30, 10);
        var model = LinearModels.Fit(Ml, data, PredictionKind.Regression);
        var batched = model.Transform(data, new BatchScoringOptions { BlockSize = 7 });
        using (var cursor = batched.GetRowCursor(batched.Schema))
        {
            var score = cursor.GetGetter<float>(batched.Schema["Score"]);
            while (cursor.MoveNext()) { }
            Assert.Equal(-1, cursor.Position);
            Assert.False(cursor.MoveNext());
            float value = 0;
            Assert.Throws<InvalidOperationException>(() => score(ref value));
        }
        model.Dispose();
        Assert.Throws<ObjectDisposedException>(() => Values(batched, "Score"));
    }

    [Fact]
    public void Loading_batched_keeps_only_the_onnx_outputs_a_saved_pipeline_used_and_leaves_look_alike_chains_alone()
    {
        var g = new OnnxGraphBuilder();
        var x = g.AddInput("Features", OnnxElementType.Float, OnnxDim.Batch, LinearModels.FeatureCount);
        g.AddOutput(g.Relu(x, output: "a"), OnnxElementType.Float, OnnxDim.Batch, LinearModels.FeatureCount);
        g.AddOutput(g.Sigmoid(x, output: "b"), OnnxElementType.Float, OnnxDim.Batch, LinearModels.FeatureCount);
        var path = Path.Combine(Path.GetTempPath(), $"two-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(path, g.ToBytes());
        try
        {
            var data = KeyedData(40, 11);
            var onlyA = Ml.Transforms.ApplyOnnxModel(["a"], ["Features"], path).Fit(data);
            using var stream = new MemoryStream();
            Ml.Model.Save(onlyA, data.Schema, stream);
            stream.Position = 0;
            var loaded = Ml.LoadWithBatchedScoring(stream, out _);
            Assert.True(Assert.IsType<BatchedOnnxTransformer>(loaded).IsBatched);
            Assert.Equal(Values(onlyA.Transform(data), "a"), Values(loaded.Transform(data), "a"));
            Assert.Null(loaded.Transform(data).Schema.GetColumnOrNull("b"));
            (loaded as IDisposable)?.Dispose();
        }
        finally
        {
            File.Delete(path);
        }

        // A user's own chain that starts with an ONNX model ending in a scoring head's outputs is not mistaken for one.
        var headPath = Path.Combine(Path.GetTempPath(), $"head-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(headPath, LinearModels.Model(PredictionKind.Regression));
        try
        {
            var data = KeyedData(40, 12);
            var chain = Ml.Transforms.ApplyOnnxModel(["mlx_score"], ["Features"], headPath).Append(Ml.Transforms.CopyColumns("Copy", "mlx_score")).Fit(data);
            using var stream = new MemoryStream();
            Ml.Model.Save(chain, data.Schema, stream);
            stream.Position = 0;
            var loaded = Ml.LoadWithBatchedScoring(stream, out _);
            Assert.Equal(Values(chain.Transform(data), "Copy"), Values(loaded.Transform(data), "Copy"));
            (loaded as IDisposable)?.Dispose();
        }
        finally
        {
            File.Delete(headPath);
        }
    }

    /// <summary>Passes an <see cref="IDataView"/> through, counting the cursors that are open.</summary>
    private sealed class CursorCountingView(IDataView inner) : IDataView
    {
        private int _open;

        public int OpenCursors => Volatile.Read(ref _open);

        public List<string[]> ColumnsRequested { get; } = [];

        public bool CanShuffle => inner.CanShuffle;

        public DataViewSchema Schema => inner.Schema;

        public long? GetRowCount() => inner.GetRowCount();

        public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
        {
            var columns = columnsNeeded.ToArray();
            ColumnsRequested.Add(columns.Select(c => c.Name).ToArray());
            return new Counted(this, inner.GetRowCursor(columns, rand));
        }

        public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
            inner.GetRowCursorSet(columnsNeeded, n, rand).Select(c => (DataViewRowCursor)new Counted(this, c)).ToArray();

        private sealed class Counted : DataViewRowCursor
        {
            private readonly CursorCountingView _owner;
            private readonly DataViewRowCursor _cursor;

            public Counted(CursorCountingView owner, DataViewRowCursor cursor)
            {
                _owner = owner;
                _cursor = cursor;
                Interlocked.Increment(ref owner._open);
            }

            public override DataViewSchema Schema => _cursor.Schema;
            public override long Position => _cursor.Position;
            public override long Batch => _cursor.Batch;
            public override bool MoveNext() => _cursor.MoveNext();
            public override bool IsColumnActive(DataViewSchema.Column column) => _cursor.IsColumnActive(column);
            public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) => _cursor.GetGetter<TValue>(column);
            public override ValueGetter<DataViewRowId> GetIdGetter() => _cursor.GetIdGetter();

            protected override void Dispose(bool disposing)
            {
                if (disposing)
                {
                    _cursor.Dispose();
                    Interlocked.Decrement(ref _owner._open);
                }
                base.Dispose(disposing);
            }
        }
    }
}
