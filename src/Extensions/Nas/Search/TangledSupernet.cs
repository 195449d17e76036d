using MLExtensions.Mlp;
using MLExtensions.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static MLExtensions.Torch.HeldScalars;
using static TorchSharp.torch;

namespace MLExtensions.Nas;

/// <summary>
/// The weight-entangled supernet of a <see cref="NasSearchSpace"/> (TangleNAS): one network of the largest
/// architecture whose smaller choices are slices of its weights. A forward pass superposes all choices in one go, as
/// the paper's entangled mixed operation does: layer l multiplies by the one weight
/// <c>Σ_k Σ_j a_{l,k}·a_{l−1,j}·pad(W_l[:w_k, :w_j])</c>, i.e. <c>W_l ⊙ (m_l ⊗ m_{l−1})</c> with the cumulative width
/// masks <c>m_l[i] = Σ_k a_{l,k}·1[i &lt; w_k]</c> (the input side mixed by the previous layer's weights), then the
/// mixed activation; depth is the mix <c>Σ_d p_d·h_d</c> of the hidden states after each candidate depth (each seen
/// by the output layer through its own width mask), and residual the weighted sum. One matrix product per layer;
/// memory and parameters are those of the largest network, not one copy per choice. Depth 0 (the linear model) is the
/// one choice with a weight of its own, [outputs, inputs]: the output layer reads hidden units, not features. Its
/// output joins the depth mix as <c>p_0·(V x + c) + W·Σ_{d&gt;0} p_d·h_d + (1 − p_0)·b</c>, the mix of the depths' outputs.
/// </summary>
/// <remarks>With one-hot weights the pass equals the sliced sub-network (<see cref="Extract"/>).</remarks>
internal sealed class TangledSupernet : nn.Module<Tensor, ArchitectureWeights, Tensor>
{
    private readonly ModuleList<Linear> layers = new();
    private readonly Linear head;
    private readonly Linear? linear_model;
    private readonly FixedStandardization ends;
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
        if (space.Depths.Contains(0)) linear_model = nn.Linear(inputs, outputs);
        var widths = space.SortedWidths;
        var masks = new float[widths.Length * width];
        for (int k = 0; k < widths.Length; k++)
            for (int j = 0; j < widths[k]; j++) masks[k * width + j] = 1f;
        width_masks = tensor(masks, [widths.Length, width]);
        ends = new FixedStandardization(inputs, inputShift, inputScale, outputShift, outputScale);
        register_buffer(nameof(width_masks), width_masks);
        var depths = space.SortedDepths;
        _depthIndexAfterLayer = Enumerable.Range(1, space.MaximumDepth).Select(d => Array.IndexOf(depths, d)).ToArray();
        RegisterComponents();
    }

    public int Inputs { get; }

    /// <summary>Dropout probability on every hidden unit in training mode (gradient search's weight steps); 0 for none.</summary>
    public double Dropout { get; set; }

    private Tensor Drop(Tensor h) => Dropout > 0 && training ? nn.functional.dropout(h, Dropout, training: true) : h;

    public int Outputs { get; }

    /// <summary>The trainable parameters, hidden layers' weight and bias first, then the output layer's: the order of <see cref="PathSlices"/>.</summary>
    public IReadOnlyList<Parameter> TrainableParameters =>
        layers.SelectMany(l => new[] { l.weight!, l.bias! }).Concat([head.weight!, head.bias!])
            .Concat(linear_model is null ? [] : [linear_model.weight!, linear_model.bias!]).ToArray();

    /// <summary>Hidden layer <paramref name="layer"/> (of the widest width).</summary>
    public Linear Layer(int layer) => layers[layer];

    /// <summary>The output layer.</summary>
    public Linear Head => head;

    /// <summary>The cumulative width masks m_l [maximum depth, maximum width] of <paramref name="weights"/>.</summary>
    public Tensor WidthMasks(ArchitectureWeights weights) => weights.Width.matmul(width_masks);

    /// <summary>
    /// Layer <paramref name="layer"/>'s entangled weight <c>W ⊙ (m_l ⊗ m_{l−1})</c> and bias <c>b ⊙ m_l</c> under the
    /// width masks <paramref name="masks"/> (the first layer's inputs are the features, unmasked).
    /// </summary>
    public (Tensor Weight, Tensor Bias) EntangledLayer(int layer, Tensor masks)
    {
        var linear = layers[layer];
        var outputs = masks[layer];
        var weight = linear.weight!.mul(outputs.unsqueeze(1));
        if (layer > 0) weight = weight.mul(masks[layer - 1].unsqueeze(0));
        return (weight, linear.bias!.mul(outputs));
    }

    public override Tensor forward(Tensor x, ArchitectureWeights weights)
    {
        if (weights.Path is { } path) return SlicedForward(x, path);
        var masks = WidthMasks(weights);
        var input = ends.Input(x);
        var h = input;
        Tensor? mixed = null;
        for (int l = 0; l < layers.Count; l++)
        {
            var (weight, bias) = EntangledLayer(l, masks);
            var next = Drop(MixedActivation(nn.functional.linear(h, weight, bias), weights.Activation[_space.ActivationPerLayer ? l : 0]));
            if (l > 0 && _space.SearchResidual) next = Plus(next, weights.Residual[1].mul(h.mul(masks[l])));
            h = next;
            int depth = _depthIndexAfterLayer[l];
            if (depth >= 0)
            {
                // The output layer's input side is entangled too: depth d's state reaches it through m_{d−1}.
                var contribution = weights.Depth[depth].mul(h.mul(masks[l]));
                mixed = mixed is null ? contribution : Plus(mixed, contribution);
            }
        }
        if (linear_model is null) return ends.Output(head.forward(mixed!));
        // Depth 0 is the first (sorted) depth choice; the head's bias belongs to the deeper choices' share.
        var linearOutput = weights.Depth[0].mul(linear_model.forward(input));
        if (mixed is null) return ends.Output(linearOutput);
        var deeper = weights.Depth.narrow(0, 1, weights.Depth.shape[0] - 1).sum();
        return ends.Output(Plus(linearOutput, nn.functional.linear(mixed, head.weight!, head.bias!.mul(deeper))));
    }

    /// <summary>
    /// The sub-network of <paramref name="path"/> on views of the supernet's weights: what the entangled pass computes
    /// for one-hot weights, without the masked full-width products.
    /// </summary>
    private Tensor SlicedForward(Tensor x, ArchitecturePath path)
    {
        var architecture = path.ToArchitecture(_space);
        var h = ends.Input(x);
        if (architecture.HiddenLayerSizes.Count == 0) return ends.Output(linear_model!.forward(h));
        long previous = Inputs;
        for (int l = 0; l < architecture.HiddenLayerSizes.Count; l++)
        {
            long width = architecture.HiddenLayerSizes[l];
            var linear = layers[l];
            var next = Drop(MlpLayers.Activate(nn.functional.linear(h, linear.weight!.narrow(0, 0, width).narrow(1, 0, previous), linear.bias!.narrow(0, 0, width)),
                architecture.ActivationOf(l)));
            if (l > 0 && architecture.Residual) next = Plus(next, MlpLayers.Shortcut(h, width));
            h = next;
            previous = width;
        }
        return ends.Output(nn.functional.linear(h, head.weight!.narrow(1, 0, previous), head.bias!));
    }

    /// <summary>
    /// Which entries of each parameter (in <see cref="TrainableParameters"/> order) the sub-network of
    /// <paramref name="path"/> uses: a leading block (<see cref="ParameterSlice"/>), since every narrower choice is a
    /// prefix of the widest weight. A single-path step may change these and nothing else. Null for the parameters of
    /// layers below the path's depth.
    /// </summary>
    public ParameterSlice?[] PathSlices(ArchitecturePath path)
    {
        int depth = _space.SortedDepths[path.Depth];
        var widths = _space.SortedWidths;
        var result = new ParameterSlice?[2 * layers.Count + 2 + (linear_model is null ? 0 : 2)];
        if (depth == 0)
        {
            result[^2] = new ParameterSlice(linear_model!.weight!.shape);
            result[^1] = new ParameterSlice(linear_model.bias!.shape);
            return result;
        }
        long previous = Inputs;
        for (int l = 0; l < depth; l++)
        {
            long width = widths[path.Widths[l]];
            result[2 * l] = new ParameterSlice([width, previous]);
            result[2 * l + 1] = new ParameterSlice([width]);
            previous = width;
        }
        result[2 * layers.Count] = new ParameterSlice([Outputs, previous]);
        result[2 * layers.Count + 1] = new ParameterSlice([Outputs]);
        return result;
    }

    private Tensor MixedActivation(Tensor z, Tensor weights)
    {
        Tensor? sum = null;
        for (int a = 0; a < _space.Activations.Length; a++)
        {
            var value = weights[a].mul(MlpLayers.Activate(z, _space.Activations[a]));
            sum = sum is null ? value : Plus(sum, value);
        }
        return sum!;
    }

    /// <summary>The sub-network of <paramref name="architecture"/> with the supernet's (sliced) weights.</summary>
    public MlpNetwork Extract(MlpArchitecture architecture)
    {
        using var noGrad = no_grad();
        var (inputShift, inputScale, outputShift, outputScale) = ends.Values();
        var network = new MlpNetwork(Inputs, architecture, Outputs, inputShift, inputScale, outputShift, outputScale);
        var targets = network.parameters().ToArray(); // weight, bias per layer, input side first
        if (architecture.HiddenLayerSizes.Count == 0)
        {
            targets[0].copy_(linear_model!.weight!);
            targets[1].copy_(linear_model.bias!);
            return network;
        }
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

}
