using MLExtensions.Onnx.Scoring;
using MLExtensions.Torch;
using MLExtensions.Training;

namespace MLExtensions.Mlp;

/// <summary>
/// A trained multilayer perceptron, scored through its ONNX export. Returned by <see cref="MlpTrainer"/>.
/// </summary>
/// <remarks>
/// <para><b>Input and output columns.</b> Reads the feature column it was trained on; writes the prediction
/// columns of its task (see <see cref="MlpTrainer"/>).</para>
/// <para>After <c>mlContext.Model.Load</c> the model is a plain ML.NET chain; the architecture and task stay in
/// the ONNX metadata under <see cref="MlpOnnxExporter.ArchitectureKey"/> and <see cref="MlpOnnxExporter.KindKey"/>.</para>
/// </remarks>
public sealed class MlpModel : MlpScoredModel
{
    internal MlpModel(OnnxScoringChain scoring, MlpArchitecture architecture, int featureCount, ClassLabels? classes,
        IReadOnlyList<TrainingProgress> history, ParityReport exportParity, int seed)
        : base(scoring, architecture, featureCount, classes, history, exportParity, seed)
    {
    }
}
