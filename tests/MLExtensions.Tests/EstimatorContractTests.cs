using MLExtensions.Mlp;
using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Equivariant;
using MLExtensions.Fairness;
using MLExtensions.Nas;
using MLExtensions.Onnx.Batching;
using MLExtensions.Onnx.Scoring;
using MLExtensions.Ordinal;
using MLExtensions.Studies;
using MLExtensions.Tests.Equivariant;
using MLExtensions.Tests.Fairness;
using MLExtensions.Tests.Ordinal;
using Xunit;
using Xunit.Abstractions;

namespace MLExtensions.Tests;

/// <summary>
/// Each estimator of <see cref="EstimatorContractTests"/> fitted once for the class (the PONITA fits cost seconds
/// each, mostly their export checks), with the schema it promised before it was fitted. The tests only read the models.
/// </summary>
public sealed class FittedEstimatorsFixture : IDisposable
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<(SchemaShape Promised, IDataView Input, ITransformer Model)>> _fitted = new();

    /// <summary>The estimator's promise for its input (asked before fitting, as ML.NET's chains ask), the input and the model fitted on it.</summary>
    public (SchemaShape Promised, IDataView Input, ITransformer Model) Get(string estimatorName) => _fitted.GetOrAdd(estimatorName, name => new(() =>
    {
        var (estimator, input) = EstimatorContractTests.Build(new MLContext(1), name);
        var promised = estimator.GetOutputSchema(EstimatorContractTests.ShapeOf(input.Schema));
        return (promised, input, estimator.Fit(input));
    })).Value;

    public void Dispose()
    {
        foreach (var fitted in _fitted.Values.Where(f => f.IsValueCreated)) (fitted.Value.Model as IDisposable)?.Dispose();
    }
}

/// <summary>
/// Every estimator keeps the promise of its <c>GetOutputSchema</c>: the fitted transformer delivers each promised
/// column with the promised item type and vector kind, and no column it did not promise. ML.NET's estimator chains
/// check a pipeline against these promises before anything is fitted, so a broken promise only shows up later.
/// </summary>
public class EstimatorContractTests(ITestOutputHelper output, FittedEstimatorsFixture fitted) : IClassFixture<FittedEstimatorsFixture>
{
    [Theory]
    [MemberData(nameof(Estimators))]
    public void The_fitted_transformer_delivers_the_promised_output_schema(string estimatorName)
    {
        var (promised, input, transformer) = fitted.Get(estimatorName);
        var problems = new List<string>();
        Compare("Transform(input).Schema", promised, input.Schema, transformer.Transform(input).Schema, problems);
        Compare("GetOutputSchema(input.Schema)", promised, input.Schema, transformer.GetOutputSchema(input.Schema), problems);
        if (problems.Count > 0)
            Assert.Fail($"{estimatorName} breaks its GetOutputSchema promise:{Environment.NewLine}{string.Join(Environment.NewLine, problems)}");
    }

    /// <remarks>
    /// ML.NET's <c>Model.Load</c> gives the per-row chain, which must give the fitted model's per-row bits;
    /// <c>LoadWithBatchedScoring</c> must give the bits of the fitted model's <c>Transform</c> (blocks), except for
    /// <see cref="BlocksRoundDifferently"/>.
    /// </remarks>
    [Theory]
    [MemberData(nameof(Estimators))]
    public void A_saved_and_loaded_model_scores_every_column_identically(string estimatorName)
    {
        var ml = new MLContext(1);
        var (_, input, transformer) = fitted.Get(estimatorName);
        using var stream = new MemoryStream();
        ml.Model.Save(transformer, input.Schema, stream);
        var saved = stream.ToArray();
        var perRow = transformer is MLExtensions.Onnx.Scoring.OnnxScoredModel scored ? scored.TransformPerRow(input) : transformer.Transform(input);
        var loaded = new MLContext(2).Model.Load(new MemoryStream(saved), out var savedSchema);
        var batchedLoaded = new MLContext(2).LoadWithBatchedScoring(new MemoryStream(saved), out _);
        try
        {
            Assert.Equal(input.Schema.Select(c => c.Name), savedSchema.Select(c => c.Name));
            AssertSameColumns(estimatorName + " after Model.Load", perRow, loaded.Transform(input));
            AssertSameColumns(estimatorName + " after LoadWithBatchedScoring", transformer.Transform(input), batchedLoaded.Transform(input),
                BlocksRoundDifferently.Contains(estimatorName) ? 1e-6 : 0);
            // Tabular models score in blocks again after loading; PONITA's saved chain scores row by row.
            if (estimatorName.StartsWith("Mlp") || estimatorName.StartsWith("Nas") || estimatorName.StartsWith("Presto") || estimatorName == "ProportionalOdds")
                Assert.IsType<BatchedOnnxDataView>(GuardedViews.Unwrap(batchedLoaded.Transform(input)));
        }
        finally
        {
            (loaded as IDisposable)?.Dispose();
            (batchedLoaded as IDisposable)?.Dispose();
        }
    }

    /// <summary>
    /// PONITA scores a block as one concatenated graph, and a saved PONITA chain loads for per-row scoring: its sums
    /// over edges then round differently in the last bits (forces: a few float32 ulps where contributions cancel).
    /// </summary>
    private static readonly HashSet<string> BlocksRoundDifferently = ["Ponita", "PonitaWithForces", "PonitaVectors"];

    /// <summary>
    /// The same visible columns with the same types and values: the same bits, or with <paramref name="tolerance"/> &gt; 0
    /// floats within tolerance × the row's largest magnitude (at least 1).
    /// </summary>
    private static void AssertSameColumns(string what, IDataView expected, IDataView actual, double tolerance = 0)
    {
        var names = expected.Schema.Where(c => !c.IsHidden).Select(c => c.Name).ToArray();
        Assert.Equal(names, actual.Schema.Where(c => !c.IsHidden).Select(c => c.Name).ToArray());
        foreach (var name in names)
        {
            Assert.Equal(expected.Schema[name].Type.ToString(), actual.Schema[name].Type.ToString());
            var (want, got) = (ColumnText(expected, name), ColumnText(actual, name));
            Assert.Equal(want.Count, got.Count);
            for (int row = 0; row < want.Count; row++)
                Assert.True(want[row] == got[row] || tolerance > 0 && Close(want[row], got[row], tolerance), $"{what}: column '{name}' differs in row {row}: {want[row]} vs {got[row]}.");
        }
    }

    [Theory]
    [MemberData(nameof(Estimators))]
    public void A_missing_input_column_is_refused_by_name_before_anything_is_fitted(string estimatorName)
    {
        var ml = new MLContext(1);
        var (estimator, input) = Build(ml, estimatorName);
        var refused = new List<string>();
        foreach (var column in input.Schema.Where(c => !c.IsHidden))
        {
            var without = ml.Transforms.DropColumns(column.Name).Fit(input).Transform(input);
            Exception? error = Record.Exception(() => estimator.GetOutputSchema(ShapeOf(without.Schema)));
            if (error is null) continue;
            refused.Add(column.Name);
            Assert.True(error is ArgumentOutOfRangeException or InvalidOperationException,
                $"{estimatorName} without '{column.Name}': {error.GetType().Name} ({error.Message}); ML.NET's estimators throw ArgumentOutOfRangeException or InvalidOperationException.");
            Assert.Contains($"'{column.Name}'", error.Message);
            // Fit refuses the same way, before reading any row.
            var fitError = Assert.ThrowsAny<Exception>(() => (estimator.Fit(without) as IDisposable)?.Dispose());
            Assert.Equal(error.GetType(), fitError.GetType());
            Assert.Contains($"'{column.Name}'", fitError.Message);
        }
        // Every estimator needs at least one of its input columns.
        Assert.NotEmpty(refused);
        output.WriteLine($"{estimatorName} requires {string.Join(", ", refused)}");
    }

    public static TheoryData<string> Estimators() => new(
        "MlpRegression", "MlpBinaryClassification", "MlpMulticlassClassification", "NasRegression", "NasBinaryClassification",
        "NasMulticlassClassification", "Presto", "PrestoWithRankLabel", "PrestoStreamed", "ProportionalOdds", "Ponita", "PonitaWithForces",
        "PonitaVectors", "MitigateFromProbability", "MitigateFromPredictedLabel", "Audit");

    private static bool Close(string want, string got, double tolerance)
    {
        var (a, b) = (want.Split(' '), got.Split(' '));
        if (a.Length != b.Length || !a.Concat(b).All(v => double.TryParse(v, out _))) return false;
        var (x, y) = (a.Select(double.Parse).ToArray(), b.Select(double.Parse).ToArray());
        double scale = Math.Max(1, x.Max(Math.Abs));
        return x.Zip(y).All(p => Math.Abs(p.First - p.Second) <= tolerance * scale);
    }

    /// <summary>Every value of a column as text (vectors slot by slot, floats round-trippable), whatever its type.</summary>
    private static List<string> ColumnText(IDataView data, string name)
    {
        var column = data.Schema[name];
        var (reader, item) = column.Type is VectorDataViewType vector ? (nameof(ReadVectors), vector.ItemType.RawType) : (nameof(ReadScalars), column.Type.RawType);
        var read = typeof(EstimatorContractTests).GetMethod(reader, BindingFlags.NonPublic | BindingFlags.Static)!.MakeGenericMethod(item);
        return (List<string>)read.Invoke(null, [data, column])!;
    }

    private static List<string> ReadScalars<T>(IDataView data, DataViewSchema.Column column)
    {
        var values = new List<string>();
        using var cursor = data.GetRowCursor([column]);
        var getter = cursor.GetGetter<T>(column);
        T value = default!;
        while (cursor.MoveNext())
        {
            getter(ref value);
            values.Add(Format(value));
        }
        return values;
    }

    private static List<string> ReadVectors<T>(IDataView data, DataViewSchema.Column column)
    {
        var values = new List<string>();
        using var cursor = data.GetRowCursor([column]);
        var getter = cursor.GetGetter<VBuffer<T>>(column);
        VBuffer<T> value = default;
        while (cursor.MoveNext())
        {
            getter(ref value);
            values.Add(string.Join(" ", value.DenseValues().Select(v => Format(v))));
        }
        return values;
    }

    private static string Format<T>(T value) => value switch
    {
        float x => x.ToString("R"),
        double x => x.ToString("R"),
        _ => value?.ToString() ?? "null",
    };

    /// <summary>A small estimator of each kind and tiny data it fits in a second or two.</summary>
    internal static (IEstimator<ITransformer> Estimator, IDataView Input) Build(MLContext ml, string name)
    {
        switch (name)
        {
            case "MlpRegression":
                return (ml.Nas().Trainers.MlpRegression(Mlp(nameof(Synthetic.Row.Target))), ml.Data.LoadFromEnumerable(Synthetic.Rows(64, 1)));
            case "MlpBinaryClassification":
                return (ml.Nas().Trainers.MlpBinaryClassification(Mlp(nameof(Synthetic.Row.Positive))), ml.Data.LoadFromEnumerable(Synthetic.Rows(64, 2)));
            case "MlpMulticlassClassification":
                return (ml.Nas().Trainers.MlpMulticlassClassification(Mlp("Label")), Synthetic.Keyed(ml, Synthetic.Rows(64, 3)));
            case "NasRegression":
                return (ml.Nas().Trainers.Regression(Nas(nameof(Synthetic.Row.Target))), ml.Data.LoadFromEnumerable(Synthetic.Rows(80, 4)));
            case "NasBinaryClassification":
                return (ml.Nas().Trainers.BinaryClassification(Nas(nameof(Synthetic.Row.Positive))), ml.Data.LoadFromEnumerable(Synthetic.Rows(80, 5)));
            case "NasMulticlassClassification":
                return (ml.Nas().Trainers.MulticlassClassification(Nas("Label")), Synthetic.Keyed(ml, Synthetic.Rows(80, 6)));
            case "Presto":
                // A key label without key values (as simulated data has).
                return (ml.Ordinal().Trainers.Presto(new PrestoTrainer.Options { Lambda = 0.1, Seed = 3 }),
                    OrdinalTestData.ToDataView(ml, OrdinalTestData.Simulate(120, 7, features: 3)));
            case "PrestoWithRankLabel":
                // A Single label of ranks: the classes are the rank values.
                return (ml.Ordinal().Trainers.Presto(new PrestoTrainer.Options { LabelColumnName = nameof(RankRow.Rating), Lambda = 0.1, Seed = 3 }),
                    ml.Data.LoadFromEnumerable(RankRows(120, 8)));
            case "PrestoStreamed":
                return (ml.Ordinal().Trainers.Presto(new PrestoTrainer.Options { StreamData = true, Lambda = 0.1, Seed = 3 }),
                    OrdinalTestData.ToDataView(ml, OrdinalTestData.Simulate(150, 10, features: 3)));
            case "ProportionalOdds":
                return (ml.Ordinal().Trainers.ProportionalOdds(), OrdinalTestData.ToDataView(ml, OrdinalTestData.Simulate(120, 9, features: 3)));
            case "Ponita":
                return (ml.Equivariant().Trainers.Ponita(Ponita(withForces: false)), Molecules(ml, 12, 10));
            case "PonitaWithForces":
                return (ml.Equivariant().Trainers.Ponita(Ponita(withForces: true)), Molecules(ml, 12, 11));
            case "PonitaVectors":
                return (ml.Equivariant().Trainers.PonitaVectors(new PonitaVectorTrainer.Options
                {
                    InputVectorsColumnName = "Velocities", NumberOfOrientations = 8, HiddenSize = 8, NumberOfLayers = 1, Cutoff = 3.0,
                    NumberOfEpochs = 1, BatchSize = 8, Seed = 2,
                }), ml.Data.LoadFromEnumerable(PonitaVectorTrainerTests.Rows(12, 12)));
            case "MitigateFromProbability":
                return (ml.Fairness().Mitigate(Mitigation(fromScores: true)), ml.Data.LoadFromEnumerable(MitigatorTests.Rows(600, 13)));
            case "MitigateFromPredictedLabel":
                return (ml.Fairness().Mitigate(Mitigation(fromScores: false)), ml.Data.LoadFromEnumerable(MitigatorTests.Rows(600, 14)));
            case "Audit":
                return (ml.Fairness().Audit("Gender", "Predicted", "Client", "Label", bootstrapSamples: 0, seed: 1),
                    ml.Data.LoadFromEnumerable(AuditTests.Rows(300, 15)));
            default:
                throw new ArgumentOutOfRangeException(nameof(name), name, "No such estimator case.");
        }
    }

    private static MlpTrainer.Options Mlp(string label) => new()
    {
        LabelColumnName = label, HiddenLayerSizes = [8], NumberOfEpochs = 1, BatchSize = 32, Seed = 7,
    };

    private static NasTrainer.Options Nas(string label) => new()
    {
        LabelColumnName = label, Strategy = NasStrategy.Spos, Depths = [1], Widths = [8, 16], Activations = [MlpActivation.Relu],
        SearchResidual = false, SearchEpochs = 1, WarmupEpochs = 0, BatchSize = 32, RetrainEpochs = 1, CandidatesToRank = 4, TopK = 2, Seed = 5,
    };

    private static PonitaTrainer.Options Ponita(bool withForces) => new()
    {
        ForcesColumnName = withForces ? "Forces" : null,
        PredictedForcesColumnName = withForces ? "PredictedForces" : null,
        NumberOfOrientations = 8, HiddenSize = 8, NumberOfLayers = 1, NumberOfEpochs = 1, BatchSize = 8, Seed = 3,
    };

    private static IDataView Molecules(MLContext ml, int count, int seed) =>
        ml.Data.LoadFromEnumerable(SyntheticMolecules.Generate(count, seed, minAtoms: 3, maxAtoms: 5).ToList());

    private static FairnessMitigator.Options Mitigation(bool fromScores) => new()
    {
        SensitiveColumnName = "Sensitive", ClientColumnName = "Client", LabelColumnName = "Label",
        ScoreColumnName = fromScores ? "Probability" : null,
        GlobalBudget = 0.002, LocalBudget = 0.002, OutputColumnName = "FairPredictedLabel", Seed = 1,
    };

    public sealed class RankRow
    {
        public float Rating { get; set; }
        [VectorType(2)] public float[] Features { get; set; } = [];
    }

    /// <summary>Ranks 1..4 that rise with the first feature.</summary>
    private static RankRow[] RankRows(int n, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, n).Select(_ =>
        {
            float x = (float)(random.NextDouble() * 2 - 1), noise = (float)(random.NextDouble() - 0.5);
            return new RankRow { Rating = Math.Clamp(MathF.Round(2.5f + 1.5f * x + noise), 1, 4), Features = [x, (float)random.NextDouble()] };
        }).ToArray();
    }

    /// <summary>
    /// The <see cref="SchemaShape"/> of a schema, as ML.NET's estimator chains build it (<c>SchemaShape.Create</c> is
    /// internal in ML.NET 5, hence the reflection).
    /// </summary>
    internal static SchemaShape ShapeOf(DataViewSchema schema)
    {
        var create = typeof(SchemaShape).GetMethod("Create", BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public, [typeof(DataViewSchema)])
                     ?? throw new MissingMethodException(nameof(SchemaShape), "Create(DataViewSchema)");
        return (SchemaShape)create.Invoke(null, [schema])!;
    }

    private static string Describe(SchemaShape.Column column) => column.Kind switch
    {
        SchemaShape.Column.VectorKind.Scalar => $"scalar {column.ItemType}",
        SchemaShape.Column.VectorKind.Vector => $"known-size vector of {column.ItemType}",
        _ => $"variable-size vector of {column.ItemType}",
    } + (column.IsKey ? " (key)" : "");

    /// <summary>Lists, by column name, every way <paramref name="delivered"/> departs from <paramref name="promised"/>.</summary>
    private void Compare(string source, SchemaShape promised, DataViewSchema input, DataViewSchema delivered, List<string> problems)
    {
        var deliveredShape = ShapeOf(delivered).ToDictionary(c => c.Name);
        foreach (var want in promised)
        {
            if (!deliveredShape.TryGetValue(want.Name, out var got))
            {
                problems.Add($"[{source}] column '{want.Name}': promised {Describe(want)}, not delivered.");
                continue;
            }
            if (!want.ItemType.Equals(got.ItemType) || want.IsKey != got.IsKey || want.Kind != got.Kind)
                problems.Add($"[{source}] column '{want.Name}': promised {Describe(want)}, delivered {Describe(got)} ({delivered[want.Name].Type}).");
            if (want.Kind == SchemaShape.Column.VectorKind.Vector && delivered[want.Name].Type is not VectorDataViewType { IsKnownSize: true })
                problems.Add($"[{source}] column '{want.Name}': promised a known-size vector, delivered {delivered[want.Name].Type}.");

            // Annotations (e.g. KeyValues of PredictedLabel) are not part of the contract checked here; differences are logged.
            var wantAnnotations = want.Annotations.Select(a => $"{a.Name}:{Describe(a)}").Order().ToArray();
            var gotAnnotations = got.Annotations.Select(a => $"{a.Name}:{Describe(a)}").Order().ToArray();
            if (!wantAnnotations.SequenceEqual(gotAnnotations))
                output.WriteLine($"[{source}] column '{want.Name}': annotations promised [{string.Join(", ", wantAnnotations)}], delivered [{string.Join(", ", gotAnnotations)}].");
        }

        var inputNames = input.Where(c => !c.IsHidden).Select(c => c.Name).ToHashSet();
        var promisedNames = promised.Select(c => c.Name).ToHashSet();
        foreach (var column in delivered.Where(c => !c.IsHidden && !inputNames.Contains(c.Name)))
            if (!promisedNames.Contains(column.Name))
                problems.Add($"[{source}] column '{column.Name}': delivered ({column.Type}) but not promised.");
    }
}
