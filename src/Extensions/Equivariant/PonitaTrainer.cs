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
/// <see cref="PonitaOptionsBase.FeaturesPerAtom"/> = F, N·F <see cref="float"/> features per point. Label: the energy,
/// <see cref="float"/>. Optional forces: vector of 3N <see cref="float"/>. Output: <c>Score</c>
/// (<see cref="float"/>, the predicted energy) and, when asked, the predicted forces (3N <see cref="float"/>) and every
/// atom's share of the energy (N <see cref="float"/>, <see cref="Options.PredictedAtomEnergiesColumnName"/>).
/// <see cref="Options.InitialModel"/> fine-tunes a trained model instead of starting anew.</para>
/// <para>Message passing runs along a radius graph (pairs closer than <see cref="PonitaOptionsBase.Cutoff"/>, and with
/// <see cref="PonitaOptionsBase.SelfInteraction"/> a self-loop per point) built with a cell list, so time and memory grow linearly with the number of points at fixed
/// density; the exported ONNX graph takes the edges as inputs and the scoring chain builds them per row. With
/// <see cref="PonitaOptionsBase.CellColumnName"/>, rows are periodic (9 floats per row, the lattice vectors as rows;
/// empty for an open cluster): pairs are found through lattice images and each edge's lattice shift is one more input
/// of the ONNX graph; such a model may also train on and predict the stress (1/V)·∂E/∂ε
/// (<see cref="Options.StressColumnName"/>, <see cref="Options.PredictedStressColumnName"/>: 9 values row-major, energy
/// unit/Å³, ASE's sign). Labels may be <see cref="float"/> or <see cref="double"/>; their unit is
/// <see cref="PonitaOptionsBase.EnergyUnit"/>, recorded in the model.</para>
/// <para>Training: per-type reference energies are fitted by least squares first and the network learns the
/// remainder, in units of the force RMS (with forces) or of the remainder's spread; the loss is the mean over clouds of the squared energy
/// error per point (as NequIP and MACE weigh it, so that large cells do not drown their forces; scaled so that a 21-atom molecule weighs as it did before) plus <see cref="Options.ForceLossWeight"/> times the mean squared error per force component (forces = −∂E/∂x,
/// differentiated twice through the network), and with stress labels <see cref="Options.StressLossWeight"/> times the
/// mean squared error per stress component as a virial per atom; Adam with a linear warm-up and a cosine-decaying learning rate, random
/// rotations of every drawn cloud, and an exponential moving average of the weights for the exported model. A seeded
/// hold-out gives validation energy and force errors per epoch. Predictions are invariant to translations and
/// permutations of the points, and to rotations up to the orientation grid's resolution (exactly when grid and
/// points rotate together); forces rotate with the points.</para>
/// </remarks>
public sealed class PonitaTrainer : IEstimator<PonitaModel>
{
    /// <summary>Options of <see cref="PonitaTrainer"/>.</summary>
    public sealed class Options : PonitaOptionsBase
    {
        /// <summary>Optional column of target forces (3N <see cref="float"/>); when set, training fits forces too. Default: null.</summary>
        public string? ForcesColumnName { get; set; }

        /// <summary>
        /// Output column for predicted forces (3N <see cref="float"/>, −∂E/∂x computed in the ONNX graph). Default: null,
        /// which predicts the energy only (cheaper). "PredictedForces" is a good name; it must differ from the input columns.
        /// </summary>
        public string? PredictedForcesColumnName { get; set; }

        /// <summary>PNITA: features on positions only, kernels of the distance alone (cheaper, less expressive). Default: false.</summary>
        public bool PositionOnly { get; set; }

        /// <summary>
        /// Read the energy out after every block and average, as the reference implementation does (false: one readout
        /// after the last block). Default: false.
        /// </summary>
        public bool ReadoutFromEveryLayer { get; set; }

        /// <summary>
        /// Gaussians of the pair distance (centres evenly spaced from 0 to the cutoff, each as wide as the spacing) that
        /// the kernels read besides the paper's polynomials of the invariants; 0 for none. Polynomials in a kernel scale
        /// of a few ångström hardly change over a bond's thermal spread, and in condensed matter, where a force is a
        /// small difference of many neighbours' pulls, forces then did not train at all (Stillinger–Weber silicon).
        /// Ignored when fine-tuning (the initial model's architecture is kept). Default: 16.
        /// </summary>
        public int NumberOfRadialBasisFunctions { get; set; } = 16;

        /// <summary>
        /// Weight of the mean squared error per force component against the energy term, 21 × the squared energy error
        /// per atom (with a forces column). Default: 3.
        /// </summary>
        public double ForceLossWeight { get; set; } = 3;

        /// <summary>
        /// Optional column of target stresses (ASE's sign: (1/V)·∂E/∂ε, positive under tension; energy unit/Å³): 9
        /// <see cref="float"/> row-major, 6 in Voigt order (xx yy zz yz xz xy), or none for a row without a label (e.g.
        /// <see cref="MoleculeRow.Stress"/>). Needs <see cref="PonitaOptionsBase.CellColumnName"/>, and a labelled row's
        /// cell must be periodic in all three directions. When set, training fits stresses too
        /// (<see cref="StressLossWeight"/>). Default: null.
        /// </summary>
        public string? StressColumnName { get; set; }

        /// <summary>
        /// Output column for predicted stresses (9 <see cref="float"/> row-major, energy unit/Å³, ASE's sign), computed in
        /// the ONNX graph from the same reverse pass as the forces; NaN for a row whose cell is empty or not periodic in
        /// all three directions. Needs <see cref="PonitaOptionsBase.CellColumnName"/>. Default: null (no stress output).
        /// "PredictedStress" is a good name.
        /// </summary>
        public string? PredictedStressColumnName { get; set; }

        /// <summary>
        /// Output column for every atom's share of the predicted energy (N <see cref="float"/> per row, in the energy
        /// unit): its type's reference energy plus its readout, the terms the model sums into <c>Score</c>, so they add
        /// up to it (to float32 rounding). Invariant like the energy (with <see cref="CanonicalFrame"/>, to rounding);
        /// permuting the atoms permutes them. Default: null (no such output; the ONNX graph then has none).
        /// "PredictedAtomEnergies" is a good name.
        /// </summary>
        public string? PredictedAtomEnergiesColumnName { get; set; }

        /// <summary>
        /// Weight of the stress error against the energy error (with a stress column): the mean squared error per stress
        /// component, each measured as a virial per atom (stress × volume / atoms, in the energy unit), so that it weighs
        /// as an energy per atom does whatever the cell's size. Default: 10.
        /// </summary>
        public double StressLossWeight { get; set; } = 10;

        /// <summary>
        /// Score every cloud in a canonical frame that turns with it: an open cloud in its principal axes (oriented by
        /// their third moments; see the README), a crystal (a model with a cell column) in its lattice frame (a along
        /// the first axis, b in the first two). The fixed orientation grid then sees every pose alike, so energies,
        /// forces and stresses are invariant and equivariant to float rounding at any
        /// <see cref="PonitaOptionsBase.NumberOfOrientations"/>, instead of up to the grid's resolution; the frame costs a
        /// few operations per point and edge. Where a moving molecule's third moment changes sign its frame turns by half
        /// a turn, which an even grid maps onto itself, so the energy stays continuous (molecular dynamics conserves
        /// it); an odd number of orientations is therefore refused for open clouds. Training still turns clouds at random
        /// (<see cref="PonitaOptionsBase.RotationAugmentation"/>), so every frame is a pose the network learned. Open
        /// clouds whose axes are not defined (fewer than 3 points, linear or symmetric-top shapes), open clouds scored
        /// by a periodic model, and cells whose first two lattice vectors are zero or parallel keep the fixed grid. A
        /// crystal's energy then also depends, by the grid's small invariance error, on which of its equivalent cells
        /// describes it (supercells along a and b, and moves by lattice vectors, keep it exactly). Ignored by PNITA,
        /// exactly invariant without. Default: true.
        /// </summary>
        public bool CanonicalFrame { get; set; } = true;

        /// <summary>
        /// A trained PONITA energy model to fine-tune: a <see cref="PonitaModel"/>, or the transformer
        /// <c>mlContext.Model.Load</c> gives back for a saved one. Training starts from its weights and keeps its energy
        /// baseline (reference energies and scale), unit, cutoff, kernel scale, architecture, graph (neighbour limit,
        /// self-interaction), periodicity and canonical frame. Each of those options left at its default takes the
        /// model's value; one set to a different value is refused, naming it (the cell column may be renamed, and
        /// <see cref="CanonicalFrame"/> turned off). The data's atom types must be ones the model was trained on.
        /// Training options (epochs, learning rate, loss weights, …) and outputs are this options object's own; with an
        /// initial model <see cref="PonitaOptionsBase.NumberOfEpochs"/> may be 0, which exports the model as it is (e.g.
        /// with another output). The model is only read: it stays the caller's to dispose, and a disposed one is refused
        /// with <see cref="ObjectDisposedException"/>. Models saved by versions that did not keep their weights cannot be
        /// fine-tuned. Default: null (a new model).
        /// </summary>
        public ITransformer? InitialModel { get; set; }

        internal override bool UsesOrientations => !PositionOnly;

        internal override bool FineTunes => InitialModel is not null;

        /// <summary>A shallow copy, for the options a fine-tuning takes from its initial model.</summary>
        internal Options Copy() => (Options)MemberwiseClone();

        internal override IEnumerable<(string Option, string? Column)> InputColumns =>
            [.. base.InputColumns, (nameof(ForcesColumnName), ForcesColumnName), (nameof(StressColumnName), StressColumnName)];

        internal override void Validate()
        {
            base.Validate();
            if (ForcesColumnName is not null) ArgumentException.ThrowIfNullOrWhiteSpace(ForcesColumnName, nameof(ForcesColumnName));
            if (PredictedForcesColumnName is not null)
                ColumnChecks.CheckOutputName(nameof(PredictedForcesColumnName), PredictedForcesColumnName,
                    [.. InputColumns, ("the energy output", DefaultColumnNames.Score)], "PredictedForces");
            if (!(ForceLossWeight >= 0) || !double.IsFinite(ForceLossWeight))
                throw new ArgumentOutOfRangeException(nameof(ForceLossWeight), ForceLossWeight, "The force loss weight must be non-negative and finite.");
            if (NumberOfRadialBasisFunctions < 0 || NumberOfRadialBasisFunctions == 1)
                throw new ArgumentOutOfRangeException(nameof(NumberOfRadialBasisFunctions), NumberOfRadialBasisFunctions,
                    "Radial basis functions need at least 2 centres (16 by default), or 0 for the paper's kernels without them.");
            if (StressColumnName is not null) ArgumentException.ThrowIfNullOrWhiteSpace(StressColumnName, nameof(StressColumnName));
            foreach (var (option, column) in new[] { (nameof(StressColumnName), StressColumnName), (nameof(PredictedStressColumnName), PredictedStressColumnName) })
                if (column is not null && CellColumnName is null)
                    throw new ArgumentException($"{option} ('{column}') needs CellColumnName: a stress is per volume of a periodic cell.", option);
            if (PredictedStressColumnName is not null)
                ColumnChecks.CheckOutputName(nameof(PredictedStressColumnName), PredictedStressColumnName,
                    [.. InputColumns, ("the energy output", DefaultColumnNames.Score), (nameof(PredictedForcesColumnName), PredictedForcesColumnName)], "PredictedStress");
            if (PredictedAtomEnergiesColumnName is not null)
                ColumnChecks.CheckOutputName(nameof(PredictedAtomEnergiesColumnName), PredictedAtomEnergiesColumnName,
                    [.. InputColumns, ("the energy output", DefaultColumnNames.Score), (nameof(PredictedForcesColumnName), PredictedForcesColumnName),
                        (nameof(PredictedStressColumnName), PredictedStressColumnName)], "PredictedAtomEnergies");
            if (!(StressLossWeight >= 0) || !double.IsFinite(StressLossWeight))
                throw new ArgumentOutOfRangeException(nameof(StressLossWeight), StressLossWeight, "The stress loss weight must be non-negative and finite.");
            if (CanonicalFrame && !PositionOnly && CellColumnName is null && NumberOfOrientations % 2 != 0)
                throw new ArgumentOutOfRangeException(nameof(NumberOfOrientations), NumberOfOrientations,
                    $"With CanonicalFrame the number of orientations must be even: only an even grid is closed under the half-turns by which a molecule's frame " +
                    $"flips as it moves, and on any other the energy would step at every flip (molecular dynamics would not conserve it). Use {NumberOfOrientations + 1}, " +
                    "or set CanonicalFrame = false.");
        }
    }

    private readonly MLContext _mlContext;
    private readonly Options _options;

    /// <summary>Creates the trainer; most users call <c>mlContext.Equivariant().Trainers.Ponita(...)</c> instead.</summary>
    public PonitaTrainer(MLContext mlContext, Options options)
    {
        _mlContext = mlContext ?? throw new ArgumentNullException(nameof(mlContext));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        options.Validate();
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        _options.Validate();
        PointCloudData.CheckShape(inputSchema, Columns(_options));
        var shape = ScoringSchema.Extend(_mlContext, inputSchema, PredictionKind.Regression);
        foreach (var output in Outputs(_options)) shape = ScoringSchema.AddFloatVector(_mlContext, shape, output);
        return shape;
    }

    /// <summary>Trains on <paramref name="input"/> and returns the fitted, ONNX-scored model.</summary>
    public PonitaModel Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        _options.Validate();
        var initial = _options.InitialModel is { } start ? PonitaInitialModel.Read(_mlContext, start) : null;
        var o = initial?.Apply(_options) ?? _options;
        var set = PointCloudData.Read(input, Columns(o), o.CancellationToken);
        if (initial is not null) set = initial.Encode(set, o);
        bool withForces = o.ForcesColumnName is not null, withStress = o.StressColumnName is not null;
        bool reversePass = o.PredictedForcesColumnName is not null || o.PredictedStressColumnName is not null;   // in the exported graph
        // Every op works on all orientations of a point (pair) at once, so the thread policy sees O × 4H values per point.
        using var run = TrainingRun.Start(_mlContext, nameof(PonitaTrainer), o, o.NumberOfOrientations * 4 * o.HiddenSize);
        var (cutoff, kernelScale) = PonitaTrainerSteps.Lengths(o, set.Clouds);
        int orientations = o.PositionOnly ? 1 : o.NumberOfOrientations;
        var (training, validation) = PonitaTrainerSteps.Split(set.Clouds, o.ValidationFraction, run.Seed);
        var baseline = initial?.Baseline ?? EnergyBaseline.Fit(training, set.FeatureCount);
        run.Info($"{set.Clouds.Count} point clouds ({set.Clouds.Count(c => c.Cell is not null)} periodic, energies in {o.EnergyUnit.Symbol()}) of {set.Clouds.Min(c => c.Count)}..{set.Clouds.Max(c => c.Count)} points ({validation.Count} held out), {set.FeatureCount} " +
                 $"{(set.TypesAreIndices ? "types" : "features per point")}, cutoff {cutoff:G4}, energy unit {baseline.Scale:G4}");

        var memory = new PonitaTrainingMemory(o, orientations, set.FeatureCount, withForces || withStress ? PonitaPass.TrainingWithForces : PonitaPass.Training, PonitaPass.Forces,
            o.BatchSize, reversePass);
        memory.CheckFixed(cutoff);
        var trainingSamples = PonitaTrainerSteps.Samples(training, baseline.Normalise, cutoff, o, memory);
        PonitaTrainerSteps.CheckNeighbours(run, o, cutoff, trainingSamples);
        var validationSamples = PonitaTrainerSteps.Samples(validation, baseline.Normalise, cutoff, o, memory);
        double peak = memory.Check(trainingSamples, validationSamples, cutoff);
        run.Info($"kernel scale {kernelScale:G4}, memory at most about {peak / (1 << 20):N0} MiB at the peak");
        using var network = new PonitaNetwork(set.FeatureCount, o.HiddenSize, o.NumberOfLayers, o.NumberOfOrientations, cutoff, o.PositionOnly, o.ReadoutFromEveryLayer, kernelScale,
            initial?.Description.NumberOfRadialBasisFunctions ?? o.NumberOfRadialBasisFunctions);
        if (initial is not null) initial.LoadInto(network);
        else using (no_grad()) network.Ends.Reference.weight!.zero_();
        network.to(run.Device);
        var errors = new List<PonitaValidation>();
        var schedule = PonitaTrainerSteps.Schedule(o, trainingSamples.Count);
        var rotations = o.RotationAugmentation ? new Random(run.Random.Next()) : null;
        using var forceWeight = o.ForceLossWeight.ToScalar();
        using var stressWeight = o.StressLossWeight.ToScalar();
        Tensor BatchLoss(IReadOnlyList<GraphSample> chosen, BatchCounts? whole) =>
            PonitaTrainingLoop.Loss(network, MoleculeBatch.From(chosen, set.FeatureCount, withForces, rotations, run.Device, withStress), forceWeight, withStress ? stressWeight : null, whole);
        var pieces = new BatchPieces<GraphSample>(batch => PonitaTrainingLoop.Pieces(batch, (long)orientations * o.HiddenSize),
            (piece, batch) => BatchLoss(piece, BatchCounts.Of(batch)));
        IReadOnlyList<TrainingProgress> history = o.NumberOfEpochs == 0 ? [] : PonitaTrainingLoop.Train(run, network, trainingSamples, schedule,
            chosen => BatchLoss(chosen, null),
            validationSamples.Count == 0 ? null : epoch =>
            {
                var error = PonitaValidation.Measure(epoch, network, validationSamples, set.FeatureCount, o.BatchSize, baseline.Scale, withForces, o.ForceLossWeight, run.Device,
                    withStress ? o.StressLossWeight : null);
                errors.Add(error);
                run.Info($"epoch {epoch}: validation energy MAE {error.EnergyMeanAbsoluteError:G4}" + (withForces ? $", force MAE {error.ForceMeanAbsoluteError:G4}" : "") +
                    (withStress ? $", stress MAE {error.StressMeanAbsoluteError:G4}" : ""));
                return error.NormalisedLoss;
            },
            (epoch, loss) => $"PONITA training diverged in epoch {epoch} (loss {loss}). Lower LearningRate ({o.LearningRate}) or ForceLossWeight ({o.ForceLossWeight}), or check the Cutoff ({cutoff:G4}) and KernelScale ({kernelScale:G4}) against the data's scale.", o.KeepBestValidationEpoch, pieces).History;
        network.to(CPU);
        string weights = PonitaInitialModel.Encode(network);   // in the training's units, for a later fine-tuning
        network.FoldEnergyScale(baseline.Scale, baseline.ReferenceEnergies);
        network.eval();
        network.CanonicalFrame = o.CanonicalFrame && !o.PositionOnly;
        network.Periodic = o.CellColumnName is not null;

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
            NumberOfRadialBasisFunctions = network.RadialBasis,
            MaximumNeighbors = o.MaximumNeighbors,
            SelfInteraction = o.SelfInteraction,
            PositionOnly = o.PositionOnly,
            ReadoutFromEveryLayer = o.ReadoutFromEveryLayer,
            ReferenceEnergies = baseline.ReferenceEnergies,
            EnergyScale = baseline.Scale,
            PredictedForcesColumnName = o.PredictedForcesColumnName,
            PredictedStressColumnName = o.PredictedStressColumnName,
            PredictedAtomEnergiesColumnName = o.PredictedAtomEnergiesColumnName,
            EnergyUnit = o.EnergyUnit,
            CellColumnName = o.CellColumnName,
            CanonicalFrame = network.CanonicalFrame,
        };
        bool periodic = o.CellColumnName is not null;
        var onnx = PonitaOnnxExporter.ExportForScoring(network, set.TypesAreIndices, o.PredictedForcesColumnName,
            new Dictionary<string, string>
            {
                [MetadataKeys.Kind] = nameof(PredictionKind.Regression), [MetadataKeys.Method] = o.PositionOnly ? "PNITA" : "PONITA", [PonitaDescription.MetadataKey] = description.ToJson(),
                [PonitaInitialModel.WeightsKey] = weights
            },
            periodic, o.PredictedStressColumnName, o.PredictedAtomEnergiesColumnName);
        var checks = PonitaExportCheck.Run(network, onnx, set, o.PredictedForcesColumnName, o.MaximumNeighbors, o.SelfInteraction, run.Seed, periodic, o.PredictedStressColumnName,
            o.PredictedAtomEnergiesColumnName);

        var contract = new PonitaInputContract(o.PositionsColumnName, o.AtomTypesColumnName, set.TypesAreIndices, set.FeatureCount, set.KnownTypes,
            cutoff, o.MaximumNeighbors, o.SelfInteraction, PonitaMemory.Scoring(orientations, o.HiddenSize, o.NumberOfLayers, reversePass))
        { CellColumn = o.CellColumnName };
        var scoring = ExportedFit.Finish(run, _mlContext, input, PonitaTrainerSteps.ScoringSpec(_mlContext, onnx, contract, PredictionKind.Regression,
            Outputs(o), null, o.ScoringDevice, o.PredictedStressColumnName is not null, cells: periodic && network.CanonicalFrame), checks);
        return new PonitaModel(scoring, description, contract, history, errors, checks[0].Report, Check(checks, PonitaExportCheck.Forces), run.Seed)
        {
            StressExportParity = Check(checks, PonitaExportCheck.Stress),
            AtomEnergiesExportParity = Check(checks, PonitaExportCheck.AtomEnergies),
        };
    }

    /// <summary>The model's vector outputs besides <c>Score</c>, in the ONNX graph's order.</summary>
    private static List<string> Outputs(Options o) =>
        new[] { o.PredictedForcesColumnName, o.PredictedStressColumnName, o.PredictedAtomEnergiesColumnName }.OfType<string>().ToList();

    private static ParityReport? Check(IEnumerable<ExportCheck> checks, string output) => checks.FirstOrDefault(c => c.Output == output)?.Report;

    private static PointCloudColumns Columns(Options o) => new(o, o.LabelColumnName, o.ForcesColumnName, null) { Stress = o.StressColumnName };
}
