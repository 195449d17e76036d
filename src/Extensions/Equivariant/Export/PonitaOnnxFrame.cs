using MLExtensions.Onnx.Graph;

namespace MLExtensions.Equivariant;

/// <summary>
/// <see cref="InertiaFrame"/> in ONNX operators: the frame of every cloud from the positions inside the graph (no extra
/// input, so saved pipelines and callers of the graph are unchanged), edge vectors turned into it, and the reverse pass
/// through it that keeps the forces the exact gradient of the energy.
/// </summary>
/// <remarks>
/// ONNX has no eigensolver: the eigenvalues of the 3×3 second-moment matrix come from its characteristic polynomial,
/// the two longer axes as the longest cross product of two rows of C − λI. Float32 leaves the axes
/// off by about 1e-6 rad away from degeneracy; the network is nearly invariant already, so that moves the energy by far
/// less than its rounding. The gradient through the axes is the standard one for a symmetric eigenproblem,
/// ∂E/∂C = V (F ∘ Vᵀ ∂E/∂V) Vᵀ with F_kl = 1/(λ_l − λ_k), and C = Σ y yᵀ of the centred positions y gives
/// ∂E/∂y = (∂E/∂C + ∂E/∂Cᵀ) y.
/// </remarks>
internal static class PonitaOnnxFrame
{
    /// <summary>
    /// The frames and what the reverse pass reads: the axes [B, 3, 3] (columns, smallest eigenvalue first), each edge's
    /// axes [E, 3, 3], the centred positions [P, 3], the eigenvalues [B, 3], and which clouds have a frame [B, 1, 1].
    /// </summary>
    public sealed record Frames(OnnxValue Axes, OnnxValue EdgeAxes, OnnxValue Centred, OnnxValue Eigenvalues, OnnxValue Defined);

    /// <summary>The frames of the clouds of <paramref name="x"/> [P, 3] (cloud of each point: <paramref name="graph"/> [P]).</summary>
    public static Frames Of(OnnxGraphBuilder g, OnnxValue x, OnnxValue graph, OnnxValue receivers)
    {
        var clouds = g.Add(g.ReduceMax(graph, [0], keepDims: true), g.Int64s(1));                                  // [1] = B
        var rows = g.Unsqueeze(graph, [-1]);                                                                      // [P, 1]
        var counts = g.ScatterAdd(g.Zeros(g.Concat([clouds, g.Int64s(1)], 0)), rows, g.Expand(g.Scalar(1f, "frame_one"), g.Shape(rows)));
        var centroids = g.Div(g.ScatterAdd(g.Zeros(g.Concat([clouds, g.Int64s(3)], 0)), rows, x), counts);          // [B, 3]
        var centred = g.Sub(x, g.Gather(centroids, graph));
        var outer = g.Reshape(g.Einsum("pa,pb->pab", [centred, centred]), [-1, 9]);
        var second = g.ScatterAdd(g.Zeros(g.Concat([clouds, g.Int64s(9)], 0)), rows, outer);                       // [B, 9]
        // Solved divided by its trace: in metres (C ~ 1e-20) the cubes and cross products would underflow float32.
        var trace = g.ReduceSum(g.Gather(second, g.AddInitializer("frame_trace", [0L, 4L, 8L], 3), 1), [1]);        // [B, 1]
        var scale = g.Where(g.Greater(trace, g.Scalar(0f, "frame_zero_t")), trace, g.Scalar(1f, "frame_one_t"));
        var normalised = g.Div(second, scale);
        var (lowest, middle, highest) = Eigenvalues(g, normalised);
        var gap = g.Min(g.Sub(middle, lowest), g.Sub(highest, middle));
        var defined = g.Unsqueeze(g.Greater(gap, g.Mul(highest, g.Scalar((float)InertiaFrame.RelativeGap, "frame_gap"))), [-1]); // [B, 1, 1]
        var matrix = g.Reshape(normalised, [-1, 3, 3]);
        var pointAxes = (OnnxValue axes) => g.Gather(axes, graph);
        var middleAxis = Oriented(g, Eigenvector(g, matrix, middle), centred, pointAxes, rows, clouds);
        var last = Oriented(g, Eigenvector(g, matrix, highest), centred, pointAxes, rows, clouds);
        var frame = g.Concat([g.Unsqueeze(Cross(g, middleAxis, last), [-1]), g.Unsqueeze(middleAxis, [-1]), g.Unsqueeze(last, [-1])], -1);
        var identity = g.AddInitializer("frame_identity", [1f, 0f, 0f, 0f, 1f, 0f, 0f, 0f, 1f], 1, 3, 3);
        var axes = g.Where(defined, frame, identity);
        var edgeAxes = g.Gather(axes, g.Gather(graph, receivers));
        return new Frames(axes, edgeAxes, centred, g.Mul(g.Concat([lowest, middle, highest], -1), scale), defined);
    }

    /// <summary>Edge vectors [E, 3] in their cloud's frame: r·F.</summary>
    public static OnnxValue Turn(OnnxGraphBuilder g, Frames frames, OnnxValue relative) => g.Einsum("ea,eab->eb", [relative, frames.EdgeAxes]);

    /// <summary>
    /// From ∂E/∂r′ of the turned edge vectors [E, 3]: ∂E/∂r of the edge vectors as given, and the part of ∂E/∂x [P, 3]
    /// that comes through the frame's dependence on the positions.
    /// </summary>
    public static (OnnxValue GradRelative, OnnxValue GradPositions) Backward(OnnxGraphBuilder g, Frames frames, OnnxValue relative, OnnxValue gradTurned,
        RowGrouping byReceiver, OnnxValue graph)
    {
        var gradRelative = g.Einsum("eb,eab->ea", [gradTurned, frames.EdgeAxes]);
        var rows = g.Unsqueeze(graph, [-1]);
        var perEdge = g.Reshape(g.Einsum("ea,eb->eab", [relative, gradTurned]), [-1, 9]);
        var perCloud = g.ScatterAdd(g.Zeros(g.Shape(g.Reshape(frames.Axes, [-1, 9]))), rows, g.SumByRow(byReceiver, perEdge));
        var gradAxes = g.Reshape(perCloud, [-1, 3, 3]);                                                           // ∂E/∂V
        var offDiagonal = g.AddInitializer("frame_off_diagonal", [0f, 1f, 1f, 1f, 0f, 1f, 1f, 1f, 0f], 1, 3, 3);
        var diagonal = g.AddInitializer("frame_diagonal", [1f, 0f, 0f, 0f, 1f, 0f, 0f, 0f, 1f], 1, 3, 3);
        // [b, k, l] = λ_l − λ_k, with ones on the diagonal so that F's diagonal is 0 rather than 0/0.
        var differences = g.Add(g.Sub(g.Unsqueeze(frames.Eigenvalues, [1]), g.Unsqueeze(frames.Eigenvalues, [2])), diagonal);
        var inner = g.Div(g.Mul(g.Einsum("bak,bal->bkl", [frames.Axes, gradAxes]), offDiagonal), differences);
        var gradSecond = g.Einsum("bik,bjk->bij", [g.Einsum("bik,bkl->bil", [frames.Axes, inner]), frames.Axes]);  // ∂E/∂C
        var symmetric = g.Add(gradSecond, g.Einsum("bij->bji", [gradSecond]));
        // A degenerate cloud's ∂E/∂C may be ∞ or NaN (its gaps vanish), and NaN·0 is NaN: choose, don't multiply.
        var active = g.Where(frames.Defined, symmetric, g.Zeros(g.Shape(symmetric)));
        return (gradRelative, g.Einsum("pij,pj->pi", [g.Gather(active, graph), frames.Centred]));
    }

    /// <summary>
    /// The eigenvalues, ascending, of the symmetric positive semi-definite matrices <paramref name="m"/> [B, 9]
    /// (row-major) of trace 1 (or 0), each [B, 1]: the outer roots of the characteristic polynomial by Newton's method
    /// from 1 and from 0, where it converges monotonically (the polynomial is convex beyond its inflection at 1/3 and
    /// concave below it), the middle one from the trace.
    /// </summary>
    /// <remarks>
    /// Only correctly rounded arithmetic, no trigonometry: ONNX Runtime evaluates Cos and Acos with vector code for
    /// full SIMD lanes and scalar code for the rest, which differ in the last bit, so a cloud's energy would depend on
    /// its place in the batch. Gaps of at least <see cref="InertiaFrame.RelativeGap"/> converge in far fewer than
    /// <see cref="NewtonSteps"/> steps.
    /// </remarks>
    private static (OnnxValue Lowest, OnnxValue Middle, OnnxValue Highest) Eigenvalues(OnnxGraphBuilder g, OnnxValue m)
    {
        OnnxValue At(int i) => g.Slice(m, i, i + 1, 1);
        var (a00, a01, a02, a11, a12, a22) = (At(0), At(1), At(2), At(4), At(5), At(8));
        // det(λI − C) = λ³ − t λ² + s λ − d, with t the trace, s the sum of principal 2×2 minors and d the determinant.
        var t = g.Add(g.Add(a00, a11), a22);
        var s = g.Sub(g.Add(g.Add(g.Mul(a00, a11), g.Mul(a00, a22)), g.Mul(a11, a22)), g.Add(g.Add(g.Mul(a01, a01), g.Mul(a02, a02)), g.Mul(a12, a12)));
        var d = g.Add(g.Sub(g.Mul(a00, g.Sub(g.Mul(a11, a22), g.Mul(a12, a12))), g.Mul(a01, g.Sub(g.Mul(a01, a22), g.Mul(a12, a02)))),
            g.Mul(a02, g.Sub(g.Mul(a01, a12), g.Mul(a11, a02))));
        var three = g.Scalar(3f, "frame_three");
        var two = g.Scalar(2f, "frame_two");
        var tiny = g.Scalar(1e-30f, "frame_tiny");
        OnnxValue Root(OnnxValue start)
        {
            var x = start;
            for (int step = 0; step < NewtonSteps; step++)
            {
                var value = g.Sub(g.Mul(g.Add(g.Mul(g.Sub(x, t), x), s), x), d);                                  // ((x − t)x + s)x − d
                var slope = g.Max(g.Add(g.Sub(g.Mul(g.Mul(x, x), three), g.Mul(g.Mul(t, x), two)), s), tiny);     // 3x² − 2tx + s
                x = g.Sub(x, g.Div(value, slope));
            }
            return x;
        }
        var highest = Root(t);
        var lowest = Root(g.Mul(t, g.Scalar(0f, "frame_zero_l")));
        return (lowest, g.Sub(g.Sub(t, lowest), highest), highest);
    }

    private const int NewtonSteps = 24;

    /// <summary>A unit eigenvector [B, 3] of <paramref name="matrix"/> [B, 3, 3] for the simple eigenvalue <paramref name="value"/> [B, 1].</summary>
    private static OnnxValue Eigenvector(OnnxGraphBuilder g, OnnxValue matrix, OnnxValue value)
    {
        var shifted = g.Sub(matrix, g.Mul(g.Unsqueeze(value, [-1]), g.AddInitializer("frame_eye", [1f, 0f, 0f, 0f, 1f, 0f, 0f, 0f, 1f], 1, 3, 3)));
        // Rows (0, 1, 2) × rows (1, 2, 0): each product is orthogonal to the row space, so along the null vector.
        var products = Cross(g, shifted, g.Gather(shifted, g.AddInitializer("frame_roll", [1L, 2L, 0L], 3), 1)); // [B, 3, 3]
        var lengths = g.ReduceSum(g.Mul(products, products), [-1]);                                               // [B, 3, 1]
        var longest = g.Cast(g.Equal(g.ArgMax(lengths, 1), g.AddInitializer("frame_rows", [0L, 1L, 2L], 1, 3, 1)), OnnxElementType.Float);
        var chosen = g.ReduceSum(g.Mul(products, longest), [1], keepDims: false);                                 // [B, 3]
        return g.Div(chosen, g.Sqrt(g.ReduceSum(g.Mul(chosen, chosen), [-1])));
    }

    /// <summary><paramref name="axis"/> [B, 3], turned to where the cloud's third moment along it is positive (≥ 0).</summary>
    private static OnnxValue Oriented(OnnxGraphBuilder g, OnnxValue axis, OnnxValue centred, Func<OnnxValue, OnnxValue> perPoint, OnnxValue rows, OnnxValue clouds)
    {
        var along = g.ReduceSum(g.Mul(centred, perPoint(axis)), [-1]);                                           // [P, 1]
        var third = g.ScatterAdd(g.Zeros(g.Concat([clouds, g.Int64s(1)], 0)), rows, g.Mul(g.Mul(along, along), along));
        var sign = g.Where(g.Greater(g.Neg(third), g.Scalar(0f, "frame_zero_s")), g.Scalar(-1f, "frame_minus"), g.Scalar(1f, "frame_plus"));
        return g.Mul(axis, sign);
    }

    /// <summary>a × b over the last axis (length 3).</summary>
    private static OnnxValue Cross(OnnxGraphBuilder g, OnnxValue a, OnnxValue b)
    {
        var next = g.AddInitializer("cross_next", [1L, 2L, 0L], 3);
        var after = g.AddInitializer("cross_after", [2L, 0L, 1L], 3);
        return g.Sub(g.Mul(g.Gather(a, next, -1), g.Gather(b, after, -1)), g.Mul(g.Gather(a, after, -1), g.Gather(b, next, -1)));
    }
}
