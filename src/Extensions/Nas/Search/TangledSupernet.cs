using TorchSharp;
using TorchSharp.Modules;
using static MLExtensions.Torch.HeldScalars;
using static TorchSharp.torch;

namespace MLExtensions.Nas;

/// <summary>
/// The weight-entangled supernet of a <see cref="NasSearchSpace"/> (TangleNAS): one network of the largest
/// architecture whose smaller choices are slices of its weights. A forward pass takes the superposition of all
/// choices in one go: widths as a cumulative channel mask <c>m_j = Σ_k p_k·1[j &lt; w_k]</c> on each layer's output,
/// depth as the mix <c>Σ_d p_d·h_d</c> of the hidden states after each candidate depth, activation and residual as
/// weighted sums. Memory and parameters are those of the largest network, not one copy per choice.
/// </summary>
/// <remarks>With one-hot weights the pass equals the sliced sub-network (<see cref="Extract"/>).</remarks>
internal sealed class TangledSupernet : nn.Module<Tensor, ArchitectureWeights, Tensor>
{
    private readonly ModuleList<Linear> layers = new();
    private readonly Linear head;
    private readonly Tensor input_shift;
    private readonly Tensor input_scale;
    private readonly Tensor output_shift;
    private readonly Tensor output_scale;
    private readonly Tensor width_masks;
    private readonly NasSearchSpace _space;
    private readonly int[] _depthIndexAfterLayer;

    public TangledSupernet(int inputs, NasSearchSpace space, int outputs, float[] inputShift, float[] inputScale,
        float outputShift = 0f, float outputScale = 1f) : base(nameof(TangledSupernet))
    {
        _space = space;
        Inputs = inputs;
        Outputs = outputs;
        int width = space.MaximumWidth;
        for (int l = 0; l < space.MaximumDepth; l++) layers.Add(nn.Linear(l == 0 ? inputs : width, width));
        head = nn.Linear(width, outputs);
        var widths = space.SortedWidths;
        var masks = new float[widths.Length * width];
        for (int k = 0; k < widths.Length; k++)
            for (int j = 0; j < widths[k]; j++) masks[k * width + j] = 1f;
        width_masks = tensor(masks, [widths.Length, width]);
        input_shift = tensor(inputShift);
        input_scale = tensor(inputScale);
        output_shift = tensor(outputShift);
        output_scale = tensor(outputScale);
        register_buffer(nameof(width_masks), width_masks);
        register_buffer(nameof(input_shift), input_shift);
        register_buffer(nameof(input_scale), input_scale);
        register_buffer(nameof(output_shift), output_shift);
        register_buffer(nameof(output_scale), output_scale);
        var depths = space.SortedDepths;
        _depthIndexAfterLayer = Enumerable.Range(1, space.MaximumDepth).Select(d => Array.IndexOf(depths, d)).ToArray();
        RegisterComponents();
    }

    public int Inputs { get; }

    public int Outputs { get; }

    /// <summary>The hidden layers (all of the widest width) and the output layer, for per-choice gradient norms.</summary>
    public IReadOnlyList<Linear> HiddenLayers => layers.ToList();

    public Linear Head => head;

    public override Tensor forward(Tensor x, ArchitectureWeights weights)
    {
        var masks = weights.Width.matmul(width_masks);
        var h = Minus(x, input_shift).mul(input_scale);
        Tensor? mixed = null;
        for (int l = 0; l < layers.Count; l++)
        {
            var next = MixedActivation(layers[l].forward(h), weights.Activation);
            if (l > 0 && _space.SearchResidual) next = Plus(next, weights.Residual[1].mul(h));
            h = next.mul(masks[l]);
            int depth = _depthIndexAfterLayer[l];
            if (depth >= 0) mixed = mixed is null ? weights.Depth[depth].mul(h) : Plus(mixed, weights.Depth[depth].mul(h));
        }
        return Plus(head.forward(mixed!).mul(output_scale), output_shift);
    }

    private Tensor MixedActivation(Tensor z, Tensor weights)
    {
        Tensor? sum = null;
        for (int a = 0; a < _space.Activations.Length; a++)
        {
            var value = weights[a].mul(Activate(z, _space.Activations[a]));
            sum = sum is null ? value : Plus(sum, value);
        }
        return sum!;
    }

    internal static Tensor Activate(Tensor z, MlpActivation activation) => activation switch
    {
        MlpActivation.Relu => nn.functional.relu(z),
        MlpActivation.Gelu => nn.functional.gelu(z),
        MlpActivation.Tanh => z.tanh(),
        _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, null),
    };

    /// <summary>The sub-network of <paramref name="architecture"/> with the supernet's (sliced) weights.</summary>
    public MlpNetwork Extract(MlpArchitecture architecture)
    {
        using var noGrad = no_grad();
        var network = new MlpNetwork(Inputs, architecture, Outputs, Values(input_shift), Values(input_scale),
            output_shift.cpu().item<float>(), output_scale.cpu().item<float>());
        var targets = network.parameters().ToArray(); // weight, bias per layer, input side first
        int previous = Inputs;
        for (int l = 0; l < architecture.HiddenLayerSizes.Count; l++)
        {
            int width = architecture.HiddenLayerSizes[l];
            targets[2 * l].copy_(layers[l].weight![..width, ..previous]);
            targets[2 * l + 1].copy_(layers[l].bias![..width]);
            previous = width;
        }
        targets[^2].copy_(head.weight![.., ..previous]);
        targets[^1].copy_(head.bias!);
        return network;
    }

    private static float[] Values(Tensor t) => t.detach().cpu().contiguous().data<float>().ToArray();
}
