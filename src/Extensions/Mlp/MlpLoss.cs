using MLExtensions.Onnx.Scoring;
using TorchSharp;
using static MLExtensions.Torch.HeldScalars;
using static TorchSharp.torch;

namespace MLExtensions.Mlp;

/// <summary>The per-row training loss of each task, shared by the MLP trainer and the architecture search.</summary>
internal static class MlpLoss
{
    /// <summary>
    /// Loss per row of <paramref name="output"/> [N, outputs] (all arithmetic with held scalars, see
    /// <see cref="MLExtensions.Torch.HeldScalars"/>): squared error on the label's standard scale
    /// (regression), logistic loss (binary), cross-entropy (multiclass; <paramref name="labels"/> hold class indices).
    /// </summary>
    public static Tensor PerRow(PredictionKind kind, Tensor output, Tensor labels, Scalar labelScale) => kind switch
    {
        PredictionKind.Regression => Squared(Minus(output.squeeze(1), labels).div(labelScale)),
        PredictionKind.BinaryClassification => nn.functional.binary_cross_entropy_with_logits(output.squeeze(1), labels, reduction: nn.Reduction.None),
        _ => nn.functional.cross_entropy(output, labels.to_type(ScalarType.Int64), reduction: nn.Reduction.None),
    };

    /// <summary>
    /// The size of the loss's gradient with respect to each row's output, without a backward pass (PA&amp;DA's data
    /// importance): |ŷ − y| (regression, on the label's scale), |σ(z) − y| (binary), ‖softmax(z) − onehot(y)‖ (multiclass).
    /// </summary>
    public static Tensor OutputGradientNorm(PredictionKind kind, Tensor output, Tensor labels, Scalar labelScale) => kind switch
    {
        PredictionKind.Regression => Minus(output.squeeze(1), labels).div(labelScale).abs(),
        PredictionKind.BinaryClassification => Minus(output.squeeze(1).sigmoid(), labels).abs(),
        _ => Squared(Minus(output.softmax(1), nn.functional.one_hot(labels.to_type(ScalarType.Int64), output.shape[1]).to_type(output.dtype))).sum(1).sqrt(),
    };

}
