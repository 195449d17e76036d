namespace MLExtensions.Equivariant;

/// <summary>What a PONITA pass computes, which fixes how many of its tensors are alive at its peak.</summary>
internal enum PonitaPass
{
    /// <summary>Energies (or vectors) without gradients; TorchSharp still keeps every tensor until its dispose scope ends.</summary>
    Energy,

    /// <summary>Energies and forces −∂E/∂x, the reverse pass not itself differentiated (validation, the export check).</summary>
    Forces,

    /// <summary>A training step on energies or vectors: the forward pass kept for the backward pass.</summary>
    Training,

    /// <summary>A training step on energies and forces: the forces' reverse pass is differentiated again.</summary>
    TrainingWithForces,
}

/// <summary>
/// An upper estimate of the bytes one PONITA evaluation holds at its peak, linear in the edges E and points P of the
/// clouds evaluated together: <c>Fixed + PerEdge·E + PerPoint·P</c>. <see cref="PonitaMemory"/> gives the
/// coefficients for an orientation grid of O, H channels and L blocks.
/// </summary>
/// <param name="PerEdge">Bytes per edge: the [E, O, H] tensors of the spatial convolution and the [E, O] invariants.</param>
/// <param name="PerPoint">Bytes per point: the [P, O, H] and [P, O, 4H] tensors of the spherical convolution and the blocks' MLPs.</param>
/// <param name="Fixed">Bytes independent of the clouds: the [O, O, H] spherical kernels and their embedding.</param>
internal readonly record struct PonitaMemoryCost(double PerEdge, double PerPoint, double Fixed)
{
    /// <summary>The estimate for <paramref name="edges"/> edges and <paramref name="points"/> points.</summary>
    public double Bytes(long edges, long points) => Fixed + PerEdge * edges + PerPoint * points;
}
