using MLExtensions.Mlp;
using MLExtensions.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLExtensions.Nas;

/// <summary>How architecture weights are drawn from α in gradient search.</summary>
public enum ArchitectureSampler
{
    /// <summary>DARTS: the weights are softmax(α).</summary>
    Softmax,

    /// <summary>
    /// The weights are sparsemax(α), the Euclidean projection of α onto the simplex (Martins &amp; Astudillo, 2016):
    /// like softmax, but choices far behind get exactly zero weight, so the supernet stops mixing them in.
    /// </summary>
    Sparsemax,

    /// <summary>
    /// DrNAS: the weights are a Dirichlet sample with concentration elu(α) + 1, drawn by normalised Gamma variates so
    /// that gradients flow back to α (pathwise derivative).
    /// </summary>
    Dirichlet,
}

/// <summary>How gradient search takes α's gradient on a batch of the α rows.</summary>
public enum ArchitectureGradient
{
    /// <summary>
    /// The paper's: backpropagation through the entangled supernet at the mixed weights. With ReLU a width's weight
    /// scales its units (a row of one layer's weight and a column of the next's), so the gradient mostly says whether
    /// shrinking the wide units helps, which an overfitted supernet always answers yes.
    /// </summary>
    Relaxed,

    /// <summary>
    /// The gradient of the expected α-row loss over sub-networks drawn from α's distribution: for each decision, one
    /// path is drawn and every choice of that decision evaluated on it as a one-hot sub-network (width masks 0 or 1, so
    /// no rescaling to exploit), and α moves by Σ_c ∂p_c/∂α · loss_c. Weight steps then train one path drawn from α's
    /// distribution, so that the sub-networks compared are the ones trained.
    /// </summary>
    SampledPaths,
}

/// <summary>DrNAS's regulariser of the architecture parameters (gradient search with <see cref="ArchitectureSampler.Dirichlet"/>).</summary>
public enum DirichletRegularizer
{
    /// <summary>DrNAS's default ("l2"): an L2 penalty on α itself, as Adam's weight decay (<c>ArchitectureWeightDecay</c>); no term is added to the loss.</summary>
    L2,

    /// <summary>
    /// DrNAS's "kl": <c>scale · Σ KL(Dir(elu(α) + 1) ‖ Dir(anchor))</c> added to the architecture loss (and no weight
    /// decay on α), which keeps the distribution from collapsing early.
    /// </summary>
    KullbackLeibler,
}

/// <summary>The probabilities of one decision's choices at one moment of a search.</summary>
/// <param name="Decision">The decision ("depth", "width 1", …, "activation" or "activation 1", …, "residual").</param>
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
        Activation = new Parameter(zeros(space.ActivationDecisions, space.Activations.Length, device: device));
        Residual = new Parameter(zeros(space.ResidualChoices.Length, device: device));
    }

    public Parameter Depth { get; }

    public Parameter Width { get; }

    public Parameter Activation { get; }

    public Parameter Residual { get; }

    public IEnumerable<Parameter> All => [Depth, Width, Activation, Residual];

    /// <summary>Architecture weights for one forward pass; differentiable in α.</summary>
    public ArchitectureWeights Weights(ArchitectureSampler sampler, Generator? generator) => sampler switch
    {
        ArchitectureSampler.Softmax => new(Depth.softmax(-1), Width.softmax(-1), Activation.softmax(-1), Residual.softmax(-1)),
        ArchitectureSampler.Sparsemax => new(Sparsemax(Depth), Sparsemax(Width), Sparsemax(Activation), Sparsemax(Residual)),
        _ => new(Dirichlet(Depth, generator), Dirichlet(Width, generator), Dirichlet(Activation, generator), Dirichlet(Residual, generator)),
    };

    /// <summary>DrNAS's KL term: Σ over decisions of KL(Dir(elu(α) + 1) ‖ Dir(anchor·1)).</summary>
    public Tensor KullbackLeiblerPenalty(double anchor)
    {
        Tensor? total = null;
        foreach (var alpha in All)
        {
            var term = KullbackLeibler(Concentration(alpha), anchor);
            total = total is null ? term : HeldScalars.Plus(total, term);
        }
        return total!;
    }

    /// <summary>KL(Dir(a) ‖ Dir(b·1)) summed over the rows of <paramref name="a"/> (choices along the last axis).</summary>
    private static Tensor KullbackLeibler(Tensor a, double b)
    {
        long k = a.shape[^1];
        var a0 = a.sum(-1);
        double[] logGamma;
        using (var values = tensor(new[] { k * b, b }, dtype: ScalarType.Float64)) using (var lg = values.lgamma()) logGamma = lg.data<double>().ToArray();
        using var priorNormaliser = (logGamma[0] - k * logGamma[1]).ToScalar();
        using var prior = b.ToScalar();
        // ln Γ(a0) − Σ ln Γ(a_i) − [ln Γ(k·b) − k·ln Γ(b)] + Σ (a_i − b)(ψ(a_i) − ψ(a0))
        var cross = a.sub(prior).mul(HeldScalars.Minus(a.digamma(), a0.digamma().unsqueeze(-1))).sum(-1);
        return HeldScalars.Plus(HeldScalars.Minus(a0.lgamma(), a.lgamma().sum(-1)), cross).sub(priorNormaliser).sum();
    }

    /// <summary>sparsemax along the last axis: max(α − τ, 0) with τ chosen so the row sums to 1.</summary>
    private static Tensor Sparsemax(Tensor alpha)
    {
        long k = alpha.shape[^1];
        var sorted = alpha.sort(-1, descending: true).Values;
        var cumulative = sorted.cumsum(-1);
        var ranks = arange(1, k + 1, dtype: alpha.dtype, device: alpha.device);
        // The support is every rank r with 1 + r·z_(r) > Σ_{j≤r} z_(j); it is a prefix of the sorted order.
        var support = HeldScalars.PlusOne(ranks.mul(sorted)).gt(cumulative);
        var size = support.sum(-1, keepdim: true, type: ScalarType.Int64);
        var threshold = cumulative.gather(-1, size.sub(HeldScalars.IntegerOne)).sub(HeldScalars.One).div(size.to(alpha.dtype));
        return nn.functional.relu(HeldScalars.Minus(alpha, threshold));
    }

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
        // A linear-only space has no hidden layer: its width α is empty.
        double[] Of(Tensor a) => a.numel() == 0 ? [] : (sampler switch
        {
            ArchitectureSampler.Softmax => a.softmax(-1),
            ArchitectureSampler.Sparsemax => Sparsemax(a),
            _ => Concentration(a).div(Concentration(a).sum(-1, keepdim: true)),
        }).cpu().to_type(ScalarType.Float64).data<double>().ToArray();
        var list = new List<DecisionProbabilities> { new("depth", _space.SortedDepths.Select(d => d.ToString()).ToArray(), Of(Depth)) };
        var widths = Of(Width);
        var widthNames = _space.SortedWidths.Select(w => w.ToString()).ToArray();
        for (int l = 0; l < _space.MaximumDepth; l++)
            list.Add(new($"width {l + 1}", widthNames, widths.Skip(l * widthNames.Length).Take(widthNames.Length).ToArray()));
        var activations = Of(Activation);
        var activationNames = _space.Activations.Select(a => a.ToString()).ToArray();
        for (int l = 0; l < _space.ActivationDecisions; l++)
            list.Add(new(_space.ActivationPerLayer ? $"activation {l + 1}" : "activation", activationNames,
                activations.Skip(l * activationNames.Length).Take(activationNames.Length).ToArray()));
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
            Enumerable.Range(0, space.ActivationDecisions).Select(l => ArgMax(decisions[ActivationDecision(space, l)].Probabilities)).ToArray(),
            ArgMax(decisions[^1].Probabilities));
    }

    /// <summary>
    /// The index of activation decision <paramref name="decision"/> in the list of decisions: depth, the widths, the
    /// activations (one, or one per layer), residual.
    /// </summary>
    public static int ActivationDecision(NasSearchSpace space, int decision) => 1 + space.MaximumDepth + decision;

    /// <summary>The probability of <paramref name="architecture"/>: the product over the decisions it uses.</summary>
    public static double Of(IReadOnlyList<DecisionProbabilities> decisions, NasSearchSpace space, MlpArchitecture architecture)
    {
        var path = ArchitecturePath.From(space, architecture);
        int depth = architecture.HiddenLayerSizes.Count;
        double p = decisions[0].Probabilities[path.Depth];
        // The linear model has no activation; a per-layer space decides one for each layer the path uses.
        int activationDecisions = depth == 0 ? 0 : space.ActivationPerLayer ? depth : 1;
        for (int l = 0; l < activationDecisions; l++) p *= decisions[ActivationDecision(space, l)].Probabilities[path.Activations[l]];
        for (int l = 0; l < depth; l++) p *= decisions[1 + l].Probabilities[path.Widths[l]];
        if (depth > 1) p *= decisions[^1].Probabilities[path.Residual];
        return p;
    }
}
