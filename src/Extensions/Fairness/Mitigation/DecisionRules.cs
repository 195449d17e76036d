using System.Globalization;
using MLExtensions.Fairness.Tradeoff;

namespace MLExtensions.Fairness;

/// <summary>A deterministic decision on a score s: positive when <c>Sign·s ≥ Threshold</c> (±∞ for never / always).</summary>
/// <param name="Sign">+1 (high scores positive) or −1 (the flipped prediction).</param>
/// <param name="Threshold">The threshold on <c>Sign·s</c>.</param>
public readonly record struct ThresholdRule(int Sign, double Threshold)
{
    /// <summary>Never positive.</summary>
    public static ThresholdRule Never => new(1, double.PositiveInfinity);

    /// <summary>Always positive.</summary>
    public static ThresholdRule Always => new(1, double.NegativeInfinity);

    /// <summary>The decision for score <paramref name="score"/>.</summary>
    public bool Apply(double score) => Sign * score >= Threshold;

    internal string Encode() => $"{Sign.ToString(CultureInfo.InvariantCulture)}:{Threshold.ToString("R", CultureInfo.InvariantCulture)}";

    internal static ThresholdRule Decode(string text)
    {
        var parts = text.Split(':');
        return new ThresholdRule(int.Parse(parts[0], CultureInfo.InvariantCulture), double.Parse(parts[1], CultureInfo.InvariantCulture));
    }

    /// <inheritdoc />
    public override string ToString() => double.IsPositiveInfinity(Threshold) ? "never" : double.IsNegativeInfinity(Threshold) ? "always"
        : Sign > 0 ? $"score ≥ {Threshold:G4}" : $"score ≤ {-Threshold:G4}";
}

/// <summary>One branch of a randomised rule: the deterministic <see cref="Rule"/>, taken by a share <see cref="Probability"/> of the rows.</summary>
/// <param name="Rule">The threshold rule.</param>
/// <param name="Probability">The share of rows (by their hash) that get it.</param>
public sealed record RuleBranch(ThresholdRule Rule, double Probability);

/// <summary>
/// The mitigated decision of one (client, group) cell: a row's hash u ∈ [0, 1) picks one of the
/// <see cref="Branches"/> (the first whose cumulative probability exceeds u) and the row gets that rule's decision.
/// The branches are vertices of the cell's ROC hull, so the cell's positive rate is <see cref="PositiveRate"/>, the
/// solver's (and, under equalized odds, its false and true positive rates are the solver's too).
/// </summary>
/// <param name="Client">The client (empty for the pooled rule).</param>
/// <param name="Group">The sensitive group (empty for the pooled rule).</param>
/// <param name="Branches">One to three rules and the share of rows each gets; the shares sum to 1.</param>
/// <param name="PositiveRate">The cell's positive rate on the fitting data.</param>
public sealed record CellDecisionRule(string Client, string Group, IReadOnlyList<RuleBranch> Branches, double PositiveRate)
{
    /// <summary>A rule mixing two deterministic rules: <paramref name="upper"/> for a share <paramref name="upperProbability"/>, else <paramref name="lower"/>.</summary>
    internal static CellDecisionRule Mix(string client, string group, ThresholdRule lower, ThresholdRule upper, double upperProbability, double positiveRate) =>
        new(client, group, upperProbability >= 1 ? [new RuleBranch(upper, 1)] : upperProbability <= 0 ? [new RuleBranch(lower, 1)]
            : [new RuleBranch(upper, upperProbability), new RuleBranch(lower, 1 - upperProbability)], positiveRate);

    /// <summary>Whether the rule randomises (more than one branch).</summary>
    public bool IsRandomised => Branches.Count > 1;

    /// <summary>The decision for a row with score <paramref name="score"/> and uniform hash <paramref name="u"/> ∈ [0, 1).</summary>
    public bool Apply(double score, double u)
    {
        double cumulative = 0;
        for (int i = 0; i < Branches.Count - 1; i++)
        {
            cumulative += Branches[i].Probability;
            if (u < cumulative) return Branches[i].Rule.Apply(score);
        }
        return Branches[^1].Rule.Apply(score);
    }

    /// <summary>The probability that a row with score <paramref name="score"/> is decided positive (over the draw).</summary>
    public double PositiveProbability(double score)
    {
        double p = 0;
        foreach (var b in Branches) if (b.Rule.Apply(score)) p += b.Probability;
        return p;
    }

    /// <inheritdoc />
    public override string ToString() => $"({Client}, {Group}): " + string.Join(" | ", Branches.Select(b => $"{b.Probability:P1} {b.Rule}"));
}
