using MLExtensions.Mlp;
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
public sealed class NasModel : MlpScoredModel
{
    internal NasModel(MlpTrainer.TrainedMlp trained, NasSearchResult search)
        : base(trained.Scoring, trained.Architecture, trained.FeatureCount, trained.Classes, trained.History, trained.ExportParity, trained.Seed)
    {
        Search = search;
    }

    /// <summary>How the architecture was found: top candidates, the architecture distribution over time, time per phase.</summary>
    public NasSearchResult Search { get; }
}
