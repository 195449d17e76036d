using Microsoft.ML;
using MLExtensions.Fairness;
using MLExtensions.Fairness.Tradeoff;

namespace MLExtensions.QuickStart;

/// <summary>A fairness audit of generated predictions from three clients that favour different groups.</summary>
public static class FairnessSection
{
    private sealed class Row
    {
        public string Group { get; set; } = "";
        public string Client { get; set; } = "";
        public bool Approved { get; set; }
        public bool Deserved { get; set; }
    }

    public static void Run(MLContext ml)
    {
        Console.WriteLine("== Fairness audit: mlContext.Fairness().Audit (global vs local disparity and their decomposition) ==");
        var random = new Random(3);
        string[] clients = ["bank A", "bank B", "bank C"];
        var rows = Enumerable.Range(0, 30_000).Select(_ =>
        {
            var client = clients[random.Next(3)];
            bool groupOne = random.NextDouble() < (client == "bank C" ? 0.8 : 0.4);
            // Bank A favours group 1, bank B group 0; bank C is fair but mostly serves group 1.
            double rate = client switch { "bank A" => groupOne ? 0.7 : 0.4, "bank B" => groupOne ? 0.4 : 0.7, _ => 0.5 };
            bool approved = random.NextDouble() < rate;
            return new Row { Group = groupOne ? "1" : "0", Client = client, Approved = approved, Deserved = random.NextDouble() < (approved ? 0.8 : 0.25) };
        }).ToArray();

        var audit = ml.Fairness().Audit("Group", "Approved", "Client", "Deserved").Fit(ml.Data.LoadFromEnumerable(rows));
        var r = audit.Report;
        Console.WriteLine($"global disparity I(Z;Ŷ) {r.GlobalDisparity:F4} bits, local disparity I(Z;Ŷ|S) {r.LocalDisparity:F4} bits " +
                          $"= unique {r.UniqueDisparity:F4} + masked {r.MaskedDisparity:F4}; redundant {r.RedundantDisparity:F4} (certificate {r.Decomposition.Gap:E0})");
        foreach (var c in r.Clients)
            Console.WriteLine($"  {c.Client}: {c.Rows} rows, local disparity {c.LocalDisparity:F4} bits, parity difference {c.StatisticalParityDifference:+0.000;-0.000}");
        var local = r.ConfidenceIntervals["LocalDisparity"];
        Console.WriteLine($"global parity difference {r.StatisticalParityDifference:+0.000;-0.000}: clients that favour opposite groups mask each other " +
                          $"(local disparity 95% bootstrap interval [{local.Lower:F4}, {local.Upper:F4}] bits).");

        // The accuracy–fairness trade-off of fixing these approvals by per-bank, per-group post-processing.
        var problem = AccuracyFairnessProblem.FromCounts(r.Counts, ClassifierFamily.DerivedFromPredictions);
        var unconstrained = AccuracyFairnessTradeoff.Solve(problem, double.PositiveInfinity, double.PositiveInfinity);
        var halfLocal = AccuracyFairnessTradeoff.Solve(problem, double.PositiveInfinity, r.LocalDisparity / 2);
        var fair = AccuracyFairnessTradeoff.Solve(problem, 0, 0);
        Console.WriteLine($"trade-off (AGLFOP) for post-processed approvals: best accuracy {unconstrained.Accuracy:F4} unconstrained, " +
                          $"{halfLocal.Accuracy:F4} with half the local disparity, {fair.Accuracy:F4} fair globally and in every bank " +
                          $"(certified within {Math.Max(halfLocal.Gap, fair.Gap):E0}).");
    }
}
