using MLExtensions.Fairness.Information;

namespace MLExtensions.Fairness;

/// <summary>A two-sided percentile interval.</summary>
/// <param name="Lower">The lower bound.</param>
/// <param name="Upper">The upper bound.</param>
public readonly record struct Interval(double Lower, double Upper)
{
    /// <summary>Whether <paramref name="value"/> lies in the interval.</summary>
    public bool Contains(double value) => value >= Lower && value <= Upper;
}

/// <summary>
/// Seeded bootstrap intervals for an audit's plug-in figures. Plug-in mutual information is biased upward on small
/// clients, so the intervals are the honest way to read small disparities.
/// </summary>
/// <remarks>
/// Resamples the count table, not rows (a Poisson bootstrap: every cell's count is redrawn as Poisson(count)), so
/// it works on merged federated tables too. Normal approximation for counts above 200.
/// </remarks>
internal static class Bootstrap
{
    /// <summary>Most clients for which every replicate also solves the decomposition (intervals of its three terms).</summary>
    public const int DecompositionClientLimit = 20;

    /// <summary>Percentile intervals and replicate means (for bootstrap bias correction) of every figure, by name.</summary>
    /// <param name="counts">The count table to resample.</param>
    /// <param name="samples">Replicates.</param>
    /// <param name="seed">Seed of the resampling.</param>
    /// <param name="level">Coverage of the intervals.</param>
    /// <param name="sensitive">The sensitive values, in the report's order.</param>
    /// <param name="predictions">The prediction values, in the report's order.</param>
    /// <param name="clients">The clients, in the report's order.</param>
    /// <param name="positive">The positive prediction for the parity difference; null when Z or Ŷ is not binary.</param>
    /// <param name="decompositionOptions">Solver settings of the decomposition.</param>
    /// <param name="labels">The label values of a labelled table (the equalized-odds figures are then resampled too); null without labels.</param>
    /// <param name="positiveLabel">The label of the equal-opportunity figures; null for none.</param>
    public static (IReadOnlyDictionary<string, Interval> Intervals, IReadOnlyDictionary<string, double> Means) Intervals(FairnessCounts counts, int samples, int seed, double level,
        string[] sensitive, string[] predictions, string[] clients, string? positive, PidOptions decompositionOptions,
        string[]? labels = null, string? positiveLabel = null)
    {
        var random = new Random(seed);
        // A fixed cell order makes the intervals depend on the counts only, not on how the table was assembled.
        var cells = counts.Cells.OrderBy(c => c.Key.Client, StringComparer.Ordinal).ThenBy(c => c.Key.Sensitive, StringComparer.Ordinal)
            .ThenBy(c => c.Key.Prediction, StringComparer.Ordinal).ThenBy(c => c.Key.Label, StringComparer.Ordinal).ToArray();
        var values = new Dictionary<string, List<double>> { ["GlobalDisparity"] = new(), ["LocalDisparity"] = new() };
        bool binary = sensitive.Length == 2 && predictions.Length == 2 && positive is not null;
        if (binary) values["StatisticalParityDifference"] = new();
        if (labels is not null)
            foreach (var name in new[] { "EqualizedOddsGlobalDisparity", "EqualizedOddsLocalDisparity", "EqualOpportunityGlobalDisparity", "EqualOpportunityLocalDisparity" })
                values[name] = new();
        int positiveIndex = labels is null || positiveLabel is null ? -1 : Array.IndexOf(labels, positiveLabel);
        // Each cell's place in the joint tables, found once rather than in every replicate.
        var places = cells.Select(c => (Z: Array.IndexOf(sensitive, c.Key.Sensitive), Y: Array.IndexOf(predictions, c.Key.Prediction),
            S: Array.IndexOf(clients, c.Key.Client), L: labels is null ? -1 : Array.IndexOf(labels, c.Key.Label))).ToArray();
        bool decompose = clients.Length <= DecompositionClientLimit;
        if (decompose)
            foreach (var name in new[] { "UniqueDisparity", "RedundantDisparity", "MaskedDisparity" }) values[name] = new();
        for (int b = 0; b < samples; b++)
        {
            var joint = new double[sensitive.Length, predictions.Length, clients.Length];
            // p(z, ŷ, (y, s)) of the same draws, as LabelDisparities.Joint lays it out.
            var labelled = labels is null ? null : new double[sensitive.Length, predictions.Length, labels.Length * clients.Length];
            for (int i = 0; i < cells.Length; i++)
            {
                double draw = Poisson(random, cells[i].Value);
                var (z, y, s, l) = places[i];
                joint[z, y, s] += draw;
                if (labelled is not null) labelled[z, y, l * clients.Length + s] += draw;
            }
            if (joint.Cast<double>().Sum() == 0) continue;
            if (labels is not null)
            {
                var (eoGlobal, eoLocal, eoppGlobal, eoppLocal) = LabelDisparities.Measures(labelled!, labels.Length, clients.Length, positiveIndex);
                values["EqualizedOddsGlobalDisparity"].Add(eoGlobal);
                values["EqualizedOddsLocalDisparity"].Add(eoLocal);
                if (eoppGlobal is double global) values["EqualOpportunityGlobalDisparity"].Add(global);
                if (eoppLocal is double local) values["EqualOpportunityLocalDisparity"].Add(local);
            }
            values["GlobalDisparity"].Add(InformationMeasures.MutualInformation(InformationMeasures.Marginal01(joint)));
            values["LocalDisparity"].Add(InformationMeasures.ConditionalMutualInformation(joint));
            if (decompose)
            {
                var pid = PartialInformationDecomposition.Compute(joint, decompositionOptions);
                values["UniqueDisparity"].Add(pid.Unique);
                values["RedundantDisparity"].Add(pid.Redundant);
                values["MaskedDisparity"].Add(pid.Synergistic);
            }
            if (binary)
            {
                double Rate(int z)
                {
                    double total = 0, positives = 0;
                    for (int y = 0; y < predictions.Length; y++)
                        for (int s = 0; s < clients.Length; s++)
                        {
                            total += joint[z, y, s];
                            if (predictions[y] == positive) positives += joint[z, y, s];
                        }
                    return total > 0 ? positives / total : double.NaN;
                }
                double difference = Rate(1) - Rate(0);
                if (!double.IsNaN(difference)) values["StatisticalParityDifference"].Add(difference);
            }
        }
        double tail = (1 - level) / 2;
        var kept = values.Where(v => v.Value.Count > 0).ToArray();
        return (kept.ToDictionary(v => v.Key, v =>
        {
            var sorted = v.Value.Order().ToArray();
            return new Interval(Quantile(sorted, tail), Quantile(sorted, 1 - tail));
        }), kept.ToDictionary(v => v.Key, v => v.Value.Average()));
    }

    /// <summary>The linearly interpolated <paramref name="q"/>-quantile of sorted values.</summary>
    internal static double Quantile(double[] sorted, double q)
    {
        double position = q * (sorted.Length - 1);
        int lower = (int)Math.Floor(position);
        int upper = Math.Min(lower + 1, sorted.Length - 1);
        return sorted[lower] + (position - lower) * (sorted[upper] - sorted[lower]);
    }

    /// <summary>A Poisson(<paramref name="mean"/>) draw (normal approximation above 200).</summary>
    internal static double Poisson(Random random, long mean)
    {
        if (mean == 0) return 0;
        if (mean > 200)
        {
            double u1 = 1 - random.NextDouble(), u2 = random.NextDouble();
            double normal = Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
            return Math.Max(0, Math.Round(mean + Math.Sqrt(mean) * normal));
        }
        double limit = Math.Exp(-mean), product = random.NextDouble();
        int k = 0;
        while (product > limit)
        {
            k++;
            product *= random.NextDouble();
        }
        return k;
    }
}
