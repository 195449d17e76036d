using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Ordinal;
using MLExtensions.Studies;
using Xunit;

namespace MLExtensions.Tests.Ordinal;

public class PrestoStreamingTests
{
    private sealed class Row
    {
        [VectorType(4)] public float[] Features { get; set; } = [];
        public float Label { get; set; }
        public float Weight { get; set; }
        public string Fold { get; set; } = "";
    }

    /// <summary>More rows than one streamed block holds, with example weights, ranked labels and a fold column.</summary>
    private static IDataView Data(MLContext ml, int rows = StreamedOrdinalRows.BlockRows + 1500)
    {
        var sim = OrdinalSimulation.Generate(OrdinalDifferences.Sparse, rows, 4, [-1, 0.5, 2], seed: 31);
        return ml.Data.LoadFromEnumerable(Enumerable.Range(0, sim.Rows).Select(i => new Row
        {
            Features = sim.Features.AsSpan(i * 4, 4).ToArray(),
            Label = 10 * sim.Labels[i],
            Weight = 1 + i % 3,
            Fold = $"site {i % 3}",
        }).ToArray());
    }

    private static PrestoTrainer.Options Options(bool stream, string? foldColumn = "Fold", bool relax = false) => new()
    {
        Relax = relax, StreamData = stream, FoldColumnName = foldColumn, ExampleWeightColumnName = "Weight", NumberOfLambdas = 8, NumberOfFolds = 3, Seed = 5,
    };

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_streamed_fit_equals_the_in_memory_fit_with_the_same_folds(bool relax)
    {
        var ml = new MLContext(1);
        var data = ml.Data.Cache(Data(ml));
        using var inMemory = ml.Ordinal().Trainers.Presto(Options(stream: false, relax: relax)).Fit(data);
        using var streamed = ml.Ordinal().Trainers.Presto(Options(stream: true, relax: relax)).Fit(data);
        // The relaxed lasso's refits share the folds' passes too, and choose the same γ.
        Assert.Equal(inMemory.Parameters.Gamma, streamed.Parameters.Gamma);

        Assert.Equal(inMemory.Parameters.LambdaPath, streamed.Parameters.LambdaPath, (a, b) => Math.Abs(a - b) <= 1e-10 * a);
        // The same λ is chosen (the path's values differ in the last bits: the streamed sums run block by block).
        Assert.Equal(inMemory.Parameters.LambdaIndex, streamed.Parameters.LambdaIndex);
        for (int l = 0; l < inMemory.Parameters.CrossValidationScores.Count; l++)
            Assert.Equal(inMemory.Parameters.CrossValidationScores[l], streamed.Parameters.CrossValidationScores[l], 1e-9);
        for (int k = 0; k < inMemory.Parameters.Intercepts.Count; k++)
        {
            Assert.Equal(inMemory.Parameters.Intercepts[k], streamed.Parameters.Intercepts[k], 1e-7);
            for (int j = 0; j < 4; j++) Assert.Equal(inMemory.Parameters.Weights[k][j], streamed.Parameters.Weights[k][j], 1e-7);
        }
    }

    [Fact]
    public void Without_a_fold_column_streamed_folds_hash_the_row_position_with_the_seed()
    {
        var ml = new MLContext(1);
        var data = ml.Data.Cache(Data(ml, rows: 1200));
        double[] Scores(int seed)
        {
            var options = Options(stream: true, foldColumn: null);
            options.Seed = seed;
            using var model = ml.Ordinal().Trainers.Presto(options).Fit(data);
            return model.Parameters.CrossValidationScores.ToArray();
        }
        Assert.Equal(Scores(1), Scores(1));
        Assert.NotEqual(Scores(1), Scores(2));

        // Folds of roughly equal size.
        var sizes = new int[5];
        for (long i = 0; i < 100_000; i++) sizes[StreamedOrdinalRows.HashFold(i, seed: 3, folds: 5)]++;
        Assert.All(sizes, s => Assert.InRange(s, 19_000, 21_000));
    }

    [Fact]
    public void Hashed_folds_follow_the_row_position_across_blocks()
    {
        // The streamed fit's hashed folds, written out as a fold column for the in-memory fit: the same folds, so the same fit.
        var ml = new MLContext(1);
        var rows = ml.Data.CreateEnumerable<Row>(Data(ml), reuseRowObject: false).ToArray();
        for (int i = 0; i < rows.Length; i++) rows[i].Fold = StreamedOrdinalRows.HashFold(i, seed: 5, folds: 3).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var data = ml.Data.Cache(ml.Data.LoadFromEnumerable(rows));
        using var streamed = ml.Ordinal().Trainers.Presto(Options(stream: true, foldColumn: null)).Fit(data);
        using var inMemory = ml.Ordinal().Trainers.Presto(Options(stream: false)).Fit(data);
        Assert.Equal(inMemory.Parameters.LambdaIndex, streamed.Parameters.LambdaIndex);
        for (int l = 0; l < inMemory.Parameters.CrossValidationScores.Count; l++)
            Assert.Equal(inMemory.Parameters.CrossValidationScores[l], streamed.Parameters.CrossValidationScores[l], 1e-9);
    }

    [Fact]
    public void Streamed_data_is_checked_as_it_is_read()
    {
        var ml = new MLContext(1);
        var rows = ml.Data.CreateEnumerable<Row>(Data(ml, rows: 300), reuseRowObject: false).ToArray();
        rows[123].Features[2] = float.NaN;
        var message = Assert.Throws<InvalidDataException>(() => ml.Ordinal().Trainers.Presto(Options(stream: true)).Fit(ml.Data.LoadFromEnumerable(rows))).Message;
        Assert.Contains("'Features'", message);
        Assert.Contains("row 123", message);

        rows[123].Features[2] = 0;
        foreach (var row in rows) row.Fold = "one";
        Assert.Contains("single value", Assert.Throws<InvalidDataException>(() => ml.Ordinal().Trainers.Presto(Options(stream: true)).Fit(ml.Data.LoadFromEnumerable(rows))).Message);

        // A class too rare for the hashed folds: one row of the top class.
        var rare = rows.Where(r => r.Label < 30).Append(rows.First(r => r.Label == 30)).ToArray();
        Assert.Contains("'Label'", Assert.Throws<InvalidDataException>(() =>
            ml.Ordinal().Trainers.Presto(Options(stream: true, foldColumn: null)).Fit(ml.Data.LoadFromEnumerable(rare))).Message);
    }

    [Fact(Timeout = 120_000)]
    public async Task Cancelling_a_streamed_fit_stops_every_path_without_a_hang()
    {
        var ml = new MLContext(1);
        var data = ml.Data.Cache(Data(ml, rows: 2000));
        using var cancel = new CancellationTokenSource();
        var options = Options(stream: true);
        options.NumberOfLambdas = 30;
        options.CancellationToken = cancel.Token;
        options.Progress = new SynchronousProgress<MLExtensions.Training.TrainingProgress>(p =>
        {
            if (p.Epoch == 3) cancel.Cancel();
        });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Task.Run(() => ml.Ordinal().Trainers.Presto(options).Fit(data)));
    }
}
