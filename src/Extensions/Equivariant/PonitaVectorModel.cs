using MLExtensions.Onnx.Scoring;
using MLExtensions.Torch;
using MLExtensions.Training;

namespace MLExtensions.Equivariant;

/// <summary>
/// A trained PONITA vector head scored through its ONNX export. Returned by <see cref="PonitaVectorTrainer"/>.
/// </summary>
/// <remarks>
/// <para><b>Input and output columns.</b> Reads the positions, atom-types (and input vectors) columns it was trained
/// on; writes <see cref="PonitaVectorTrainer.Options.PredictedVectorsColumnName"/>, 3N <see cref="float"/>: one vector
/// per point, rotating with the input. Rows are checked as for <see cref="PonitaModel"/> (the input vectors must hold
/// 3N finite values) and scored one at a time through the saved ML.NET chain.</para>
/// </remarks>
public sealed class PonitaVectorModel : OnnxScoredModel
{
    internal PonitaVectorModel(OnnxScoringChain scoring, double cutoff, double kernelScale, double vectorScale, IReadOnlyList<TrainingProgress> history,
        ParityReport parity, int seed) : base(scoring)
    {
        Cutoff = cutoff;
        KernelScale = kernelScale;
        VectorScale = vectorScale;
        TrainingHistory = history;
        ExportParity = parity;
        Seed = seed;
    }

    /// <summary>The radius of the interaction graph.</summary>
    public double Cutoff { get; }

    /// <summary>The length the kernels measured the invariants in.</summary>
    public double KernelScale { get; }

    /// <summary>The RMS of the training targets (less the input vectors when they are added): the unit the network trained in.</summary>
    public double VectorScale { get; }

    /// <summary>One entry per trained epoch (losses in units of <see cref="VectorScale"/>²).</summary>
    public IReadOnlyList<TrainingProgress> TrainingHistory { get; }

    /// <summary>How closely the exported vectors matched the trained TorchSharp network on fresh, rotated inputs.</summary>
    public ParityReport ExportParity { get; }

    /// <summary>The seed the model was trained with.</summary>
    public int Seed { get; }
}
