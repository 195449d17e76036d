using MLExtensions.Mlp;

namespace MLExtensions.Nas;

/// <summary>
/// The architectures a search may choose from: a depth, a width per hidden layer (every width a slice of the widest
/// weight), one activation, and optionally residual connections. Each is a decision with a few choices. Depth 0 is the
/// linear model (features straight to the output layer): one architecture, whatever the activations and widths.
/// </summary>
public sealed class NasSearchSpace
{
    /// <summary>Candidate numbers of hidden layers, 0 (the linear model) to 16. Default: 0, 1, 2, 3, 4.</summary>
    public int[] Depths { get; set; } = [0, 1, 2, 3, 4];

    /// <summary>Candidate widths of every hidden layer. Default: 16, 32, 64, 128, 256.</summary>
    public int[] Widths { get; set; } = [16, 32, 64, 128, 256];

    /// <summary>Candidate activations. Default: ReLU, GELU, tanh.</summary>
    public MlpActivation[] Activations { get; set; } = [MlpActivation.Relu, MlpActivation.Gelu, MlpActivation.Tanh];

    /// <summary>
    /// Whether each hidden layer chooses its own activation (otherwise one activation serves the whole network).
    /// Per layer, depth d holds |Activations|^d times as many architectures as widths alone: the default space grows
    /// from 4,666 to 108,466, past what <c>RankingBudget</c> ranks whole, so the evolutionary search ranks a sample.
    /// Default: false.
    /// </summary>
    public bool ActivationPerLayer { get; set; }

    /// <summary>Whether residual connections are a choice (otherwise there are none). Default: true.</summary>
    public bool SearchResidual { get; set; } = true;

    /// <summary>The deepest candidate.</summary>
    public int MaximumDepth => Depths.Max();

    /// <summary>The widest candidate: every layer of the supernet has this width.</summary>
    public int MaximumWidth => Widths.Max();

    /// <summary>Depth choices in ascending order: the index order of the depth decision.</summary>
    internal int[] SortedDepths => Depths.Order().ToArray();

    /// <summary>Width choices in ascending order: the index order of every width decision.</summary>
    internal int[] SortedWidths => Widths.Order().ToArray();

    /// <summary>How many activation decisions a path makes: one per possible hidden layer, or one for the network.</summary>
    internal int ActivationDecisions => ActivationPerLayer ? MaximumDepth : 1;

    /// <summary>The residual choices: [false] or [false, true].</summary>
    internal bool[] ResidualChoices => SearchResidual ? [false, true] : [false];

    /// <summary>How many distinct architectures the space holds; <see cref="long.MaxValue"/> when it holds more.</summary>
    public long Count
    {
        get
        {
            // Exact in double below 2^53; deep spaces of many widths exceed even long (16 widths at depth 16 hold 2^64).
            // The linear model (depth 0) has no activation or residual to choose: it counts once.
            double count = Depths.Sum(d => d == 0 ? 1
                : Math.Pow(Widths.Length, d) * (d > 1 ? ResidualChoices.Length : 1) * Math.Pow(Activations.Length, ActivationPerLayer ? d : 1));
            return count >= long.MaxValue ? long.MaxValue : (long)count;
        }
    }

    /// <summary>Every architecture, in a fixed order (depth, then widths, activation, residual).</summary>
    public IEnumerable<MlpArchitecture> Enumerate()
    {
        if (Depths.Contains(0)) yield return Linear;
        foreach (int depth in Depths.Where(d => d > 0).Order())
            foreach (var widths in Combinations(depth, Widths.Order().ToArray()))
                foreach (var activations in ActivationPerLayer ? Combinations(depth, Activations) : Activations.Select(a => Enumerable.Repeat(a, depth).ToArray()))
                    foreach (bool residual in depth > 1 ? ResidualChoices : [false])
                        yield return MlpArchitecture.WithLayerActivations(widths, activations, residual);
    }

    /// <summary>Whether <paramref name="architecture"/> is in the space (a linear one whenever depth 0 is, whatever its unused activation).</summary>
    public bool Contains(MlpArchitecture architecture) =>
        Depths.Contains(architecture.HiddenLayerSizes.Count) && architecture.HiddenLayerSizes.All(Widths.Contains)
        && Enumerable.Range(0, architecture.HiddenLayerSizes.Count).All(l => Activations.Contains(architecture.ActivationOf(l)))
        && (ActivationPerLayer || architecture.LayerActivations is null) && (!architecture.Residual || SearchResidual);

    /// <summary>The space's linear model, written with the first activation (which it does not use) so that every path to it gives the same record.</summary>
    internal MlpArchitecture Linear => new([], Activations[0]);

    /// <summary>Every sequence of <paramref name="depth"/> choices, the last layer's varying fastest.</summary>
    private static IEnumerable<T[]> Combinations<T>(int depth, T[] choices)
    {
        var index = new int[depth];
        while (true)
        {
            yield return index.Select(i => choices[i]).ToArray();
            int d = depth - 1;
            while (d >= 0 && ++index[d] == choices.Length) index[d--] = 0;
            if (d < 0) yield break;
        }
    }

    /// <summary>Checks the space; messages name the setting and its value.</summary>
    public void Validate()
    {
        CheckChoices(Depths, nameof(Depths), "depth", "[0, 1, 2, 3]", 0, 16);
        CheckChoices(Widths, nameof(Widths), "width", "[16, 32, 64]", 1, 8192);
        if (Activations is null || Activations.Length == 0)
            throw new ArgumentException($"{nameof(Activations)} is {(Activations is null ? "null" : "empty")}: give at least one candidate activation, e.g. [MlpActivation.Relu].", nameof(Activations));
        if (Activations.Distinct().Count() != Activations.Length)
            throw new ArgumentException($"{nameof(Activations)} must be distinct, but it is [{string.Join(", ", Activations)}].", nameof(Activations));
    }

    private static void CheckChoices(int[]? choices, string option, string what, string example, int minimum, int maximum)
    {
        if (choices is null || choices.Length == 0)
            throw new ArgumentException($"{option} is {(choices is null ? "null" : "empty")}: give at least one candidate {what}, e.g. {example}.", option);
        foreach (int choice in choices)
            if (choice < minimum || choice > maximum)
                throw new ArgumentOutOfRangeException(option, choice, $"{option} must lie in {minimum}..{maximum}, but it holds {choice}.");
        if (choices.Distinct().Count() != choices.Length)
            throw new ArgumentException($"{option} must be distinct, but it is [{string.Join(", ", choices)}].", option);
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"depths {{{string.Join(",", Depths)}}} × widths {{{string.Join(",", Widths)}}} × activations {{{string.Join(",", Activations)}}}{(ActivationPerLayer ? " per layer" : "")}" +
        (SearchResidual ? " × residual {no,yes}" : "") + $": {Count} architectures";
}
