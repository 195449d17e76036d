using MLExtensions.Onnx;
using MLExtensions.Onnx.Graph;
using MLExtensions.Torch;
using Xunit;
using static TorchSharp.torch;

namespace MLExtensions.Tests.Onnx;

/// <summary>Each op helper against the TorchSharp operation it must reproduce, on random inputs.</summary>
public class GraphBuilderOpsTests
{
    private const int Rows = 6, Width = 8;

    private static void AssertMatches(Func<OnnxGraphBuilder, OnnxValue, OnnxValue> build, Func<Tensor, Tensor> reference, params OnnxDim[] outputShape)
    {
        var g = new OnnxGraphBuilder();
        var x = g.AddInput("x", OnnxElementType.Float, OnnxDim.Batch, Width);
        var y = build(g, x);
        g.AddOutput(g.Identity(y, "y"), OnnxElementType.Float, outputShape);
        var report = OnnxParity.Compare(reference, g.ToBytes(), "x", "y", Width, Rows, seed: 5, scale: 2f);
        Assert.True(report.RelativeError <= 1e-5, report.ToString());
    }

    private static readonly float[] Vector8 = [0.5f, -1, 2, 0.25f, 1.5f, -0.75f, 3, 1];
    private static readonly float[] Matrix8x3 = Enumerable.Range(0, 24).Select(i => (float)Math.Sin(i)).ToArray();

    [Fact] public void Gelu_is_the_exact_erf_form() => AssertMatches((g, x) => g.Gelu(x), x => nn.functional.gelu(x), OnnxDim.Batch, Width);
    [Fact] public void Sigmoid_tanh_relu() => AssertMatches((g, x) => g.Add(g.Add(g.Sigmoid(x), g.Tanh(x)), g.Relu(x)), x => x.sigmoid() + x.tanh() + x.relu(), OnnxDim.Batch, Width);
    [Fact] public void Softmax_over_features() => AssertMatches((g, x) => g.Softmax(x, 1), x => x.softmax(1), OnnxDim.Batch, Width);

    [Fact]
    public void Layer_normalization_with_scale_and_bias() => AssertMatches(
        (g, x) => g.LayerNormalization(x, g.AddInitializer("s", Vector8, Width), g.AddInitializer("b", Vector8.Reverse().ToArray(), Width)),
        x => nn.functional.layer_norm(x, [Width], tensor(Vector8), tensor(Vector8.Reverse().ToArray())), OnnxDim.Batch, Width);

    [Fact]
    public void Sums_by_row_add_repeated_rows_and_leave_rows_without_any_at_zero()
    {
        long[] rows = [2, 0, 2, 3, 0, 2];   // one per input row; rows 1 and 4 receive none
        AssertMatches((g, x) =>
        {
            var grouping = g.GroupRows(g.AddInitializer("rows", rows, Rows), g.Int64s(5));
            // A [N, 2, 4] view of the same values: sums keep every trailing axis.
            return g.Reshape(g.SumByRow(grouping, g.Reshape(x, [Rows, 2, 4])), [5, Width]);
        }, x => zeros(5, Width).index_add(0, tensor(rows), x, 1.0), 5, Width);
    }

    [Fact]
    public void Einsum_matches_a_matrix_product() => AssertMatches(
        (g, x) => g.Einsum("nd,dk->nk", [x, g.AddInitializer("w", Matrix8x3, Width, 3)]),
        x => einsum("nd,dk->nk", x, tensor(Matrix8x3, [Width, 3])), OnnxDim.Batch, 3);

    [Fact]
    public void Gemm_with_transposed_weight_and_bias() => AssertMatches(
        (g, x) => g.Gemm(x, g.AddInitializer("w", Matrix8x3, 3, Width), g.AddInitializer("b", new float[] { 1, 2, 3 }, 3), transB: true),
        x => nn.functional.linear(x, tensor(Matrix8x3, [3, Width]), tensor(new float[] { 1, 2, 3 })), OnnxDim.Batch, 3);

    [Fact]
    public void Reductions_keep_or_drop_dimensions() => AssertMatches(
        (g, x) => g.Add(g.ReduceMean(x, [1], keepDims: true), g.Unsqueeze(g.ReduceSum(x, [1], keepDims: false), [1])),
        x => x.mean([1], keepdim: true) + x.sum(1).unsqueeze(1), OnnxDim.Batch, 1);

    [Fact]
    public void Where_greater_max_sqrt_and_division() => AssertMatches(
        (g, x) => g.Where(g.Greater(x, g.Scalar(0f)), g.Sqrt(g.Max(x, g.Scalar(0f))), g.Div(x, g.Scalar(4f))),
        x => where(x > 0, x.clamp_min(0).sqrt(), x / 4), OnnxDim.Batch, Width);

    [Fact]
    public void Concat_reshape_squeeze_and_expand() => AssertMatches(
        (g, x) =>
        {
            var pairs = g.Reshape(g.Concat([x, g.Neg(x)], axis: 1), [0, 2, Width]);          // [N, 2, 8]
            var summed = g.Squeeze(g.ReduceSum(pairs, [1]), [1]);                             // [N, 8] = 0
            var row = g.Unsqueeze(g.AddInitializer("v", Vector8, Width), [0]);                // [1, 8]
            return g.Add(summed, g.Expand(row, g.Shape(x)));                                  // [N, 8]
        },
        x => cat([x, -x], 1).reshape(-1, 2, Width).sum(1) + tensor(Vector8).unsqueeze(0).expand(x.shape), OnnxDim.Batch, Width);

    [Fact]
    public void Argmax_and_cast_give_the_index_of_the_largest_value() => AssertMatches(
        (g, x) => g.Cast(g.ArgMax(x, 1, keepDims: true), OnnxElementType.Float),
        x => x.argmax(1, keepdim: true).to_type(ScalarType.Float32), OnnxDim.Batch, 1);

    [Fact]
    public void Metadata_names_and_inputs_are_recorded()
    {
        var g = new OnnxGraphBuilder();
        var x = g.AddInput("x", OnnxElementType.Float, OnnxDim.Batch, 2);
        g.AddOutput(g.Relu(x, output: "y"), OnnxElementType.Float, OnnxDim.Batch, 2);
        g.SetMetadata("fact", "42");
        var info = OnnxModelInfo.Read(g.ToBytes());
        Assert.Equal("42", info.Metadata["fact"]);
        Assert.Equal(["x"], info.InputNames);
        Assert.Equal(["y"], info.OutputNames);
        Assert.Equal(OnnxGraphBuilder.OpsetVersion, info.Opset);
        Assert.Throws<ArgumentException>(() => g.AddInput("x", OnnxElementType.Float, 1));
        Assert.Throws<ArgumentException>(() => g.AddInitializer("w", new float[] { 1, 2, 3 }, 2, 2));
        Assert.Throws<ArgumentException>(() => OnnxModelInfo.Read(new byte[] { 1, 2, 3, 4, 5 }));
    }
}
