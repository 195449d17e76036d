using Microsoft.ML;

namespace MLExtensions.Fairness;

/// <summary>Computes a <see cref="MetricFrame"/>: slices of row indices, their metrics, disparities, and a Poisson bootstrap of row weights.</summary>
internal static class MetricFrameBuilder
{
    private sealed record Slice(string Name, string? Stratum, int[] Rows);

    public static MetricFrame Build(IDataView data, MetricFrameOptions options)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var rows = MetricRows.Read(data, options);
        var all = new Slice("all rows", null, ByScore(rows, Enumerable.Range(0, rows.Count)));
        var groups = SlicesBy(rows, i => rows.Groups[i], i => rows.Controls?[i]);
        if (groups.Select(g => g.Name).Distinct().Count() < 2)
            throw new InvalidDataException($"Every row is in the group '{groups[0].Name}' of {string.Join(" & ", options.SensitiveColumnNames)}; there is nothing to compare.");
        var clients = rows.Clients is null ? [] : SlicesBy(rows, i => rows.Clients[i], _ => null);
        var clientGroups = rows.Clients is null ? [] : SlicesBy(rows, i => $"{rows.Clients[i]} / {rows.Groups[i]}", _ => null);
        var slices = new[] { all }.Concat(groups).Concat(clients).Concat(clientGroups).ToArray();

        var estimates = slices.Select(s => BinaryMetrics.Of(rows, s.Rows)).ToArray();
        var metricNames = estimates[0].ByName().Keys.ToArray();
        var disparities = Disparities(groups, estimates.AsSpan(1, groups.Count).ToArray(), metricNames);

        // Poisson bootstrap: every row's weight times Poisson(1), the same draw for all slices of a replicate.
        var sliceSamples = slices.Select(_ => metricNames.ToDictionary(n => n, _ => new List<double>())).ToArray();
        var differenceSamples = metricNames.ToDictionary(n => n, _ => new List<double>());
        var ratioSamples = metricNames.ToDictionary(n => n, _ => new List<double>());
        var excluded = metricNames.ToDictionary(n => n, _ => 0);
        var random = new Random(options.Seed);
        var weights = new double[rows.Count];
        for (int b = 0; b < options.BootstrapSamples; b++)
        {
            for (int i = 0; i < rows.Count; i++) weights[i] = rows.Weights[i] * Bootstrap.Poisson(random, 1);
            var replicate = slices.Select(s => BinaryMetrics.Of(rows, s.Rows, weights)).ToArray();
            for (int s = 0; s < slices.Length; s++)
                foreach (var (name, value) in replicate[s].ByName())
                    if (!double.IsNaN(value)) sliceSamples[s][name].Add(value);
            var replicateGroups = replicate.AsSpan(1, groups.Count).ToArray();
            foreach (var d in Disparities(groups, replicateGroups, metricNames))
            {
                // A replicate in which a group that the estimate compares has no defined value (it drew no weight, or no
                // positives for recall) would compare fewer groups than the estimate: it is left out and counted.
                if (!SameGroupsDefined(estimates.AsSpan(1, groups.Count), replicateGroups, d.Metric))
                {
                    excluded[d.Metric]++;
                    continue;
                }
                if (!double.IsNaN(d.Difference)) differenceSamples[d.Metric].Add(d.Difference);
                if (!double.IsNaN(d.Ratio)) ratioSamples[d.Metric].Add(d.Ratio);
            }
        }
        double tail = (1 - options.ConfidenceLevel) / 2;
        Interval? IntervalOf(List<double> values) => values.Count < 2 ? null : Percentiles(values, tail);
        SliceMetrics Result(int s) => new(slices[s].Name, slices[s].Stratum, estimates[s],
            sliceSamples[s].Where(v => v.Value.Count >= 2).ToDictionary(v => v.Key, v => Percentiles(v.Value, tail)));
        int offset = 1;
        var byGroup = Enumerable.Range(offset, groups.Count).Select(Result).ToList();
        offset += groups.Count;
        var byClient = Enumerable.Range(offset, clients.Count).Select(Result).ToList();
        offset += clients.Count;
        var byClientGroup = Enumerable.Range(offset, clientGroups.Count).Select(Result).ToList();
        return new MetricFrame(Result(0), byGroup, byClient, byClientGroup,
            disparities.Select(d => d with
            {
                DifferenceInterval = IntervalOf(differenceSamples[d.Metric]), RatioInterval = IntervalOf(ratioSamples[d.Metric]), ExcludedReplicates = excluded[d.Metric],
            }).ToList());
    }

    private static List<Slice> SlicesBy(MetricRows rows, Func<int, string> name, Func<int, string?> stratum) =>
        Enumerable.Range(0, rows.Count).GroupBy(i => (Name: name(i), Stratum: stratum(i)))
            .OrderBy(g => g.Key.Stratum, StringComparer.Ordinal).ThenBy(g => g.Key.Name, StringComparer.Ordinal)
            .Select(g => new Slice(g.Key.Name, g.Key.Stratum, ByScore(rows, g))).ToList();

    /// <summary>A slice's rows, in ascending score order when there are scores (what <see cref="BinaryMetrics.Of"/> needs for AUC).</summary>
    private static int[] ByScore(MetricRows rows, IEnumerable<int> slice) =>
        rows.Scores is { } scores ? slice.OrderBy(i => scores[i]).ToArray() : slice.ToArray();

    /// <summary>Per metric: max − min and min / max over the groups of each stratum, then the worst stratum.</summary>
    private static List<MetricDisparity> Disparities(List<Slice> groups, BinaryMetrics[] metrics, string[] names)
    {
        var result = new List<MetricDisparity>();
        foreach (var name in names)
        {
            double difference = double.NaN, ratio = double.NaN;
            foreach (var stratum in groups.Select((g, i) => (g.Stratum, Value: metrics[i].ByName()[name])).Where(x => !double.IsNaN(x.Value)).GroupBy(x => x.Stratum))
            {
                if (stratum.Count() < 2) continue;
                double max = stratum.Max(x => x.Value), min = stratum.Min(x => x.Value);
                difference = double.IsNaN(difference) ? max - min : Math.Max(difference, max - min);
                double r = max > 0 ? min / max : double.NaN;
                if (!double.IsNaN(r)) ratio = double.IsNaN(ratio) ? r : Math.Min(ratio, r);
            }
            result.Add(new MetricDisparity(name, difference, ratio, null, null, 0));
        }
        return result;
    }

    /// <summary>Whether every group with a defined <paramref name="metric"/> in the estimate has one in the replicate too.</summary>
    private static bool SameGroupsDefined(ReadOnlySpan<BinaryMetrics> estimate, BinaryMetrics[] replicate, string metric)
    {
        for (int g = 0; g < estimate.Length; g++)
            if (!double.IsNaN(estimate[g].ByName()[metric]) && double.IsNaN(replicate[g].ByName()[metric])) return false;
        return true;
    }

    private static Interval Percentiles(List<double> values, double tail)
    {
        var sorted = values.Order().ToArray();
        return new Interval(Bootstrap.Quantile(sorted, tail), Bootstrap.Quantile(sorted, 1 - tail));
    }
}
