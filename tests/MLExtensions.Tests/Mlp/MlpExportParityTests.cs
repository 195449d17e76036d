using MLExtensions.Mlp;
using MLExtensions.Nas;
using MLExtensions.Onnx.Scoring;
using MLExtensions.Torch;
using Xunit;
using static TorchSharp.torch;

namespace MLExtensions.Tests.Mlp;

public class MlpExportParityTests
{
    public static TheoryData<int, int[], MlpActivation, int> Shapes => new()
    {
        { 1, [], MlpActivation.Relu, 1 },
        { 5, [8], MlpActivation.Relu, 1 },
        { 13, [64, 32], MlpActivation.Gelu, 1 },
        { 20, [256, 128, 64], MlpActivation.Tanh, 1 },
        { 7, [33, 17], MlpActivation.Gelu, 4 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Onnx_export_matches_TorchSharp_on_fresh_random_inputs(int inputs, int[] hidden, MlpActivation activation, int outputs)
    {
        random.manual_seed(inputs * 31 + hidden.Length);
        var rng = new Random(inputs);
        var shift = Enumerable.Range(0, inputs).Select(_ => (float)rng.NextDouble()).ToArray();
        var scale = Enumerable.Range(0, inputs).Select(_ => (float)(0.5 + rng.NextDouble())).ToArray();
        using var network = new MlpNetwork(inputs, new MlpArchitecture(hidden, activation), outputs, shift, scale, outputShift: 3f, outputScale: 2f);
        network.eval();
        var kind = outputs == 1 ? PredictionKind.Regression : PredictionKind.MulticlassClassification;
        var classes = outputs == 1 ? null : Enumerable.Range(0, outputs).Select(i => $"c{i}").ToArray();
        var onnx = MlpOnnxExporter.Export(network, "Features", kind, classes);

        var report = kind == PredictionKind.Regression
            ? OnnxParity.Compare(network.forward, onnx, "Features", OnnxOutputHeads.RawScore, inputs, rows: 257, seed: 11, scale: 3f)
            : OnnxParity.Compare(x => network.forward(x).softmax(1), onnx, "Features", OnnxOutputHeads.ClassProbabilities, inputs, rows: 257, seed: 11, scale: 3f);
        Assert.True(report.RelativeError <= 1e-5, report.ToString());
        Assert.Equal(257L * outputs, report.Elements);
    }

    [Fact]
    public void Parity_check_detects_a_wrong_export()
    {
        random.manual_seed(3);
        using var network = new MlpNetwork(4, new MlpArchitecture([8], MlpActivation.Relu), 1);
        using var other = new MlpNetwork(4, new MlpArchitecture([8], MlpActivation.Relu), 1);
        var onnx = MlpOnnxExporter.Export(other, "Features", PredictionKind.Regression);
        var report = OnnxParity.Compare(network.forward, onnx, "Features", OnnxOutputHeads.RawScore, 4, rows: 32, seed: 1);
        Assert.True(report.RelativeError > 1e-2, report.ToString());
    }
}
