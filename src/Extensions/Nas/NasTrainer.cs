using Microsoft.ML;
using MLExtensions.Onnx.Scoring;
using MLExtensions.Training;
using TorchSharp;

namespace MLExtensions.Nas;

/// <summary>
/// Neural architecture search for tabular data: trains a weight-entangled supernet over a space of MLPs
/// (<see cref="NasSearchSpace"/>) by gradient search (TangleNAS) or single-path sampling (SPOS, PA&amp;DA), picks an
/// architecture, retrains it from scratch on all training rows with early stopping, exports it to ONNX and returns a
/// <see cref="NasModel"/> that scores through ONNX Runtime.
/// </summary>
/// <remarks>
/// <para><b>Input and output columns.</b> As <see cref="MlpTrainer"/>: a known-size <see cref="float"/> vector
/// feature column; a <see cref="float"/> (regression), <see cref="bool"/> (binary) or key (multiclass) label; an
/// optional example-weight column. Output columns are those of ML.NET's trainers for the task, so
/// <c>mlContext.Regression.Evaluate</c> and friends work: regression <c>Score</c>; binary <c>Score</c>,
/// <c>Probability</c>, <c>PredictedLabel</c>; multiclass <c>Score</c> and <c>PredictedLabel</c>.</para>
/// <para>The search splits the rows (seeded hash) into a search-training and a search-validation part, holds them in
/// memory on the training device, and ranks candidates by validation loss. The whole fit honours
/// <see cref="Options.TimeBudget"/>: the search stops at 60% of it with the best found so far, ranking at 75%, and
/// retraining stops after the epoch that crosses the budget (keeping its best epoch).</para>
/// </remarks>
public sealed class NasTrainer : IEstimator<NasModel>
{
    /// <summary>Options of <see cref="NasTrainer"/>.</summary>
    public sealed class Options : TorchTrainerOptions
    {
        /// <summary>How to search. Default: <see cref="NasStrategy.TangleNas"/>.</summary>
        public NasStrategy Strategy { get; set; } = NasStrategy.TangleNas;

        /// <summary>Wall-clock budget of the whole fit; null for none. Default: null.</summary>
        public TimeSpan? TimeBudget { get; set; }

        /// <summary>Candidate numbers of hidden layers. Default: 1, 2, 3, 4.</summary>
        public int[] Depths { get; set; } = [1, 2, 3, 4];

        /// <summary>Candidate hidden widths (every one a slice of the widest weight). Default: 16, 32, 64, 128, 256.</summary>
        public int[] Widths { get; set; } = [16, 32, 64, 128, 256];

        /// <summary>Candidate activations. Default: ReLU, GELU, tanh.</summary>
        public MlpActivation[] Activations { get; set; } = [MlpActivation.Relu, MlpActivation.Gelu, MlpActivation.Tanh];

        /// <summary>Whether residual connections are a choice. Default: true.</summary>
        public bool SearchResidual { get; set; } = true;

        /// <summary>Gradient search: softmax (DARTS) or Dirichlet (DrNAS) architecture weights. Default: <see cref="ArchitectureSampler.Softmax"/>.</summary>
        public ArchitectureSampler Sampler { get; set; } = ArchitectureSampler.Softmax;

        /// <summary>Passes over the search-training rows. Default: 30.</summary>
        public int SearchEpochs { get; set; } = 30;

        /// <summary>Gradient search: epochs of weight steps only before α starts moving. Default: 10.</summary>
        public int WarmupEpochs { get; set; } = 10;

        /// <summary>Rows per step, in search and retraining. Default: 128.</summary>
        public int BatchSize { get; set; } = 128;

        /// <summary>Adam's learning rate for network weights. Default: 1e-3.</summary>
        public double LearningRate { get; set; } = 1e-3;

        /// <summary>Gradient search: Adam's learning rate for α. Default: 3e-3 (3e-4, the image-NAS value, barely moves α on tabular data).</summary>
        public double ArchitectureLearningRate { get; set; } = 3e-3;

        /// <summary>Gradient search: weight decay on α. Default: 1e-3.</summary>
        public double ArchitectureWeightDecay { get; set; } = 1e-3;

        /// <summary>Fraction of rows the search holds out to move α and rank candidates. Default: 0.3.</summary>
        public double SearchValidationFraction { get; set; } = 0.3;

        /// <summary>Single-path strategies: most candidates scored with inherited weights (all when the space is smaller). Default: 300.</summary>
        public int CandidatesToRank { get; set; } = 300;

        /// <summary>Architectures listed in <see cref="NasSearchResult.TopArchitectures"/>. Default: 5.</summary>
        public int TopK { get; set; } = 5;

        /// <summary>PA&amp;DA: share of the uniform distribution always kept in path sampling. Default: 0.1.</summary>
        public double ImportanceFloor { get; set; } = 0.1;

        /// <summary>Most epochs when retraining the chosen architecture from scratch. Default: 100.</summary>
        public int RetrainEpochs { get; set; } = 100;

        /// <summary>Fraction of rows held out for early stopping of the retraining. Default: 0.1.</summary>
        public double RetrainValidationFraction { get; set; } = 0.1;

        /// <summary>Retraining epochs without validation improvement before it stops. Default: 10.</summary>
        public int EarlyStoppingPatience { get; set; } = 10;

        /// <summary>The search space these settings describe.</summary>
        public NasSearchSpace SearchSpace => new() { Depths = Depths, Widths = Widths, Activations = Activations, SearchResidual = SearchResidual };
    }

    private readonly MLContext _mlContext;
    private readonly Options _options;
    private readonly PredictionKind _kind;

    /// <summary>Creates the trainer; most users call <c>mlContext.Nas().Trainers.Regression</c> (and friends) instead.</summary>
    public NasTrainer(MLContext mlContext, Options options, PredictionKind kind)
    {
        _mlContext = mlContext ?? throw new ArgumentNullException(nameof(mlContext));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _kind = kind;
        CheckOptions(options);
    }

    private LabelKind LabelKind => LabelKinds.Of(_kind);

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema) => RetrainingTrainer(null).GetOutputSchema(inputSchema);

    /// <summary>Searches, retrains the chosen architecture and returns the ONNX-scored model.</summary>
    public NasModel Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var space = _options.SearchSpace;
        var data = new TabularData(input, _options, LabelKind);
        SearchOutcome outcome;
        int seed;
        TimeSpan elapsed;
        var budget = _options.TimeBudget;
        using (var run = TrainingRun.Start(_mlContext, nameof(NasTrainer), _options, space.MaximumWidth))
        {
            seed = run.Seed;
            var summary = data.Summarize(run.CancellationToken);
            run.Info($"{summary.Rows} rows, {data.FeatureCount} features; {_options.Strategy} over {space}");
            float labelScale = _kind == PredictionKind.Regression ? (float)Math.Max(summary.LabelStdDev, 1e-12) : 1f;
            var split = ValidationSplit.Create(_options.SearchValidationFraction, run.Seed)!;
            using var searchData = SearchData.Load(data, split, _kind, labelScale, run.Device, run.CancellationToken);
            using var supernet = CreateSupernet(data, summary, space);
            supernet.to(run.Device);
            var context = new SearchContext(space, supernet, searchData, _options, run, budget * 0.6, budget * 0.75);
            outcome = _options.Strategy == NasStrategy.TangleNas ? GradientSearch.Run(context) : SinglePathSearch.Run(context, _options.Strategy == NasStrategy.PaDa);
            run.Info($"chose {outcome.Architecture} after {outcome.Epochs} search epochs ({outcome.SearchTime.TotalSeconds:F1} s search, {outcome.RankingTime.TotalSeconds:F1} s ranking)");
            elapsed = run.Elapsed; // reading the data and building the supernet count against the budget too
        }

        var retrainClock = System.Diagnostics.Stopwatch.StartNew();
        TimeSpan? remaining = budget is TimeSpan b ? (b - elapsed > TimeSpan.Zero ? b - elapsed : TimeSpan.Zero) : null;
        NasSearchResult result = null!;
        var trained = RetrainingTrainer(outcome.Architecture, seed).Train(input, remaining, () =>
        {
            result = new NasSearchResult
            {
                Strategy = _options.Strategy,
                Sampler = _options.Strategy == NasStrategy.TangleNas ? _options.Sampler : null,
                SearchSpace = space.ToString(),
                Architecture = outcome.Architecture,
                TopArchitectures = outcome.Top,
                History = outcome.History,
                SearchEpochs = outcome.Epochs,
                StoppedByTimeBudget = outcome.StoppedByTimeBudget,
                Times = new NasPhaseTimes(outcome.SearchTime, outcome.RankingTime, retrainClock.Elapsed),
            };
            return new Dictionary<string, string> { [NasSearchResult.MetadataKey] = result.ToJson() };
        });
        // The result as stored in the ONNX metadata (its retraining time excludes the export that followed).
        return new NasModel(trained, result);
    }

    private TangledSupernet CreateSupernet(TabularData data, TabularSummary summary, NasSearchSpace space)
    {
        int outputs = _kind == PredictionKind.MulticlassClassification ? data.ClassCount : 1;
        var shift = summary.FeatureMean.Select(m => (float)m).ToArray();
        var scale = summary.FeatureStdDev.Select(s => s > 1e-12 ? (float)(1 / s) : 0f).ToArray();
        return _kind == PredictionKind.Regression
            ? new TangledSupernet(data.FeatureCount, space, outputs, shift, scale, (float)summary.LabelMean, (float)Math.Max(summary.LabelStdDev, 1e-12))
            : new TangledSupernet(data.FeatureCount, space, outputs, shift, scale);
    }

    /// <summary>The MLP trainer that retrains <paramref name="architecture"/> from scratch with this trainer's settings.</summary>
    private MlpTrainer RetrainingTrainer(MlpArchitecture? architecture, int? seed = null) => new(_mlContext, new MlpTrainer.Options
    {
        LabelColumnName = _options.LabelColumnName,
        FeatureColumnName = _options.FeatureColumnName,
        ExampleWeightColumnName = _options.ExampleWeightColumnName,
        Seed = seed ?? _options.Seed,
        Device = _options.Device,
        ScoringDevice = _options.ScoringDevice,
        NumberOfThreads = _options.NumberOfThreads,
        Progress = _options.Progress,
        CancellationToken = _options.CancellationToken,
        HiddenLayerSizes = architecture?.HiddenLayerSizes.ToArray() ?? [_options.Widths.Max()],
        Activation = architecture?.Activation ?? MlpActivation.Relu,
        Residual = architecture?.Residual ?? false,
        NumberOfEpochs = _options.RetrainEpochs,
        BatchSize = _options.BatchSize,
        LearningRate = _options.LearningRate,
        ValidationFraction = _options.RetrainValidationFraction,
        EarlyStoppingPatience = _options.EarlyStoppingPatience,
    }, _kind);

    private static void CheckOptions(Options o)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(o.FeatureColumnName, nameof(o.FeatureColumnName));
        ArgumentException.ThrowIfNullOrWhiteSpace(o.LabelColumnName, nameof(o.LabelColumnName));
        o.SearchSpace.Validate();
        if (o.TimeBudget is TimeSpan t && t <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(o.TimeBudget), t, "The time budget must be positive.");
        ArgumentOutOfRangeException.ThrowIfLessThan(o.SearchEpochs, 1, nameof(o.SearchEpochs));
        ArgumentOutOfRangeException.ThrowIfNegative(o.WarmupEpochs, nameof(o.WarmupEpochs));
        if (o.Strategy == NasStrategy.TangleNas && o.WarmupEpochs >= o.SearchEpochs)
            throw new ArgumentOutOfRangeException(nameof(o.WarmupEpochs), o.WarmupEpochs,
                $"Gradient search needs epochs after the warm-up to move α: make WarmupEpochs smaller than SearchEpochs ({o.SearchEpochs}).");
        ArgumentOutOfRangeException.ThrowIfLessThan(o.BatchSize, 1, nameof(o.BatchSize));
        foreach (var (value, name) in new[] { (o.LearningRate, nameof(o.LearningRate)), (o.ArchitectureLearningRate, nameof(o.ArchitectureLearningRate)) })
            if (!(value > 0) || !double.IsFinite(value)) throw new ArgumentOutOfRangeException(name, value, "Learning rates must be positive and finite.");
        if (!(o.ArchitectureWeightDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(o.ArchitectureWeightDecay), o.ArchitectureWeightDecay, "Must be ≥ 0.");
        if (!(o.SearchValidationFraction > 0 && o.SearchValidationFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(o.SearchValidationFraction), o.SearchValidationFraction, "The search needs a validation split: a fraction in (0, 1).");
        if (!(o.RetrainValidationFraction >= 0 && o.RetrainValidationFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(o.RetrainValidationFraction), o.RetrainValidationFraction, "Must be in [0, 1).");
        if (!(o.ImportanceFloor >= 0 && o.ImportanceFloor <= 1))
            throw new ArgumentOutOfRangeException(nameof(o.ImportanceFloor), o.ImportanceFloor, "Must be in [0, 1].");
        ArgumentOutOfRangeException.ThrowIfLessThan(o.CandidatesToRank, 1, nameof(o.CandidatesToRank));
        ArgumentOutOfRangeException.ThrowIfLessThan(o.TopK, 1, nameof(o.TopK));
        ArgumentOutOfRangeException.ThrowIfLessThan(o.RetrainEpochs, 1, nameof(o.RetrainEpochs));
        ArgumentOutOfRangeException.ThrowIfLessThan(o.EarlyStoppingPatience, 1, nameof(o.EarlyStoppingPatience));
    }
}
