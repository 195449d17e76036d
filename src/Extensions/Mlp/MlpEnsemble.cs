using MLExtensions.Onnx;
using MLExtensions.Onnx.Graph;
using MLExtensions.Onnx.Scoring;
using TorchSharp;
using static MLExtensions.Torch.HeldScalars;
using static TorchSharp.torch;

namespace MLExtensions.Mlp;

/// <summary>
/// Trained networks on the same features combined by fixed weights into one prediction: in TorchSharp
/// (<see cref="Forward"/>, the reference) and as one ONNX graph that ends in the task's usual scoring head
/// (<see cref="Export"/>).
/// </summary>
/// <remarks>
/// Regression: the weighted mean of the members' scores (in the label's units). Binary: the weighted mean of the
/// members' probabilities p, written as the logit log p − log(1 − p) that the binary head expects (so its
/// <c>Probability</c>, the sigmoid of the logit, is p), computed stably as
/// logΣ w·σ(z) − logΣ w·σ(−z) with log-sum-exp. Multiclass: the weighted mean of the members' class probabilities.
/// </remarks>
internal sealed class MlpEnsemble
{
    private readonly MlpNetwork[] _members;
    private readonly float[] _weights;
    private readonly PredictionKind _kind;

    /// <param name="members">The networks (same inputs, same outputs); the ensemble does not own them.</param>
    /// <param name="weights">Positive weights summing to 1, one per member.</param>
    /// <param name="kind">The task.</param>
    public MlpEnsemble(IReadOnlyList<MlpNetwork> members, IReadOnlyList<double> weights, PredictionKind kind)
    {
        ArgumentNullException.ThrowIfNull(members);
        ArgumentNullException.ThrowIfNull(weights);
        if (members.Count == 0 || members.Count != weights.Count)
            throw new ArgumentException($"{members.Count} members and {weights.Count} weights: one weight per member, at least one member.", nameof(weights));
        if (weights.Any(w => !(w > 0 && w <= 1)) || Math.Abs(weights.Sum() - 1) > 1e-9)
            throw new ArgumentException($"Ensemble weights must be positive and sum to 1: {string.Join(", ", weights)}.", nameof(weights));
        if (members.Any(m => m.Inputs != members[0].Inputs || m.Outputs != members[0].Outputs))
            throw new ArgumentException("Ensemble members must share their inputs and outputs.", nameof(members));
        _members = members.ToArray();
        _weights = weights.Select(w => (float)w).ToArray();
        _kind = kind;
    }

    /// <summary>
    /// Raw features [N, Inputs] → the combined prediction: regression scores [N, 1], binary logits of the mean
    /// probability [N, 1], or class probabilities [N, K].
    /// </summary>
    public Tensor Forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var outputs = _members.Select(m => m.forward(x)).ToArray();
        var weights = tensor(_weights, device: x.device);
        Tensor combined;
        switch (_kind)
        {
            case PredictionKind.Regression:
                combined = cat(outputs, 1).mul(weights).sum(1, keepdim: true);
                break;
            case PredictionKind.BinaryClassification:
                var logits = cat(outputs, 1);
                var logWeights = weights.log();
                combined = Minus(
                    Plus(nn.functional.logsigmoid(logits), logWeights).logsumexp(1, keepdim: true),
                    Plus(nn.functional.logsigmoid(logits.neg()), logWeights).logsumexp(1, keepdim: true));
                break;
            default:
                combined = stack(outputs.Select(o => o.softmax(1)), 1).mul(weights.view(1, -1, 1)).sum(1);
                break;
        }
        return combined.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The ONNX model: every member's network on the one checked feature input, combined as <see cref="Forward"/> does,
    /// then the task's scoring head. The architecture metadata describes the first member.
    /// </summary>
    /// <param name="inputName">The graph input's name: the feature column the model scores.</param>
    /// <param name="classNames">The class names (multiclass only).</param>
    /// <param name="metadata">Extra model facts for <c>metadata_props</c>.</param>
    public byte[] Export(string inputName, IReadOnlyList<string>? classNames, IReadOnlyDictionary<string, string>? metadata)
    {
        var g = new OnnxGraphBuilder("mlp_ensemble");
        var x = OnnxOutputHeads.RequireFinite(g, g.AddInput(inputName, OnnxElementType.Float, OnnxDim.Batch, _members[0].Inputs));
        var outputs = _members.Select((m, i) => MlpOnnxExporter.AddNetwork(g, x, m, $"member{i}_")).ToArray();
        switch (_kind)
        {
            case PredictionKind.Regression:
                OnnxOutputHeads.AddRegressionHead(g, g.ReduceSum(g.Mul(g.Concat(outputs, axis: 1), Weights(g, _weights.Length)), [1]));
                break;
            case PredictionKind.BinaryClassification:
                var logits = g.Concat(outputs, axis: 1);
                var logWeights = g.AddInitializer("ensemble_log_weights", _weights.Select(w => MathF.Log(w)).ToArray(), _weights.Length);
                var positive = LogSumExp(g, g.Add(LogSigmoid(g, logits), logWeights));
                var negative = LogSumExp(g, g.Add(LogSigmoid(g, g.Neg(logits)), logWeights));
                OnnxOutputHeads.AddBinaryHead(g, g.Sub(positive, negative));
                break;
            default:
                var probabilities = g.Concat(outputs.Select(o => g.Unsqueeze(g.Softmax(o, axis: 1), [1])).ToArray(), axis: 1);
                OnnxOutputHeads.AddMulticlassHead(g, g.ReduceSum(g.Mul(probabilities, Weights(g, 1, _weights.Length, 1)), [1], keepDims: false),
                    classNames ?? throw new ArgumentNullException(nameof(classNames)), valuesAreLogits: false);
                break;
        }
        MlpOnnxExporter.SetMetadata(g, _members[0], _kind, metadata);
        return g.ToBytes();
    }

    private OnnxValue Weights(OnnxGraphBuilder g, params long[] shape) => g.AddInitializer("ensemble_weights", _weights, shape);

    /// <summary>log σ(u) = −(relu(−u) + log(1 + exp(−|u|))): finite for every finite u.</summary>
    private static OnnxValue LogSigmoid(OnnxGraphBuilder g, OnnxValue u)
    {
        var negated = g.Neg(u);
        var magnitude = g.Max(u, negated);
        return g.Neg(g.Add(g.Relu(negated), g.Log(g.Add(g.Scalar(1f, "one"), g.Exp(g.Neg(magnitude))))));
    }

    /// <summary>log Σ exp(a) over axis 1 (kept), shifted by the row's maximum.</summary>
    private static OnnxValue LogSumExp(OnnxGraphBuilder g, OnnxValue a)
    {
        var largest = g.ReduceMax(a, [1]);
        return g.Add(largest, g.Log(g.ReduceSum(g.Exp(g.Sub(a, largest)), [1])));
    }
}
