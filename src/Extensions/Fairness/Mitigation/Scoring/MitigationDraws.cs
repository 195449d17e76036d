using System.Runtime.InteropServices;
using Microsoft.ML.Data;

namespace MLExtensions.Fairness;

/// <summary>
/// The random draws of rows hashed by their features, as fitting sees them: a row's draw is a function of its feature
/// values alone (and the seed), so deployment is deterministic and a row scored twice, in any batch or order, gets
/// the same decision. The price is that identical rows cannot be told apart: they share one draw.
/// </summary>
/// <remarks>
/// Rows that share a draw get the same branch of their cell's randomised rule. The cell's positive rate is then still
/// the solver's on average over seeds, but not on the rows at hand: a block of k identical rows moves together, so the
/// realised rate scatters as if the cell had fewer rows, and a block that is a large part of the rows the rule
/// randomises can put the cell's rate on one of its thresholds instead of between them. No deterministic row mapping
/// can do better (identical rows are the same input), so the fit refuses such data and asks for a row key, as it does
/// for rows hashed by cell and score.
/// </remarks>
internal static class MitigationDraws
{
    /// <summary>The draw <see cref="FairnessMitigationFeatureKeyMapping"/> gives a row with these features.</summary>
    public static double FromFeatures(long seed, VBuffer<float> features)
    {
        var dense = new float[features.Length];
        features.CopyTo(dense);
        return MitigationDecision.Uniform(seed, MemoryMarshal.AsBytes(dense.AsSpan()));
    }

    /// <summary>The largest share of a randomised cell's band that may share one draw before the fit refuses.</summary>
    internal const double SharedShare = 0.05;

    /// <summary>
    /// Refuses rows hashed by their features where more than 5 % of the rows a cell's rule randomises (and at least
    /// two) share one draw, naming the cell, the count and the feature column.
    /// </summary>
    public static void CheckSharedFeatureDraws(IReadOnlyList<MitigationRow> rows, IReadOnlyList<double> draws, IReadOnlyList<CellDecisionRule> rules, string featureColumn)
    {
        var randomised = rules.Where(r => r.IsRandomised).ToDictionary(r => (r.Client, r.Group));
        if (randomised.Count == 0) return;
        var bands = new Dictionary<(string, string), List<double>>();
        for (int i = 0; i < rows.Count; i++)
        {
            var r = rows[i];
            if (!randomised.TryGetValue((r.Client, r.Group), out var rule) || rule.PositiveProbability(r.Score) is <= 0 or >= 1) continue;
            if (!bands.TryGetValue((r.Client, r.Group), out var band)) bands[(r.Client, r.Group)] = band = [];
            band.Add(draws[i]);
        }
        foreach (var ((client, group), band) in bands.OrderBy(b => b.Key.Item1, StringComparer.Ordinal).ThenBy(b => b.Key.Item2, StringComparer.Ordinal))
        {
            if (band.Count < 2) continue;
            int largest = band.GroupBy(u => u).Max(g => g.Count());
            if (largest > Math.Max(1, SharedShare * band.Count))
                throw new InvalidDataException($"In cell ({client}, {group}), {largest} of the {band.Count} rows the rule randomises have identical values in the feature " +
                                               $"column '{featureColumn}': hashed by their features they share one draw, so they all get the same decision and the cell's " +
                                               "positive rate would land off the solver's. Set RowKeyColumnName to a stable row id (rows that share an id share their draw " +
                                               "too), or FeatureColumnName to a column that tells the rows apart.");
        }
    }
}
