using MLExtensions.Onnx.Graph;
using static MLExtensions.Equivariant.PonitaOnnxCell;

namespace MLExtensions.Equivariant;

/// <summary>
/// <see cref="RadiusGraph"/> in ONNX operators, for graphs that take positions (and a cell) and nothing else: every
/// pair (receiver i, sender j, image m) of the N atoms and M lattice images is measured, so time and memory grow as
/// N² × M; no cell list.
/// </summary>
/// <remarks>
/// <para>The same edges as <see cref="RadiusGraph.Build"/> and <see cref="RadiusGraph.BuildPeriodic"/>, in the same
/// order (receiver, sender, image): atoms wrapped into the cell and distances computed in float64 with the managed
/// code's operations in its order, so both decide every pair alike, the pairs at the cutoff and the ties under
/// <see cref="PonitaOptionsBase.MaximumNeighbors"/> included. The neighbour limit keeps the nearest by TopK, whose
/// ties go to the lower index, as the managed sort's do: (distance, sender, image).</para>
/// <para>Unlike the managed search nothing is refused here but what <see cref="Refuse"/> is asked to refuse: atoms
/// that coincide (directly or through an image) become an edge of length 0, as any pair.</para>
/// </remarks>
internal static class PonitaOnnxNeighbours
{
    /// <summary>The edges [E] (int64) and, for a cell, their Cartesian lattice shifts [E, 3] (float32).</summary>
    public sealed record Edges(OnnxValue Senders, OnnxValue Receivers, OnnxValue? Shifts);

    /// <summary>
    /// The radius graph of positions <paramref name="x"/> [N, 3] (float32) within <paramref name="cutoff"/>, under the
    /// periodic <paramref name="cell"/> when given (its <see cref="Geometry.Reach"/> already checked).
    /// </summary>
    public static Edges Build(OnnxGraphBuilder g, OnnxValue x, Geometry? cell, double cutoff, int? maximumNeighbors, bool selfLoops)
    {
        var xd = g.Cast(x, OnnxElementType.Double);                                                                  // [N, 3]
        OnnxValue central, copies, zeroImage;
        OnnxValue? wrap = null, images = null;
        if (cell is null)
        {
            central = xd;
            copies = g.Unsqueeze(xd, [1]);                                                                           // [N, 1, 3]
            zeroImage = g.Cast(g.AddInitializer("zero_image", [1L], 1), OnnxElementType.Bool);
        }
        else
        {
            OnnxValue Basis(int k) => g.Slice(cell.Basis, k, k + 1, 0);                                             // [1, 3]
            OnnxValue Column(OnnxValue v, int k) => g.Slice(v, k, k + 1, -1);
            // Fractional coordinates of the positions as given, floored along periodic directions: x' = x − w·Cell.
            var fractional = g.Add(g.Add(g.Mul(Column(xd, 0), g.Slice(cell.Inverse, 0, 1, 0)), g.Mul(Column(xd, 1), g.Slice(cell.Inverse, 1, 2, 0))),
                g.Mul(Column(xd, 2), g.Slice(cell.Inverse, 2, 3, 0)));
            wrap = g.Where(cell.Periodic, Op(g, "Floor", fractional), g.AddInitializer("no_wrap", [0.0]));           // [N, 3]
            central = xd;
            for (int k = 0; k < 3; k++) central = g.Sub(central, g.Mul(Column(wrap.Value, k), Basis(k)));
            var grid = Grid(g, cell.Reach);                                                                          // [M, 3] int64
            images = g.Cast(grid, OnnxElementType.Double);
            zeroImage = g.Equal(g.ReduceSum(Op(g, "Abs", grid), [1], keepDims: false), g.AddInitializer("zero_l", [0L]));
            copies = g.Unsqueeze(central, [1]);
            for (int k = 0; k < 3; k++) copies = g.Add(copies, g.Unsqueeze(g.Mul(Column(images.Value, k), Basis(k)), [0]));   // [N, M, 3]
        }

        // d² [i, j, m] = ‖copy(j, m) − x'_i‖², summed x, y, z in turn.
        OnnxValue? d2 = null;
        for (int c = 0; c < 3; c++)
        {
            var e = g.Sub(g.Unsqueeze(g.Squeeze(g.Slice(copies, c, c + 1, 2), [2]), [0]), g.Unsqueeze(g.Slice(central, c, c + 1, 1), [2]));
            var square = g.Mul(e, e);
            d2 = d2 is null ? square : g.Add(d2.Value, square);
        }
        var count = g.Squeeze(g.Slice(g.Shape(x), 0, 1, 0), [0]);
        var index = Op(g, "Range", g.AddInitializer("range_start", [0L]), count, g.AddInitializer("range_step", [1L]));
        var same = g.Unsqueeze(g.Equal(g.Unsqueeze(index, [1]), g.Unsqueeze(index, [0])), [2]);                        // [N, N, 1]
        var self = Op(g, "And", same, g.Reshape(zeroImage, [1, 1, -1]));                                              // [N, N, M]
        var inside = Op(g, "Less", d2!.Value, g.AddInitializer("cutoff2_d", [cutoff * cutoff]));
        var neighbours = Op(g, "And", inside, Op(g, "Not", self));
        if (maximumNeighbors is int limit) neighbours = Nearest(g, neighbours, d2.Value, limit);
        if (selfLoops) neighbours = Op(g, "Or", neighbours, self);

        var found = Op(g, "NonZero", neighbours);                                                                     // [3, E]: i, j, m in row-major order
        OnnxValue Part(int k) => g.Squeeze(g.Slice(found, k, k + 1, 0), [0]);
        var (receivers, senders) = (Part(0), Part(1));
        if (cell is null) return new Edges(senders, receivers, null);
        // The image relative to the positions as given: m − w_j + w_i, and its Cartesian shift n·Cell.
        var n = g.Add(g.Sub(g.Gather(images!.Value, Part(2)), g.Gather(wrap!.Value, senders)), g.Gather(wrap.Value, receivers));   // [E, 3]
        OnnxValue? shift = null;
        for (int k = 0; k < 3; k++)
        {
            var term = g.Mul(g.Slice(n, k, k + 1, 1), g.Slice(cell.Rows, k, k + 1, 0));
            shift = shift is null ? term : g.Add(shift.Value, term);
        }
        return new Edges(senders, receivers, g.Cast(shift!.Value, OnnxElementType.Float));
    }

    /// <summary>
    /// <paramref name="value"/> (of rank <paramref name="rank"/>) passed through a reshape that fails when
    /// <paramref name="refused"/> ([1] bool) holds, in a node named after <paramref name="reason"/>, which ONNX
    /// Runtime's error quotes; every output that depends on the value depends on the check.
    /// </summary>
    public static OnnxValue Refuse(OnnxGraphBuilder g, OnnxValue value, int rank, OnnxValue refused, string reason)
    {
        var extra = g.Cast(refused, OnnxElementType.Int64);
        var pad = rank > 1 ? g.Concat([g.Int64s(new long[rank - 1]), extra], 0) : extra;
        var checkedValue = g.AddNode("Reshape", [value, g.Add(g.Shape(value), pad)])[0];
        g.NameLastNode(reason);
        return checkedValue;
    }

    /// <summary>Each receiver's <paramref name="limit"/> nearest candidates by (d², flattened sender·M + image), as <see cref="RadiusGraph"/> keeps them.</summary>
    private static OnnxValue Nearest(OnnxGraphBuilder g, OnnxValue candidates, OnnxValue d2, int limit)
    {
        var infinity = g.AddInitializer("far", [double.PositiveInfinity]);
        var keys = g.Reshape(g.Where(candidates, d2, infinity), [0, -1]);                                              // [N, N·M]
        var k = Op(g, "Min", g.Int64s(limit), g.Slice(g.Shape(keys), 1, 2, 0));
        var top = g.AddNode("TopK", [keys, k], 2, [OnnxGraphBuilder.Int("axis", 1), OnnxGraphBuilder.Int("largest", 0), OnnxGraphBuilder.Int("sorted", 1)]);
        var kept = g.Cast(Op(g, "Less", top[0], infinity), OnnxElementType.Float);
        var chosen = g.AddNode("ScatterElements", [g.Zeros(g.Shape(keys)), top[1], kept], 1, [OnnxGraphBuilder.Int("axis", 1)])[0];
        return g.AddNode("Reshape", [g.Greater(chosen, g.Scalar(0.5f, "chosen_half")), g.Shape(d2)])[0];                // [N, N, M]
    }

    /// <summary>The images −reach..reach along each direction, [M, 3] int64 in lexicographic (a, b, c) order.</summary>
    private static OnnxValue Grid(OnnxGraphBuilder g, OnnxValue reach)
    {
        var whole = g.Cast(reach, OnnxElementType.Int64);
        var axes = new OnnxValue[3];
        long[][] shapes = [[-1, 1, 1, 1], [1, -1, 1, 1], [1, 1, -1, 1]];
        for (int k = 0; k < 3; k++)
        {
            var r = g.Squeeze(g.Slice(whole, k, k + 1, 0), [0]);
            var range = Op(g, "Range", g.Neg(r), g.Add(r, g.AddInitializer("grid_one", [1L])), g.AddInitializer("grid_step", [1L]));
            axes[k] = g.Reshape(range, shapes[k]);
        }
        var zero = g.AddInitializer("grid_zero", [0L]);
        var box = g.Add(g.Add(g.Mul(axes[0], zero), g.Mul(axes[1], zero)), g.Mul(axes[2], zero));                    // [Ma, Mb, Mc, 1]
        return g.Reshape(g.Concat([g.Add(axes[0], box), g.Add(axes[1], box), g.Add(axes[2], box)], -1), [-1, 3]);
    }
}
