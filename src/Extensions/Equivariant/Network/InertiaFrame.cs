using TorchSharp;
using static MLExtensions.Torch.HeldScalars;
using static TorchSharp.torch;

namespace MLExtensions.Equivariant;

/// <summary>
/// A canonical frame per point cloud that turns with the cloud: the principal axes of its positions about their centroid
/// (eigenvectors of Σ (x − c)(x − c)ᵀ, smallest eigenvalue first): the two longer axes point where the cloud's third
/// moment along them is positive, the shortest completes a right-handed frame (so that planar clouds, with no third
/// moment across their plane, are oriented by their in-plane shape). Edge vectors expressed in this frame are
/// invariant under rotations and translations of the cloud, so a fixed orientation grid sees every pose alike.
/// </summary>
/// <remarks>
/// Where two eigenvalues come closer than <see cref="RelativeGap"/> of the largest (one or two points, linear molecules,
/// symmetric tops) the axes are not defined and the frame is the identity: the fixed grid, invariant only up to its
/// resolution. Where a third moment changes sign the frame turns by half a turn about one of its axes; on a grid those
/// half-turns map onto itself (<see cref="SphereGrid.HalfTurnSymmetric"/>) the energy is the same in either frame, so it
/// stays continuous there and forces through the frame stay the exact gradient. Across the degenerate set the energy
/// steps by the fixed grid's own invariance error.
/// </remarks>
internal static class InertiaFrame
{
    /// <summary>Eigenvalue gaps below this fraction of the largest eigenvalue count as degenerate.</summary>
    public const double RelativeGap = 1e-2;

    /// <summary>The frames [B, 3, 3] of the clouds of <paramref name="graph"/> (axes as columns), differentiable in the positions.</summary>
    public static Tensor Of(PointGraph graph)
    {
        var x = graph.Positions;
        var dtype = x.dtype;
        var counts = zeros(graph.GraphCount, 1, dtype: dtype, device: x.device).index_add(0, graph.Graph, ones(x.shape[0], 1, dtype: dtype, device: x.device), One);
        var centroids = zeros(graph.GraphCount, 3, dtype: dtype, device: x.device).index_add(0, graph.Graph, x, One).div(counts);
        var centred = Minus(x, centroids.index_select(0, graph.Graph));                                        // [P, 3]
        var second = zeros(graph.GraphCount, 3, 3, dtype: dtype, device: x.device)
            .index_add(0, graph.Graph, centred.unsqueeze(-1).mul(centred.unsqueeze(-2)), One);                // [B, 3, 3]
        Tensor degenerate;
        using (no_grad())
        {
            var values = linalg.eigvalsh(second);                                                               // ascending
            var gap = minimum(values[.., 1].sub(values[.., 0]), values[.., 2].sub(values[.., 1]));
            degenerate = gap.le(values[.., 2].mul(RelativeGap.ToScalar())).view(-1, 1, 1);
        }
        // Degenerate clouds solve a stand-in with distinct eigenvalues, so that no 1/gap reaches the gradient.
        var identity = eye(3, dtype: dtype, device: x.device);
        var safe = where(degenerate, diag(tensor(new[] { 1.0, 2.0, 3.0 }, dtype: dtype, device: x.device)), second);
        var (_, axes) = linalg.eigh(safe);                                                                      // [B, 3, 3], columns
        Tensor signs;
        using (no_grad())
        {
            var along = centred.unsqueeze(1).matmul(axes.index_select(0, graph.Graph)).squeeze(1);              // [P, 3]
            var third = zeros(graph.GraphCount, 3, dtype: dtype, device: x.device).index_add(0, graph.Graph, along.mul(along).mul(along), One);
            signs = where(third.ge(Zero), ones_like(third), ones_like(third).neg());
        }
        var middle = axes[.., .., 1].mul(signs[.., 1].unsqueeze(-1));
        var last = axes[.., .., 2].mul(signs[.., 2].unsqueeze(-1));
        var frame = stack([linalg.cross(middle, last), middle, last], -1);
        return where(degenerate, identity, frame);
    }

    /// <summary>Edge vectors [E, 3] expressed in the frame of their receiver's cloud: r·F.</summary>
    public static Tensor Turn(Tensor relative, Tensor frames, PointGraph graph)
    {
        var perEdge = frames.index_select(0, graph.Graph.index_select(0, graph.Receivers));                   // [E, 3, 3]
        return relative.unsqueeze(1).matmul(perEdge).squeeze(1);
    }
}
