using MLExtensions.Onnx.Graph;

namespace MLExtensions.Equivariant;

/// <summary>
/// <see cref="PeriodicRadiusGraph"/>'s cell geometry in ONNX operators, in float64 and in the same order of operations,
/// so that the graph wraps atoms and measures distances to the last bit as the managed search does: which lattice
/// vectors are periodic, the full-rank basis (open directions completed by unit vectors), its inverse, how many images
/// each direction needs for the cutoff, and the volume a stress divides by.
/// </summary>
internal static class PonitaOnnxCell
{
    /// <summary>
    /// The geometry of one cell: <see cref="Basis"/> [3, 3] (rows), <see cref="Inverse"/> [3, 3], <see cref="Periodic"/>
    /// [3] (bool), <see cref="Reach"/> [3] (float64: images −reach..reach per direction, 0 along open ones),
    /// <see cref="Rows"/> [3, 3] (the cell as given, float64) and <see cref="Volume"/> [1] (float32, NaN without one).
    /// </summary>
    public sealed record Geometry(OnnxValue Rows, OnnxValue Basis, OnnxValue Inverse, OnnxValue Periodic, OnnxValue Reach, OnnxValue Volume);

    /// <summary>The geometry of <paramref name="cell"/> [3, 3] (float32, lattice vectors as rows) for <paramref name="cutoff"/>.</summary>
    public static Geometry Of(OnnxGraphBuilder g, OnnxValue cell, double cutoff)
    {
        var rows = g.Cast(cell, OnnxElementType.Double);                                                               // [3, 3]
        var zero = g.AddInitializer("cell_zero", [0.0]);
        var periodic = g.Greater(g.ReduceMax(Op(g, "Abs", rows), [1], keepDims: false), zero);                          // [3]
        var count = g.ReduceSum(g.Cast(periodic, OnnxElementType.Int64), [0], keepDims: false);                        // []

        // A slab's open row: the unit normal of its two lattice vectors, taken in ascending order.
        var slab = Unit(g, Cross(g, g.Gather(rows, g.AddInitializer("slab_first", [1L, 0L, 0L], 3)), g.Gather(rows, g.AddInitializer("slab_second", [2L, 2L, 1L], 3))));
        // A wire's open rows: u = unit(p × e), with e the axis of p's smallest component (the first of equals), then unit(p × u).
        var p = g.Add(g.Add(Row(g, rows, 0), Row(g, rows, 1)), Row(g, rows, 2));                                       // [1, 3]: the one vector
        var magnitude = Op(g, "Abs", p);
        OnnxValue Component(OnnxValue v, int k) => g.Slice(v, k, k + 1, 1);
        var (m0, m1, m2) = (Component(magnitude, 0), Component(magnitude, 1), Component(magnitude, 2));
        var xAxis = Op(g, "And", Op(g, "LessOrEqual", m0, m1), Op(g, "LessOrEqual", m0, m2));
        var yAxis = Op(g, "LessOrEqual", m1, m2);
        var axis = g.Where(xAxis, g.AddInitializer("axis_x", [1.0, 0.0, 0.0], 1, 3),
            g.Where(yAxis, g.AddInitializer("axis_y", [0.0, 1.0, 0.0], 1, 3), g.AddInitializer("axis_z", [0.0, 0.0, 1.0], 1, 3)));
        var u = Unit(g, Cross(g, p, axis));
        var w = Unit(g, Cross(g, p, u));
        // The first open row gets u: row 0 unless row 0 is the periodic one.
        var firstOpen = g.Cast(g.Where(g.Slice(periodic, 0, 1, 0), g.AddInitializer("first_open_1", [0L, 1L, 0L], 3), g.AddInitializer("first_open_0", [1L, 0L, 0L], 3)),
            OnnxElementType.Bool);
        var wire = g.Where(g.Unsqueeze(firstOpen, [-1]), u, w);                                                      // [3, 3]
        var completion = g.Where(g.Equal(count, g.AddInitializer("two_periodic", [2L])), slab,
            g.Where(g.Equal(count, g.AddInitializer("one_periodic", [1L])), wire, g.AddInitializer("cell_identity", [1.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0], 3, 3)));
        var basis = g.Where(g.Unsqueeze(periodic, [-1]), rows, completion);

        var det = Determinant(g, basis);                                                                              // [1]
        var inverse = g.Reshape(g.Div(g.Sub(g.Mul(Entries(g, basis, (r, c) => ((c + 1) % 3, (r + 1) % 3)), Entries(g, basis, (r, c) => ((c + 2) % 3, (r + 2) % 3))),
            g.Mul(Entries(g, basis, (r, c) => ((c + 1) % 3, (r + 2) % 3)), Entries(g, basis, (r, c) => ((c + 2) % 3, (r + 1) % 3)))), det), [3, 3]);

        // Reach: floor(cutoff / height) + 1 images each way covers every pair of wrapped atoms within the cutoff.
        var faces = Cross(g, g.Gather(basis, g.AddInitializer("face_first", [1L, 2L, 0L], 3)), g.Gather(basis, g.AddInitializer("face_second", [2L, 0L, 1L], 3)));
        var heights = g.Div(Op(g, "Abs", det), g.Sqrt(Dot(g, faces, faces)));                                          // [3, 1]
        var margin = g.Div(g.AddInitializer("cutoff_d", [cutoff]), g.Squeeze(heights, [-1]));
        var reach = g.Where(periodic, g.Add(Op(g, "Floor", margin), g.AddInitializer("one_d", [1.0])), zero);

        var volume = Op(g, "Abs", Determinant(g, rows));
        var stressVolume = g.Where(g.Greater(volume, zero), g.Cast(volume, OnnxElementType.Float), g.Scalar(float.NaN, "no_volume"));
        return new Geometry(rows, basis, inverse, periodic, reach, stressVolume);
    }

    /// <summary>u·v over the last axis, summed left to right as the managed code does: [..., 1].</summary>
    public static OnnxValue Dot(OnnxGraphBuilder g, OnnxValue u, OnnxValue v)
    {
        var products = g.Mul(u, v);
        return g.Add(g.Add(g.Slice(products, 0, 1, -1), g.Slice(products, 1, 2, -1)), g.Slice(products, 2, 3, -1));
    }

    /// <summary>u × v over the last axis (component k: u_{k+1} v_{k+2} − u_{k+2} v_{k+1}).</summary>
    public static OnnxValue Cross(OnnxGraphBuilder g, OnnxValue u, OnnxValue v)
    {
        var next = g.AddInitializer("cell_next", [1L, 2L, 0L], 3);
        var after = g.AddInitializer("cell_after", [2L, 0L, 1L], 3);
        return g.Sub(g.Mul(g.Gather(u, next, -1), g.Gather(v, after, -1)), g.Mul(g.Gather(u, after, -1), g.Gather(v, next, -1)));
    }

    /// <summary>An operator the builder has no typed helper for, with one output.</summary>
    public static OnnxValue Op(OnnxGraphBuilder g, string op, params OnnxValue[] inputs) => g.AddNode(op, inputs)[0];

    /// <summary>v / ‖v‖ per row, v itself where ‖v‖ = 0.</summary>
    private static OnnxValue Unit(OnnxGraphBuilder g, OnnxValue v)
    {
        var norm = g.Sqrt(Dot(g, v, v));
        return g.Where(g.Greater(norm, g.AddInitializer("unit_zero", [0.0])), g.Div(v, norm), v);
    }

    /// <summary>a · (b × c) of the rows a, b, c of <paramref name="m"/> [3, 3]: [1].</summary>
    private static OnnxValue Determinant(OnnxGraphBuilder g, OnnxValue m) =>
        g.Reshape(Dot(g, Row(g, m, 0), Cross(g, Row(g, m, 1), Row(g, m, 2))), [1]);

    private static OnnxValue Row(OnnxGraphBuilder g, OnnxValue m, int k) => g.Slice(m, k, k + 1, 0);

    /// <summary>The 9 entries m[pick(r, c)] in row-major (r, c) order, [9].</summary>
    private static OnnxValue Entries(OnnxGraphBuilder g, OnnxValue m, Func<int, int, (int Row, int Column)> pick)
    {
        var indices = new long[9];
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 3; c++)
            {
                var (i, j) = pick(r, c);
                indices[3 * r + c] = 3 * i + j;
            }
        return g.Gather(g.Reshape(m, [9]), g.AddInitializer("cofactor", indices, 9));
    }
}
