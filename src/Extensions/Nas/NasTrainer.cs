using MLExtensions.Mlp;
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
/// <para>The search splits the rows (seeded hashes) into a weight-training part, an α part (gradient search) and a
/// ranking part (single-path search, or fine-tuned re-ranking), holds them in memory on the training device, and ranks
/// candidates on rows neither weights nor α were trained on. The whole fit honours
/// <see cref="Options.TimeBudget"/>: the search stops at 60% of it with the best found so far, ranking at 75%, and
/// retraining stops after the epoch that crosses the budget (keeping its best epoch).</para>
/// <para><b>Ensembles.</b> With <see cref="Options.EnsembleSize"/> above 1 the best distinct candidates are each
/// retrained from scratch, weighted by greedy ensemble selection on rows none of them trained or early-stopped on, and
/// exported as one ONNX graph that scores as the weighted mean of their predictions (see
/// <see cref="Options.EnsembleSize"/>).</para>
/// </remarks>
public sealed partial class NasTrainer : IEstimator<NasModel>
{
    private readonly MLContext _mlContext;
    private readonly Options _options;
    private readonly PredictionKind _kind;

    /// <summary>Creates the trainer; most users call <c>mlContext.Nas().Trainers.Regression</c> (and friends) instead.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="kind"/> is not regression, binary or multiclass classification.</exception>
    public NasTrainer(MLContext mlContext, Options options, PredictionKind kind)
    {
        _mlContext = mlContext ?? throw new ArgumentNullException(nameof(mlContext));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _kind = LabelKinds.CheckTrainable(kind, nameof(NasTrainer), nameof(kind));
        options.Validate();
    }

    private LabelKind LabelKind => LabelKinds.Of(_kind);

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        _options.Validate();
        return RetrainingTrainer(null).GetOutputSchema(inputSchema);
    }

    /// <summary>Searches, retrains the chosen architecture and returns the ONNX-scored model.</summary>
    /// <exception cref="InvalidOperationException">
    /// Retraining's loss became NaN or infinite with no earlier validated epoch to fall back on (lower the learning rate).
    /// </exception>
    public NasModel Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        _options.Validate();
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
            // Ranking rows where candidates are ranked (single-path strategies, fine-tuning), then α rows among the
            // rest (an independent hash), so the fractions hold of all rows. Gradient search that picks by α alone
            // gives the rows to the weights: on small data, fewer training rows make the supernet overfit and α
            // then favours narrow, shallow networks.
            var (ranking, validation) = SearchSplits(_options, run.Seed);
            using var searchData = SearchData.Load(data, ranking, validation, _kind, labelScale, run.Device, run.CancellationToken);
            using var supernet = CreateSupernet(data, summary, space);
            supernet.to(run.Device);
            var context = new SearchContext(space, supernet, searchData, _options, run, budget * 0.6, budget * 0.75);
            outcome = _options.Strategy == NasStrategy.TangleNas ? GradientSearch.Run(context) : SinglePathSearch.Run(context, _options.Strategy == NasStrategy.PaDa);
            outcome = FineTune(context, outcome);
            run.Info($"chose {outcome.Architecture} after {outcome.Epochs} search epochs ({outcome.SearchTime.TotalSeconds:F1} s search, {outcome.RankingTime.TotalSeconds:F1} s ranking)");
            elapsed = run.Elapsed; // reading the data and building the supernet count against the budget too
        }

        var retrainClock = System.Diagnostics.Stopwatch.StartNew();
        TimeSpan? remaining = budget is TimeSpan b ? (b - elapsed > TimeSpan.Zero ? b - elapsed : TimeSpan.Zero) : null;
        if (_options.EnsembleSize > 1) return FitEnsemble(input, data, outcome, SearchResult(outcome, space), seed, remaining);
        if (_options.RegularizationChoices.Count > 1) return FitRegularized(input, outcome, SearchResult(outcome, space), seed, remaining);
        NasSearchResult result = null!;
        var trained = RetrainingTrainer(outcome.Architecture, seed).Train(input, remaining, () =>
        {
            result = SearchResult(outcome, space) with { Times = new NasPhaseTimes(outcome.SearchTime, outcome.RankingTime, retrainClock.Elapsed) };
            // Wall-clock times stay out of the model, so that the same seed and data give the same ONNX bytes.
            return new Dictionary<string, string> { [NasSearchResult.MetadataKey] = (result with { Times = null }).ToJson() };
        });
        // The result as stored in the ONNX metadata, with the times (the retraining time excludes the export that followed).
        return new NasModel(trained, result);
    }

    /// <summary>What the search found, without times and ensemble.</summary>
    private NasSearchResult SearchResult(SearchOutcome outcome, NasSearchSpace space) => new()
    {
        Strategy = _options.Strategy,
        Sampler = _options.Strategy == NasStrategy.TangleNas ? _options.Sampler : null,
        SearchSpace = space.ToString(),
        Architecture = outcome.Architecture,
        TopArchitectures = outcome.Top,
        History = outcome.History,
        SearchEpochs = outcome.Epochs,
        StoppedByTimeBudget = outcome.StoppedByTimeBudget,
        CandidatesRanked = outcome.CandidatesRanked,
        ArchitecturesInSpace = space.Count,
    };

    /// <summary>
    /// The search's row splits for <paramref name="seed"/>: the ranking rows (null when nothing is ranked), then the α
    /// rows among the rest (null for single-path strategies), each by its own seeded hash of the row position.
    /// </summary>
    internal static (ValidationSplit? Ranking, ValidationSplit? Architecture) SearchSplits(Options options, int seed)
    {
        bool gradient = options.Strategy == NasStrategy.TangleNas;
        bool ranks = !gradient || options.FineTuneEpochs > 0;
        var ranking = ranks ? ValidationSplit.Create(options.RankingFraction, seed) : null;
        var architecture = gradient
            ? ValidationSplit.Create(options.SearchValidationFraction / (1 - (ranks ? options.RankingFraction : 0)), unchecked(seed * 31 + 7))
            : null;
        return (ranking, architecture);
    }

    /// <summary>
    /// The seed of retraining's early-stopping split: derived from the run's seed (so the same seed gives the same rows)
    /// but not equal to it. With the ranking split's seed the two hashes would agree row by row, and the smaller
    /// fraction's rows would all be ranking rows: early stopping would then watch the very rows the pick was made on.
    /// </summary>
    internal static int RetrainingSplitSeed(int seed) => unchecked(seed * -1640531535 + 0x2F6B_1D3);

    /// <summary>Retraining's early-stopping split for <paramref name="seed"/> (null when <see cref="Options.RetrainValidationFraction"/> is 0).</summary>
    internal static ValidationSplit? RetrainingSplit(Options options, int seed) => ValidationSplit.Create(options.RetrainValidationFraction, RetrainingSplitSeed(seed));

    /// <summary>Re-ranks the outcome's best candidates after a short fine-tune (when asked) and keeps the top K.</summary>
    private SearchOutcome FineTune(SearchContext context, SearchOutcome outcome)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var top = context.FineTune(outcome.Top);
        return outcome with { Architecture = top[0].Architecture, Top = top.Take(_options.TopK).ToList(), RankingTime = outcome.RankingTime + clock.Elapsed };
    }

    private TangledSupernet CreateSupernet(TabularData data, TabularSummary summary, NasSearchSpace space)
    {
        int outputs = _kind == PredictionKind.MulticlassClassification ? data.ClassCount : 1;
        var (shift, scale, outputShift, outputScale) = summary.Standardization(LabelKind);
        return new TangledSupernet(data.FeatureCount, space, outputs, shift, scale, outputShift, outputScale);
    }

    /// <summary>The MLP trainer that retrains <paramref name="architecture"/> from scratch with this trainer's settings.</summary>
    /// <param name="architecture">The architecture (null: a placeholder for the output schema).</param>
    /// <param name="seed">The seed of the weights and of shuffling (null: the run's).</param>
    /// <param name="splitSeed">The run's seed, from which the early-stopping split is drawn (null: <paramref name="seed"/>).</param>
    /// <param name="heldOutRows">Rows neither trained nor early-stopped on (the ensemble's selection rows), or null.</param>
    /// <param name="regularization">Dropout and weight decay (null: the first of <see cref="Options.RegularizationChoices"/>).</param>
    private MlpTrainer RetrainingTrainer(MlpArchitecture? architecture, int? seed = null, int? splitSeed = null, Func<long, bool>? heldOutRows = null,
        NasRegularization? regularization = null)
    {
        regularization ??= _options.RegularizationChoices[0];
        var options = _options.CopySharedTo(new MlpTrainer.Options
        {
            HiddenLayerSizes = architecture?.HiddenLayerSizes.ToArray() ?? [_options.Widths.Max()],
            Activation = architecture?.Activation ?? MlpActivation.Relu,
            LayerActivations = architecture?.LayerActivations?.ToArray(),
            Residual = architecture?.Residual ?? false,
            NumberOfEpochs = _options.RetrainEpochs,
            BatchSize = _options.BatchSize,
            LearningRate = _options.LearningRate,
            ValidationFraction = _options.RetrainValidationFraction,
            EarlyStoppingPatience = _options.EarlyStoppingPatience,
            Dropout = regularization.Dropout,
            WeightDecay = regularization.WeightDecay,
        });
        if (seed is int given)
        {
            options.Seed = given;
            options.ValidationSplitSeed = RetrainingSplitSeed(splitSeed ?? given);
        }
        options.HeldOutRows = heldOutRows;
        return new MlpTrainer(_mlContext, options, _kind);
    }
}
