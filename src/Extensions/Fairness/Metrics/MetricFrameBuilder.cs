using Microsoft.ML;

namespace MLExtensions.Fairness;

/// <summary>Computes a <see cref="MetricFrame"/>: slices of row indices, their metrics, disparities, and a Poisson bootstrap of row weights.</summary>
internal static class MetricFrameBuilder
{
    private sealed record Slice(string Name, string? Stratum, int[] Rows);

    /// <summary>The groups compared within one stratum (or all rows), and the slice that is their overall.</summary>
    private sealed record Scope(string? Stratum, int Overall, int[] Groups);

    public static MetricFrame Build(IDataView data, MetricFrameOptions options, int seed)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var rows = MetricRows.Read(data, options);
        var userMetrics = options.Metrics.ToArray();
        var names = BinaryMetrics.Names(rows.Scores is not null).Concat(userMetrics.Select(m => m.Key)).ToArray();

        var all = new Slice("all rows", null, ByScore(rows, Enumerable.Range(0, rows.Count)));
        var strata = rows.Controls is null ? [] : SlicesBy(rows, _ => all.Name, i => rows.Controls[i]);
        var groups = SlicesBy(rows, i => rows.Groups[i], i => rows.Controls?[i]);
        if (groups.Select(g => g.Name).Distinct().Count() < 2)
            throw new InvalidDataException($"Every row is in the group '{groups[0].Name}' of {string.Join(" & ", options.SensitiveColumnNames)}; there is nothing to compare.");
        var clients = rows.Clients is null ? [] : SlicesBy(rows, i => rows.Clients[i], _ => null);
        var clientGroups = rows.Clients is null ? [] : SlicesBy(rows, i => $"{rows.Clients[i]} / {rows.Groups[i]}", _ => null);
        var slices = new[] { all }.Concat(strata).Concat(groups).Concat(clients).Concat(clientGroups).ToArray();
        int groupOffset = 1 + strata.Count;

        // Groups are compared within a stratum, against that stratum's overall; without control features, within all rows.
        var scopes = strata.Count == 0
            ? [new Scope(null, 0, Enumerable.Range(groupOffset, groups.Count).ToArray())]
            : strata.Select((s, k) => new Scope(s.Stratum, 1 + k,
                Enumerable.Range(groupOffset, groups.Count).Where(g => slices[g].Stratum == s.Stratum).ToArray())).ToArray();

        var builtIn = new BinaryMetrics[slices.Length];
        var estimates = new double[slices.Length][];
        for (int s = 0; s < slices.Length; s++)
            (builtIn[s], estimates[s]) = Evaluate(rows, slices[s], userMetrics, weights: null, replicate: null);
        // Per metric and scope, the groups the estimate compares: those whose value is defined.
        var compared = names.Select((_, m) => scopes.Select(sc => sc.Groups.Where(g => !double.IsNaN(estimates[g][m])).ToArray()).ToArray()).ToArray();
        var estimateFigures = names.Select((_, m) => scopes.Select((sc, k) => Figures.Of(estimates, compared[m][k], sc.Overall, m)).ToArray()).ToArray();

        // Poisson bootstrap: every row's weight times Poisson(1), the same draw for all slices of a replicate.
        var sliceSamples = slices.Select(_ => names.Select(_ => new List<double>()).ToArray()).ToArray();
        // Per metric, per scope and one more for the aggregate over strata: samples of each figure, and replicates left out.
        var figureSamples = names.Select(_ => Enumerable.Range(0, scopes.Length + 1).Select(_ => Enumerable.Range(0, Figures.Count).Select(_ => new List<double>()).ToArray()).ToArray()).ToArray();
        var excluded = names.Select(_ => new int[scopes.Length + 1]).ToArray();
        var random = new Random(seed);
        var weights = new double[rows.Count];
        var replicate = new double[slices.Length][];
        for (int b = 0; b < options.BootstrapSamples; b++)
        {
            for (int i = 0; i < rows.Count; i++) weights[i] = rows.Weights[i] * Bootstrap.Poisson(random, 1);
            for (int s = 0; s < slices.Length; s++)
            {
                replicate[s] = Evaluate(rows, slices[s], userMetrics, weights, b).Values;
                for (int m = 0; m < names.Length; m++)
                    if (!double.IsNaN(replicate[s][m])) sliceSamples[s][m].Add(replicate[s][m]);
            }
            for (int m = 0; m < names.Length; m++)
            {
                var perScope = new Figures[scopes.Length];
                bool complete = true;
                for (int k = 0; k < scopes.Length; k++)
                {
                    // A replicate that loses a compared group (no weight drawn, or e.g. no positive for recall), or the
                    // overall value, would compare something else than the estimate does: it is left out and counted.
                    int overall = scopes[k].Overall;
                    if (compared[m][k].Any(g => double.IsNaN(replicate[g][m])) || (!double.IsNaN(estimates[overall][m]) && double.IsNaN(replicate[overall][m])))
                    {
                        excluded[m][k]++;
                        complete = false;
                        continue;
                    }
                    perScope[k] = Figures.Of(replicate, compared[m][k], overall, m);
                    Add(figureSamples[m][k], perScope[k]);
                }
                if (complete) Add(figureSamples[m][scopes.Length], Figures.Worst(perScope));
                else excluded[m][scopes.Length]++;
            }
        }

        double tail = (1 - options.ConfidenceLevel) / 2;
        SliceMetrics Result(int s) => new(slices[s].Name, slices[s].Stratum, builtIn[s],
            names.Select((n, m) => (n, m)).ToDictionary(x => x.n, x => estimates[s][x.m]),
            names.Select((n, m) => (n, Samples: sliceSamples[s][m])).Where(x => x.Samples.Count >= 2).ToDictionary(x => x.n, x => Percentiles(x.Samples, tail)));
        MetricDisparity Disparity(int m, string? stratum, Figures f, List<double>[] samples, int left)
        {
            Interval? I(int figure) => samples[figure].Count < 2 ? null : Percentiles(samples[figure], tail);
            return new MetricDisparity(names[m], stratum, f.GroupMin, f.GroupMax, f.Difference, f.Ratio, f.DifferenceToOverall, f.RatioToOverall, left)
            {
                GroupMinInterval = I(0), GroupMaxInterval = I(1), DifferenceInterval = I(2), RatioInterval = I(3), DifferenceToOverallInterval = I(4), RatioToOverallInterval = I(5),
            };
        }
        var disparities = names.Select((_, m) => strata.Count == 0
            ? Disparity(m, null, estimateFigures[m][0], figureSamples[m][0], excluded[m][0])
            : Disparity(m, null, Figures.Worst(estimateFigures[m]), figureSamples[m][scopes.Length], excluded[m][scopes.Length])).ToList();
        var byStratum = strata.Count == 0 ? [] : scopes.SelectMany((sc, k) => names.Select((_, m) =>
            Disparity(m, sc.Stratum, estimateFigures[m][k], figureSamples[m][k], excluded[m][k]))).ToList();

        int offset = 1;
        var overallByStratum = Enumerable.Range(offset, strata.Count).Select(Result).ToList();
        offset += strata.Count;
        var byGroup = Enumerable.Range(offset, groups.Count).Select(Result).ToList();
        offset += groups.Count;
        var byClient = Enumerable.Range(offset, clients.Count).Select(Result).ToList();
        offset += clients.Count;
        var byClientGroup = Enumerable.Range(offset, clientGroups.Count).Select(Result).ToList();
        return new MetricFrame(names, strata.Select(s => s.Stratum!).ToList(), Result(0), overallByStratum, byGroup, byClient, byClientGroup, disparities, byStratum);
    }

    /// <summary>The built-in metrics of a slice and every metric's value, built-in ones first, under <paramref name="weights"/> (null: the data's).</summary>
    private static (BinaryMetrics Metrics, double[] Values) Evaluate(MetricRows rows, Slice slice, KeyValuePair<string, MetricFunction>[] userMetrics,
        double[]? weights, int? replicate)
    {
        var metrics = BinaryMetrics.Of(rows, slice.Rows, weights);
        var byName = metrics.ByName();
        var builtIn = BinaryMetrics.Names(rows.Scores is not null).Select(n => byName[n]).ToArray();
        if (userMetrics.Length == 0) return (metrics, builtIn);
        var w = weights ?? rows.Weights;
        var kept = slice.Rows.Where(i => w[i] > 0).ToArray();
        var view = new MetricSlice(slice.Name, slice.Stratum, kept.Select(i => rows.Labels[i]).ToArray(), kept.Select(i => rows.Predictions[i]).ToArray(),
            kept.Select(i => w[i]).ToArray(), rows.Scores is { } scores ? kept.Select(i => scores[i]).ToArray() : null);
        var values = new double[builtIn.Length + userMetrics.Length];
        builtIn.CopyTo(values, 0);
        for (int u = 0; u < userMetrics.Length; u++)
        {
            var (name, function) = userMetrics[u];
            string where = $"the slice '{slice.Name}'{(slice.Stratum is null ? "" : $" of stratum '{slice.Stratum}'")}{(replicate is { } b ? $" in bootstrap replicate {b}" : "")}";
            double value;
            try
            {
                value = function(view);
            }
            catch (Exception e)
            {
                throw new InvalidOperationException($"The user metric '{name}' ({nameof(MetricFrameOptions)}.{nameof(MetricFrameOptions.Metrics)}) failed on {where}: {e.Message}", e);
            }
            if (double.IsInfinity(value))
                throw new InvalidOperationException($"The user metric '{name}' ({nameof(MetricFrameOptions)}.{nameof(MetricFrameOptions.Metrics)}) returned {value} on {where}; " +
                                                    "return a finite value, or NaN where the metric is undefined.");
            values[builtIn.Length + u] = value;
        }
        return (metrics, values);
    }

    private static void Add(List<double>[] samples, Figures figures)
    {
        for (int f = 0; f < Figures.Count; f++)
            if (!double.IsNaN(figures[f])) samples[f].Add(figures[f]);
    }

    private static List<Slice> SlicesBy(MetricRows rows, Func<int, string> name, Func<int, string?> stratum) =>
        Enumerable.Range(0, rows.Count).GroupBy(i => (Name: name(i), Stratum: stratum(i)))
            .OrderBy(g => g.Key.Stratum, StringComparer.Ordinal).ThenBy(g => g.Key.Name, StringComparer.Ordinal)
            .Select(g => new Slice(g.Key.Name, g.Key.Stratum, ByScore(rows, g))).ToList();

    /// <summary>A slice's rows, in ascending score order when there are scores (what <see cref="BinaryMetrics.Of"/> needs for AUC).</summary>
    private static int[] ByScore(MetricRows rows, IEnumerable<int> slice) =>
        rows.Scores is { } scores ? slice.OrderBy(i => scores[i]).ToArray() : slice.ToArray();

    private static Interval Percentiles(List<double> values, double tail)
    {
        var sorted = values.Order().ToArray();
        return new Interval(Bootstrap.Quantile(sorted, tail), Bootstrap.Quantile(sorted, 1 - tail));
    }

    /// <summary>The figures of one metric in one scope (see <see cref="MetricDisparity"/> for their definitions).</summary>
    private readonly record struct Figures(double GroupMin, double GroupMax, double Difference, double Ratio, double DifferenceToOverall, double RatioToOverall)
    {
        public const int Count = 6;

        public double this[int figure] => figure switch
        {
            0 => GroupMin,
            1 => GroupMax,
            2 => Difference,
            3 => Ratio,
            4 => DifferenceToOverall,
            5 => RatioToOverall,
            _ => throw new ArgumentOutOfRangeException(nameof(figure)),
        };

        /// <summary>The figures of metric <paramref name="m"/> over slices <paramref name="groups"/> (all defined) against slice <paramref name="overall"/>.</summary>
        public static Figures Of(double[][] values, int[] groups, int overall, int m)
        {
            if (groups.Length == 0) return new(double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);
            double min = double.PositiveInfinity, max = double.NegativeInfinity;
            foreach (int g in groups)
            {
                min = Math.Min(min, values[g][m]);
                max = Math.Max(max, values[g][m]);
            }
            // One group has nothing to be compared with (Fairlearn would report 0); the comparisons are undefined.
            if (groups.Length < 2) return new(min, max, double.NaN, double.NaN, double.NaN, double.NaN);
            double o = values[overall][m], toOverall = double.NaN, ratioToOverall = double.NaN;
            if (!double.IsNaN(o))
            {
                toOverall = 0;
                foreach (int g in groups) toOverall = Math.Max(toOverall, Math.Abs(values[g][m] - o));
                if (o > 0 && min >= 0)
                {
                    ratioToOverall = 1;
                    foreach (int g in groups)
                    {
                        double v = values[g][m];
                        ratioToOverall = Math.Min(ratioToOverall, v <= o ? v / o : o / v);
                    }
                }
            }
            return new(min, max, max - min, min >= 0 && max > 0 ? min / max : double.NaN, toOverall, ratioToOverall);
        }

        /// <summary>The worst over strata: smallest minimum and ratios, largest maximum and differences; NaN strata are passed over.</summary>
        public static Figures Worst(IReadOnlyList<Figures> strata) => new(
            Extreme(strata.Select(f => f.GroupMin), Math.Min), Extreme(strata.Select(f => f.GroupMax), Math.Max),
            Extreme(strata.Select(f => f.Difference), Math.Max), Extreme(strata.Select(f => f.Ratio), Math.Min),
            Extreme(strata.Select(f => f.DifferenceToOverall), Math.Max), Extreme(strata.Select(f => f.RatioToOverall), Math.Min));

        private static double Extreme(IEnumerable<double> values, Func<double, double, double> pick) =>
            values.Where(v => !double.IsNaN(v)).DefaultIfEmpty(double.NaN).Aggregate(pick);
    }
}
