using Google.Protobuf;
using Onnx;

namespace MLExtensions.Onnx.Graph;

// Typed helpers for the operators the methods export, all at opset 17 semantics.
internal sealed partial class OnnxGraphBuilder
{
    /// <summary>General matrix multiply: <c>alpha·op(A)·op(B) + beta·C</c> with optional transposes (2-d A and B).</summary>
    public OnnxValue Gemm(OnnxValue a, OnnxValue b, OnnxValue? c = null, bool transA = false, bool transB = false,
        float alpha = 1f, float beta = 1f, string? output = null)
    {
        var inputs = c is { } bias ? new[] { a, b, bias } : new[] { a, b };
        return Single("Gemm", inputs, output,
            Int("transA", transA ? 1 : 0), Int("transB", transB ? 1 : 0), Float("alpha", alpha), Float("beta", beta));
    }

    /// <summary>Matrix product with NumPy broadcasting of leading dimensions.</summary>
    public OnnxValue MatMul(OnnxValue a, OnnxValue b, string? output = null) => Single("MatMul", [a, b], output);

    /// <summary>Element-wise sum with broadcasting.</summary>
    public OnnxValue Add(OnnxValue a, OnnxValue b, string? output = null) => Single("Add", [a, b], output);

    /// <summary>Element-wise difference with broadcasting.</summary>
    public OnnxValue Sub(OnnxValue a, OnnxValue b, string? output = null) => Single("Sub", [a, b], output);

    /// <summary>Element-wise product with broadcasting.</summary>
    public OnnxValue Mul(OnnxValue a, OnnxValue b, string? output = null) => Single("Mul", [a, b], output);

    /// <summary>Element-wise quotient with broadcasting.</summary>
    public OnnxValue Div(OnnxValue a, OnnxValue b, string? output = null) => Single("Div", [a, b], output);

    /// <summary>Element-wise maximum of two tensors (broadcasting).</summary>
    public OnnxValue Max(OnnxValue a, OnnxValue b, string? output = null) => Single("Max", [a, b], output);

    /// <summary>Element-wise minimum (broadcasting).</summary>
    public OnnxValue Min(OnnxValue a, OnnxValue b, string? output = null) => Single("Min", [a, b], output);

    /// <summary>Element-wise square root.</summary>
    public OnnxValue Sqrt(OnnxValue x, string? output = null) => Single("Sqrt", [x], output);

    /// <summary>Element-wise exponential.</summary>
    public OnnxValue Exp(OnnxValue x, string? output = null) => Single("Exp", [x], output);

    /// <summary>Element-wise natural logarithm.</summary>
    public OnnxValue Log(OnnxValue x, string? output = null) => Single("Log", [x], output);

    /// <summary>Element-wise negation.</summary>
    public OnnxValue Neg(OnnxValue x, string? output = null) => Single("Neg", [x], output);

    /// <summary>Element-wise Gauss error function.</summary>
    public OnnxValue Erf(OnnxValue x, string? output = null) => Single("Erf", [x], output);

    /// <summary>Rectified linear unit.</summary>
    public OnnxValue Relu(OnnxValue x, string? output = null) => Single("Relu", [x], output);

    /// <summary>Logistic sigmoid.</summary>
    public OnnxValue Sigmoid(OnnxValue x, string? output = null) => Single("Sigmoid", [x], output);

    /// <summary>Hyperbolic tangent.</summary>
    public OnnxValue Tanh(OnnxValue x, string? output = null) => Single("Tanh", [x], output);

    /// <summary>
    /// Exact GELU, <c>x·Φ(x) = 0.5·x·(1 + erf(x/√2))</c> (the default of PyTorch/TorchSharp).
    /// The Gelu operator only arrived in opset 20, so it is composed from Erf here.
    /// </summary>
    public OnnxValue Gelu(OnnxValue x, string? output = null)
    {
        var erf = Erf(Mul(x, Scalar(1f / MathF.Sqrt(2f), "inv_sqrt2")));
        var half = Mul(x, Scalar(0.5f, "half"));
        return Mul(half, Add(erf, Scalar(1f, "one")), output);
    }

    /// <summary>Softmax along <paramref name="axis"/>.</summary>
    public OnnxValue Softmax(OnnxValue x, int axis = -1, string? output = null) => Single("Softmax", [x], output, Int("axis", axis));

    /// <summary>Concatenation along <paramref name="axis"/>.</summary>
    public OnnxValue Concat(IReadOnlyList<OnnxValue> inputs, int axis, string? output = null)
        => Single("Concat", inputs, output, Int("axis", axis));

    /// <summary>Reshape; a 0 in <paramref name="shape"/> copies that input dimension and -1 infers one dimension.</summary>
    public OnnxValue Reshape(OnnxValue x, long[] shape, string? output = null) => Single("Reshape", [x, Int64s(shape)], output);

    /// <summary>Inserts size-1 dimensions at <paramref name="axes"/>.</summary>
    public OnnxValue Unsqueeze(OnnxValue x, long[] axes, string? output = null) => Single("Unsqueeze", [x, Int64s(axes)], output);

    /// <summary>Removes the size-1 dimensions at <paramref name="axes"/>.</summary>
    public OnnxValue Squeeze(OnnxValue x, long[] axes, string? output = null) => Single("Squeeze", [x, Int64s(axes)], output);

    /// <summary>The elements <c>[start, end)</c> of <paramref name="x"/> along <paramref name="axis"/>.</summary>
    public OnnxValue Slice(OnnxValue x, long start, long end, long axis, string? output = null)
        => Single("Slice", [x, Int64s(start), Int64s(end), Int64s(axis)], output);

    /// <summary>Broadcasts <paramref name="x"/> to <paramref name="shape"/> (a 1-d int64 tensor, e.g. from <see cref="Shape"/>).</summary>
    public OnnxValue Expand(OnnxValue x, OnnxValue shape, string? output = null) => Single("Expand", [x, shape], output);

    /// <summary>The shape of <paramref name="x"/> as a 1-d int64 tensor.</summary>
    public OnnxValue Shape(OnnxValue x, string? output = null) => Single("Shape", [x], output);

    /// <summary>Sum over <paramref name="axes"/>.</summary>
    public OnnxValue ReduceSum(OnnxValue x, long[] axes, bool keepDims = true, string? output = null)
        => Single("ReduceSum", [x, Int64s(axes)], output, Int("keepdims", keepDims ? 1 : 0));

    /// <summary>Mean over <paramref name="axes"/> (an attribute up to opset 17).</summary>
    public OnnxValue ReduceMean(OnnxValue x, long[] axes, bool keepDims = true, string? output = null)
        => Single("ReduceMean", [x], output, Ints("axes", axes), Int("keepdims", keepDims ? 1 : 0));

    /// <summary>Maximum over <paramref name="axes"/> (an attribute up to opset 17).</summary>
    public OnnxValue ReduceMax(OnnxValue x, long[] axes, bool keepDims = true, string? output = null)
        => Single("ReduceMax", [x], output, Ints("axes", axes), Int("keepdims", keepDims ? 1 : 0));

    /// <summary>The slices of <paramref name="x"/> at <paramref name="indices"/> (int64) along <paramref name="axis"/>.</summary>
    public OnnxValue Gather(OnnxValue x, OnnxValue indices, int axis = 0, string? output = null)
        => Single("Gather", [x, indices], output, Int("axis", axis));

    /// <summary>
    /// <paramref name="data"/> with every row of <paramref name="updates"/> added at the row given by
    /// <paramref name="rows"/> (int64, shaped to broadcast against <paramref name="updates"/>, e.g. [K, 1, 1] for
    /// updates [K, A, B]): the reverse of <see cref="Gather"/> along axis 0. Repeated rows accumulate.
    /// </summary>
    /// <remarks>
    /// Written as ScatterElements with reduction "add" (opset 16+) over indices expanded to the updates' shape:
    /// ONNX Runtime's CPU ScatterND splits its updates across threads, which races on repeated indices.
    /// </remarks>
    public OnnxValue ScatterAdd(OnnxValue data, OnnxValue rows, OnnxValue updates, string? output = null)
        => Single("ScatterElements", [data, Expand(rows, Shape(updates)), updates], output, Int("axis", 0), String("reduction", "add"));

    /// <summary>
    /// Prepares sums of rows grouped by <paramref name="rows"/> ([E] int64 indices below the scalar-in-[1]
    /// <paramref name="rowCount"/>): the rows' order sorted by index (TopK) and each index's segment in that order.
    /// Build once per index vector, then call <see cref="SumByRow"/> for every tensor to sum.
    /// </summary>
    public RowGrouping GroupRows(OnnxValue rows, OnnxValue rowCount)
    {
        var order = AddNode("TopK", [rows, Shape(rows)], 2, [Int("axis", 0), Int("largest", 0), Int("sorted", 1)])[1];
        var counts = Cast(ScatterAdd(Zeros(rowCount), rows, Expand(Scalar(1f, "group_one"), Shape(rows))), OnnxElementType.Int64);
        var ends = Single("CumSum", [counts, Int64s(0)], null);
        return new RowGrouping(order, Sub(ends, counts), ends);
    }

    /// <summary>
    /// <c>out[i] = Σ_{e: rows[e] = i} updates[e]</c> for float <paramref name="updates"/> [E, ...]: the rows gathered in
    /// sorted order, a float64 prefix sum (CumSum) and its differences at each segment's ends, so the cost is a few
    /// passes over the updates. ONNX Runtime's ScatterElements adds element by element through indices expanded to the
    /// updates' shape, several times slower, and its ScatterND races on repeated indices.
    /// </summary>
    /// <remarks>
    /// The updates must be finite: through the prefix sums a NaN or infinity reaches every row sorted after its own
    /// (PONITA's row checks refuse non-finite coordinates before a cloud is scored).
    /// </remarks>
    public OnnxValue SumByRow(RowGrouping grouping, OnnxValue updates, string? output = null)
    {
        var sorted = Cast(Gather(updates, grouping.Order), OnnxElementType.Double);
        var flat = Reshape(sorted, [0, -1]);
        var zeroRow = Cast(Zeros(Concat([Int64s(1), Slice(Shape(flat), 1, 2, 0)], 0)), OnnxElementType.Double);
        var prefix = Single("CumSum", [Concat([zeroRow, flat], 0), Int64s(0)], null);                    // [E + 1, C]
        var sums = Sub(Gather(prefix, grouping.Ends), Gather(prefix, grouping.Starts));               // [P, C]
        var shape = Concat([Shape(grouping.Ends), Slice(Shape(updates), 1, long.MaxValue, 0)], 0);
        return Single("Reshape", [Cast(sums, OnnxElementType.Float), shape], output);
    }

    /// <summary>A float tensor of zeros whose shape is the 1-d int64 tensor <paramref name="shape"/>.</summary>
    public OnnxValue Zeros(OnnxValue shape, string? output = null) => Single("ConstantOfShape", [shape], output);

    /// <summary>Einstein summation, e.g. <c>"bnd,de->bne"</c>.</summary>
    public OnnxValue Einsum(string equation, IReadOnlyList<OnnxValue> inputs, string? output = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(equation);
        return Single("Einsum", inputs, output, String("equation", equation));
    }

    /// <summary>Layer normalisation over the trailing dimensions from <paramref name="axis"/>, with scale and optional bias.</summary>
    public OnnxValue LayerNormalization(OnnxValue x, OnnxValue scale, OnnxValue? bias = null, int axis = -1,
        float epsilon = 1e-5f, string? output = null)
    {
        var inputs = bias is { } b ? new[] { x, scale, b } : new[] { x, scale };
        return Single("LayerNormalization", inputs, output, Int("axis", axis), Float("epsilon", epsilon));
    }

    /// <summary>Index of the largest element along <paramref name="axis"/> (int64; ties take the first index).</summary>
    public OnnxValue ArgMax(OnnxValue x, int axis = -1, bool keepDims = true, string? output = null)
        => Single("ArgMax", [x], output, Int("axis", axis), Int("keepdims", keepDims ? 1 : 0));

    /// <summary>Element-wise choice: <paramref name="whenTrue"/> where <paramref name="condition"/> holds, else <paramref name="whenFalse"/>.</summary>
    public OnnxValue Where(OnnxValue condition, OnnxValue whenTrue, OnnxValue whenFalse, string? output = null)
        => Single("Where", [condition, whenTrue, whenFalse], output);

    /// <summary>Element-wise <c>a &gt; b</c> (bool).</summary>
    public OnnxValue Greater(OnnxValue a, OnnxValue b, string? output = null) => Single("Greater", [a, b], output);

    /// <summary>Element-wise <c>a == b</c> (bool).</summary>
    public OnnxValue Equal(OnnxValue a, OnnxValue b, string? output = null) => Single("Equal", [a, b], output);

    /// <summary>Element-wise test for NaN (bool).</summary>
    public OnnxValue IsNaN(OnnxValue x, string? output = null) => Single("IsNaN", [x], output);

    /// <summary>Converts element type.</summary>
    public OnnxValue Cast(OnnxValue x, OnnxElementType to, string? output = null) => Single("Cast", [x], output, Int("to", (int)to));

    /// <summary>Copies <paramref name="x"/> under a new name (typically a graph output's name).</summary>
    public OnnxValue Identity(OnnxValue x, string? output = null) => Single("Identity", [x], output);

    /// <summary>
    /// Attaches slot names to the graph output <paramref name="outputName"/> the way ML.NET's OnnxTransformer reads
    /// them (and ML.NET's own exporter writes them): an <c>ai.onnx.ml.LabelEncoder</c> node named
    /// <c>mlnet.{outputName}.SlotNames</c> whose <c>keys_strings</c> are the names. Its output is a graph output
    /// named <c>mlnet.{outputName}.unusedOutput</c>, which ML.NET skips and ONNX Runtime only computes when asked.
    /// </summary>
    public void AddSlotNames(string outputName, IReadOnlyList<string> slotNames)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(outputName);
        ArgumentNullException.ThrowIfNull(slotNames);
        if (slotNames.Count == 0) throw new ArgumentException("At least one slot name is needed.", nameof(slotNames));
        var input = new TensorProto { Name = Unique($"mlnet.{outputName}.unusedInput"), DataType = (int)OnnxElementType.String };
        input.Dims.AddRange([1, 1]);
        input.StringData.Add(ByteString.CopyFromUtf8("one"));
        _graph.Initializer.Add(input);

        var keys = new AttributeProto { Name = "keys_strings", Type = AttributeProto.Types.AttributeType.Strings };
        keys.Strings.AddRange(slotNames.Select(ByteString.CopyFromUtf8));
        var output = AddNode("LabelEncoder", [new OnnxValue(input.Name)], 1,
            [keys, Ints("values_int64s", Enumerable.Range(0, slotNames.Count).Select(i => (long)i))],
            output: $"mlnet.{outputName}.unusedOutput", domain: MLDomain)[0];
        _graph.Node[^1].Name = $"mlnet.{outputName}.SlotNames";
        Reserve(_graph.Node[^1].Name);
        AddOutput(output, OnnxElementType.Int64, 1, 1);
    }

    private OnnxValue Single(string opType, IReadOnlyList<OnnxValue> inputs, string? output, params AttributeProto[] attributes)
        => AddNode(opType, inputs, 1, attributes, output)[0];

    /// <summary>An integer attribute.</summary>
    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    /// <summary>A float attribute.</summary>
    public static AttributeProto Float(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    /// <summary>A string attribute.</summary>
    public static AttributeProto String(string name, string value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };

    /// <summary>An integer-list attribute.</summary>
    public static AttributeProto Ints(string name, IEnumerable<long> values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }
}
