using MLExtensions.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static MLExtensions.Torch.HeldScalars;
using static TorchSharp.torch;

namespace MLExtensions.Mlp;

/// <summary>
/// A multilayer perceptron on raw features: it standardises its input and (for regression) de-standardises its
/// output with fixed buffers, so the module alone is the whole scoring function that is exported to ONNX.
/// </summary>
internal sealed class MlpNetwork : nn.Module<Tensor, Tensor>
{
    private readonly ModuleList<Linear> layers = new();
    private readonly FixedStandardization ends;

    /// <summary>Creates the network with freshly initialised weights (from libtorch's global generator).</summary>
    /// <param name="inputs">Number of input features.</param>
    /// <param name="architecture">Hidden layers and activation.</param>
    /// <param name="outputs">Number of outputs (1 for regression and binary, K for multiclass).</param>
    /// <param name="inputShift">Subtracted from each feature (the training mean).</param>
    /// <param name="inputScale">Multiplies each shifted feature (the inverse training standard deviation).</param>
    /// <param name="outputShift">Added to the output after scaling (regression: the label mean).</param>
    /// <param name="outputScale">Multiplies the raw output (regression: the label standard deviation).</param>
    public MlpNetwork(int inputs, MlpArchitecture architecture, int outputs,
        float[]? inputShift = null, float[]? inputScale = null, float outputShift = 0f, float outputScale = 1f) : base(nameof(MlpNetwork))
    {
        ArgumentNullException.ThrowIfNull(architecture);
        architecture.Validate();
        ArgumentOutOfRangeException.ThrowIfLessThan(inputs, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outputs, 1);
        Inputs = inputs;
        Outputs = outputs;
        Architecture = architecture;
        int width = inputs;
        foreach (var size in architecture.HiddenLayerSizes)
        {
            layers.Add(nn.Linear(width, size));
            width = size;
        }
        layers.Add(nn.Linear(width, outputs));
        ends = new FixedStandardization(inputs, inputShift, inputScale, outputShift, outputScale);
        RegisterComponents();
    }

    /// <summary>Number of input features.</summary>
    public int Inputs { get; }

    /// <summary>Number of outputs.</summary>
    public int Outputs { get; }

    /// <summary>Hidden layers and activation.</summary>
    public MlpArchitecture Architecture { get; }

    /// <summary>
    /// Probability of zeroing each hidden unit after its activation in training (inverted dropout: the kept units are
    /// scaled by 1/(1 − p)), so evaluation, scoring and the ONNX graph need no change. 0: none.
    /// </summary>
    public double Dropout { get; set; }

    /// <summary>Raw features [N, Inputs] → outputs [N, Outputs] (regression values, binary logits, class logits).</summary>
    public override Tensor forward(Tensor x)
    {
        var h = ends.Input(x);
        for (int i = 0; i < layers.Count - 1; i++)
        {
            var next = MlpLayers.Activate(layers[i].forward(h), Architecture.ActivationOf(i));
            if (training && Dropout > 0) next = nn.functional.dropout(next, Dropout, training: true);
            h = Architecture.Residual && i > 0 ? Plus(next, MlpLayers.Shortcut(h, next.shape[1])) : next;
        }
        return ends.Output(layers[^1].forward(h));
    }

    /// <summary>The weights as managed arrays, input side first: what the ONNX exporter writes.</summary>
    public MlpWeights ExportWeights()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var (inputShift, inputScale, outputShift, outputScale) = ends.Values();
        return new MlpWeights(
            layers.Select(l => new LinearWeights(Values(l.weight!), Values(l.bias!), (int)l.weight!.shape[0], (int)l.weight.shape[1])).ToArray(),
            inputShift, inputScale, outputShift, outputScale);
    }

    private static float[] Values(Tensor t) => t.detach().cpu().contiguous().data<float>().ToArray();
}

/// <summary>One linear layer's parameters, as TorchSharp holds them.</summary>
/// <param name="Weight">Row-major [Outputs, Inputs].</param>
/// <param name="Bias">[Outputs].</param>
/// <param name="Outputs">Output width.</param>
/// <param name="Inputs">Input width.</param>
internal sealed record LinearWeights(float[] Weight, float[] Bias, int Outputs, int Inputs);

/// <summary>Everything an <see cref="MlpNetwork"/> computes with, in managed memory.</summary>
/// <param name="Layers">The linear layers, input side first; the last one is the output layer.</param>
/// <param name="InputShift">Per-feature shift.</param>
/// <param name="InputScale">Per-feature scale.</param>
/// <param name="OutputShift">Output shift.</param>
/// <param name="OutputScale">Output scale.</param>
internal sealed record MlpWeights(IReadOnlyList<LinearWeights> Layers, float[] InputShift, float[] InputScale, float OutputShift, float OutputScale);
