using MLExtensions.Onnx.Graph;

namespace MLExtensions.Equivariant;

/// <summary>
/// <see cref="LatticeFrame"/> in ONNX operators: the frames of the clouds' cells, edge vectors turned into them and
/// gradients turned back, and the virial of an energy read in them.
/// </summary>
internal static class PonitaOnnxLatticeFrame
{
    /// <summary>The clouds' frames [B, 3, 3] (axes as columns) and each edge's [E, 3, 3] (its receiver's cloud's).</summary>
    public sealed record Frames(OnnxValue Clouds, OnnxValue EdgeAxes);

    /// <summary>The frames of <paramref name="cells"/> [B, 3, 3] (lattice vectors as rows), as <see cref="LatticeFrame.Of"/>.</summary>
    public static Frames Of(OnnxGraphBuilder g, OnnxValue cells, OnnxValue graphIndex, OnnxValue receivers)
    {
        var a = g.Gather(cells, g.AddInitializer("lattice_row_a", [0L], 1), 1);                                   // [B, 1, 3]
        var b = g.Gather(cells, g.AddInitializer("lattice_row_b", [1L], 1), 1);
        var tiny = g.Scalar(1e-30f, "lattice_tiny");
        var aLength = Length(g, a);                                                                           // [B, 1, 1]
        var first = g.Div(a, g.Max(aLength, tiny));
        var across = g.Sub(b, g.Mul(first, g.ReduceSum(g.Mul(b, first), [-1])));
        var acrossLength = Length(g, across);
        var second = g.Div(across, g.Max(acrossLength, tiny));
        var third = PonitaOnnxCell.Cross(g, first, second);
        OnnxValue Column(OnnxValue axis) => g.Reshape(axis, [-1, 3, 1]);
        var frame = g.Concat([Column(first), Column(second), Column(third)], 2);                               // [B, 3, 3]: axes as columns
        var defined = PonitaOnnxCell.Op(g, "And", g.Greater(aLength, g.Scalar(0f, "lattice_zero")),
            g.Greater(acrossLength, g.Mul(Length(g, b), g.Scalar(1e-6f, "lattice_parallel"))));                 // [B, 1, 1]
        var clouds = g.Where(defined, frame, g.AddInitializer("lattice_identity", [1f, 0, 0, 0, 1f, 0, 0, 0, 1f], 1, 3, 3));
        return new Frames(clouds, g.Gather(clouds, g.Gather(graphIndex, receivers)));
    }

    /// <summary>Edge vectors [E, 3] in their frames: r·F.</summary>
    public static OnnxValue Turn(OnnxGraphBuilder g, Frames frames, OnnxValue relative) => g.Einsum("ea,eab->eb", [relative, frames.EdgeAxes]);

    /// <summary>A gradient with respect to turned edge vectors [E, 3] back to the edge vectors as given: ∂E/∂r = ∂E/∂r′·Fᵀ.</summary>
    public static OnnxValue TurnBack(OnnxGraphBuilder g, Frames frames, OnnxValue gradTurned) => g.Einsum("eb,eab->ea", [gradTurned, frames.EdgeAxes]);

    /// <summary>
    /// The virial [B, 9] of the unsymmetrised G = Σ_e (∂E/∂r_e) r_eᵀ [B, 9] (row-major): F·(upper(G′) + upper(G′)ᵀ − diag(G′))·Fᵀ
    /// with G′ = Fᵀ G F (see <see cref="LatticeFrame.Virial"/>).
    /// </summary>
    public static OnnxValue Virial(OnnxGraphBuilder g, Frames frames, OnnxValue unsymmetrised)
    {
        var f = frames.Clouds;
        var turned = g.Reshape(g.MatMul(g.Einsum("bka,bkl->bal", [f, g.Reshape(unsymmetrised, [-1, 3, 3])]), f), [-1, 9]);
        // Entry (r, c) of the symmetric matrix reads G′ at (min, max): the upper triangle mirrored.
        var upper = g.Reshape(g.Gather(turned, g.AddInitializer("lattice_upper", [0L, 1L, 2L, 1L, 4L, 5L, 2L, 5L, 8L], 9), 1), [-1, 3, 3]);
        return g.Reshape(g.Einsum("bal,bcl->bac", [g.MatMul(f, upper), f]), [-1, 9]);
    }

    private static OnnxValue Length(OnnxGraphBuilder g, OnnxValue v) => g.Sqrt(g.ReduceSum(g.Mul(v, v), [-1]));
}
