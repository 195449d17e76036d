using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace MLExtensions.Fairness;

/// <summary>Names of the temporary columns a mitigator's scoring chain makes and drops.</summary>
internal static class MitigationColumns
{
    public const string Client = "mlx_fair_client";
    public const string Group = "mlx_fair_group";
    public const string GroupParts = "mlx_fair_group_parts";
    /// <summary>Prefix of a sensitive column's text when it is not text already: one per column, numbered.</summary>
    public const string GroupPart = "mlx_fair_group_part";
    public const string Score = "mlx_fair_score";
    public const string Key = "mlx_fair_key";
    public const string Contract = "mlx_fair_contract";
    public const string Decision = "mlx_fair_decision";
}

/// <summary>
/// Everything a fitted mitigator decides with, as one text: the user's column names (for messages), the seed of the
/// row hash, the handling of unseen cells, the pooled rule and every cell's rule. A CustomMapping factory is
/// stateless (only its contract name is saved with a model), so the chain carries this text as a constant column
/// made by ML.NET's saveable Expression transform and the mapping reads it back (parsed once per model).
/// </summary>
internal sealed record MitigationContract(string ClientColumn, string GroupColumn, string ScoreColumn, long Seed, bool PoolUnknownCells,
    CellDecisionRule Pooled, IReadOnlyList<CellDecisionRule> Cells)
{
    private const string Version = "fairness-mitigator/2";

    /// <summary>Version 1 stored two rules per cell (lower, upper and the upper's share); still read.</summary>
    private const string Version1 = "fairness-mitigator/1";

    private readonly Dictionary<(string, string), CellDecisionRule> _byCell =
        Cells.ToDictionary(c => (c.Client, c.Group), c => c);

    /// <summary>The rule of a row's cell; unseen cells get the pooled rule or an error naming the value.</summary>
    public CellDecisionRule RuleFor(string client, string group)
    {
        if (_byCell.TryGetValue((client, group), out var rule)) return rule;
        if (PoolUnknownCells) return Pooled;
        bool clientKnown = Cells.Any(c => c.Client == client), groupKnown = Cells.Any(c => c.Group == group);
        string what = !clientKnown ? $"the {ClientColumn} value '{client}'" : !groupKnown ? $"the {GroupColumn} value '{group}'"
            : $"the cell ({ClientColumn} '{client}', {GroupColumn} '{group}')";
        throw new InvalidDataException($"The fairness mitigator has no rule for {what}: it was not in the data the mitigator was fitted on. " +
                                       "Refit on data that holds it, or set PoolUnknownCells to give unseen cells the pooled rule.");
    }

    /// <summary>The Expression-language lambda that yields the contract for every value of its input column.</summary>
    public string Expression() => $"x => \"{Encode()}\"";

    /// <summary>
    /// The contract text: a 32-character digest of the body, then the body. Every row carries the text, so the row
    /// mapping looks the parsed contract up by the digest alone, whatever the number of cells.
    /// </summary>
    public string Encode()
    {
        var body = string.Join(';', Version, Base64(ClientColumn), Base64(GroupColumn), Base64(ScoreColumn),
            Seed.ToString(CultureInfo.InvariantCulture), PoolUnknownCells ? "pool" : "refuse", EncodeRule(Pooled), string.Join(',', Cells.Select(EncodeRule)));
        return Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(body)))[..DigestLength] + body;
    }

    private const int DigestLength = 32;

    /// <summary>The contract of a row's contract text, parsed once per model.</summary>
    public static MitigationContract Decode(ReadOnlyMemory<char> text)
    {
        if (text.Length <= DigestLength) throw new InvalidDataException("The fairness mitigator's contract column is empty; the model file is damaged.");
        var digest = text[..DigestLength].ToString();
        return Decoded.TryGetValue(digest, out var contract) ? contract : Decoded.GetOrAdd(digest, _ => Parse(text[DigestLength..].ToString()));
    }

    private static readonly ConcurrentDictionary<string, MitigationContract> Decoded = new(StringComparer.Ordinal);

    private static MitigationContract Parse(string text)
    {
        var parts = text.Split(';');
        if (parts.Length != 8 || (parts[0] != Version && parts[0] != Version1))
            throw new InvalidDataException("The fairness mitigator's contract is not one this version of MLExtensions reads; refit it or update the package.");
        Func<string, CellDecisionRule> decode = parts[0] == Version ? DecodeRule : DecodeRuleVersion1;
        return new MitigationContract(FromBase64(parts[1]), FromBase64(parts[2]), FromBase64(parts[3]), long.Parse(parts[4], CultureInfo.InvariantCulture),
            parts[5] == "pool", decode(parts[6]), parts[7].Length == 0 ? [] : parts[7].Split(',').Select(decode).ToArray());
    }

    /// <summary>client|group|rate|rule~share|rule~share…</summary>
    private static string EncodeRule(CellDecisionRule r) => string.Join('|',
        [Base64(r.Client), Base64(r.Group), r.PositiveRate.ToString("R", CultureInfo.InvariantCulture),
         .. r.Branches.Select(b => b.Rule.Encode() + "~" + b.Probability.ToString("R", CultureInfo.InvariantCulture))]);

    private static CellDecisionRule DecodeRule(string text)
    {
        var p = text.Split('|');
        var branches = p.Skip(3).Select(b => b.Split('~')).Select(b => new RuleBranch(ThresholdRule.Decode(b[0]), double.Parse(b[1], CultureInfo.InvariantCulture))).ToArray();
        return new CellDecisionRule(FromBase64(p[0]), FromBase64(p[1]), branches, double.Parse(p[2], CultureInfo.InvariantCulture));
    }

    private static CellDecisionRule DecodeRuleVersion1(string text)
    {
        var p = text.Split('|');
        double upperShare = double.Parse(p[4], CultureInfo.InvariantCulture);
        // Version 1 gave the upper rule to hashes below its share: the same order as the branches here.
        return CellDecisionRule.Mix(FromBase64(p[0]), FromBase64(p[1]), ThresholdRule.Decode(p[2]), ThresholdRule.Decode(p[3]), upperShare,
            double.Parse(p[5], CultureInfo.InvariantCulture));
    }

    private static string Base64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    private static string FromBase64(string text) => Encoding.UTF8.GetString(Convert.FromBase64String(text));
}
