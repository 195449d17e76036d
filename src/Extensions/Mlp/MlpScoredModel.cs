using MLExtensions.Onnx.Scoring;
using MLExtensions.Torch;
using MLExtensions.Training;

namespace MLExtensions.Mlp;

/// <summary>
/// A trained multilayer perceptron scored through its ONNX export: what <see cref="MlpModel"/> (a given
/// architecture) and <see cref="MLExtensions.Nas.NasModel"/> (a searched one) have in common.
/// </summary>
/// <remarks>
/// <b>Input and output columns.</b> Reads the feature column it was trained on; writes the prediction columns of its
/// task (see <see cref="MlpTrainer"/>).
/// </remarks>
public abstract class MlpScoredModel : OnnxScoredModel
{
    private protected MlpScoredModel(OnnxScoringChain scoring, MlpArchitecture architecture, int featureCount, ClassLabels? classes,
        IReadOnlyList<TrainingProgress> history, ParityReport exportParity, int seed) : base(scoring)
    {
        Architecture = architecture;
        FeatureCount = featureCount;
        Classes = classes;
        TrainingHistory = history;
        ExportParity = exportParity;
        Seed = seed;
    }

    /// <summary>The hidden layers, activation and residual flag.</summary>
    public MlpArchitecture Architecture { get; }

    /// <summary>The number of input features.</summary>
    public int FeatureCount { get; }

    /// <summary>The classes, in key order (multiclass only).</summary>
    public ClassLabels? Classes { get; }

    /// <summary>One entry per trained epoch.</summary>
    public IReadOnlyList<TrainingProgress> TrainingHistory { get; }

    /// <summary>How closely the ONNX export reproduced the trained TorchSharp network on fresh inputs.</summary>
    public ParityReport ExportParity { get; }

    /// <summary>The seed the model was trained with.</summary>
    public int Seed { get; }
}
