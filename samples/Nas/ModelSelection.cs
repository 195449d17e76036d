// The model-selection loop of the NAS sample (--select): what a user's AutoML-style script does with ML.NET's own
// CrossValidate, kept in one file so that the sample and its test run the same code. Not a framework: candidates run
// in order under one wall-clock budget, and the result is a leaderboard.
using MLExtensions.Mlp;
using System.Diagnostics;
using Microsoft.ML;
using MLExtensions.Nas;

namespace NasSample;

/// <summary>
/// A candidate: a name, and a factory that receives the training time each of the candidate's fits may take (our
/// trainers take it as their <c>TimeBudget</c>; ML.NET's trainers have no budget and ignore it).
/// </summary>
public sealed record Candidate(string Name, Func<TimeSpan, IEstimator<ITransformer>> CreateEstimator);

/// <summary>Mean and sample standard deviation of a metric over the folds.</summary>
public readonly record struct MeanSd(double Mean, double StandardDeviation)
{
    /// <summary>The mean and sample standard deviation (0 for a single value) of <paramref name="values"/>.</summary>
    public static MeanSd Of(IReadOnlyCollection<double> values)
    {
        double mean = values.Average();
        double sd = values.Count > 1 ? Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1)) : 0;
        return new MeanSd(mean, sd);
    }

    /// <inheritdoc />
    public override string ToString() => $"{Mean:F4} ± {StandardDeviation:F4}";
}

/// <summary>
/// One line of the leaderboard. Metrics are null when the candidate was skipped because the budget was spent before
/// its turn. <see cref="Time"/> is the whole cross-validation (every fold's fit and hold-out scoring);
/// <see cref="BudgetPerFit"/> is what the candidate's factory received.
/// </summary>
public sealed record LeaderboardRow(string Name, MeanSd? Auc, MeanSd? Accuracy, MeanSd? LogLoss, TimeSpan Time, TimeSpan? BudgetPerFit, string? Detail)
{
    /// <summary>Whether the budget was spent before this candidate's turn.</summary>
    public bool Skipped => Auc is null;
}

/// <summary>Time-budgeted selection of binary classifiers by k-fold cross-validation.</summary>
public static class ModelSelection
{
    /// <summary>
    /// Share of a candidate's time that its trainings get as budget; the rest covers what a training budget does not
    /// bound: the epoch that crosses it, the ONNX export and its check, and scoring the hold-out folds.
    /// </summary>
    public const double TrainingShare = 0.9;

    /// <summary>
    /// Cross-validates the candidates in order on the same folds and returns the leaderboard: evaluated candidates by
    /// mean AUC (best first), then the skipped ones in their order.
    /// </summary>
    /// <remarks>
    /// A candidate starts only while budget remains; it is given an equal share of what remains among itself and the
    /// candidates after it, divided by the folds and scaled by <see cref="TrainingShare"/>, as the budget of each fit.
    /// Time a candidate does not use (ML.NET's trainers are usually quick) goes to those after it, so the last
    /// candidate gets all that is left. A started candidate is not interrupted: one without a budget of its own can
    /// overrun, and the candidates after it are then skipped.
    /// </remarks>
    /// <param name="mlContext">The context whose <c>BinaryClassification.CrossValidate</c> runs the folds.</param>
    /// <param name="data">The rows, with a <see cref="bool"/> label and the columns the candidates read.</param>
    /// <param name="candidates">The candidates, in the order they run; names must be unique.</param>
    /// <param name="numberOfFolds">Folds of the cross-validation, at least 2.</param>
    /// <param name="budget">Wall-clock budget of the whole selection.</param>
    /// <param name="labelColumnName">The label column.</param>
    /// <param name="seed">Seed of the fold assignment, the same for every candidate.</param>
    public static IReadOnlyList<LeaderboardRow> BinaryClassification(MLContext mlContext, IDataView data, IReadOnlyList<Candidate> candidates,
        int numberOfFolds, TimeSpan budget, string labelColumnName = "Label", int seed = 1)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(candidates);
        if (candidates.Count == 0) throw new ArgumentException("There is nothing to select from: give at least one candidate.", nameof(candidates));
        if (candidates.Any(c => c is null || string.IsNullOrWhiteSpace(c.Name) || c.CreateEstimator is null))
            throw new ArgumentException("Every candidate needs a name and an estimator factory.", nameof(candidates));
        if (candidates.GroupBy(c => c.Name).FirstOrDefault(g => g.Count() > 1) is { } duplicate)
            throw new ArgumentException($"Candidate names must be unique: \"{duplicate.Key}\" appears {duplicate.Count()} times.", nameof(candidates));
        ArgumentOutOfRangeException.ThrowIfLessThan(numberOfFolds, 2, nameof(numberOfFolds));
        if (budget <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(budget), budget, "The time budget must be positive.");

        var clock = Stopwatch.StartNew();
        var rows = new List<LeaderboardRow>();
        for (int i = 0; i < candidates.Count; i++)
        {
            var candidate = candidates[i];
            var remaining = budget - clock.Elapsed;
            if (remaining <= TimeSpan.Zero)
            {
                rows.Add(new LeaderboardRow(candidate.Name, null, null, null, TimeSpan.Zero, null, null));
                continue;
            }
            var perFit = remaining / (candidates.Count - i) * TrainingShare / numberOfFolds;
            var started = clock.Elapsed;
            var folds = mlContext.BinaryClassification.CrossValidate(data, candidate.CreateEstimator(perFit), numberOfFolds, labelColumnName, seed: seed);
            try
            {
                var metrics = folds.Select(f => f.Metrics).ToArray();
                rows.Add(new LeaderboardRow(candidate.Name,
                    MeanSd.Of(metrics.Select(m => m.AreaUnderRocCurve).ToArray()),
                    MeanSd.Of(metrics.Select(m => m.Accuracy).ToArray()),
                    MeanSd.Of(metrics.Select(m => m.LogLoss).ToArray()),
                    clock.Elapsed - started, perFit, Architectures(folds.Select(f => f.Model))));
            }
            finally
            {
                foreach (var fold in folds) (fold.Model as IDisposable)?.Dispose(); // ours hold an ONNX Runtime session
            }
        }
        return [.. rows.Where(r => !r.Skipped).OrderByDescending(r => r.Auc!.Value.Mean), .. rows.Where(r => r.Skipped)];
    }

    /// <summary>The leaderboard as a Markdown table.</summary>
    public static string ToMarkdown(IEnumerable<LeaderboardRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var table = new System.Text.StringBuilder()
            .AppendLine("| rank | model | AUC | accuracy | log-loss | CV time | ours: budget per fit, network per fold |")
            .AppendLine("|---|---|---|---|---|---|---|");
        int rank = 0;
        foreach (var r in rows)
        {
            string ours = r.Detail is null ? "" : $"{r.BudgetPerFit!.Value.TotalSeconds:F1} s: {r.Detail}";
            table.AppendLine(r.Skipped
                ? $"| – | {r.Name} | skipped: budget spent | | | | |"
                : $"| {++rank} | {r.Name} | {r.Auc} | {r.Accuracy} | {r.LogLoss} | {r.Time.TotalSeconds:F1} s | {ours} |");
        }
        return table.ToString();
    }

    /// <summary>Our models' architectures, one per fold (for a pipeline, its last transformer); null for other trainers.</summary>
    private static string? Architectures(IEnumerable<ITransformer> models)
    {
        var found = models.Select(m => (m is IEnumerable<ITransformer> chain ? chain.LastOrDefault() : m) as MlpScoredModel).ToArray();
        return found.All(m => m is not null) ? string.Join("; ", found.Select(m => m!.Architecture)) : null;
    }
}
