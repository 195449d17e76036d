using System.Text.Json;
using MLExtensions.Onnx;
using MLExtensions.Onnx.Graph;
using MLExtensions.Onnx.Scoring;

namespace MLExtensions.Mlp;

/// <summary>Writes an <see cref="MlpNetwork"/> as an ONNX graph that ends in the scoring head of its task.</summary>
internal static class MlpOnnxExporter
{
    /// <summary>Metadata key of the architecture (JSON).</summary>
    public const string ArchitectureKey = "mlextensions.mlp.architecture";

    /// <summary>Metadata key of the prediction kind (<see cref="MetadataKeys.Kind"/>).</summary>
    public const string KindKey = MetadataKeys.Kind;

    /// <summary>Builds the ONNX model of <paramref name="network"/>.</summary>
    /// <param name="network">The trained (or random) network.</param>
    /// <param name="inputName">The graph input's name: the feature column the model scores.</param>
    /// <param name="kind">Which head to end with.</param>
    /// <param name="classNames">The class names (multiclass only).</param>
    /// <param name="metadata">Extra model facts for <c>metadata_props</c>.</param>
    public static byte[] Export(MlpNetwork network, string inputName, PredictionKind kind,
        IReadOnlyList<string>? classNames = null, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        var g = new OnnxGraphBuilder("mlp");
        var x = OnnxOutputHeads.RequireFinite(g, g.AddInput(inputName, OnnxElementType.Float, OnnxDim.Batch, network.Inputs));
        var h = AddNetwork(g, x, network, "");
        switch (kind)
        {
            case PredictionKind.Regression:
                OnnxOutputHeads.AddRegressionHead(g, h);
                break;
            case PredictionKind.BinaryClassification:
                OnnxOutputHeads.AddBinaryHead(g, h);
                break;
            default:
                OnnxOutputHeads.AddMulticlassHead(g, h, classNames ?? throw new ArgumentNullException(nameof(classNames)), valuesAreLogits: true);
                break;
        }
        SetMetadata(g, network, kind, metadata);
        return g.ToBytes();
    }

    /// <summary>
    /// Writes <paramref name="network"/> on <paramref name="x"/> (the checked features) into <paramref name="g"/> and
    /// returns its raw output [N, outputs] (regression values, binary or class logits), before any head. Initializer
    /// names start with <paramref name="prefix"/>, so that several networks can share one graph.
    /// </summary>
    public static OnnxValue AddNetwork(OnnxGraphBuilder g, OnnxValue x, MlpNetwork network, string prefix)
    {
        var weights = network.ExportWeights();
        var h = g.Mul(g.Sub(x, g.AddInitializer(prefix + "input_shift", weights.InputShift, network.Inputs)),
            g.AddInitializer(prefix + "input_scale", weights.InputScale, network.Inputs));
        for (int i = 0; i < weights.Layers.Count; i++)
        {
            var layer = weights.Layers[i];
            var input = h;
            h = g.Gemm(h, g.AddInitializer($"{prefix}layer{i}_weight", layer.Weight, layer.Outputs, layer.Inputs),
                g.AddInitializer($"{prefix}layer{i}_bias", layer.Bias, layer.Outputs), transB: true);
            if (i == weights.Layers.Count - 1) break;
            h = Activate(g, h, network.Architecture.ActivationOf(i));
            if (network.Architecture.Residual && i > 0)
                h = g.Add(h, layer.Inputs == layer.Outputs ? input : g.MatMul(input, g.AddInitializer($"{prefix}layer{i}_shortcut", Embedding(layer.Inputs, layer.Outputs), layer.Inputs, layer.Outputs)));
        }
        if (weights.OutputScale != 1f) h = g.Mul(h, g.Scalar(weights.OutputScale, prefix + "output_scale"));
        if (weights.OutputShift != 0f) h = g.Add(h, g.Scalar(weights.OutputShift, prefix + "output_shift"));
        return h;
    }

    /// <summary>
    /// Records the task, the method and <paramref name="network"/>'s architecture (for an ensemble: its first member's),
    /// then <paramref name="metadata"/>, in the model's <c>metadata_props</c>.
    /// </summary>
    public static void SetMetadata(OnnxGraphBuilder g, MlpNetwork network, PredictionKind kind, IReadOnlyDictionary<string, string>? metadata)
    {
        g.SetMetadata(KindKey, kind.ToString());
        g.SetMetadata(MetadataKeys.Method, "MLP");
        g.SetMetadata(ArchitectureKey, JsonSerializer.Serialize(new
        {
            inputs = network.Inputs,
            hidden = network.Architecture.HiddenLayerSizes,
            activation = network.Architecture.Activation.ToString(),
            activations = network.Architecture.LayerActivations?.Select(a => a.ToString()).ToArray(),
            residual = network.Architecture.Residual,
            outputs = network.Outputs,
        }, OmitNulls));
        if (metadata is not null)
            foreach (var (key, value) in metadata) g.SetMetadata(key, value);
    }

    /// <summary>Leaves "activations" out for one activation per network, so those models' metadata reads as before.</summary>
    private static readonly JsonSerializerOptions OmitNulls = new() { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };

    /// <summary>The [from, to] matrix that keeps the first min(from, to) columns: a cut or a zero padding, exactly.</summary>
    private static float[] Embedding(int from, int to)
    {
        var matrix = new float[from * to];
        for (int i = 0; i < Math.Min(from, to); i++) matrix[i * to + i] = 1f;
        return matrix;
    }

    private static OnnxValue Activate(OnnxGraphBuilder g, OnnxValue h, MlpActivation activation) => activation switch
    {
        MlpActivation.Relu => g.Relu(h),
        MlpActivation.Gelu => g.Gelu(h),
        MlpActivation.Tanh => g.Tanh(h),
        _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, null),
    };
}
