using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Fairness;
using MLExtensions.Fairness.Information;
using MLExtensions.Fairness.Tradeoff;

namespace MLExtensions.Bench;

/// <summary>Time of one partial information decomposition for binary Z and Ŷ and many clients.</summary>
public static class PidBench
{
    public static void Run()
    {
        Console.WriteLine("Partial information decomposition, binary Z and Ŷ, random joints with client-dependent rates");
        foreach (var (clients, zEffect) in new[] { (2, 0.0), (10, 0.0), (100, 0.0), (2, 0.3), (10, 0.3), (100, 0.3), (1000, 0.3) })
        {
            var random = new Random(clients);
            var joint = new double[2, 2, clients];
            for (int s = 0; s < clients; s++)
            {
                double share = 0.2 + 0.6 * random.NextDouble(), rate0 = 0.6 * random.NextDouble(), rate1 = Math.Min(1, rate0 + zEffect + 0.1 * random.NextDouble());
                joint[0, 1, s] = (1 - share) * rate0;
                joint[0, 0, s] = (1 - share) * (1 - rate0);
                joint[1, 1, s] = share * rate1;
                joint[1, 0, s] = share * (1 - rate1);
            }
            foreach (var options in new[] { FairnessReportBuilder.DefaultDecompositionOptions, new PidOptions() })
            {
                PartialInformationDecomposition.Compute(joint, options);
                var clock = Stopwatch.StartNew();
                var result = PartialInformationDecomposition.Compute(joint, options);
                Console.WriteLine($"|S| = {clients,3}, Z effect {zEffect:F1}, tolerance {options.Tolerance:E0}: {clock.Elapsed.TotalMilliseconds,9:F2} ms, {result.Iterations,6} iterations, " +
                                  $"gap {result.Gap:E1}, unique {result.Unique:F4}, redundant {result.Redundant:F4}, masked {result.Synergistic:F4} bits");
            }
        }
    }

    /// <summary>One AGLFOP solve (budgets a quarter of the unconstrained disparities) and a 6×6 sweep, for growing numbers of clients.</summary>
    public static void Tradeoff()
    {
        Console.WriteLine("Accuracy–fairness trade-off (AGLFOP), random cells with client- and group-dependent label rates");
        foreach (var (clients, groups) in new[] { (2, 2), (10, 2), (100, 2), (100, 5), (1000, 2) })
        {
            var random = new Random(clients + groups);
            var sizes = new double[clients, groups];
            var positives = new double[clients, groups];
            for (int s = 0; s < clients; s++)
                for (int z = 0; z < groups; z++)
                {
                    sizes[s, z] = random.Next(20, 400);
                    positives[s, z] = Math.Round(sizes[s, z] * random.NextDouble());
                }
            var problem = new AccuracyFairnessProblem(sizes, positives);
            var (global, local) = AccuracyFairnessTradeoff.UnconstrainedDisparities(problem);
            AccuracyFairnessTradeoff.Solve(problem, global / 4, local / 4);
            var clock = Stopwatch.StartNew();
            var point = AccuracyFairnessTradeoff.Solve(problem, global / 4, local / 4);
            double one = clock.Elapsed.TotalMilliseconds;
            clock.Restart();
            var surface = AccuracyFairnessTradeoff.Sweep(problem, 6);
            Console.WriteLine($"|S| = {clients,4}, |Z| = {groups}: one solve {one,8:F1} ms ({point.NewtonSteps} Newton steps, gap {point.Gap:E1}); " +
                              $"6×6 sweep {clock.Elapsed.TotalMilliseconds,8:F0} ms (largest gap {surface.MaximumGap:E1})");
        }
    }

    private sealed class Row
    {
        public string Group { get; set; } = "";
        public string Client { get; set; } = "";
        public bool Predicted { get; set; }
    }

    public sealed class ScoredRow
    {
        public string Client { get; set; } = "";
        public string Sensitive { get; set; } = "";
        public bool Label { get; set; }
        public float Probability { get; set; }
        public string Id { get; set; } = "";
    }

    /// <summary>Fit time of the mitigator per constraint (100 clients × 2 groups, 200,000 rows; default options, with and without the cross-fitted estimate) and its scoring throughput over 1,000,000 rows; <paramref name="constraints"/> (all when empty) picks the constraints, <paramref name="defaultOnly"/> times the default options' fit alone.</summary>
    public static void Mitigator(FairnessConstraint[] constraints, bool defaultOnly)
    {
        var ml = new MLContext(1);
        ScoredRow[] Rows(int n, int seed)
        {
            var random = new Random(seed);
            return Enumerable.Range(0, n).Select(i =>
            {
                int client = random.Next(100);
                bool female = random.NextDouble() < 0.4;
                double logit = 2 * (random.NextDouble() - 0.5) * 3 + (female ? -0.5 : 0.5) * (client % 2 == 0 ? 1 : -1);
                double p = 1 / (1 + Math.Exp(-logit));
                return new ScoredRow { Client = $"c{client}", Sensitive = female ? "F" : "M", Label = random.NextDouble() < p, Probability = (float)p, Id = $"{seed}-{i}" };
            }).ToArray();
        }
        var train = ml.Data.LoadFromEnumerable(Rows(200_000, 1));
        var test = ml.Data.Cache(ml.Data.LoadFromEnumerable(Rows(1_000_000, 2)));
        FairnessMitigatorModel? model = null;
        foreach (var constraint in constraints.Length > 0 ? constraints : Enum.GetValues<FairnessConstraint>())
            foreach (var (folds, shrinkage) in new (int, double?)[] { (5, null), (0, null), (0, 100) }.Take(defaultOnly ? 1 : 3))
            {
                var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                var clock = Stopwatch.StartNew();
                model = ml.Fairness().Mitigate(new FairnessMitigator.Options
                {
                    SensitiveColumnName = "Sensitive", ClientColumnName = "Client", LabelColumnName = "Label", ScoreColumnName = "Probability", RowKeyColumnName = "Id",
                    Constraint = constraint, CrossFitFolds = folds, ShrinkageRows = shrinkage, Seed = 1, // as the README's figures
                }).Fit(train);
                Console.WriteLine($"Mitigator, {constraint}, 100 clients × 2 groups: fit on 200,000 rows {clock.Elapsed.TotalSeconds:F1} s (CPU {(Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds:F1} s) " +
                                  $"({(folds == 0 ? "no cross-fitted estimate" : $"with the {folds}-fold cross-fitted estimate, accuracy {model.CrossFitted.Accuracy:F4}")}; " +
                                  $"shrinkage {model.Shrinkage} rows {(shrinkage is null ? "chosen by 5-fold cross-validation over 7 candidates" : "fixed")}; solver gap {model.Solution.Gap:E1}, {model.Solution.NewtonSteps} Newton steps)");
            }
        if (defaultOnly) return;
        var scoring = Stopwatch.StartNew();
        long positives = model!.Transform(test).GetColumn<bool>("FairPredictedLabel").LongCount(b => b);
        double score = scoring.Elapsed.TotalSeconds;
        Console.WriteLine($"Mitigator scoring 1,000,000 rows {score:F1} s = {1_000_000 / score:N0} rows/s ({positives:N0} positive)");
    }

    /// <summary>An audit over 1M in-memory rows against a bare cursor pass reading the same three columns.</summary>
    public static void Audit()
    {
        var ml = new MLContext(1);
        var random = new Random(1);
        var rows = Enumerable.Range(0, 1_000_000).Select(_ => new Row
        {
            Group = random.Next(2) == 0 ? "F" : "M", Client = "client" + random.Next(10), Predicted = random.NextDouble() < 0.4,
        }).ToArray();
        var data = ml.Data.Cache(ml.Data.LoadFromEnumerable(rows));
        double Bare()
        {
            var clock = Stopwatch.StartNew();
            using var cursor = data.GetRowCursor([data.Schema["Group"], data.Schema["Client"], data.Schema["Predicted"]]);
            var g = cursor.GetGetter<ReadOnlyMemory<char>>(data.Schema["Group"]);
            var c = cursor.GetGetter<ReadOnlyMemory<char>>(data.Schema["Client"]);
            var p = cursor.GetGetter<bool>(data.Schema["Predicted"]);
            ReadOnlyMemory<char> gv = default, cv = default;
            bool pv = false;
            while (cursor.MoveNext()) { g(ref gv); c(ref cv); p(ref pv); }
            return clock.Elapsed.TotalMilliseconds;
        }
        double Audited()
        {
            var clock = Stopwatch.StartNew();
            ml.Fairness().Audit("Group", "Predicted", "Client").Fit(data);
            return clock.Elapsed.TotalMilliseconds;
        }
        Bare();
        Audited();
        Console.WriteLine($"Audit of 1,000,000 rows (10 clients): {Audited():F0} ms; bare cursor pass over the same columns: {Bare():F0} ms");
    }
}
