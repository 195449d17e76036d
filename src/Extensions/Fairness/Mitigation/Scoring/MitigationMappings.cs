using System.Runtime.InteropServices;
using System.Text;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;

namespace MLExtensions.Fairness;

/// <summary>Input of the mitigator's decision mappings: copies of the cell and score columns and the contract.</summary>
internal class FairnessMitigationInput
{
    /// <summary>The row's client.</summary>
    [ColumnName(MitigationColumns.Client)]
    public string Client { get; set; } = "";

    /// <summary>The row's sensitive group.</summary>
    [ColumnName(MitigationColumns.Group)]
    public string Group { get; set; } = "";

    /// <summary>The model's score (or 1/0 for a binary prediction).</summary>
    [ColumnName(MitigationColumns.Score)]
    public float Score { get; set; }

    /// <summary>The fitted rules (the same text in every row; read without copying).</summary>
    [ColumnName(MitigationColumns.Contract)]
    public ReadOnlyMemory<char> Contract { get; set; }
}

/// <summary>Input with a text row key.</summary>
internal sealed class FairnessMitigationTextKeyInput : FairnessMitigationInput
{
    /// <summary>The row's stable key.</summary>
    [ColumnName(MitigationColumns.Key)]
    public string Key { get; set; } = "";
}

/// <summary>Input with a numeric row key.</summary>
internal sealed class FairnessMitigationNumberKeyInput : FairnessMitigationInput
{
    /// <summary>The row's stable key.</summary>
    [ColumnName(MitigationColumns.Key)]
    public double Key { get; set; }
}

/// <summary>Input with a 64-bit integer row key, hashed exactly (a <see cref="double"/> would merge keys above 2^53).</summary>
internal sealed class FairnessMitigationInt64KeyInput : FairnessMitigationInput
{
    /// <summary>The row's stable key.</summary>
    [ColumnName(MitigationColumns.Key)]
    public long Key { get; set; }
}

/// <summary>Input with an unsigned 64-bit integer row key, hashed exactly.</summary>
internal sealed class FairnessMitigationUInt64KeyInput : FairnessMitigationInput
{
    /// <summary>The row's stable key.</summary>
    [ColumnName(MitigationColumns.Key)]
    public ulong Key { get; set; }
}

/// <summary>Input keyed by the row's feature values.</summary>
internal sealed class FairnessMitigationFeatureKeyInput : FairnessMitigationInput
{
    /// <summary>The row's features.</summary>
    [ColumnName(MitigationColumns.Key)]
    public float[] Key { get; set; } = [];
}

/// <summary>Output of the mitigator's decision mappings.</summary>
internal sealed class FairnessMitigationOutput
{
    /// <summary>The mitigated decision.</summary>
    [ColumnName(MitigationColumns.Decision)]
    public bool Decision { get; set; }
}

/// <summary>
/// The mitigated decision of one row: its cell's rule (<see cref="CellDecisionRule"/>) applied to its score, with
/// the randomisation drawn from a hash of the seed and the row (its key, else its features, else its cell and
/// score), so the same row always gets the same decision.
/// </summary>
internal static class MitigationDecision
{
    public static bool Decide(FairnessMitigationInput row, ReadOnlySpan<byte> key)
    {
        var contract = MitigationContract.Decode(row.Contract);
        if (!float.IsFinite(row.Score))
            throw new InvalidDataException($"The {contract.ScoreColumn} column holds {row.Score}; the fairness mitigator needs a finite score in every row.");
        var rule = contract.RuleFor(row.Client ?? "", row.Group ?? "");
        return rule.Apply(row.Score, Uniform(contract.Seed, key));
    }

    /// <summary>A uniform number in [0, 1) from the seed and the key's bytes (FNV-1a, then SplitMix64's finaliser).</summary>
    public static double Uniform(long seed, ReadOnlySpan<byte> key)
    {
        ulong h = 14695981039346656037UL;
        foreach (byte b in key) h = (h ^ b) * 1099511628211UL;
        ulong z = h ^ ((ulong)seed * 0x9E3779B97F4A7C15UL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (z >> 11) * (1.0 / (1UL << 53));
    }

    /// <summary>
    /// The bytes a 64-bit integer key is hashed by. Keys a <see cref="double"/> holds exactly (|key| ≤ 2^53) are
    /// hashed as that double, so they draw as the numeric key mapping always drew; larger keys by their own eight
    /// bytes after a marker byte (no double's eight bytes can equal those nine), so keys that differ only above 2^53
    /// draw independently instead of sharing the draw of their rounded double.
    /// </summary>
    public static byte[] KeyBytes(long key) => key is >= -ExactInDouble and <= ExactInDouble ? BitConverter.GetBytes((double)key) : Marked(BitConverter.GetBytes(key));

    /// <inheritdoc cref="KeyBytes(long)"/>
    public static byte[] KeyBytes(ulong key) => key <= ExactInDouble ? BitConverter.GetBytes((double)key) : Marked(BitConverter.GetBytes(key));

    private const long ExactInDouble = 1L << 53;

    private static byte[] Marked(byte[] bytes) => [0x64, .. bytes];

    public static bool FromCellAndScore(FairnessMitigationInput row)
    {
        var bytes = Encoding.UTF8.GetBytes($"{row.Client}\u001f{row.Group}\u001f{BitConverter.SingleToInt32Bits(row.Score)}");
        return Decide(row, bytes);
    }
}

/// <summary>The mitigator's decision for rows without a key or features: hashed by cell and score.</summary>
[CustomMappingFactoryAttribute(ContractName)]
internal sealed class FairnessMitigationMapping : CustomMappingFactory<FairnessMitigationInput, FairnessMitigationOutput>
{
    /// <summary>The name saved with models.</summary>
    public const string ContractName = "MLExtensions.Fairness.Mitigation";

    /// <inheritdoc />
    public override Action<FairnessMitigationInput, FairnessMitigationOutput> GetMapping() =>
        (row, output) => output.Decision = MitigationDecision.FromCellAndScore(row);
}

/// <summary>The mitigator's decision for rows with a text key.</summary>
[CustomMappingFactoryAttribute(ContractName)]
internal sealed class FairnessMitigationTextKeyMapping : CustomMappingFactory<FairnessMitigationTextKeyInput, FairnessMitigationOutput>
{
    /// <summary>The name saved with models.</summary>
    public const string ContractName = "MLExtensions.Fairness.MitigationTextKey";

    /// <inheritdoc />
    public override Action<FairnessMitigationTextKeyInput, FairnessMitigationOutput> GetMapping() =>
        (row, output) => output.Decision = MitigationDecision.Decide(row, Encoding.UTF8.GetBytes(row.Key ?? ""));
}

/// <summary>The mitigator's decision for rows with a numeric key.</summary>
[CustomMappingFactoryAttribute(ContractName)]
internal sealed class FairnessMitigationNumberKeyMapping : CustomMappingFactory<FairnessMitigationNumberKeyInput, FairnessMitigationOutput>
{
    /// <summary>The name saved with models.</summary>
    public const string ContractName = "MLExtensions.Fairness.MitigationNumberKey";

    /// <inheritdoc />
    public override Action<FairnessMitigationNumberKeyInput, FairnessMitigationOutput> GetMapping() =>
        (row, output) => output.Decision = MitigationDecision.Decide(row, BitConverter.GetBytes(row.Key));
}

/// <summary>The mitigator's decision for rows with a 64-bit integer key.</summary>
[CustomMappingFactoryAttribute(ContractName)]
internal sealed class FairnessMitigationInt64KeyMapping : CustomMappingFactory<FairnessMitigationInt64KeyInput, FairnessMitigationOutput>
{
    /// <summary>The name saved with models.</summary>
    public const string ContractName = "MLExtensions.Fairness.MitigationInt64Key";

    /// <inheritdoc />
    public override Action<FairnessMitigationInt64KeyInput, FairnessMitigationOutput> GetMapping() =>
        (row, output) => output.Decision = MitigationDecision.Decide(row, MitigationDecision.KeyBytes(row.Key));
}

/// <summary>The mitigator's decision for rows with an unsigned 64-bit integer key.</summary>
[CustomMappingFactoryAttribute(ContractName)]
internal sealed class FairnessMitigationUInt64KeyMapping : CustomMappingFactory<FairnessMitigationUInt64KeyInput, FairnessMitigationOutput>
{
    /// <summary>The name saved with models.</summary>
    public const string ContractName = "MLExtensions.Fairness.MitigationUInt64Key";

    /// <inheritdoc />
    public override Action<FairnessMitigationUInt64KeyInput, FairnessMitigationOutput> GetMapping() =>
        (row, output) => output.Decision = MitigationDecision.Decide(row, MitigationDecision.KeyBytes(row.Key));
}

/// <summary>Input of the join of several sensitive columns: their values as text, in the order the options name them.</summary>
internal sealed class FairnessMitigationGroupInput
{
    /// <summary>The row's sensitive values.</summary>
    [ColumnName(MitigationColumns.GroupParts)]
    public string[] Parts { get; set; } = [];
}

/// <summary>Output of the join of several sensitive columns.</summary>
internal sealed class FairnessMitigationGroupOutput
{
    /// <summary>The row's group: its sensitive values joined with <c>" &amp; "</c>.</summary>
    [ColumnName(MitigationColumns.Group)]
    public string Group { get; set; } = "";
}

/// <summary>
/// The group of a row of several sensitive columns, as fitting named it: each value in the audit's one spelling,
/// joined with <c>" &amp; "</c>. A value that is empty or would make the name ambiguous is an error naming the values.
/// </summary>
[CustomMappingFactoryAttribute(ContractName)]
internal sealed class FairnessMitigationGroupMapping : CustomMappingFactory<FairnessMitigationGroupInput, FairnessMitigationGroupOutput>
{
    /// <summary>The name saved with models.</summary>
    public const string ContractName = "MLExtensions.Fairness.MitigationGroup";

    /// <inheritdoc />
    public override Action<FairnessMitigationGroupInput, FairnessMitigationGroupOutput> GetMapping() =>
        (row, output) => output.Group = MitigationGroups.Join(row.Parts) ?? throw new InvalidDataException(
            "The fairness mitigator cannot name a row's group: " + MitigationGroups.Refusal(row.Parts, null));
}

/// <summary>The mitigator's decision for rows keyed by their features.</summary>
[CustomMappingFactoryAttribute(ContractName)]
internal sealed class FairnessMitigationFeatureKeyMapping : CustomMappingFactory<FairnessMitigationFeatureKeyInput, FairnessMitigationOutput>
{
    /// <summary>The name saved with models.</summary>
    public const string ContractName = "MLExtensions.Fairness.MitigationFeatureKey";

    /// <inheritdoc />
    public override Action<FairnessMitigationFeatureKeyInput, FairnessMitigationOutput> GetMapping() =>
        (row, output) => output.Decision = MitigationDecision.Decide(row, MemoryMarshal.AsBytes(row.Key.AsSpan()));
}
