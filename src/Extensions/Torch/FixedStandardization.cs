using TorchSharp;
using static MLExtensions.Torch.HeldScalars;
using static TorchSharp.torch;

namespace MLExtensions.Torch;

/// <summary>
/// A tabular network's fixed ends: features standardised on the way in, (x − shift)·scale per feature, and the output
/// de-standardised on the way out, y·scale + shift. Held as buffers, not parameters, so that they move with the network
/// and the module alone is the whole scoring function that is exported.
/// </summary>
internal sealed class FixedStandardization : nn.Module
{
    private readonly Tensor input_shift;
    private readonly Tensor input_scale;
    private readonly Tensor output_shift;
    private readonly Tensor output_scale;

    /// <param name="inputs">Number of features.</param>
    /// <param name="inputShift">Subtracted from each feature (the training mean); null for 0.</param>
    /// <param name="inputScale">Multiplies each shifted feature (the inverse training deviation); null for 1.</param>
    /// <param name="outputShift">Added to the scaled output (regression: the label mean).</param>
    /// <param name="outputScale">Multiplies the raw output (regression: the label deviation).</param>
    public FixedStandardization(int inputs, float[]? inputShift, float[]? inputScale, float outputShift, float outputScale) : base(nameof(FixedStandardization))
    {
        input_shift = tensor(Check(inputShift, inputs, 0f, nameof(inputShift)));
        input_scale = tensor(Check(inputScale, inputs, 1f, nameof(inputScale)));
        output_shift = tensor(outputShift);
        output_scale = tensor(outputScale);
        register_buffer(nameof(input_shift), input_shift);
        register_buffer(nameof(input_scale), input_scale);
        register_buffer(nameof(output_shift), output_shift);
        register_buffer(nameof(output_scale), output_scale);
    }

    /// <summary>Standardised features.</summary>
    public Tensor Input(Tensor x) => Minus(x, input_shift).mul(input_scale);

    /// <summary>The raw output on the label's scale.</summary>
    public Tensor Output(Tensor y) => Plus(y.mul(output_scale), output_shift);

    /// <summary>The buffers' values, for the exporter and for copies.</summary>
    public (float[] InputShift, float[] InputScale, float OutputShift, float OutputScale) Values()
    {
        using var noGrad = no_grad();
        return (Managed(input_shift), Managed(input_scale), output_shift.cpu().item<float>(), output_scale.cpu().item<float>());
    }

    private static float[] Managed(Tensor t) => t.detach().cpu().contiguous().data<float>().ToArray();

    private static float[] Check(float[]? values, int count, float fill, string name)
    {
        if (values is null) return Enumerable.Repeat(fill, count).ToArray();
        if (values.Length != count) throw new ArgumentException($"{name} has {values.Length} values; expected {count}.", name);
        return values;
    }
}
