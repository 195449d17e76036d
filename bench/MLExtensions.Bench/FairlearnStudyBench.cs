using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Fairness;

namespace MLExtensions.Bench;

/// <summary>
/// Our side of the side-by-side with Fairlearn's ThresholdOptimizer (bench/fairlearn, run.sh): for every
/// <c>&lt;dir&gt;/&lt;dataset&gt;/split-&lt;k&gt;</c> written by study.py, fits each mitigator variant on
/// <c>fit.csv</c> and writes its decisions on <c>heldout.csv</c> as <c>ours-&lt;variant&gt;.csv</c> (Id,Decision),
/// with <c>ours-&lt;variant&gt;.json</c> (fit and scoring time, the solver's in-sample answer) or, when the fit
/// throws, <c>ours-&lt;variant&gt;.error</c> (the exception's type and message). compare.py evaluates them.
/// With the environment variable <c>MLX_STUDY_RATES=1</c> it also writes <c>ours-&lt;variant&gt;.rates</c>: each fitting
/// and held-out row's chance of a positive decision under its cell's rule (Part,Id,Client,Group,Label,P), to compare
/// a cell's rate on the rows it was fitted to with its rate on new rows.
/// </summary>
public static class FairlearnStudyBench
{
    /// <summary>
    /// The variants, in one place: a file name and what it sets on top of <see cref="Common"/>. A new option (a
    /// constraint, a minimum cell size) is one more line here; <c>--variants a,b</c> runs a subset.
    /// </summary>
    public static readonly (string Name, Action<FairnessMitigator.Options> Configure)[] Variants =
    [
        ("unconstrained", o => (o.GlobalBudget, o.LocalBudget) = (double.PositiveInfinity, double.PositiveInfinity)),
        ("global", o => (o.GlobalBudget, o.LocalBudget) = (0, double.PositiveInfinity)),
        ("local", o => (o.GlobalBudget, o.LocalBudget) = (double.PositiveInfinity, 0)),
        // Local parity at the two ends of the shrinkage grid, for what the cross-validated shrinkage does on small data.
        ("local-unshrunk", o => (o.GlobalBudget, o.LocalBudget, o.ShrinkageRows) = (double.PositiveInfinity, 0, 0)),
        ("local-calibrated", o => (o.GlobalBudget, o.LocalBudget, o.ShrinkageRows) = (double.PositiveInfinity, 0, double.PositiveInfinity)),
        ("global+local", o => (o.GlobalBudget, o.LocalBudget) = (0, 0)),
        ("global-0.002", o => (o.GlobalBudget, o.LocalBudget) = (0.002, double.PositiveInfinity)),
        ("global+local-0.002", o => (o.GlobalBudget, o.LocalBudget) = (0.002, 0.002)),
        // Fairlearn's equalized_odds and true_positive_rate_parity on the group alone: exact, no client constraint.
        ("equalized-odds", o => (o.Constraint, o.GlobalBudget, o.LocalBudget) = (FairnessConstraint.EqualizedOdds, 0, double.PositiveInfinity)),
        ("equal-opportunity", o => (o.Constraint, o.GlobalBudget, o.LocalBudget) = (FairnessConstraint.EqualOpportunity, 0, double.PositiveInfinity)),
    ];

    /// <summary>The options every variant shares: the study's column names, a row key, pooled unseen cells, no cross-fit.</summary>
    private static FairnessMitigator.Options Common() => new()
    {
        SensitiveColumnName = "Group", ClientColumnName = "Client", LabelColumnName = "Label", ScoreColumnName = "Probability",
        RowKeyColumnName = "Id", PoolUnknownCells = true, CrossFitFolds = 0,
        Seed = 1, // the README's figures were measured with this seed (the default draws one from the MLContext)
    };

    public sealed class StudyRow
    {
        public string Id { get; set; } = "";
        public string Client { get; set; } = "";
        public string Group { get; set; } = "";
        public bool Label { get; set; }
        public float Probability { get; set; }
    }

    /// <summary>Runs the variants (all, or those named in <paramref name="variantFilter"/>) on the first <paramref name="splits"/> splits of each data set folder.</summary>
    public static void Run(string directory, string? variantFilter, string? datasetFilter, int splits = int.MaxValue)
    {
        var variants = variantFilter is null ? Variants
            : variantFilter.Split(',').Select(n => Variants.FirstOrDefault(v => v.Name == n) is { Name: not null } v ? v
                : throw new ArgumentException($"No variant '{n}'; the variants are {string.Join(", ", Variants.Select(v => v.Name))}.")).ToArray();
        var datasets = Directory.GetDirectories(directory).Where(d => Directory.GetDirectories(d, "split-*").Length > 0)
            .Where(d => datasetFilter is null || datasetFilter.Split(',').Contains(Path.GetFileName(d))).Order(StringComparer.Ordinal).ToArray();
        if (datasets.Length == 0) throw new DirectoryNotFoundException($"No <dataset>/split-<k> folders under {directory}: run study.py first.");
        var ml = new MLContext(seed: 1);
        var total = Stopwatch.StartNew();
        WarmUp(ml, Directory.GetDirectories(datasets[0], "split-*")[0]);
        Console.WriteLine($"Fairlearn study, our side: {string.Join(", ", variants.Select(v => v.Name))}");
        foreach (var dataset in datasets)
        {
            var splitDirs = Directory.GetDirectories(dataset, "split-*").Select(d => (Dir: d, K: int.Parse(Path.GetFileName(d)["split-".Length..], CultureInfo.InvariantCulture)))
                .Where(d => d.K < splits).OrderBy(d => d.K).Select(d => d.Dir).ToArray();
            var fitTimes = variants.ToDictionary(v => v.Name, _ => new List<double>());
            var errors = variants.ToDictionary(v => v.Name, _ => new List<string>());
            foreach (var split in splitDirs)
            {
                // Files of variants no longer in the list would be read by compare.py as if current: remove them.
                foreach (var file in Directory.GetFiles(split, "ours-*"))
                    if (!Variants.Any(v => Path.GetFileNameWithoutExtension(file) == $"ours-{v.Name}")) File.Delete(file);
                var fit = ml.Data.LoadFromEnumerable(Read(Path.Combine(split, "fit.csv")));
                var heldRows = Read(Path.Combine(split, "heldout.csv"));
                var held = ml.Data.LoadFromEnumerable(heldRows);
                foreach (var (name, configure) in variants)
                {
                    string stem = Path.Combine(split, $"ours-{name}");
                    foreach (var stale in new[] { ".csv", ".json", ".error", ".rates" }) File.Delete(stem + stale);
                    var options = Common();
                    configure(options);
                    try
                    {
                        var clock = Stopwatch.StartNew();
                        var model = ml.Fairness().Mitigate(options).Fit(fit);
                        double fitSeconds = clock.Elapsed.TotalSeconds;
                        clock.Restart();
                        var decisions = model.Transform(held).GetColumn<bool>(options.OutputColumnName).ToArray();
                        double scoreSeconds = clock.Elapsed.TotalSeconds;
                        if (decisions.Length != heldRows.Length) throw new InvalidOperationException($"{decisions.Length} decisions for {heldRows.Length} held-out rows");
                        File.WriteAllLines(stem + ".csv", heldRows.Select((r, i) => $"{r.Id},{(decisions[i] ? 1 : 0)}").Prepend("Id,Decision"));
                        if (Environment.GetEnvironmentVariable("MLX_STUDY_RATES") == "1")
                        {
                            var rules = model.Rules.ToDictionary(r => (r.Client, r.Group));
                            var fitRows = Read(Path.Combine(split, "fit.csv"));
                            File.WriteAllLines(stem + ".rates", fitRows.Select(r => ("fit", r)).Concat(heldRows.Select(r => ("held", r)))
                                .Select(p => $"{p.Item1},{p.r.Id},{p.r.Client},{p.r.Group},{(p.r.Label ? 1 : 0)},{(rules.TryGetValue((p.r.Client, p.r.Group), out var rule) ? rule.PositiveProbability(p.r.Probability) : double.NaN).ToString("R", CultureInfo.InvariantCulture)}")
                                .Prepend("Part,Id,Client,Group,Label,P"));
                        }
                        var s = model.Solution;
                        File.WriteAllText(stem + ".json", JsonSerializer.Serialize(new
                        {
                            variant = name, fit_seconds = fitSeconds, score_seconds = scoreSeconds,
                            global_budget = Json(options.GlobalBudget), local_budget = Json(options.LocalBudget),
                            solver_accuracy = s.Accuracy, solver_gap = s.Gap, solver_global_bits = s.GlobalDisparity, solver_local_bits = s.LocalDisparity,
                            newton_steps = s.NewtonSteps, cells = model.Rules.Count, constraint = s.Constraint.ToString(),
                            shrinkage_rows = Json(model.Shrinkage), // the fit time includes choosing it (5-fold CV over 7 candidates)
                        }, new JsonSerializerOptions { WriteIndented = true }));
                        fitTimes[name].Add(fitSeconds);
                    }
                    catch (Exception e)
                    {
                        string message = $"{e.GetType().Name}: {e.Message}";
                        File.WriteAllText(stem + ".error", message + Environment.NewLine);
                        errors[name].Add($"{Path.GetFileName(split)}: {message}");
                    }
                }
            }
            Console.WriteLine($"{Path.GetFileName(dataset)}: {splitDirs.Length} splits");
            foreach (var (name, _) in variants)
            {
                var t = fitTimes[name];
                Console.WriteLine($"  {name,-20} fitted {t.Count}/{splitDirs.Length}" +
                                  (t.Count > 0 ? $", fit median {Median(t) * 1000:F0} ms, max {t.Max() * 1000:F0} ms" : "") +
                                  (errors[name].Count > 0 ? $"; {errors[name].Count} errors, first: {errors[name][0]}" : ""));
            }
        }
        Console.WriteLine($"our side done in {total.Elapsed.TotalSeconds:F0} s");
    }

    /// <summary>One untimed fit and scoring of every variant, so the first timed fit does not pay for the JIT.</summary>
    private static void WarmUp(MLContext ml, string split)
    {
        var fit = ml.Data.LoadFromEnumerable(Read(Path.Combine(split, "fit.csv")));
        foreach (var (_, configure) in Variants)
        {
            var options = Common();
            configure(options);
            try
            {
                ml.Fairness().Mitigate(options).Fit(fit).Transform(fit).GetColumn<bool>(options.OutputColumnName).Count();
            }
            catch (Exception)
            {
                // reported when the split is run
            }
        }
    }

    private static string Json(double budget) => double.IsPositiveInfinity(budget) ? "inf" : budget.ToString("R", CultureInfo.InvariantCulture);

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>Reads study.py's Id,Client,Group,Label,Probability (no quoting: study.py refuses values with commas or quotes).</summary>
    private static StudyRow[] Read(string path)
    {
        var lines = File.ReadAllLines(path);
        if (lines.Length == 0 || lines[0] != "Id,Client,Group,Label,Probability")
            throw new InvalidDataException($"{path}: expected the header Id,Client,Group,Label,Probability");
        return lines.Skip(1).Where(l => l.Length > 0).Select(l => l.Split(',')).Select(f => new StudyRow
        {
            Id = f[0], Client = f[1], Group = f[2], Label = bool.Parse(f[3]), Probability = float.Parse(f[4], CultureInfo.InvariantCulture),
        }).ToArray();
    }
}
