using MLExtensions.Training;

namespace MLExtensions.Equivariant;

/// <summary>
/// Options every PONITA trainer shares: the point-cloud columns, the network, the radius graph and the training
/// schedule. <see cref="PonitaTrainer.Options"/> (energies and forces) and <see cref="PonitaVectorTrainer.Options"/>
/// (per-point vectors) add their own.
/// </summary>
/// <remarks>
/// Same seed, same data: the same model on the CPU. On CUDA, TorchSharp sums messages per point with atomic adds in no
/// fixed order, so seeded runs agree only up to float rounding. The memory guard (a point cloud whose edges would need
/// more than 80 % of memory is refused with a message) measures host memory; on a GPU the device's memory is the
/// tighter limit.
/// </remarks>
public abstract class PonitaOptionsBase : TrainingOptionsBase
{
    /// <summary>Defaults the catalog methods share with the options.</summary>
    internal static class Defaults
    {
        public const int NumberOfEpochs = 50;
    }

    /// <summary>The positions column: a vector of 3N <see cref="float"/>. Default: "Positions".</summary>
    public string PositionsColumnName { get; set; } = DefaultColumnNames.Positions;

    /// <summary>The atom types column: N type indices (<see cref="float"/> or <see cref="int"/>), or N·F features with <see cref="FeaturesPerAtom"/>. Default: "AtomTypes".</summary>
    public string AtomTypesColumnName { get; set; } = DefaultColumnNames.AtomTypes;

    /// <summary>
    /// The periodic cell column: per row 9 <see cref="float"/> values, the lattice vectors a, b, c as rows in Å (the
    /// positions' units), or an empty vector for a row that is not periodic. A zero lattice vector marks a direction
    /// that is not periodic (a slab: a, b and a zero c). Pairs are then found through periodic images (triclinic
    /// cells of any size, several images of one neighbour in cells thinner than twice the cutoff), and the model's
    /// ONNX graph takes each edge's lattice shift. Default: null (no column; clouds are open clusters).
    /// </summary>
    public string? CellColumnName { get; set; }

    /// <summary>
    /// The unit of the energy labels (forces in this unit per Å), recorded in the model so that
    /// <see cref="MolecularDynamics"/> and other consumers convert correctly. Default: <see cref="PonitaEnergyUnit.KilocaloriePerMole"/>.
    /// </summary>
    public PonitaEnergyUnit EnergyUnit { get; set; } = PonitaEnergyUnit.KilocaloriePerMole;

    /// <summary>
    /// Per-point features instead of type indices: the atom types column then holds F values per point (e.g.
    /// one-hot types, charges). Default: null (one type index per point).
    /// </summary>
    public int? FeaturesPerAtom { get; set; }

    /// <summary>
    /// Orientations on the sphere; the paper uses 16–20. An even number gets a grid spread by repulsion that the
    /// half-turns about the three axes map onto itself (so a canonical frame's sign flips leave the energy unchanged;
    /// required with <see cref="PonitaTrainer.Options.CanonicalFrame"/> on open clouds), an odd one a Fibonacci grid.
    /// Default: 16.
    /// </summary>
    public int NumberOfOrientations { get; set; } = 16;

    /// <summary>Channels per point and orientation. Default: 32.</summary>
    public int HiddenSize { get; set; } = 32;

    /// <summary>ConvNeXt blocks (separable spatial + spherical convolution, then a pointwise MLP). Default: 3.</summary>
    public int NumberOfLayers { get; set; } = 3;

    /// <summary>
    /// Interaction radius in the positions' units; messages fade smoothly to zero at it. Default: null, the median
    /// distance between two points of one training row, at most the radius holding 32 neighbours of a typical point
    /// (so it does not grow with the system: about 5.4 Å in silicon, 4.3 Å in water, periodic images counted through
    /// the cell's density), and at least twice the median nearest-neighbour distance.
    /// </summary>
    public double? Cutoff { get; set; }

    /// <summary>
    /// The length the kernels measure the invariants in: their inputs are a1/s and a2²/s², up to degree 3. Default:
    /// null, 1.5 × the median distance from a point to its nearest neighbour (at most the cutoff). A scale near the
    /// bond length keeps short distances apart; in units of a cutoff of several ångström, bonds look alike to the
    /// kernels and training can stall at zero forces.
    /// </summary>
    public double? KernelScale { get; set; }

    /// <summary>
    /// At most this many neighbours per point (the nearest), for dense systems where the cutoff ball holds too many.
    /// The energy then jumps when the nearest set changes, so forces are not exactly conservative. Default: null (all
    /// within the cutoff).
    /// </summary>
    public int? MaximumNeighbors { get; set; }

    /// <summary>
    /// Self-interaction: every point also sends a message to itself, so the convolution sees its own features (the
    /// reference implementation's self-loops). Default: false (it made training slower on molecules; the README has
    /// the figures).
    /// </summary>
    public bool SelfInteraction { get; set; }

    /// <summary>Passes over the training data (0 only when fine-tuning: the initial model is exported as it is). Default: 50.</summary>
    public int NumberOfEpochs { get; set; } = Defaults.NumberOfEpochs;

    /// <summary>Point clouds per optimiser step (small batches give the many steps that force training needs). Default: 4.</summary>
    public int BatchSize { get; set; } = 4;

    /// <summary>Adam's peak learning rate (after the warm-up it decays along a half cosine to zero). Default: 2e-3.</summary>
    public double LearningRate { get; set; } = 2e-3;

    /// <summary>Epochs over which the learning rate rises linearly from zero to <see cref="LearningRate"/>. Default: 1.</summary>
    public double WarmupEpochs { get; set; } = 1;

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
    /// Fraction of the rows held out (seeded) for the per-epoch validation loss in the progress reports (and, for
    /// energies, the energy and force errors in <see cref="PonitaModel.Validation"/>); held-out rows are not trained on;
    /// 0 trains on every row. Default: 0.05.
    /// </summary>
    public double ValidationFraction { get; set; } = 0.05;

    /// <summary>
    /// Whether training ends with the weights (the averaged ones, when averaging) of the epoch with the lowest
    /// validation loss rather than those of the last epoch, as the reference implementation's best-validation
    /// checkpoint does. Training still runs every epoch. Needs held-out rows (<see cref="ValidationFraction"/> &gt; 0);
    /// without them the last epoch's weights are kept. Default: true.
    /// </summary>
    public bool KeepBestValidationEpoch { get; set; } = true;

    /// <summary>
    /// The most the gradient's global norm may be before a step (larger ones are scaled down to it), as the reference
    /// implementation clips; 0: no clipping. Default: 0.5 (on the shipped ethanol frames, 30 epochs, it lowered the test
    /// force error on four seeds of five and raised it by 1 % on one; <c>bench --ponita-recipe</c>, figures in the README).
    /// </summary>
    public double GradientClipNorm { get; set; } = 0.5;

    /// <summary>Whether training starts from an initial model, which allows 0 epochs.</summary>
    internal virtual bool FineTunes => false;

    /// <summary>Whether the network has an orientation grid (PNITA, positions only, has none).</summary>
    internal virtual bool UsesOrientations => true;

    /// <summary>The options that name input columns, with their values, for the output-name checks.</summary>
    internal virtual IEnumerable<(string Option, string? Column)> InputColumns =>
        [(nameof(PositionsColumnName), PositionsColumnName), (nameof(AtomTypesColumnName), AtomTypesColumnName), (nameof(LabelColumnName), LabelColumnName),
            (nameof(CellColumnName), CellColumnName)];

    internal override IEnumerable<string> Warnings()
    {
        if (WarmupEpochs > NumberOfEpochs && NumberOfEpochs > 0)
            yield return $"WarmupEpochs ({WarmupEpochs:G4}) is longer than the training (NumberOfEpochs = {NumberOfEpochs}): the learning rate is still " +
                         $"warming up when training ends and never reaches LearningRate ({LearningRate:G4}). Make WarmupEpochs at most NumberOfEpochs.";
    }

    /// <summary>Checks the options every PONITA trainer shares; messages name the option and its value.</summary>
    internal override void Validate()
    {
        base.Validate();
        ArgumentException.ThrowIfNullOrWhiteSpace(PositionsColumnName, nameof(PositionsColumnName));
        ArgumentException.ThrowIfNullOrWhiteSpace(AtomTypesColumnName, nameof(AtomTypesColumnName));
        if (FeaturesPerAtom is int f) ArgumentOutOfRangeException.ThrowIfLessThan(f, 1, nameof(FeaturesPerAtom));
        if (CellColumnName is not null) ArgumentException.ThrowIfNullOrWhiteSpace(CellColumnName, nameof(CellColumnName));
        if (!Enum.IsDefined(EnergyUnit))
            throw new ArgumentOutOfRangeException(nameof(EnergyUnit), EnergyUnit, "Unknown energy unit: use KilocaloriePerMole, ElectronVolt, Hartree or KilojoulePerMole.");
        if (UsesOrientations && NumberOfOrientations < 4)
            throw new ArgumentOutOfRangeException(nameof(NumberOfOrientations), NumberOfOrientations,
                "PONITA needs at least 4 orientations to approximate rotation invariance (16–20 in the paper); set PositionOnly for the orientation-free variant.");
        ArgumentOutOfRangeException.ThrowIfLessThan(HiddenSize, 1, nameof(HiddenSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(NumberOfLayers, 1, nameof(NumberOfLayers));
        if (NumberOfEpochs < (FineTunes ? 0 : 1))
            throw new ArgumentOutOfRangeException(nameof(NumberOfEpochs), NumberOfEpochs, FineTunes
                ? "NumberOfEpochs must not be negative (0 exports the initial model as it is)."
                : "NumberOfEpochs must be at least 1 (0 is allowed only when fine-tuning an initial model).");
        ArgumentOutOfRangeException.ThrowIfLessThan(BatchSize, 1, nameof(BatchSize));
        if (Cutoff is double c && !(c > 0 && double.IsFinite(c)))
            throw new ArgumentOutOfRangeException(nameof(Cutoff), c, "The cutoff must be positive and finite (or null for the default).");
        if (MaximumNeighbors is int k) ArgumentOutOfRangeException.ThrowIfLessThan(k, 1, nameof(MaximumNeighbors));
        if (KernelScale is double scale && !(scale > 0 && double.IsFinite(scale)))
            throw new ArgumentOutOfRangeException(nameof(KernelScale), scale, "The kernel scale must be positive and finite (or null for the default).");
        if (!(WarmupEpochs >= 0) || !double.IsFinite(WarmupEpochs))
            throw new ArgumentOutOfRangeException(nameof(WarmupEpochs), WarmupEpochs, "The warm-up must be a non-negative, finite number of epochs.");
        if (WeightAveragingDecay is double d && !(d is >= 0 and < 1))
            throw new ArgumentOutOfRangeException(nameof(WeightAveragingDecay), d, "The weight-averaging decay must lie in [0, 1), or be null to export the last weights.");
        if (!(ValidationFraction is >= 0 and < 1))
            throw new ArgumentOutOfRangeException(nameof(ValidationFraction), ValidationFraction, "The validation fraction must lie in [0, 1).");
        if (!(LearningRate > 0) || !double.IsFinite(LearningRate))
            throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "The learning rate must be positive and finite.");
        if (!(GradientClipNorm >= 0) || !double.IsFinite(GradientClipNorm))
            throw new ArgumentOutOfRangeException(nameof(GradientClipNorm), GradientClipNorm, "The gradient-norm limit must be finite and ≥ 0 (0: no clipping).");
    }
}
