using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Equivariant;
using MLExtensions.Fairness;
using MLExtensions.Mlp;
using MLExtensions.Nas;
using MLExtensions.Ordinal;
using MLExtensions.Studies;
using MLExtensions.Tests.Ordinal;
using Xunit;

namespace MLExtensions.Tests.Training;

/// <summary>
/// Options are checked whenever a trainer uses them, not only when it is built: a setting changed afterwards gets the
/// same message, naming the option, from <c>Fit</c> and <c>GetOutputSchema</c>. Settings that are legal but useless are
/// refused or warned about, settings beyond the data's size mean all of it, and data that cannot be trained on is
/// named before training starts.
/// </summary>
public class OptionsReliabilityTests
{
    private static readonly MLContext Ml = new(0);

    private static IDataView Tabular => Ml.Data.LoadFromEnumerable(Synthetic.Rows(20, 1));

    /// <summary>A trainer built with valid options, one option then spoilt, and the option the error must name.</summary>
    public static TheoryData<string, Func<IEstimator<ITransformer>>, string> SpoiltAfterConstruction() => new()
    {
        { "MLP epochs", () => Spoil(new MlpTrainer.Options(), o => Ml.Nas().Trainers.MlpRegression(o), o => o.NumberOfEpochs = 0), "NumberOfEpochs" },
        { "MLP learning rate", () => Spoil(new MlpTrainer.Options(), o => Ml.Nas().Trainers.MlpRegression(o), o => o.LearningRate = 0), "LearningRate" },
        { "MLP weight decay", () => Spoil(new MlpTrainer.Options(), o => Ml.Nas().Trainers.MlpRegression(o), o => o.WeightDecay = double.PositiveInfinity), "WeightDecay" },
        { "MLP width", () => Spoil(new MlpTrainer.Options(), o => Ml.Nas().Trainers.MlpRegression(o), o => o.HiddenLayerSizes = [int.MaxValue]), "HiddenLayerSizes" },
        { "MLP label", () => Spoil(new MlpTrainer.Options(), o => Ml.Nas().Trainers.MlpRegression(o), o => o.LabelColumnName = " "), "LabelColumnName" },
        { "MLP weight column", () => Spoil(new MlpTrainer.Options(), o => Ml.Nas().Trainers.MlpRegression(o), o => o.ExampleWeightColumnName = ""), "ExampleWeightColumnName" },
        { "MLP threads", () => Spoil(new MlpTrainer.Options(), o => Ml.Nas().Trainers.MlpRegression(o), o => o.NumberOfThreads = 0), "NumberOfThreads" },
        { "NAS search epochs", () => Spoil(new NasTrainer.Options(), o => Ml.Nas().Trainers.Regression(o), o => o.SearchEpochs = 0), "SearchEpochs" },
        { "NAS widths", () => Spoil(new NasTrainer.Options(), o => Ml.Nas().Trainers.Regression(o), o => o.Widths = []), "Widths" },
        { "NAS depths", () => Spoil(new NasTrainer.Options(), o => Ml.Nas().Trainers.Regression(o), o => o.Depths = []), "Depths" },
        { "NAS activations", () => Spoil(new NasTrainer.Options(), o => Ml.Nas().Trainers.Regression(o), o => o.Activations = []), "Activations" },
        { "NAS α decay", () => Spoil(new NasTrainer.Options(), o => Ml.Nas().Trainers.Regression(o), o => o.ArchitectureWeightDecay = double.PositiveInfinity), "ArchitectureWeightDecay" },
        { "PRESTO λ", () => Spoil(new PrestoTrainer.Options(), o => Ml.Ordinal().Trainers.Presto(o), o => o.Lambda = -1), "Lambda" },
        { "PRESTO ∞ λ", () => Spoil(new PrestoTrainer.Options(), o => Ml.Ordinal().Trainers.Presto(o), o => o.Lambda = double.PositiveInfinity), "Lambda" },
        { "PRESTO folds", () => Spoil(new PrestoTrainer.Options(), o => Ml.Ordinal().Trainers.Presto(o), o => o.NumberOfFolds = 1), "NumberOfFolds" },
        { "PRESTO α", () => Spoil(new PrestoTrainer.Options(), o => Ml.Ordinal().Trainers.Presto(o), o => o.Alpha = 5), "Alpha" },
        { "PRESTO λ count", () => Spoil(new PrestoTrainer.Options(), o => Ml.Ordinal().Trainers.Presto(o), o => o.NumberOfLambdas = int.MaxValue), "NumberOfLambdas" },
        { "PRESTO tolerance", () => Spoil(new PrestoTrainer.Options(), o => Ml.Ordinal().Trainers.Presto(o), o => o.Tolerance = double.PositiveInfinity), "Tolerance" },
        { "proportional odds iterations", () => Spoil(new ProportionalOddsTrainer.Options(), o => Ml.Ordinal().Trainers.ProportionalOdds(o), o => o.MaximumNumberOfIterations = 0), "MaximumNumberOfIterations" },
        { "PONITA orientations", () => Spoil(new PonitaTrainer.Options(), o => Ml.Equivariant().Trainers.Ponita(o), o => o.NumberOfOrientations = 1), "NumberOfOrientations" },
        { "PONITA negative gradient-norm limit", () => Spoil(new PonitaTrainer.Options(), o => Ml.Equivariant().Trainers.Ponita(o), o => o.GradientClipNorm = -1), "GradientClipNorm" },
        { "PONITA odd grid with the frame", () => Spoil(new PonitaTrainer.Options(), o => Ml.Equivariant().Trainers.Ponita(o), o => o.NumberOfOrientations = 15), "NumberOfOrientations" },
        { "PONITA forces output", () => Spoil(new PonitaTrainer.Options(), o => Ml.Equivariant().Trainers.Ponita(o), o => o.PredictedForcesColumnName = "Positions"), "PredictedForcesColumnName" },
        { "PONITA vectors output", () => Spoil(new PonitaVectorTrainer.Options(), o => Ml.Equivariant().Trainers.PonitaVectors(o), o => o.PredictedVectorsColumnName = "AtomTypes"), "PredictedVectorsColumnName" },
        { "PONITA vectors epochs", () => Spoil(new PonitaVectorTrainer.Options(), o => Ml.Equivariant().Trainers.PonitaVectors(o), o => o.NumberOfEpochs = 0), "NumberOfEpochs" },
        { "mitigator output", () => Spoil(new FairnessMitigator.Options(), o => Ml.Fairness().Mitigate(o), o => o.OutputColumnName = "Sensitive"), "OutputColumnName" },
        { "mitigator folds", () => Spoil(new FairnessMitigator.Options(), o => Ml.Fairness().Mitigate(o), o => o.CrossFitFolds = 1), "CrossFitFolds" },
    };

    private static IEstimator<ITransformer> Spoil<TOptions, TEstimator>(TOptions options, Func<TOptions, TEstimator> build, Action<TOptions> spoil)
        where TEstimator : IEstimator<ITransformer>
    {
        var estimator = build(options);
        spoil(options);
        return estimator;
    }

    [Theory]
    [MemberData(nameof(SpoiltAfterConstruction))]
    public void An_option_spoilt_after_construction_is_named_by_Fit_and_GetOutputSchema(string what, Func<IEstimator<ITransformer>> trainer, string option)
    {
        var estimator = trainer();
        var fit = Assert.ThrowsAny<ArgumentException>(() => estimator.Fit(Tabular));
        Assert.True(fit.ParamName == option, $"{what}: {fit.GetType().Name} names '{fit.ParamName}': {fit.Message}");
        var schema = Assert.ThrowsAny<ArgumentException>(() => estimator.GetOutputSchema(EstimatorContractTests.ShapeOf(Tabular.Schema)));
        Assert.Equal(fit.Message, schema.Message);
    }

    [Fact]
    public void An_output_column_named_like_an_input_names_both_options()
    {
        var options = new PonitaTrainer.Options();
        var trainer = Ml.Equivariant().Trainers.Ponita(options);
        options.PredictedForcesColumnName = "Positions";
        var error = Assert.Throws<ArgumentException>(() => trainer.Fit(Tabular));
        Assert.Contains("PredictedForcesColumnName 'Positions' is also PositionsColumnName", error.Message);

        var mitigator = new FairnessMitigator.Options();
        var fair = Ml.Fairness().Mitigate(mitigator);
        mitigator.OutputColumnName = "Label";
        Assert.Contains("OutputColumnName 'Label' is also LabelColumnName", Assert.Throws<ArgumentException>(() => fair.Fit(Tabular)).Message);
        Assert.Contains("reserves", Assert.Throws<ArgumentException>(() => Ml.Fairness().Mitigate(new FairnessMitigator.Options { OutputColumnName = "mlx_x" })).Message);
    }

    [Fact]
    public void Empty_NAS_choices_name_the_option()
    {
        var error = Assert.Throws<ArgumentException>(() => Ml.Nas().Trainers.Regression(new NasTrainer.Options { Widths = [] }));
        Assert.Contains("Widths is empty", error.Message);
        Assert.Contains("Depths is empty", Assert.Throws<ArgumentException>(() => Ml.Nas().Trainers.Regression(new NasTrainer.Options { Depths = [] })).Message);
        Assert.Contains("Activations is empty", Assert.Throws<ArgumentException>(() => Ml.Nas().Trainers.Regression(new NasTrainer.Options { Activations = [] })).Message);
    }

    [Fact]
    public void Search_settings_beyond_the_space_are_all_of_it_and_a_huge_space_is_counted_and_bounded()
    {
        // 16 widths at depths 15 and 16 hold more than long.MaxValue architectures: the count saturates.
        var huge = new NasSearchSpace { Depths = [15, 16], Widths = Enumerable.Range(1, 16).ToArray() };
        Assert.Equal(long.MaxValue, huge.Count);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => Ml.Nas().Trainers.Regression(new NasTrainer.Options
        {
            Depths = huge.Depths, Widths = huge.Widths, CandidatesToRank = int.MaxValue,
        }));
        Assert.Equal(nameof(NasTrainer.Options.CandidatesToRank), error.ParamName);

        // TopK = int.MaxValue lists every architecture of a small space, gradient search included.
        var data = Ml.Data.LoadFromEnumerable(Synthetic.Rows(60, 1));
        var options = new NasTrainer.Options
        {
            LabelColumnName = nameof(Synthetic.Row.Target), Strategy = NasStrategy.TangleNas, Depths = [1, 2], Widths = [4, 8], Activations = [MlpActivation.Relu],
            SearchResidual = false, SearchEpochs = 2, WarmupEpochs = 1, RetrainEpochs = 1, TopK = int.MaxValue, CandidatesToRank = int.MaxValue, Seed = 1,
        };
        using var model = Ml.Nas().Trainers.Regression(options).Fit(data);
        Assert.Equal(options.SearchSpace.Count, model.Search.TopArchitectures.Count);
    }

    [Fact]
    public void Example_weights_that_sum_to_zero_are_refused_naming_the_column()
    {
        var rows = Synthetic.Rows(20, 1);
        foreach (var row in rows) row.Weight = 0;
        var options = new MlpTrainer.Options { LabelColumnName = nameof(Synthetic.Row.Target), ExampleWeightColumnName = nameof(Synthetic.Row.Weight), NumberOfEpochs = 1, Seed = 1 };
        var error = Assert.Throws<InvalidDataException>(() => Ml.Nas().Trainers.MlpRegression(options).Fit(Ml.Data.LoadFromEnumerable(rows)));
        Assert.Contains("column 'Weight' sum to 0", error.Message);
    }

    [Fact]
    public void More_folds_than_rows_are_refused_naming_NumberOfFolds_and_the_row_count()
    {
        // Six rows, two per class: four of ten folds could get rows.
        var data = OrdinalTestData.ToDataView(Ml, [0, 1, 2, 3, 4, 5], [0, 0, 1, 1, 2, 2], featureCount: 1, classCount: 3);
        var error = Assert.Throws<InvalidDataException>(() => Ml.Ordinal().Trainers.Presto(new PrestoTrainer.Options { NumberOfFolds = 10, Seed = 1 }).Fit(data));
        Assert.Contains("NumberOfFolds (10) is too many for the 6 training row(s)", error.Message);
        // A number of folds far beyond the data allocates nothing for them first, in memory or streamed.
        foreach (bool stream in new[] { false, true })
            Assert.Contains($"NumberOfFolds ({int.MaxValue})", Assert.Throws<InvalidDataException>(() =>
                Ml.Ordinal().Trainers.Presto(new PrestoTrainer.Options { NumberOfFolds = int.MaxValue, StreamData = stream, Seed = 1 }).Fit(data)).Message);
    }

    [Fact]
    public void A_warm_up_longer_than_the_training_is_warned_about_in_the_log()
    {
        var ml = new MLContext(1);
        var warnings = new List<string>();
        ml.Log += (_, e) => { if (e.Kind == Microsoft.ML.Runtime.ChannelMessageKind.Warning) warnings.Add(e.Message); };
        var molecules = ml.Data.LoadFromEnumerable(SyntheticMolecules.Generate(12, 1).ToList());
        using var model = ml.Equivariant().Trainers.Ponita(new PonitaTrainer.Options
        {
            NumberOfOrientations = 4, HiddenSize = 4, NumberOfLayers = 1, NumberOfEpochs = 1, WarmupEpochs = 1e9, Seed = 1,
        }).Fit(molecules);
        Assert.Contains(warnings, w => w.Contains("WarmupEpochs (1E+09) is longer than the training (NumberOfEpochs = 1)"));
    }

    [Fact]
    public void Batches_and_shuffle_buffers_beyond_the_data_mean_all_of_it()
    {
        var data = Ml.Data.LoadFromEnumerable(Synthetic.Rows(50, 1));
        using (Ml.Nas().Trainers.MlpRegression(new MlpTrainer.Options
        {
            LabelColumnName = nameof(Synthetic.Row.Target), BatchSize = int.MaxValue, ShuffleBufferRows = int.MaxValue, NumberOfEpochs = 2,
            ValidationFraction = 0.2, Seed = 1,
        }).Fit(data)) { }
        using (Ml.Nas().Trainers.Regression(new NasTrainer.Options
        {
            LabelColumnName = nameof(Synthetic.Row.Target), Depths = [1], Widths = [4], Activations = [MlpActivation.Relu], SearchResidual = false,
            SearchEpochs = 1, RetrainEpochs = 1, BatchSize = int.MaxValue, Seed = 1,
        }).Fit(data)) { }
    }

    [Fact]
    public void A_batch_beyond_the_training_clouds_is_all_of_them_and_the_schedule_stays_sane()
    {
        var schedule = PonitaTrainerSteps.Schedule(new PonitaTrainer.Options { BatchSize = int.MaxValue, WarmupEpochs = 1e9, NumberOfEpochs = 3 }, samples: 10);
        Assert.Equal(10, schedule.BatchSize);
        Assert.Equal(1_000_000_000, schedule.WarmupSteps);
        Assert.True(schedule.LearningRateAt(1, 3) > 0);
    }

    private sealed class HugeRow
    {
        [VectorType(2)] public float[] Features { get; set; } = [];
        public float Target { get; set; }
    }

    [Fact]
    public void Values_too_large_for_float32_arithmetic_are_named_with_column_and_slot()
    {
        var rows = Enumerable.Range(0, 20).Select(i => new HugeRow { Features = [i, i == 7 ? 1.5e38f : i], Target = i }).ToList();
        var options = new MlpTrainer.Options { LabelColumnName = nameof(HugeRow.Target), NumberOfEpochs = 1, Seed = 1 };
        var error = Assert.Throws<InvalidDataException>(() => Ml.Nas().Trainers.MlpRegression(options).Fit(Ml.Data.LoadFromEnumerable(rows)));
        Assert.Contains("Column 'Features', row 7: 1.5E+38 in slot 1 is too large for float32 arithmetic", error.Message);
        Assert.Contains("Rescale", error.Message);

        // Large values below the bound still train, and their export agrees with the network.
        var large = Enumerable.Range(0, 40).Select(i => new HugeRow { Features = [i, 1e35f * (i % 7 - 3)], Target = i % 5 }).ToList();
        using var model = Ml.Nas().Trainers.MlpRegression(options).Fit(Ml.Data.LoadFromEnumerable(large));
        Assert.True(model.ExportParity.RelativeError <= 1e-4, model.ExportParity.ToString());
    }

    public static TheoryData<string, Func<IDataView, IEstimator<ITransformer>>> Trainers() => new()
    {
        { "MLP regression", _ => Ml.Nas().Trainers.MlpRegression(new MlpTrainer.Options { LabelColumnName = nameof(Synthetic.Row.Target) }) },
        { "MLP binary", _ => Ml.Nas().Trainers.MlpBinaryClassification(new MlpTrainer.Options { LabelColumnName = nameof(Synthetic.Row.Positive) }) },
        { "MLP multiclass", _ => Ml.Nas().Trainers.MlpMulticlassClassification(new MlpTrainer.Options()) },
        { "NAS multiclass", _ => Ml.Nas().Trainers.MulticlassClassification(new NasTrainer.Options()) },
        { "NAS regression", _ => Ml.Nas().Trainers.Regression(new NasTrainer.Options { LabelColumnName = nameof(Synthetic.Row.Target) }) },
        { "PRESTO", _ => Ml.Ordinal().Trainers.Presto(new PrestoTrainer.Options()) },
        { "PRESTO streamed", _ => Ml.Ordinal().Trainers.Presto(new PrestoTrainer.Options { StreamData = true }) },
        { "proportional odds", _ => Ml.Ordinal().Trainers.ProportionalOdds(new ProportionalOddsTrainer.Options()) },
    };

    [Theory]
    [MemberData(nameof(Trainers))]
    public void Empty_data_is_called_empty_before_anything_else(string what, Func<IDataView, IEstimator<ITransformer>> trainer)
    {
        // A key label keyed on no rows knows no classes, which must not be what the user is told.
        var empty = Synthetic.Keyed(Ml, []);
        var error = Assert.Throws<InvalidDataException>(() => trainer(empty).Fit(empty));
        Assert.True(error.Message.Contains("no rows"), $"{what}: {error.Message}");
    }
}
