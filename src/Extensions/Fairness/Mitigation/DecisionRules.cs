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

/// <summary>
/// The mitigated decision of one (client, group) cell: with probability <see cref="UpperProbability"/> (decided by
/// a hash of the row, not a random stream) the row gets <see cref="Upper"/>'s decision, else <see cref="Lower"/>'s.
/// The two are adjacent vertices of the cell's ROC hull, so the cell's positive rate is
/// <see cref="PositiveRate"/>, the solver's.
/// </summary>
/// <param name="Client">The client (empty for the pooled rule).</param>
/// <param name="Group">The sensitive group (empty for the pooled rule).</param>
/// <param name="Lower">The rule with the lower positive rate.</param>
/// <param name="Upper">The rule with the higher positive rate.</param>
/// <param name="UpperProbability">The share of rows that get <paramref name="Upper"/>.</param>
/// <param name="PositiveRate">The cell's positive rate on the fitting data.</param>
public sealed record CellDecisionRule(string Client, string Group, ThresholdRule Lower, ThresholdRule Upper, double UpperProbability, double PositiveRate)
{
    /// <summary>The decision for a row with score <paramref name="score"/> and uniform hash <paramref name="u"/> ∈ [0, 1).</summary>
    public bool Apply(double score, double u) => u < UpperProbability ? Upper.Apply(score) : Lower.Apply(score);
}

/// <summary>
/// One cell's deterministic rules on the model's output and their ROC points, reduced to the lower convex hull in
/// (positive rate, error): the error curve the trade-off solver sees, and the rule that realises any rate on it.
/// </summary>
internal sealed class CellRuleHull
{
    private readonly List<(double C, double E, ThresholdRule Rule)> _hull;

    private CellRuleHull(double labelRate, List<(double C, double E, ThresholdRule Rule)> hull)
    {
        _hull = hull;
        Curve = CellErrorCurve.FromHull(labelRate, hull);
    }

    public CellErrorCurve Curve { get; }

    /// <summary>
    /// Threshold rules on a score (Hardt et al.'s ROC hull): "score ≥ t" for every distinct score t, never and always.
    /// </summary>
    public static CellRuleHull FromScores(IReadOnlyList<MitigationRow> rows)
    {
        double positives = rows.Count(r => r.Label), negatives = rows.Count - positives;
        var rules = new List<(double Fpr, double Tpr, ThresholdRule Tag)> { (0, 0, ThresholdRule.Never), (1, 1, ThresholdRule.Always) };
        double tp = 0, fp = 0;
        foreach (var group in rows.GroupBy(r => r.Score).OrderByDescending(g => g.Key))
        {
            foreach (var r in group)
                if (r.Label) tp++;
                else fp++;
            rules.Add((negatives > 0 ? fp / negatives : 0, positives > 0 ? tp / positives : 0, new ThresholdRule(1, group.Key)));
        }
        double b = positives / Math.Max(positives + negatives, double.Epsilon);
        return new CellRuleHull(b, CellErrorCurve.LowerHull(b, rules));
    }

    /// <summary>Rules on a binary prediction (s = 1 positive, 0 negative): never, as predicted, flipped, always.</summary>
    public static CellRuleHull FromPredictions(IReadOnlyList<MitigationRow> rows)
    {
        double positives = rows.Count(r => r.Label), negatives = rows.Count - positives;
        double tpr = positives > 0 ? rows.Count(r => r.Label && r.Score > 0.5) / positives : 0;
        double fpr = negatives > 0 ? rows.Count(r => !r.Label && r.Score > 0.5) / negatives : 0;
        var rules = new List<(double Fpr, double Tpr, ThresholdRule Tag)>
        {
            (0, 0, ThresholdRule.Never), (1, 1, ThresholdRule.Always), (fpr, tpr, new ThresholdRule(1, 0.5)), (1 - fpr, 1 - tpr, new ThresholdRule(-1, -0.5)),
        };
        double b = positives / Math.Max(positives + negatives, double.Epsilon);
        return new CellRuleHull(b, CellErrorCurve.LowerHull(b, rules));
    }

    /// <summary>The randomised rule with positive rate <paramref name="rate"/>: the two hull vertices around it, mixed.</summary>
    public CellDecisionRule RuleFor(string client, string group, double rate)
    {
        if (!double.IsFinite(rate)) throw new InvalidOperationException($"The trade-off solver returned the rate {rate} for cell ({client}, {group}).");
        rate = Math.Clamp(rate, 0, 1);
        int i = 0;
        while (i + 2 < _hull.Count && _hull[i + 1].C <= rate) i++;
        var (lower, upper) = (_hull[i], _hull[i + 1]);
        double q = Math.Clamp((rate - lower.C) / (upper.C - lower.C), 0, 1);
        return new CellDecisionRule(client, group, lower.Rule, upper.Rule, q, rate);
    }
}
