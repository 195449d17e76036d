using MLExtensions.Mlp;

namespace MLExtensions.Nas;

/// <summary>
/// The architectures a search may choose from: a depth, a width per hidden layer (every width a slice of the widest
/// weight), one activation, and optionally residual connections. Each is a decision with a few choices.
/// </summary>
public sealed class NasSearchSpace
{
    /// <summary>Candidate numbers of hidden layers. Default: 1, 2, 3, 4.</summary>
    public int[] Depths { get; set; } = [1, 2, 3, 4];

    /// <summary>Candidate widths of every hidden layer. Default: 16, 32, 64, 128, 256.</summary>
    public int[] Widths { get; set; } = [16, 32, 64, 128, 256];

    /// <summary>Candidate activations. Default: ReLU, GELU, tanh.</summary>
    public MlpActivation[] Activations { get; set; } = [MlpActivation.Relu, MlpActivation.Gelu, MlpActivation.Tanh];

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

    /// <summary>The residual choices: [false] or [false, true].</summary>
    internal bool[] ResidualChoices => SearchResidual ? [false, true] : [false];

    /// <summary>How many distinct architectures the space holds.</summary>
    public long Count => Depths.Sum(d => (long)Math.Pow(Widths.Length, d) * (d > 1 ? ResidualChoices.Length : 1)) * Activations.Length;

    /// <summary>Every architecture, in a fixed order (depth, then widths, activation, residual).</summary>
    public IEnumerable<MlpArchitecture> Enumerate()
    {
        foreach (int depth in Depths.Order())
            foreach (var widths in Combinations(depth))
                foreach (var activation in Activations)
                    foreach (bool residual in depth > 1 ? ResidualChoices : [false])
                        yield return new MlpArchitecture(widths, activation, residual);
    }

    /// <summary>Whether <paramref name="architecture"/> is in the space.</summary>
    public bool Contains(MlpArchitecture architecture) =>
        Depths.Contains(architecture.HiddenLayerSizes.Count) && architecture.HiddenLayerSizes.All(Widths.Contains)
        && Activations.Contains(architecture.Activation) && (!architecture.Residual || SearchResidual);

    private IEnumerable<int[]> Combinations(int depth)
    {
        var index = new int[depth];
        var widths = Widths.Order().ToArray();
        while (true)
        {
            yield return index.Select(i => widths[i]).ToArray();
            int d = depth - 1;
            while (d >= 0 && ++index[d] == widths.Length) index[d--] = 0;
            if (d < 0) yield break;
        }
    }

    /// <summary>Checks the space; messages name the setting.</summary>
    public void Validate()
    {
        if (Depths is null || Depths.Length == 0) throw new ArgumentException("Give at least one depth.", nameof(Depths));
        if (Depths.Any(d => d < 1 || d > 16)) throw new ArgumentOutOfRangeException(nameof(Depths), "Depths must lie in 1..16.");
        if (Depths.Distinct().Count() != Depths.Length) throw new ArgumentException("Depths must be distinct.", nameof(Depths));
        if (Widths is null || Widths.Length == 0) throw new ArgumentException("Give at least one width.", nameof(Widths));
        if (Widths.Any(w => w < 1 || w > 8192)) throw new ArgumentOutOfRangeException(nameof(Widths), "Widths must lie in 1..8192.");
        if (Widths.Distinct().Count() != Widths.Length) throw new ArgumentException("Widths must be distinct.", nameof(Widths));
        if (Activations is null || Activations.Length == 0) throw new ArgumentException("Give at least one activation.", nameof(Activations));
        if (Activations.Distinct().Count() != Activations.Length) throw new ArgumentException("Activations must be distinct.", nameof(Activations));
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"depths {{{string.Join(",", Depths)}}} × widths {{{string.Join(",", Widths)}}} × activations {{{string.Join(",", Activations)}}}" +
        (SearchResidual ? " × residual {no,yes}" : "") + $": {Count} architectures";
}
