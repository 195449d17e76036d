using MLExtensions.Mlp;
using static TorchSharp.torch;

namespace MLExtensions.Nas;

/// <summary>
/// How much each choice of each decision counts in one supernet forward pass: probabilities (gradient search), a
/// Dirichlet sample (DrNAS) or one-hot rows (a single path). Choices are in <see cref="NasSearchSpace"/> order with
/// depths and widths ascending.
/// </summary>
/// <param name="Depth">[depth choices].</param>
/// <param name="Width">[maximum depth, width choices]: one row per hidden layer.</param>
/// <param name="Activation">[activation decisions, activation choices]: one row for the network, or one per hidden layer.</param>
/// <param name="Residual">[residual choices]: (off) or (off, on).</param>
internal sealed record ArchitectureWeights(Tensor Depth, Tensor Width, Tensor Activation, Tensor Residual)
{
    /// <summary>
    /// The path these weights select when they are one-hot by construction (<see cref="OneHot"/>): the supernet then
    /// runs the sliced sub-network directly, which gives the same numbers as the entangled pass at a fraction of the
    /// cost. Null for mixed weights.
    /// </summary>
    public ArchitecturePath? Path { get; init; }

    /// <summary>One-hot weights selecting <paramref name="path"/>.</summary>
    public static ArchitectureWeights OneHot(NasSearchSpace space, ArchitecturePath path, Device device)
    {
        static float[] Row(int length, int hot)
        {
            var row = new float[length];
            row[hot] = 1f;
            return row;
        }
        var widths = Enumerable.Range(0, space.MaximumDepth).SelectMany(l => Row(space.Widths.Length, path.Widths[l])).ToArray();
        var activations = Enumerable.Range(0, space.ActivationDecisions).SelectMany(l => Row(space.Activations.Length, path.Activations[l])).ToArray();
        return new ArchitectureWeights(tensor(Row(space.Depths.Length, path.Depth), device: device),
            tensor(widths, [space.MaximumDepth, space.Widths.Length], device: device),
            tensor(activations, [space.ActivationDecisions, space.Activations.Length], device: device), tensor(Row(space.ResidualChoices.Length, path.Residual), device: device))
        {
            Path = path,
        };
    }

    /// <summary>The same weights cut from the autograd graph (for the weight step of alternating search).</summary>
    public ArchitectureWeights Detach() => new(Depth.detach(), Width.detach(), Activation.detach(), Residual.detach());
}

/// <summary>
/// One architecture as choice indices into a <see cref="NasSearchSpace"/> (depths and widths in ascending order).
/// Layers beyond the depth carry a width index too (ignored), so every path has the supernet's shape.
/// </summary>
/// <param name="Depth">Index of the depth.</param>
/// <param name="Widths">Width index per hidden layer, <see cref="NasSearchSpace.MaximumDepth"/> of them.</param>
/// <param name="Activations">
/// Index of the activation per activation decision (<see cref="NasSearchSpace.ActivationDecisions"/> of them: one for
/// the network, or one per hidden layer).
/// </param>
/// <param name="Residual">Index of the residual choice (0 off, 1 on).</param>
internal sealed record ArchitecturePath(int Depth, int[] Widths, int[] Activations, int Residual)
{
    /// <summary>The path with activation decision <paramref name="decision"/> set to choice <paramref name="choice"/>.</summary>
    public ArchitecturePath WithActivation(int decision, int choice)
    {
        var activations = Activations.ToArray();
        activations[decision] = choice;
        return this with { Activations = activations };
    }

    /// <summary>The architecture the path denotes.</summary>
    public MlpArchitecture ToArchitecture(NasSearchSpace space)
    {
        var depths = space.SortedDepths;
        var widths = space.SortedWidths;
        int depth = depths[Depth];
        if (depth == 0) return space.Linear;
        var activations = Enumerable.Range(0, depth).Select(l => space.Activations[Activations[space.ActivationPerLayer ? l : 0]]).ToArray();
        return MlpArchitecture.WithLayerActivations(Widths.Take(depth).Select(w => widths[w]).ToArray(), activations, depth > 1 && space.ResidualChoices[Residual]);
    }

    /// <summary>The path of <paramref name="architecture"/> (unused layers get the first width).</summary>
    public static ArchitecturePath From(NasSearchSpace space, MlpArchitecture architecture)
    {
        var depths = space.SortedDepths;
        var widths = space.SortedWidths;
        var layers = new int[space.MaximumDepth];
        for (int l = 0; l < architecture.HiddenLayerSizes.Count; l++) layers[l] = Array.IndexOf(widths, architecture.HiddenLayerSizes[l]);
        // A linear model's activation is unused and may lie outside the space: its path takes the first (as unused layers do).
        var activations = new int[space.ActivationDecisions];
        for (int l = 0; l < Math.Min(activations.Length, architecture.HiddenLayerSizes.Count); l++)
            activations[l] = Array.IndexOf(space.Activations, architecture.ActivationOf(l));
        return new ArchitecturePath(Array.IndexOf(depths, architecture.HiddenLayerSizes.Count), layers, activations, architecture.Residual ? 1 : 0);
    }
}
