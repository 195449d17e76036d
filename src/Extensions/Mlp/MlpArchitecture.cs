namespace MLExtensions.Mlp;

/// <summary>The activation between the hidden layers of an MLP.</summary>
public enum MlpActivation
{
    /// <summary>Rectified linear unit.</summary>
    Relu,

    /// <summary>Exact (erf-based) Gaussian error linear unit.</summary>
    Gelu,

    /// <summary>Hyperbolic tangent.</summary>
    Tanh,
}

/// <summary>The shape of a multilayer perceptron: hidden layer widths, activation and residual connections.</summary>
/// <param name="HiddenLayerSizes">Widths of the hidden layers, input side first; empty gives a linear model.</param>
/// <param name="Activation">The activation after each hidden layer (the first layer's when <see cref="LayerActivations"/> is given).</param>
/// <param name="Residual">
/// Whether every hidden layer after the first adds its input to its output (<c>h + act(W h + b)</c>); when the
/// widths differ the input is cut to the new width or padded with zeros.
/// </param>
public sealed record MlpArchitecture(IReadOnlyList<int> HiddenLayerSizes, MlpActivation Activation, bool Residual = false)
{
    /// <summary>
    /// The activation of each hidden layer, input side first, when they differ; null (the default) for
    /// <see cref="Activation"/> after every layer. Saved results without it read as null.
    /// </summary>
    public IReadOnlyList<MlpActivation>? LayerActivations { get; init; }

    /// <summary>The activation after hidden layer <paramref name="layer"/>.</summary>
    public MlpActivation ActivationOf(int layer) => LayerActivations is { } each ? each[layer] : Activation;

    /// <summary>
    /// The architecture with activation <paramref name="activations"/>[l] after hidden layer l: <see cref="Activation"/>
    /// alone when they are all the same (so equal architectures have equal records), else per layer.
    /// </summary>
    public static MlpArchitecture WithLayerActivations(IReadOnlyList<int> hiddenLayerSizes, IReadOnlyList<MlpActivation> activations, bool residual = false, MlpActivation linear = MlpActivation.Relu)
    {
        ArgumentNullException.ThrowIfNull(activations);
        if (activations.Count != hiddenLayerSizes.Count)
            throw new ArgumentException($"{activations.Count} activations for {hiddenLayerSizes.Count} hidden layers: give one per layer.", nameof(activations));
        if (activations.Count == 0) return new MlpArchitecture(hiddenLayerSizes, linear, residual);
        return activations.Distinct().Count() == 1
            ? new MlpArchitecture(hiddenLayerSizes, activations[0], residual)
            : new MlpArchitecture(hiddenLayerSizes, activations[0], residual) { LayerActivations = activations.ToArray() };
    }

    /// <summary>The widest hidden layer (0 for a linear model).</summary>
    public int WidestLayer => HiddenLayerSizes.Count == 0 ? 0 : HiddenLayerSizes.Max();

    /// <summary>Checks the sizes.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(HiddenLayerSizes);
        for (int i = 0; i < HiddenLayerSizes.Count; i++)
            if (HiddenLayerSizes[i] < 1)
                throw new ArgumentOutOfRangeException(nameof(HiddenLayerSizes), HiddenLayerSizes[i], $"Hidden layer {i} must have at least one unit.");
        if (LayerActivations is { } each)
        {
            if (each.Count != HiddenLayerSizes.Count)
                throw new ArgumentException($"{nameof(LayerActivations)} holds {each.Count} activations for {HiddenLayerSizes.Count} hidden layers: give one per layer, or null.", nameof(LayerActivations));
            for (int i = 0; i < each.Count; i++)
                if (!Enum.IsDefined(each[i]))
                    throw new ArgumentOutOfRangeException(nameof(LayerActivations), each[i], $"{nameof(LayerActivations)}[{i}] is not an {nameof(MlpActivation)}.");
        }
    }

    /// <inheritdoc />
    public override string ToString() =>
        HiddenLayerSizes.Count == 0 ? "linear"
        : $"{string.Join("-", HiddenLayerSizes)} {(LayerActivations is { } each ? string.Join("-", each) : Activation.ToString())}{(Residual ? " residual" : "")}";

    /// <summary>
    /// Equal when widths, residual flag and the activation of every layer are (records compare lists by reference
    /// otherwise); a per-layer list of one activation equals that activation alone.
    /// </summary>
    public bool Equals(MlpArchitecture? other) =>
        other is not null && Residual == other.Residual && HiddenLayerSizes.SequenceEqual(other.HiddenLayerSizes)
        && (HiddenLayerSizes.Count == 0 ? Activation == other.Activation
            : Enumerable.Range(0, HiddenLayerSizes.Count).All(l => ActivationOf(l) == other.ActivationOf(l)));

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(HiddenLayerSizes.Count == 0 ? Activation : ActivationOf(0));
        hash.Add(Residual);
        foreach (int size in HiddenLayerSizes) hash.Add(size);
        return hash.ToHashCode();
    }
}
