using Microsoft.ML;
using MLExtensions.Onnx.Batching;
using MLExtensions.Onnx.Scoring;
using MLExtensions.Torch;
using MLExtensions.Training;

namespace MLExtensions.Equivariant;

/// <summary>
/// A trained PONITA energy model scored through its ONNX export, forces included when asked. Returned by
/// <see cref="PonitaTrainer"/>.
/// </summary>
/// <remarks>
/// <para><b>Input and output columns.</b> Reads the positions and atom-types columns it was trained on (one point
/// cloud per row; rows may differ in size). Writes <c>Score</c> (<see cref="float"/>: the energy, so
/// <c>mlContext.Regression.Evaluate</c> works) and, when <see cref="PonitaTrainer.Options.PredictedForcesColumnName"/> was set,
/// that column: a variable-size vector of 3N <see cref="float"/>, the conservative forces −∂E/∂x computed inside the
/// ONNX graph.</para>
/// <para>Each row is checked before scoring (see <see cref="PonitaInputMapping"/>): bad rows raise
/// <see cref="InvalidDataException"/> naming the column (and the row). <c>Transform</c> scores blocks of rows as one
/// concatenated graph per ONNX Runtime call (<see cref="PonitaPotential"/>); <c>PredictionEngine</c> and loaded models
/// score one row at a time through the saved chain, with the same numbers.
/// After <c>mlContext.Model.Load</c> the model is a plain ML.NET chain that scores identically;
/// <see cref="PonitaDescription.FromSavedModel"/> reads its description back.</para>
/// </remarks>
public sealed partial class PonitaModel : OnnxScoredModel
{
    private readonly PonitaInputContract _contract;
    private readonly Lazy<PonitaPotential> _potential;

    internal PonitaModel(OnnxScoringChain scoring, PonitaDescription description, PonitaInputContract contract, IReadOnlyList<TrainingProgress> history,
        IReadOnlyList<PonitaValidation> validation, ParityReport energyParity, ParityReport? forcesParity, int seed) : base(scoring)
    {
        _contract = contract;
        var device = scoring.Spec.Device;
        _potential = new Lazy<PonitaPotential>(() => PonitaPotential.FromModel(this, device, scoring.Spec.GpuDeviceId), LazyThreadSafetyMode.ExecutionAndPublication);
        Description = description;
        TrainingHistory = history;
        Validation = validation;
        ExportParity = energyParity;
        ForcesExportParity = forcesParity;
        Seed = seed;
    }

    /// <summary>Inputs, network and energy baseline of the model.</summary>
    public PonitaDescription Description { get; }

    /// <summary>One entry per trained epoch (losses are in units of <see cref="PonitaDescription.EnergyScale"/>²).</summary>
    public IReadOnlyList<TrainingProgress> TrainingHistory { get; }

    /// <summary>
    /// Energy and force errors on the held-out rows after each epoch (empty without a validation split); with
    /// <see cref="PonitaOptionsBase.KeepBestValidationEpoch"/> the model has the weights of the epoch with the lowest validation loss.
    /// </summary>
    public IReadOnlyList<PonitaValidation> Validation { get; }

    /// <summary>How closely the exported energy matched the trained TorchSharp network on fresh, rotated inputs.</summary>
    public ParityReport ExportParity { get; }

    /// <summary>The same for the exported forces against TorchSharp's autograd (null when forces are not predicted).</summary>
    public ParityReport? ForcesExportParity { get; }

    /// <summary>The same for the exported stress against TorchSharp's strain derivative (null when the stress is not predicted).</summary>
    public ParityReport? StressExportParity { get; internal init; }

    /// <summary>The same for the exported atom energies against TorchSharp's (null when they are not predicted).</summary>
    public ParityReport? AtomEnergiesExportParity { get; internal init; }

    /// <summary>The seed the model was trained with.</summary>
    public int Seed { get; }

    /// <summary>
    /// The model as a potential for code outside ML.NET (molecular dynamics, screening); owned by the model, so it
    /// throws <see cref="ObjectDisposedException"/> once the model is disposed.
    /// </summary>
    public PonitaPotential Potential
    {
        get
        {
            using var lease = Lifetime.Enter();
            return _potential.Value;
        }
    }

    /// <inheritdoc />
    protected override IDataView TransformInBlocks(IDataView input, BatchScoringOptions? options)
    {
        ArgumentNullException.ThrowIfNull(input);
        // The per-row chain checks the input columns with ML.NET's messages and fixes the output schema.
        var perRow = PerRowChain.GetOutputSchema(input.Schema);
        return (IDataView?)PonitaScoredView.TryCreate(input, perRow, Potential, _contract, options ?? new BatchScoringOptions()) ?? PerRowChain.Transform(input);
    }

    /// <inheritdoc />
    protected override void DisposeOwned()
    {
        if (_potential.IsValueCreated) _potential.Value.Dispose();
    }
}
