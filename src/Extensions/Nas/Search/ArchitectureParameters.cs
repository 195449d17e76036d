using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLExtensions.Nas;

/// <summary>How architecture weights are drawn from α in gradient search.</summary>
public enum ArchitectureSampler
{
    /// <summary>DARTS: the weights are softmax(α).</summary>
    Softmax,

    /// <summary>
    /// DrNAS: the weights are a Dirichlet sample with concentration elu(α) + 1, drawn by normalised Gamma variates so
    /// that gradients flow back to α (pathwise derivative).
    /// </summary>
    Dirichlet,
}

/// <summary>The probabilities of one decision's choices at one moment of a search.</summary>
/// <param name="Decision">The decision ("depth", "width 1", …, "activation", "residual").</param>
/// <param name="Choices">The choices, as text.</param>
/// <param name="Probabilities">Their probabilities (sum 1).</param>
public sealed record DecisionProbabilities(string Decision, IReadOnlyList<string> Choices, IReadOnlyList<double> Probabilities);

/// <summary>The architecture parameters α of gradient search, one vector per decision.</summary>
internal sealed class ArchitectureParameters : IDisposable
{
    private readonly NasSearchSpace _space;

    public ArchitectureParameters(NasSearchSpace space, Device device)
    {
        _space = space;
        Depth = new Parameter(zeros(space.Depths.Length, device: device));
        Width = new Parameter(zeros(space.MaximumDepth, space.Widths.Length, device: device));
        Activation = new Parameter(zeros(space.Activations.Length, device: device));
        Residual = new Parameter(zeros(space.ResidualChoices.Length, device: device));
    }

    public Parameter Depth { get; }

    public Parameter Width { get; }

    public Parameter Activation { get; }

    public Parameter Residual { get; }

    public IEnumerable<Parameter> All => [Depth, Width, Activation, Residual];

    /// <summary>Architecture weights for one forward pass; differentiable in α.</summary>
    public ArchitectureWeights Weights(ArchitectureSampler sampler, Generator? generator) => sampler == ArchitectureSampler.Softmax
        ? new ArchitectureWeights(Depth.softmax(0), Width.softmax(1), Activation.softmax(0), Residual.softmax(0))
        : new ArchitectureWeights(Dirichlet(Depth, generator), Dirichlet(Width, generator), Dirichlet(Activation, generator), Dirichlet(Residual, generator));

    /// <summary>Dir(elu(α) + 1) along the last axis, reparameterised through Gamma variates.</summary>
    private static Tensor Dirichlet(Tensor alpha, Generator? generator)
    {
        var concentration = Concentration(alpha);
        var gamma = _standard_gamma(concentration, generator).clamp_min(MLExtensions.Torch.HeldScalars.Tiny);
        return gamma / gamma.sum(-1, keepdim: true);
    }

    /// <summary>DrNAS's concentration elu(α) + 1, i.e. α + 1 for α &gt; 0 and e^α otherwise (written with held scalars).</summary>
    private static Tensor Concentration(Tensor alpha) =>
        where(alpha.gt(MLExtensions.Torch.HeldScalars.Zero), MLExtensions.Torch.HeldScalars.PlusOne(alpha), alpha.exp());

    /// <summary>The current distribution over each decision: softmax(α), or the Dirichlet mean.</summary>
    public IReadOnlyList<DecisionProbabilities> Probabilities(ArchitectureSampler sampler)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        double[] Of(Tensor a) => (sampler == ArchitectureSampler.Softmax
            ? a.softmax(-1)
            : Concentration(a).div(Concentration(a).sum(-1, keepdim: true))).cpu().to_type(ScalarType.Float64).data<double>().ToArray();
        var list = new List<DecisionProbabilities> { new("depth", _space.SortedDepths.Select(d => d.ToString()).ToArray(), Of(Depth)) };
        var widths = Of(Width);
        var widthNames = _space.SortedWidths.Select(w => w.ToString()).ToArray();
        for (int l = 0; l < _space.MaximumDepth; l++)
            list.Add(new($"width {l + 1}", widthNames, widths.Skip(l * widthNames.Length).Take(widthNames.Length).ToArray()));
        list.Add(new("activation", _space.Activations.Select(a => a.ToString()).ToArray(), Of(Activation)));
        list.Add(new("residual", _space.ResidualChoices.Select(r => r ? "yes" : "no").ToArray(), Of(Residual)));
        return list;
    }

    public void Dispose()
    {
        foreach (var t in All) t.Dispose();
    }
}

/// <summary>Managed helpers over per-decision probabilities: the most likely path and the probability of any path.</summary>
internal static class PathProbabilities
{
    /// <summary>Argmax of every decision (the discretisation of gradient search).</summary>
    public static ArchitecturePath Argmax(IReadOnlyList<DecisionProbabilities> decisions, NasSearchSpace space)
    {
        static int ArgMax(IReadOnlyList<double> p) => Enumerable.Range(0, p.Count).MaxBy(i => p[i]);
        return new ArchitecturePath(ArgMax(decisions[0].Probabilities),
            Enumerable.Range(0, space.MaximumDepth).Select(l => ArgMax(decisions[1 + l].Probabilities)).ToArray(),
            ArgMax(decisions[^2].Probabilities), ArgMax(decisions[^1].Probabilities));
    }

    /// <summary>The probability of <paramref name="architecture"/>: the product over the decisions it uses.</summary>
    public static double Of(IReadOnlyList<DecisionProbabilities> decisions, NasSearchSpace space, MlpArchitecture architecture)
    {
        var path = ArchitecturePath.From(space, architecture);
        int depth = architecture.HiddenLayerSizes.Count;
        double p = decisions[0].Probabilities[path.Depth] * decisions[^2].Probabilities[path.Activation];
        for (int l = 0; l < depth; l++) p *= decisions[1 + l].Probabilities[path.Widths[l]];
        if (depth > 1) p *= decisions[^1].Probabilities[path.Residual];
        return p;
    }
}
