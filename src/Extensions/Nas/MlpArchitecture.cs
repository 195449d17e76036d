namespace MLExtensions.Nas;

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

/// <summary>The shape of a multilayer perceptron: hidden layer widths and activation.</summary>
/// <param name="HiddenLayerSizes">Widths of the hidden layers, input side first; empty gives a linear model.</param>
/// <param name="Activation">The activation after each hidden layer.</param>
public sealed record MlpArchitecture(IReadOnlyList<int> HiddenLayerSizes, MlpActivation Activation)
{
    /// <summary>The widest hidden layer (0 for a linear model).</summary>
    public int WidestLayer => HiddenLayerSizes.Count == 0 ? 0 : HiddenLayerSizes.Max();

    /// <summary>Checks the sizes.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(HiddenLayerSizes);
        for (int i = 0; i < HiddenLayerSizes.Count; i++)
            if (HiddenLayerSizes[i] < 1)
                throw new ArgumentOutOfRangeException(nameof(HiddenLayerSizes), HiddenLayerSizes[i], $"Hidden layer {i} must have at least one unit.");
    }

    /// <inheritdoc />
    public override string ToString() =>
        HiddenLayerSizes.Count == 0 ? "linear" : $"{string.Join("-", HiddenLayerSizes)} {Activation}";
}
