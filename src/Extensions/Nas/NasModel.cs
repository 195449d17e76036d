using MLExtensions.Onnx.Scoring;
using MLExtensions.Torch;
using MLExtensions.Training;

namespace MLExtensions.Nas;

/// <summary>
/// The network an architecture search discovered, retrained and scored through its ONNX export. Returned by
/// <see cref="NasTrainer"/>.
/// </summary>
/// <remarks>
/// <para><b>Input and output columns.</b> Reads the feature column it was trained on; writes the prediction
/// columns of its task (see <see cref="NasTrainer"/>).</para>
/// <para>After <c>mlContext.Model.Load</c> the model is a plain ML.NET chain; the search result stays in the ONNX
/// metadata: <see cref="NasSearchResult.FromSavedModel"/> reads it back.</para>
/// </remarks>
public sealed class NasModel : OnnxScoredModel
{
    internal NasModel(OnnxScoringChain scoring, MlpArchitecture architecture, int featureCount, ClassLabels? classes,
        IReadOnlyList<TrainingProgress> history, ParityReport exportParity, int seed, NasSearchResult search) : base(scoring)
    {
        Architecture = architecture;
        FeatureCount = featureCount;
        Classes = classes;
        TrainingHistory = history;
        ExportParity = exportParity;
        Seed = seed;
        Search = search;
    }

    /// <summary>The discovered architecture.</summary>
    public MlpArchitecture Architecture { get; }

    /// <summary>How it was found: top candidates, the architecture distribution over time, time per phase.</summary>
    public NasSearchResult Search { get; }

    /// <summary>The number of input features.</summary>
    public int FeatureCount { get; }

    /// <summary>The classes, in key order (multiclass only).</summary>
    public ClassLabels? Classes { get; }

    /// <summary>One entry per retraining epoch.</summary>
    public IReadOnlyList<TrainingProgress> TrainingHistory { get; }

    /// <summary>How closely the ONNX export reproduced the retrained TorchSharp network on fresh inputs.</summary>
    public ParityReport ExportParity { get; }

    /// <summary>The seed of the search and the retraining.</summary>
    public int Seed { get; }
}
