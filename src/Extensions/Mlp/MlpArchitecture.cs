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
/// <param name="Activation">The activation after each hidden layer.</param>
/// <param name="Residual">
/// Whether every hidden layer after the first adds its input to its output (<c>h + act(W h + b)</c>); when the
/// widths differ the input is cut to the new width or padded with zeros.
/// </param>
public sealed record MlpArchitecture(IReadOnlyList<int> HiddenLayerSizes, MlpActivation Activation, bool Residual = false)
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
        HiddenLayerSizes.Count == 0 ? "linear" : $"{string.Join("-", HiddenLayerSizes)} {Activation}{(Residual ? " residual" : "")}";

    /// <summary>Equal when widths, activation and residual flag are (records compare lists by reference otherwise).</summary>
    public bool Equals(MlpArchitecture? other) =>
        other is not null && Activation == other.Activation && Residual == other.Residual && HiddenLayerSizes.SequenceEqual(other.HiddenLayerSizes);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Activation);
        hash.Add(Residual);
        foreach (int size in HiddenLayerSizes) hash.Add(size);
        return hash.ToHashCode();
    }
}
