using TorchSharp;
using static MLExtensions.Torch.HeldScalars;
using static TorchSharp.torch;

namespace MLExtensions.Equivariant;

/// <summary>
/// A canonical frame per periodic cloud that turns with the crystal: the first lattice vector a gives the first axis,
/// b's part across a the second, and their cross product the third (the orientation LAMMPS and ASE's "standard form"
/// give a cell). Edge vectors expressed in it are invariant under rotations of the points together with their cell, so
/// a fixed orientation grid sees every pose of a crystal alike; supercells and lattice translations keep it.
/// </summary>
/// <remarks>
/// <para>The frame depends on the cell only, so forces through it are the exact gradient. The stress is not the plain
/// symmetrised virial: a strain also turns the frame, and in frame coordinates that turn cancels the part of the strain
/// that would move a off its axis or b out of its plane, leaving an upper-triangular deformation. Its virial is
/// <see cref="Virial"/>: W = F·(upper(G′) + upper(G′)ᵀ − diag(G′))·Fᵀ with G′ = Fᵀ G F, G = Σ_e (∂E/∂r_e) r_eᵀ the
/// unsymmetrised virial, F the frame (axes as columns).</para>
/// <para>Open clouds (a zero cell), and cells whose a is zero or whose b is parallel to a (the first two rows do not
/// span a plane), get the identity: the fixed grid, invariant up to its resolution.</para>
/// </remarks>
internal static class LatticeFrame
{
    /// <summary>b's part across a below this fraction of |b| counts as parallel.</summary>
    private const double ParallelTolerance = 1e-6;

    /// <summary>The frames [B, 3, 3] (axes as columns) of cells [B, 3, 3] (lattice vectors as rows); constant (no gradient).</summary>
    public static Tensor Of(Tensor cells)
    {
        using var noGrad = no_grad();
        var a = cells[.., 0, ..];
        var b = cells[.., 1, ..];
        var aLength = a.norm(1, keepdim: true);                                                             // [B, 1]
        var first = a.div(aLength.clamp_min(float.Epsilon));
        var across = Minus(b, first.mul(b.mul(first).sum(-1, keepdim: true)));
        var acrossLength = across.norm(1, keepdim: true);
        var second = across.div(acrossLength.clamp_min(float.Epsilon));
        var third = linalg.cross(first, second);
        var frame = stack([first, second, third], -1);                                                       // [B, 3, 3], columns
        using var tolerance = ParallelTolerance.ToScalar();
        var defined = aLength.gt(Zero).logical_and(acrossLength.gt(b.norm(1, keepdim: true).mul(tolerance))).view(-1, 1, 1);
        return where(defined, frame, eye(3, dtype: cells.dtype, device: cells.device));
    }

    /// <summary>
    /// The virial ∂E/∂ε [B, 3, 3] (symmetric) of an energy computed in the frames <paramref name="frames"/> from the
    /// unsymmetrised Σ_e (∂E/∂r_e) r_eᵀ <paramref name="unsymmetrised"/> [B, 3, 3] taken with the frames held fixed.
    /// </summary>
    public static Tensor Virial(Tensor unsymmetrised, Tensor frames)
    {
        var turned = frames.transpose(1, 2).matmul(unsymmetrised).matmul(frames);                          // G′ = Fᵀ G F
        var upper = turned.triu();
        var symmetric = Minus(Plus(upper, upper.transpose(1, 2)), turned.diagonal(0, 1, 2).diag_embed());
        return frames.matmul(symmetric).matmul(frames.transpose(1, 2));
    }
}
