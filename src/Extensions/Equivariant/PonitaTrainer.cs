using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Onnx;
using MLExtensions.Onnx.Scoring;
using MLExtensions.Torch;
using MLExtensions.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MLExtensions.Equivariant;

/// <summary>
/// Trains PONITA (Bekkers et al., ICLR 2024), an SE(3)-equivariant network on position–orientation space, to predict
/// the energy of point clouds (molecules, particle systems) and, through −∂E/∂x, their forces. Exports the energy and
/// its conservative forces to one ONNX graph and returns a <see cref="PonitaModel"/> scored by ONNX Runtime.
/// </summary>
/// <remarks>
/// <para><b>Input and output columns.</b> One point cloud per row; rows may have different point counts N.
/// Positions: vector of 3N <see cref="float"/> (x, y, z per point). Atom types: vector of N type indices as
/// <see cref="float"/> or <see cref="int"/> (0, 1, …; the largest index in training fixes the known types), or, with
/// <see cref="Options.FeaturesPerAtom"/> = F, N·F <see cref="float"/> features per point. Label: the energy,
/// <see cref="float"/>. Optional forces: vector of 3N <see cref="float"/>. Output: <c>Score</c>
/// (<see cref="float"/>, the predicted energy) and, when asked, the predicted forces (3N <see cref="float"/>).</para>
/// <para>Message passing runs along a radius graph (pairs closer than <see cref="Options.Cutoff"/>, and with
/// <see cref="Options.SelfInteraction"/> a self-loop per point) built with a cell list, so time and memory grow linearly with the number of points at fixed
/// density; the exported ONNX graph takes the edges as inputs and the scoring chain builds them per row.</para>
/// <para>Training: per-type reference energies are fitted by least squares first and the network learns the
/// remainder, in units of the force RMS (with forces) or of the remainder's spread; the loss is mean squared energy
/// error plus <see cref="Options.ForceLossWeight"/> times the mean squared error per force component (forces = −∂E/∂x,
/// differentiated twice through the network); Adam with a linear warm-up and a cosine-decaying learning rate, random
/// rotations of every drawn cloud, and an exponential moving average of the weights for the exported model. A seeded
/// hold-out gives validation energy and force errors per epoch. Predictions are invariant to translations and
/// permutations of the points, and to rotations up to the orientation grid's resolution (exactly when grid and
/// points rotate together); forces rotate with the points.</para>
/// </remarks>
public sealed class PonitaTrainer : IEstimator<PonitaModel>
{
    /// <summary>Options of <see cref="PonitaTrainer"/>.</summary>
    public sealed class Options : TrainingOptionsBase
    {
        /// <summary>The positions column: a vector of 3N <see cref="float"/>. Default: "Positions".</summary>
        public string PositionsColumnName { get; set; } = "Positions";

        /// <summary>The atom types column: N type indices (<see cref="float"/> or <see cref="int"/>), or N·F features with <see cref="FeaturesPerAtom"/>. Default: "AtomTypes".</summary>
        public string AtomTypesColumnName { get; set; } = "AtomTypes";

        /// <summary>Optional column of target forces (3N <see cref="float"/>); when set, training fits forces too. Default: null.</summary>
        public string? ForcesColumnName { get; set; }

        /// <summary>
        /// Output column for predicted forces (3N <see cref="float"/>, −∂E/∂x computed in the ONNX graph). Default: null,
        /// which predicts the energy only (cheaper). "PredictedForces" is a good name; it must differ from the input columns.
        /// </summary>
        public string? PredictedForcesColumnName { get; set; }

        /// <summary>
        /// Per-point features instead of type indices: the atom types column then holds F values per point (e.g.
        /// one-hot types, charges). Default: null (one type index per point).
        /// </summary>
        public int? FeaturesPerAtom { get; set; }

        /// <summary>Orientations on the sphere (Fibonacci grid); the paper uses 16–20. Default: 16.</summary>
        public int NumberOfOrientations { get; set; } = 16;

        /// <summary>Channels per point and orientation. Default: 32.</summary>
        public int HiddenSize { get; set; } = 32;

        /// <summary>ConvNeXt blocks (separable spatial + spherical convolution, then a pointwise MLP). Default: 3.</summary>
        public int NumberOfLayers { get; set; } = 3;

        /// <summary>
        /// Interaction radius in the positions' units; messages fade smoothly to zero at it. Default: null, the median
        /// distance between two points of one training row.
        /// </summary>
        public double? Cutoff { get; set; }

        /// <summary>
        /// The length the kernels measure the invariants in: their inputs are a1/s and a2²/s², up to degree 3. Default:
        /// null, 1.5 × the median distance from a point to its nearest neighbour (at most the cutoff). A scale near the
        /// bond length keeps short distances apart; measured in units of a cutoff of 3.8 Å, aspirin's bonds all looked
        /// alike to the kernels and training stalled at zero forces.
        /// </summary>
        public double? KernelScale { get; set; }

        /// <summary>PNITA: features on positions only, kernels of the distance alone (cheaper, less expressive). Default: false.</summary>
        public bool PositionOnly { get; set; }

        /// <summary>
        /// At most this many neighbours per point (the nearest), for dense systems where the cutoff ball holds too many.
        /// The energy then jumps when the nearest set changes, so forces are not exactly conservative. Default: null (all
        /// within the cutoff).
        /// </summary>
        public int? MaximumNeighbors { get; set; }

        /// <summary>
        /// Self-interaction: every point also sends a message to itself, so the convolution sees its own features (the
        /// reference implementation's self-loops). Default: false (on our molecule benchmarks the self-loop made
        /// training slower; see the README's figures).
        /// </summary>
        public bool SelfInteraction { get; set; }

        /// <summary>
        /// Read the energy out after every block and average, as the reference implementation does (false: one readout
        /// after the last block). Default: false.
        /// </summary>
        public bool ReadoutFromEveryLayer { get; set; }

        /// <summary>Passes over the training data. Default: 50.</summary>
        public int NumberOfEpochs { get; set; } = 50;

        /// <summary>Point clouds per optimiser step (small batches give the many steps that force training needs). Default: 4.</summary>
        public int BatchSize { get; set; } = 4;

        /// <summary>Adam's peak learning rate (after the warm-up it decays along a half cosine to zero). Default: 2e-3.</summary>
        public double LearningRate { get; set; } = 2e-3;

        /// <summary>Epochs over which the learning rate rises linearly from zero to <see cref="LearningRate"/>. Default: 1.</summary>
        public double WarmupEpochs { get; set; } = 1;

        /// <summary>Weight of the per-component force error against the energy error (with a forces column). Default: 3.</summary>
        public double ForceLossWeight { get; set; } = 3;

        /// <summary>
        /// Turn every training cloud (and its forces) by a fresh uniformly random rotation each time it is drawn, so the
        /// model learns the same function in every pose (the orientation grid makes it only approximately invariant).
        /// Default: true.
        /// </summary>
        public bool RotationAugmentation { get; set; } = true;

        /// <summary>
        /// Decay of the exponential moving average of the weights kept during training; the exported model uses the
        /// averaged weights. Null trains and exports the last step's weights. Default: 0.99.
        /// </summary>
        public double? WeightAveragingDecay { get; set; } = 0.99;

        /// <summary>
        /// Fraction of the rows held out (seeded) for the per-epoch validation energy and force errors in the progress
        /// reports and <see cref="PonitaModel.Validation"/>; 0 trains on every row. Default: 0.05.
        /// </summary>
        public double ValidationFraction { get; set; } = 0.05;
    }

    private readonly MLContext _mlContext;
    private readonly Options _options;

    /// <summary>Creates the trainer; most users call <c>mlContext.Equivariant().Trainers.Ponita(...)</c> instead.</summary>
    public PonitaTrainer(MLContext mlContext, Options options)
    {
        _mlContext = mlContext ?? throw new ArgumentNullException(nameof(mlContext));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        CheckOptions(options);
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        PointCloudData.CheckShape(inputSchema, _options);
        var shape = ScoringSchema.Extend(_mlContext, inputSchema, PredictionKind.Regression);
        return _options.PredictedForcesColumnName is { } forces ? ScoringSchema.AddFloatVector(_mlContext, shape, forces) : shape;
    }

    /// <summary>Trains on <paramref name="input"/> and returns the fitted, ONNX-scored model.</summary>
    public PonitaModel Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var o = _options;
        var set = PointCloudData.Read(input, o, o.CancellationToken);
        bool withForces = o.ForcesColumnName is not null;
        // Every op works on all orientations of a point (pair) at once, so the thread policy sees O × 4H values per point.
        using var run = TrainingRun.Start(_mlContext, nameof(PonitaTrainer), o, o.NumberOfOrientations * 4 * o.HiddenSize);
        double cutoff = o.Cutoff ?? DefaultCutoff(set.Clouds);
        int orientations = o.PositionOnly ? 1 : o.NumberOfOrientations;
        var (training, validation) = Split(set.Clouds, o.ValidationFraction, run.Seed);
        var baseline = EnergyBaseline.Fit(training, set.FeatureCount);
        run.Info($"{set.Clouds.Count} point clouds of {set.Clouds.Min(c => c.Count)}..{set.Clouds.Max(c => c.Count)} points ({validation.Count} held out), {set.FeatureCount} " +
                 $"{(set.TypesAreIndices ? "types" : "features per point")}, cutoff {cutoff:G4}, energy unit {baseline.Scale:G4}");

        var trainingSamples = Samples(training, baseline, cutoff, o, orientations);
        var validationSamples = Samples(validation, baseline, cutoff, o, orientations);
        double kernelScale = o.KernelScale ?? Math.Min(cutoff, 1.5 * NearestNeighbourDistance(set.Clouds));
        run.Info($"kernel scale {kernelScale:G4}");
        using var network = new PonitaNetwork(set.FeatureCount, o.HiddenSize, o.NumberOfLayers, o.NumberOfOrientations, cutoff, o.PositionOnly, o.ReadoutFromEveryLayer, kernelScale);
        using (no_grad()) network.Ends.Reference.weight!.zero_();
        network.to(run.Device);
        var history = new List<TrainingProgress>();
        var errors = new List<PonitaValidation>();
        int stepsPerEpoch = (trainingSamples.Count + o.BatchSize - 1) / o.BatchSize;
        var schedule = new TrainingSchedule(o.NumberOfEpochs, o.BatchSize, o.LearningRate, CosineDecay: true,
            WarmupSteps: (int)Math.Round(o.WarmupEpochs * stepsPerEpoch), AverageDecay: o.WeightAveragingDecay);
        var rotations = o.RotationAugmentation ? new Random(run.Random.Next()) : null;
        using (var forceWeight = o.ForceLossWeight.ToScalar())
            PonitaFitting.Train(network, trainingSamples, schedule, run.Random,
                chosen => PonitaFitting.Loss(network, MoleculeBatch.From(chosen, set.FeatureCount, withForces, rotations, run.Device), forceWeight),
                cancellationToken: o.CancellationToken, afterEpoch: (epoch, loss) =>
                {
                    if (!double.IsFinite(loss))
                        throw new InvalidOperationException($"PONITA training diverged in epoch {epoch} (loss {loss}). Lower LearningRate ({o.LearningRate}) or ForceLossWeight ({o.ForceLossWeight}), or check the Cutoff ({cutoff:G4}) against the data's scale.");
                    double? validationLoss = null;
                    if (validationSamples.Count > 0)
                    {
                        var error = PonitaValidation.Measure(epoch, network, validationSamples, set.FeatureCount, o.BatchSize, baseline.Scale, withForces, o.ForceLossWeight, run.Device);
                        errors.Add(error);
                        validationLoss = error.NormalisedLoss;
                        run.Info($"epoch {epoch}: validation energy MAE {error.EnergyMeanAbsoluteError:G4}" + (withForces ? $", force MAE {error.ForceMeanAbsoluteError:G4}" : ""));
                    }
                    history.Add(new TrainingProgress(run.Trainer, epoch, o.NumberOfEpochs, loss, validationLoss, run.Elapsed));
                    run.ReportEpoch(epoch, o.NumberOfEpochs, loss, validationLoss);
                });
        network.to(CPU);
        network.FoldEnergyScale(baseline.Scale, baseline.ReferenceEnergies);
        network.eval();

        var description = new PonitaDescription
        {
            TypesAreIndices = set.TypesAreIndices,
            FeatureCount = set.FeatureCount,
            KnownTypes = set.KnownTypes is { } known ? PointCloudChecks.KnownList(known).ToArray() : null,
            HiddenSize = o.HiddenSize,
            NumberOfLayers = o.NumberOfLayers,
            NumberOfOrientations = orientations,
            Cutoff = cutoff,
            KernelScale = kernelScale,
            MaximumNeighbors = o.MaximumNeighbors,
            SelfInteraction = o.SelfInteraction,
            PositionOnly = o.PositionOnly,
            ReadoutFromEveryLayer = o.ReadoutFromEveryLayer,
            ReferenceEnergies = baseline.ReferenceEnergies,
            EnergyScale = baseline.Scale,
            PredictedForcesColumnName = o.PredictedForcesColumnName,
        };
        var onnx = PonitaOnnxExporter.ExportForScoring(network, set.TypesAreIndices, o.PredictedForcesColumnName,
            new Dictionary<string, string> { [MetadataKeys.Kind] = nameof(PredictionKind.Regression), [MetadataKeys.Method] = o.PositionOnly ? "PNITA" : "PONITA", [PonitaDescription.MetadataKey] = description.ToJson() });
        var (energyParity, forcesParity) = PonitaExportCheck.Run(network, onnx, set, o.PredictedForcesColumnName, o.MaximumNeighbors, o.SelfInteraction, run.Seed);
        run.Info($"ONNX export: energy {energyParity}" + (forcesParity is null ? "" : $", forces {forcesParity}"));

        var contract = new PonitaInputContract(o.PositionsColumnName, o.AtomTypesColumnName, set.TypesAreIndices, set.FeatureCount, set.KnownTypes,
            cutoff, o.MaximumNeighbors, o.SelfInteraction, PonitaMemory.BytesPerEdge(orientations, o.HiddenSize, o.NumberOfLayers, o.PredictedForcesColumnName is not null));
        var scoring = OnnxScoringChain.Fit(_mlContext, input, new OnnxScoringSpec
        {
            Model = onnx,
            Kind = PredictionKind.Regression,
            InputColumns = [PonitaColumns.Points, PonitaColumns.Kinds, PonitaColumns.Senders, PonitaColumns.Receivers, PonitaColumns.GraphIndex],
            Preparation = Preparation(contract),
            ExtraOutputs = o.PredictedForcesColumnName is { } forces ? [forces] : [],
            TemporaryColumns = [PonitaColumns.Positions, PonitaColumns.Types, PonitaColumns.Contract, PonitaColumns.Points, PonitaColumns.Kinds,
                PonitaColumns.Senders, PonitaColumns.Receivers, PonitaColumns.GraphIndex],
            Device = o.ScoringDevice,
        });
        return new PonitaModel(scoring, description, contract, history, errors, energyParity, forcesParity, run.Seed);
    }

    /// <summary>The clouds split into training and held-out rows (by a seeded hash of the row, as the tabular trainers do).</summary>
    private static (List<PointCloud> Training, List<PointCloud> Validation) Split(List<PointCloud> clouds, double fraction, int seed)
    {
        var split = ValidationSplit.Create(fraction, seed);
        if (split is null) return (clouds, []);
        var training = clouds.Where((_, i) => split.IsTraining(i)).ToList();
        var validation = clouds.Where((_, i) => split.IsValidation(i)).ToList();
        // Too few rows to spare any: train on all of them.
        return training.Count == 0 || validation.Count == 0 ? (clouds, []) : (training, validation);
    }

    /// <summary>Normalised clouds with their edges; the largest is checked against the memory one training step may take.</summary>
    private static List<GraphSample> Samples(List<PointCloud> clouds, EnergyBaseline baseline, double cutoff, Options o, int orientations)
    {
        double bytesPerEdge = PonitaMemory.BytesPerEdge(orientations, o.HiddenSize, o.NumberOfLayers, withGradients: true);
        return clouds.Select(c =>
        {
            var (senders, receivers) = PonitaMemory.Edges(c.Positions, cutoff, o.MaximumNeighbors, o.SelfInteraction, bytesPerEdge, o.PositionsColumnName, null);
            return new GraphSample(baseline.Normalise(c), new EdgeList(senders, receivers));
        }).ToList();
    }

    /// <summary>
    /// The saveable transforms that bring a row into the ONNX model's inputs: copies of the point-cloud columns under
    /// fixed names (types as <see cref="float"/>), the input contract as a constant column, and the row check.
    /// </summary>
    private IEstimator<ITransformer> Preparation(PonitaInputContract contract)
    {
        var t = _mlContext.Transforms;
        return t.CopyColumns(PonitaColumns.Positions, contract.PositionsColumn)
            .Append(t.Conversion.ConvertType(PonitaColumns.Types, contract.TypesColumn, DataKind.Single))
            .Append(t.Expression(PonitaColumns.Contract, contract.Expression(), contract.PositionsColumn))
            .Append(t.CustomMapping(new PonitaInputMapping().GetMapping(), PonitaInputMapping.ContractName));
    }

    /// <summary>
    /// The default cutoff: the median distance between two points of one training row, so that about half of the
    /// pairs interact directly and deeper blocks carry the rest. The kernels see the invariants in units of the
    /// cutoff, so a radius much larger than the structure of interest blurs it: on the generated molecules the median
    /// (about 3) learned the residual energy well where the largest distance (about 5) did not.
    /// </summary>
    internal static double DefaultCutoff(IReadOnlyList<PointCloud> clouds)
    {
        var distances = new List<double>();
        // A deterministic sample of rows bounds the cost on large data sets.
        int stride = Math.Max(1, clouds.Count / 2000);
        for (int r = 0; r < clouds.Count; r += stride)
        {
            var cloud = clouds[r];
            var p = cloud.Positions;
            for (int i = 0; i < cloud.Count; i++)
                for (int j = i + 1; j < cloud.Count; j++)
                {
                    double dx = p[3 * i] - p[3 * j], dy = p[3 * i + 1] - p[3 * j + 1], dz = p[3 * i + 2] - p[3 * j + 2];
                    distances.Add(Math.Sqrt(dx * dx + dy * dy + dz * dz));
                }
        }
        // Single points have no pairs; any radius then serves.
        if (distances.Count == 0) return 1.0;
        distances.Sort();
        return distances[distances.Count / 2];
    }

    /// <summary>The median over points of the distance to the nearest other point of the same row (a sample of rows).</summary>
    internal static double NearestNeighbourDistance(IReadOnlyList<PointCloud> clouds)
    {
        var distances = new List<double>();
        int stride = Math.Max(1, clouds.Count / 500);
        for (int r = 0; r < clouds.Count; r += stride)
        {
            var p = clouds[r].Positions;
            int n = clouds[r].Count;
            for (int i = 0; i < n; i++)
            {
                double nearest = double.PositiveInfinity;
                for (int j = 0; j < n; j++)
                {
                    if (j == i) continue;
                    double dx = p[3 * i] - p[3 * j], dy = p[3 * i + 1] - p[3 * j + 1], dz = p[3 * i + 2] - p[3 * j + 2];
                    nearest = Math.Min(nearest, dx * dx + dy * dy + dz * dz);
                }
                if (double.IsFinite(nearest)) distances.Add(Math.Sqrt(nearest));
            }
        }
        if (distances.Count == 0) return 1.0;
        distances.Sort();
        return distances[distances.Count / 2];
    }

    private static void CheckOptions(Options o)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(o.LabelColumnName, nameof(o.LabelColumnName));
        ArgumentException.ThrowIfNullOrWhiteSpace(o.PositionsColumnName, nameof(o.PositionsColumnName));
        ArgumentException.ThrowIfNullOrWhiteSpace(o.AtomTypesColumnName, nameof(o.AtomTypesColumnName));
        if (o.PredictedForcesColumnName is { } predicted)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(predicted, nameof(o.PredictedForcesColumnName));
            string?[] taken = [o.PositionsColumnName, o.AtomTypesColumnName, o.LabelColumnName, o.ForcesColumnName, "Score"];
            if (taken.Contains(predicted) || predicted.StartsWith("mlx_", StringComparison.Ordinal))
                throw new ArgumentException($"PredictedForcesColumnName '{predicted}' would hide an input, the label, the target forces or the Score column (names starting with mlx_ are reserved); choose another name, e.g. \"PredictedForces\".", nameof(o.PredictedForcesColumnName));
        }
        if (o.FeaturesPerAtom is int f) ArgumentOutOfRangeException.ThrowIfLessThan(f, 1, nameof(o.FeaturesPerAtom));
        if (!o.PositionOnly && o.NumberOfOrientations < 4)
            throw new ArgumentOutOfRangeException(nameof(o.NumberOfOrientations), o.NumberOfOrientations,
                "PONITA needs at least 4 orientations to approximate rotation invariance (16–20 in the paper); set PositionOnly for the orientation-free variant.");
        ArgumentOutOfRangeException.ThrowIfLessThan(o.HiddenSize, 1, nameof(o.HiddenSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(o.NumberOfLayers, 1, nameof(o.NumberOfLayers));
        ArgumentOutOfRangeException.ThrowIfLessThan(o.NumberOfEpochs, 1, nameof(o.NumberOfEpochs));
        ArgumentOutOfRangeException.ThrowIfLessThan(o.BatchSize, 1, nameof(o.BatchSize));
        if (o.Cutoff is double c && !(c > 0 && double.IsFinite(c)))
            throw new ArgumentOutOfRangeException(nameof(o.Cutoff), c, "The cutoff must be positive and finite (or null for the default).");
        if (!(o.LearningRate > 0) || !double.IsFinite(o.LearningRate))
            throw new ArgumentOutOfRangeException(nameof(o.LearningRate), o.LearningRate, "The learning rate must be positive and finite.");
        if (o.MaximumNeighbors is int k) ArgumentOutOfRangeException.ThrowIfLessThan(k, 1, nameof(o.MaximumNeighbors));
        if (o.KernelScale is double scale && !(scale > 0 && double.IsFinite(scale)))
            throw new ArgumentOutOfRangeException(nameof(o.KernelScale), scale, "The kernel scale must be positive and finite (or null for the default).");
        if (!(o.WarmupEpochs >= 0) || !double.IsFinite(o.WarmupEpochs))
            throw new ArgumentOutOfRangeException(nameof(o.WarmupEpochs), o.WarmupEpochs, "The warm-up must be a non-negative, finite number of epochs.");
        if (o.WeightAveragingDecay is double d && !(d is >= 0 and < 1))
            throw new ArgumentOutOfRangeException(nameof(o.WeightAveragingDecay), d, "The weight-averaging decay must lie in [0, 1), or be null to export the last weights.");
        if (!(o.ValidationFraction is >= 0 and < 1))
            throw new ArgumentOutOfRangeException(nameof(o.ValidationFraction), o.ValidationFraction, "The validation fraction must lie in [0, 1).");
        if (!(o.ForceLossWeight >= 0) || !double.IsFinite(o.ForceLossWeight))
            throw new ArgumentOutOfRangeException(nameof(o.ForceLossWeight), o.ForceLossWeight, "The force loss weight must be non-negative and finite.");
    }
}
