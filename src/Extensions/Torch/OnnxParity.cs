using Microsoft.ML.OnnxRuntime;
using MLExtensions.Onnx.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace MLExtensions.Torch;

/// <summary>How far an ONNX export's output is from the TorchSharp module it was exported from.</summary>
/// <param name="MaxAbsoluteError">The largest element-wise difference.</param>
/// <param name="MaxReference">The largest magnitude in the TorchSharp output.</param>
/// <param name="Elements">How many output values were compared.</param>
public sealed record ParityReport(double MaxAbsoluteError, double MaxReference, long Elements)
{
    /// <summary>Norm-wise relative error <c>max|onnx − torch| / max|torch|</c> (absolute when the output is all zeros).</summary>
    public double RelativeError => MaxReference > 0 ? MaxAbsoluteError / MaxReference : MaxAbsoluteError;

    /// <inheritdoc />
    public override string ToString() => $"relative error {RelativeError:E2} (max abs {MaxAbsoluteError:E2} over {Elements} values)";
}

/// <summary>One named float input for <see cref="OnnxParity.Compare(Func{Tensor[], Tensor}, byte[], IReadOnlyList{ParityInput}, string)"/>.</summary>
/// <param name="Name">The ONNX graph input's name.</param>
/// <param name="Values">Row-major values.</param>
/// <param name="Shape">The tensor shape.</param>
internal sealed record ParityInput(string Name, float[] Values, long[] Shape)
{
    /// <summary>Int64 values (e.g. indices) instead of <see cref="Values"/>, which is then empty.</summary>
    public long[]? Int64Values { get; init; }

    /// <summary>An int64 input.</summary>
    public static ParityInput Int64(string name, long[] values, long[] shape) => new(name, [], shape) { Int64Values = values };

    internal Tensor ToTensor() => Int64Values is { } longs ? tensor(longs, Shape) : tensor(Values, Shape);

    internal OrtValue ToOrtValue() => Int64Values is { } longs ? OrtValue.CreateTensorValueFromMemory(longs, Shape) : OrtValue.CreateTensorValueFromMemory(Values, Shape);
}

/// <summary>
/// Runs the same inputs through a TorchSharp forward pass and through its ONNX export on ONNX Runtime (CPU),
/// and reports how far apart they are: the check every exporter must pass (relative error ≤ <see cref="Tolerance"/>).
/// </summary>
internal static class OnnxParity
{
    /// <summary>
    /// The largest relative error between an export and its model that any MLExtensions fit accepts (float32 parity),
    /// checked on fresh inputs after every fit by <see cref="EnsureAgrees"/>.
    /// </summary>
    public const double Tolerance = 1e-5;

    /// <summary>
    /// Returns <paramref name="report"/>, or throws when the export is further than <see cref="Tolerance"/> (relative to
    /// the largest reference value, plus <paramref name="absoluteAllowance"/>) from the model: a fit never returns a
    /// model whose ONNX graph scores differently.
    /// </summary>
    /// <param name="report">The comparison.</param>
    /// <param name="absoluteAllowance">Extra absolute slack, e.g. the float32 rounding of a large total.</param>
    /// <param name="output">The output compared, named in the error.</param>
    public static ParityReport EnsureAgrees(ParityReport report, double absoluteAllowance = 0, string? output = null)
    {
        ArgumentNullException.ThrowIfNull(report);
        double scale = report.MaxReference > 0 ? report.MaxReference : 1;
        if (!(report.MaxAbsoluteError <= Tolerance * scale + absoluteAllowance))
            throw new InvalidOperationException($"The ONNX export disagrees with the trained model{(output is null ? "" : $" on '{output}'")}: {report}. Please report this as a bug.");
        return report;
    }

    /// <summary>Compares on <paramref name="rows"/> fresh standard-normal rows of <paramref name="featureCount"/> features, scaled by <paramref name="scale"/>.</summary>
    public static ParityReport Compare(Func<Tensor, Tensor> forward, byte[] onnxModel, string inputName, string outputName,
        int featureCount, int rows, int seed, float scale = 1f)
    {
        var random = new Random(seed);
        var values = new float[rows * featureCount];
        for (int i = 0; i < values.Length; i++) values[i] = scale * Gaussian(random);
        return Compare(inputs => forward(inputs[0]), onnxModel, [new ParityInput(inputName, values, [rows, featureCount])], outputName);
    }

    /// <summary>Compares on the given inputs; <paramref name="forward"/> receives them as CPU tensors in the same order.</summary>
    public static ParityReport Compare(Func<Tensor[], Tensor> forward, byte[] onnxModel, IReadOnlyList<ParityInput> inputs, string outputName)
    {
        ArgumentNullException.ThrowIfNull(forward);
        return Compare(given =>
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var tensors = given.Select(i => i.ToTensor()).ToArray();
            return forward(tensors).detach().cpu().to_type(ScalarType.Float32).data<float>().ToArray();
        }, onnxModel, inputs, outputName);
    }

    /// <summary>Compares ONNX Runtime's output with values computed by any reference implementation (e.g. managed double-precision code).</summary>
    public static ParityReport Compare(Func<IReadOnlyList<ParityInput>, float[]> reference, byte[] onnxModel, IReadOnlyList<ParityInput> inputs, string outputName)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(inputs);
        var expected = reference(inputs);
        using var session = OnnxModelSession.Create(onnxModel, OnnxExecutionDevice.Cpu);
        var ortInputs = inputs.Select(i => i.ToOrtValue()).ToArray();
        try
        {
            using var runOptions = new RunOptions();
            using var results = session.Session.Run(runOptions, inputs.Select(i => i.Name).ToArray(), ortInputs, [outputName]);
            var actual = results[0].GetTensorDataAsSpan<float>();
            if (actual.Length != expected.Length)
                throw new InvalidOperationException($"ONNX output '{outputName}' has {actual.Length} values; the reference produced {expected.Length}.");
            double maxError = 0, maxReference = 0;
            for (int i = 0; i < expected.Length; i++)
            {
                maxError = Math.Max(maxError, Math.Abs((double)actual[i] - expected[i]));
                maxReference = Math.Max(maxReference, Math.Abs((double)expected[i]));
            }
            return new ParityReport(maxError, maxReference, expected.Length);
        }
        finally
        {
            foreach (var value in ortInputs) value.Dispose();
        }
    }

    private static float Gaussian(Random random)
    {
        double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
        return (float)(Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
    }
}
