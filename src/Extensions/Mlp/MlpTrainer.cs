using Microsoft.ML;
using MLExtensions.Onnx.Scoring;
using MLExtensions.Torch;
using MLExtensions.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MLExtensions.Mlp;

/// <summary>
/// Trains a multilayer perceptron with TorchSharp for regression, binary or multiclass classification, exports it
/// to ONNX and returns an <see cref="MlpModel"/> that scores through ONNX Runtime. The reference trainer of
/// MLExtensions, and the network the NAS trainers train once they have found an architecture.
/// </summary>
/// <remarks>
/// <para><b>Input and output columns.</b> Input: the feature column, a known-size vector of <see cref="float"/>;
/// the label column: <see cref="float"/> (regression), <see cref="bool"/> (binary) or a key (multiclass); optionally
/// a <see cref="float"/> example-weight column. Output, as ML.NET's trainers of the same task:
/// regression <c>Score</c> (<see cref="float"/>); binary <c>Score</c> (logit), <c>Probability</c>,
/// <c>PredictedLabel</c> (<see cref="bool"/>); multiclass <c>Score</c> (vector of class probabilities with the
/// class names as slot names) and <c>PredictedLabel</c> (key with the label's values).</para>
/// <para>Features are standardised inside the network (training mean and deviation), so no normaliser is needed
/// in the pipeline. Training minimises weighted mean squared error (on the standardised label), logistic loss or
/// cross-entropy with Adam.</para>
/// </remarks>
public sealed partial class MlpTrainer : IEstimator<MlpModel>
{
    /// <summary>Options of <see cref="MlpTrainer"/>.</summary>
    public sealed class Options : TorchTrainerOptions
    {
        /// <summary>Defaults the catalog methods share with the options.</summary>
        internal static class Defaults
        {
            public const int NumberOfEpochs = 50;
        }

        /// <summary>The widest hidden layer <see cref="HiddenLayerSizes"/> may ask for.</summary>
        internal const int MaximumLayerWidth = 65_536;

        /// <summary>Widths of the hidden layers, each from 1 to 65,536. Default: [64, 64].</summary>
        public int[] HiddenLayerSizes { get; set; } = [64, 64];

        /// <summary>The hidden activation. Default: <see cref="MlpActivation.Relu"/>.</summary>
        public MlpActivation Activation { get; set; } = MlpActivation.Relu;

        /// <summary>
        /// The activation of each hidden layer, input side first (one per entry of <see cref="HiddenLayerSizes"/>), when
        /// they differ; null uses <see cref="Activation"/> after every layer. Default: null.
        /// </summary>
        public MlpActivation[]? LayerActivations { get; set; }

        /// <summary>Residual connections around the hidden layers after the first (see <see cref="MlpArchitecture.Residual"/>). Default: false.</summary>
        public bool Residual { get; set; }

        /// <summary>Passes over the training data. Default: 50.</summary>
        public int NumberOfEpochs { get; set; } = Defaults.NumberOfEpochs;

        /// <summary>Rows per optimiser step; a value beyond the number of rows trains on all of them at once. Default: 128.</summary>
        public int BatchSize { get; set; } = 128;

        /// <summary>Adam's learning rate. Default: 1e-3.</summary>
        public double LearningRate { get; set; } = 1e-3;

        /// <summary>L2 penalty (Adam weight decay). Default: 0.</summary>
        public double WeightDecay { get; set; }

        /// <summary>
        /// Probability of dropping each hidden unit in training (after its activation), in [0, 1); scoring and the ONNX
        /// graph are unchanged. Default: 0.
        /// </summary>
        public double Dropout { get; set; }

        /// <summary>
        /// Fraction of rows held out (by a seeded hash of their position) to pick the best epoch and stop early.
        /// Default: 0, which trains on all rows for <see cref="NumberOfEpochs"/> epochs.
        /// </summary>
        public double ValidationFraction { get; set; }

        /// <summary>Epochs without validation improvement before training stops (with a validation split). Default: 10.</summary>
        public int EarlyStoppingPatience { get; set; } = 10;

        /// <summary>Rows in the shuffling buffer; the data are fully shuffled when they fit (so int.MaxValue always shuffles fully). Default: 65536.</summary>
        public int ShuffleBufferRows { get; set; } = 65536;

        /// <summary>
        /// Wall-clock budget of the training, counted from the start of the fit; null for none. Training stops after
        /// the epoch that crosses it (keeping the best epoch when there is a validation split); the ONNX export and its
        /// parity check follow. Lets a model-selection loop bound this trainer as it bounds <see cref="MLExtensions.Nas.NasTrainer"/>.
        /// Default: null.
        /// </summary>
        public TimeSpan? TimeBudget { get; set; }

        /// <summary>
        /// Seed of the <see cref="ValidationFraction"/> split's hash; null uses the run's seed. The NAS trainer sets its
        /// own, so that retraining's early-stopping rows are drawn independently of the search's ranking rows (the same
        /// seed and hash would make the smaller split a subset of the larger).
        /// </summary>
        internal int? ValidationSplitSeed { get; set; }

        /// <summary>
        /// Rows (by zero-based position) neither trained nor early-stopped on, or null for none: the NAS ensemble keeps
        /// its selection rows out of every member this way.
        /// </summary>
        internal Func<long, bool>? HeldOutRows { get; set; }

        internal override void Validate()
        {
            base.Validate();
            ArgumentNullException.ThrowIfNull(HiddenLayerSizes, nameof(HiddenLayerSizes));
            new MlpArchitecture(HiddenLayerSizes, Activation) { LayerActivations = LayerActivations }.Validate();
            for (int i = 0; i < HiddenLayerSizes.Length; i++)
                if (HiddenLayerSizes[i] > MaximumLayerWidth)
                    throw new ArgumentOutOfRangeException(nameof(HiddenLayerSizes), HiddenLayerSizes[i],
                        $"Hidden layer {i} asks for {HiddenLayerSizes[i]} units; HiddenLayerSizes allows at most {MaximumLayerWidth} per layer.");
            ArgumentOutOfRangeException.ThrowIfLessThan(NumberOfEpochs, 1, nameof(NumberOfEpochs));
            ArgumentOutOfRangeException.ThrowIfLessThan(BatchSize, 1, nameof(BatchSize));
            if (!(LearningRate > 0) || !double.IsFinite(LearningRate))
                throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "The learning rate must be positive and finite.");
            if (!(WeightDecay >= 0) || !double.IsFinite(WeightDecay))
                throw new ArgumentOutOfRangeException(nameof(WeightDecay), WeightDecay, "Weight decay must be non-negative and finite.");
            if (!(Dropout >= 0 && Dropout < 1))
                throw new ArgumentOutOfRangeException(nameof(Dropout), Dropout, "A dropout probability in [0, 1).");
            if (!(ValidationFraction >= 0 && ValidationFraction < 1))
                throw new ArgumentOutOfRangeException(nameof(ValidationFraction), ValidationFraction, "The validation fraction must be in [0, 1).");
            ArgumentOutOfRangeException.ThrowIfLessThan(EarlyStoppingPatience, 1, nameof(EarlyStoppingPatience));
            ArgumentOutOfRangeException.ThrowIfLessThan(ShuffleBufferRows, 1, nameof(ShuffleBufferRows));
            if (TimeBudget is TimeSpan t && t <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(TimeBudget), t, "The time budget must be positive.");
        }
    }

    private readonly MLContext _mlContext;
    private readonly Options _options;
    private readonly PredictionKind _kind;

    /// <summary>Creates the trainer; most users call <c>mlContext.Nas().Trainers.Mlp*</c> instead.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="kind"/> is not regression, binary or multiclass classification.</exception>
    public MlpTrainer(MLContext mlContext, Options options, PredictionKind kind)
    {
        _mlContext = mlContext ?? throw new ArgumentNullException(nameof(mlContext));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _kind = LabelKinds.CheckTrainable(kind, nameof(MlpTrainer), nameof(kind));
        options.Validate();
    }

    private LabelKind LabelKind => LabelKinds.Of(_kind);

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        _options.Validate();
        ColumnChecks.CheckFeatures(ColumnChecks.Require(inputSchema, _options.FeatureColumnName, "feature"));
        var label = ColumnChecks.Require(inputSchema, _options.LabelColumnName, "label");
        ColumnChecks.CheckLabel(label, LabelKind);
        if (_options.ExampleWeightColumnName is { } weight) ColumnChecks.Require(inputSchema, weight, "example weight");
        return ScoringSchema.Extend(_mlContext, inputSchema, _kind, label);
    }

    /// <summary>Trains on <paramref name="input"/> and returns the fitted, ONNX-scored model.</summary>
    /// <exception cref="InvalidOperationException">
    /// The training loss became NaN or infinite with no earlier validated epoch to fall back on (lower the learning rate).
    /// </exception>
    public MlpModel Fit(IDataView input)
    {
        var t = Train(input, _options.TimeBudget, null);
        return new MlpModel(t.Scoring, t.Architecture, t.FeatureCount, t.Classes, t.History, t.ExportParity, t.Seed);
    }

    /// <summary>What one training produced, before it is wrapped in a model type.</summary>
    internal sealed record TrainedMlp(OnnxScoringChain Scoring, MlpArchitecture Architecture, int FeatureCount, ClassLabels? Classes,
        IReadOnlyList<TrainingProgress> History, ParityReport ExportParity, int Seed);

    /// <summary>
    /// Trains, exports and builds the scoring chain. <paramref name="timeBudget"/> stops training after the epoch
    /// that exceeds it (the best epoch so far is kept); <paramref name="metadata"/> is asked for after training and
    /// goes into the ONNX model.
    /// </summary>
    internal TrainedMlp Train(IDataView input, TimeSpan? timeBudget, Func<IReadOnlyDictionary<string, string>>? metadata)
    {
        var (data, classes, architecture) = Prepare(input);
        using var run = TrainingRun.Start(_mlContext, nameof(MlpTrainer), _options, architecture.WidestLayer);
        using var trained = TrainNetwork(run, data, classes, architecture, timeBudget);
        return ExportAndFinish(run, input, trained, metadata);
    }

    /// <summary>Exports one trained network, compares the export with it and builds the scoring chain.</summary>
    private TrainedMlp ExportAndFinish(TrainingRun run, IDataView input, TrainedNetwork trained, Func<IReadOnlyDictionary<string, string>>? metadata)
    {
        var network = trained.Network;
        var onnx = MlpOnnxExporter.Export(network, _options.FeatureColumnName, _kind, trained.Classes?.Names, metadata?.Invoke());
        // The multiclass head emits probabilities, so compare against the softmax of the network's logits.
        var parity = _kind == PredictionKind.MulticlassClassification
            ? CheckExport(x => network.forward(x).softmax(1), network.Inputs, onnx, OnnxOutputHeads.ClassProbabilities, trained.Summary, run.Seed)
            : CheckExport(network.forward, network.Inputs, onnx, OnnxOutputHeads.RawScore, trained.Summary, run.Seed);
        var scoring = Finish(run, input, onnx, trained.Classes, parity);
        return new TrainedMlp(scoring, trained.Architecture, network.Inputs, trained.Classes, trained.History, parity.Report, run.Seed);
    }

    /// <summary>
    /// A network this trainer trained, moved to the CPU and not yet exported (the NAS ensemble exports several
    /// together); disposing it disposes the network.
    /// </summary>
    internal sealed record TrainedNetwork(MlpNetwork Network, MlpArchitecture Architecture, ClassLabels? Classes, TabularSummary Summary,
        IReadOnlyList<TrainingProgress> History, int Seed) : IDisposable
    {
        public void Dispose() => Network.Dispose();
    }

    /// <summary>Trains the network on <paramref name="input"/> in a run of its own, without exporting it.</summary>
    /// <param name="input">The training data.</param>
    /// <param name="timeBudget">As <see cref="Train"/>'s.</param>
    internal TrainedNetwork TrainNetwork(IDataView input, TimeSpan? timeBudget)
    {
        var (data, classes, architecture) = Prepare(input);
        using var run = TrainingRun.Start(_mlContext, nameof(MlpTrainer), _options, architecture.WidestLayer);
        return TrainNetwork(run, data, classes, architecture, timeBudget);
    }

    private (TabularData Data, ClassLabels? Classes, MlpArchitecture Architecture) Prepare(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        _options.Validate();
        var data = new TabularData(input, _options, LabelKind);
        var classes = _kind == PredictionKind.MulticlassClassification ? ClassLabels.FromKeyColumn(data.LabelColumn) : null;
        var architecture = _options.LayerActivations is { } each
            ? MlpArchitecture.WithLayerActivations(_options.HiddenLayerSizes.ToArray(), each, _options.Residual, _options.Activation)
            : new MlpArchitecture(_options.HiddenLayerSizes.ToArray(), _options.Activation, _options.Residual);
        return (data, classes, architecture);
    }

    private TrainedNetwork TrainNetwork(TrainingRun run, TabularData data, ClassLabels? classes, MlpArchitecture architecture, TimeSpan? timeBudget)
    {
        var summary = data.Summarize(run.CancellationToken);
        run.Info($"{summary.Rows} rows, {data.FeatureCount} features, architecture {architecture}");
        var network = CreateNetwork(data, summary, architecture);
        try
        {
            network.to(run.Device);
            var history = TrainNetwork(network, data, summary, run, timeBudget);
            network.eval(); // no dropout from here on: export, its parity check and TorchSharp scoring see the trained function
            network.to(CPU);
            return new TrainedNetwork(network, architecture, classes, summary, history, run.Seed);
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    /// <summary>Checks the comparisons and builds the scoring chain of <paramref name="onnx"/>.</summary>
    private OnnxScoringChain Finish(TrainingRun run, IDataView input, byte[] onnx, ClassLabels? classes, ExportCheck parity) =>
        ExportedFit.Finish(run, _mlContext, input, new OnnxScoringSpec
        {
            Model = onnx,
            Kind = _kind,
            InputColumns = [_options.FeatureColumnName],
            Classes = classes,
            Device = _options.ScoringDevice,
        }, parity);

    private MlpNetwork CreateNetwork(TabularData data, TabularSummary summary, MlpArchitecture architecture)
    {
        int outputs = _kind == PredictionKind.MulticlassClassification ? data.ClassCount : 1;
        var (shift, scale, outputShift, outputScale) = summary.Standardization(LabelKind);
        return new MlpNetwork(data.FeatureCount, architecture, outputs, shift, scale, outputShift, outputScale) { Dropout = _options.Dropout };
    }

    private IReadOnlyList<TrainingProgress> TrainNetwork(MlpNetwork network, TabularData data, TabularSummary summary, TrainingRun run, TimeSpan? timeBudget)
    {
        var split = ValidationSplit.Create(_options.ValidationFraction, _options.ValidationSplitSeed ?? run.Seed);
        Func<long, bool>? trainingRows = split is null ? null : split.IsTraining;
        Func<long, bool>? validationRows = split is null ? null : split.IsValidation;
        if (_options.HeldOutRows is { } heldOut)
        {
            trainingRows = split is null ? row => !heldOut(row) : row => split.IsTraining(row) && !heldOut(row);
            validationRows = split is null ? null : row => split.IsValidation(row) && !heldOut(row);
        }
        int batchSize = RowsPerBatch(summary.Rows, data.FeatureCount);
        // A buffer beyond the data's size is a full shuffle: it holds the rows there are.
        int bufferRows = (int)Math.Min(_options.ShuffleBufferRows, summary.Rows);
        using var optimizer = new AdamOptimizer(network.parameters(), _options.LearningRate, weightDecay: _options.WeightDecay);
        using var labelScale = Math.Max(summary.LabelStdDev, 1e-12).ToScalar();
        var plan = new EpochPlan(_options.NumberOfEpochs)
        {
            EarlyStoppingPatience = split is null ? null : _options.EarlyStoppingPatience,
            Deadline = timeBudget,
            Divergence = (epoch, loss) => $"MLP training diverged in epoch {epoch} (loss {loss:G4}). Lower LearningRate ({_options.LearningRate}) or check the features' scale.",
            UninformedLoss = summary.UninformedLoss(LabelKind),
        };
        return EpochLoop.Run(run, network, plan, new EpochSteps<TabularBatch>
        {
            Batches = _ => data.ReadBatches(batchSize, run.Random, bufferRows, trainingRows, run.CancellationToken),
            Step = batch =>
            {
                optimizer.ZeroGrad();
                var (loss, weight) = BatchLoss(network, batch, data.FeatureCount, labelScale, run.Device);
                loss.backward();
                optimizer.Step();
                return new StepLoss(loss, weight);
            },
            Validate = validationRows is null ? null : _ => Evaluate(network, data, validationRows, batchSize, labelScale, run),
        }).History;
    }

    /// <summary>
    /// <see cref="Options.BatchSize"/> for data of <paramref name="rows"/> rows: a batch larger than the data is all of it
    /// (int.MaxValue is a fine way to ask for full-batch training), as long as it fits one array.
    /// </summary>
    private int RowsPerBatch(long rows, int featureCount)
    {
        int batchSize = (int)Math.Min(_options.BatchSize, Math.Max(rows, 1));
        long largest = Array.MaxLength / featureCount;
        if (batchSize > largest)
            throw new ArgumentOutOfRangeException(nameof(Options.BatchSize), _options.BatchSize,
                $"A batch of {batchSize} rows of {featureCount} features exceeds the largest array .NET can allocate; set BatchSize to at most {largest}.");
        return batchSize;
    }

    /// <summary>The batch's weighted mean loss and its total weight.</summary>
    private (Tensor Loss, double Weight) BatchLoss(MlpNetwork network, TabularBatch batch, int featureCount, Scalar labelScale, Device device)
    {
        var x = tensor(batch.Features.AsSpan(0, batch.Count * featureCount).ToArray(), [batch.Count, featureCount], device: device);
        var labels = tensor(batch.Labels.AsSpan(0, batch.Count).ToArray(), device: device);
        var perRow = MlpLoss.PerRow(_kind, network.forward(x), labels, labelScale);
        if (batch.Weights is null) return (perRow.mean(), batch.Count);
        var w = tensor(batch.Weights.AsSpan(0, batch.Count).ToArray(), device: device);
        double total = batch.Weights.AsSpan(0, batch.Count).ToArray().Sum();
        return (perRow.mul(w).sum().div(w.sum().clamp_min(HeldScalars.Tiny)), total);
    }

    private double Evaluate(MlpNetwork network, TabularData data, Func<long, bool> validationRows, int batchSize, Scalar labelScale, TrainingRun run)
    {
        network.eval();
        using var noGrad = no_grad();
        var mean = new WeightedLossMean();
        foreach (var batch in data.ReadBatches(Math.Max(batchSize, 1024), null, 0, validationRows, run.CancellationToken))
        {
            using var scope = NewDisposeScope();
            var (loss, weight) = BatchLoss(network, batch, data.FeatureCount, labelScale, run.Device);
            mean.Add(loss, weight);
        }
        return mean.Mean;
    }

    /// <summary>
    /// Compares <paramref name="onnx"/>'s <paramref name="output"/> with <paramref name="forward"/> on fresh rows drawn
    /// around the training data.
    /// </summary>
    private ExportCheck CheckExport(Func<Tensor, Tensor> forward, int featureCount, byte[] onnx, string output, TabularSummary summary, int seed)
    {
        const int rows = 64;
        var random = new Random(seed ^ 0x5eed);
        int d = featureCount;
        var values = new float[rows * d];
        for (int i = 0; i < values.Length; i++)
            values[i] = (float)(summary.FeatureMean[i % d] + summary.FeatureStdDev[i % d] * (2 * random.NextDouble() - 1) * 2);
        ParityInput[] inputs = [new(_options.FeatureColumnName, values, [rows, d])];
        return new(output, OnnxParity.Compare(x => forward(x[0]), onnx, inputs, output));
    }
}
