using MLExtensions.Fairness;
using MLExtensions.Fairness.Information;
using MLExtensions.Fairness.Tradeoff;
using Xunit;

namespace MLExtensions.Tests.Fairness;

/// <summary>The trade-off under equalized odds and equal opportunity: optimal against brute force, budgets kept, computed independently.</summary>
public class EqualizedOddsTradeoffTests
{
    /// <summary>Counts of a binary prediction per (client, group) with group-dependent error rates and base rates.</summary>
    private static FairnessCounts RandomCounts(int clients, int seed)
    {
        var random = new Random(seed);
        var counts = new FairnessCounts();
        for (int s = 0; s < clients; s++)
            foreach (var group in new[] { "F", "M", "X" })
            {
                double fpr = 0.05 + 0.3 * random.NextDouble(), tpr = 0.5 + 0.45 * random.NextDouble();
                int positives = random.Next(20, 300), negatives = random.Next(20, 300);
                int tp = (int)Math.Round(tpr * positives), fp = (int)Math.Round(fpr * negatives);
                counts.Add($"c{s}", group, "1", "1", tp);
                counts.Add($"c{s}", group, "0", "1", positives - tp);
                counts.Add($"c{s}", group, "1", "0", fp);
                counts.Add($"c{s}", group, "0", "0", negatives - fp);
            }
        return counts;
    }

    /// <summary>I(Z;Ŷ|C) from the solution's per-cell (FPR, TPR), C the label (global) or label and client (local); only positives for equal opportunity.</summary>
    private static double Disparity(TradeoffPoint point, bool local, bool onlyPositives)
    {
        var groups = point.Cells.Select(c => c.Group).Distinct().Order().ToList();
        var conditions = point.Cells.SelectMany(c => new[] { 0, 1 }.Select(y => (local ? c.Client : "") + y)).Distinct().Order().ToList();
        var joint = new double[groups.Count, 2, conditions.Count];
        foreach (var c in point.Cells)
            foreach (int y in onlyPositives ? new[] { 1 } : new[] { 0, 1 })
            {
                double mass = c.Share * (y == 1 ? c.LabelPositiveRate : 1 - c.LabelPositiveRate), rate = y == 1 ? c.TruePositiveRate : c.FalsePositiveRate;
                int z = groups.IndexOf(c.Group), k = conditions.IndexOf((local ? c.Client : "") + y);
                joint[z, 1, k] += mass * rate;
                joint[z, 0, k] += mass * (1 - rate);
            }
        return InformationMeasures.ConditionalMutualInformation(InformationMeasures.Normalised(joint));
    }

    private static bool Inside((double F, double T)[] quad, double f, double t)
    {
        // The region of a binary prediction: (0,0), its point, (1,1) and its flip, a parallelogram.
        for (int i = 0; i < quad.Length; i++)
        {
            var (p, q) = (quad[i], quad[(i + 1) % quad.Length]);
            if ((q.F - p.F) * (t - p.T) - (q.T - p.T) * (f - p.F) < -1e-12) return false;
        }
        return true;
    }

    [Fact]
    public void Exact_equalized_odds_matches_a_brute_force_search_over_the_common_rates()
    {
        var counts = RandomCounts(clients: 1, seed: 3);
        var problem = AccuracyFairnessProblem.FromCounts(counts, ClassifierFamily.DerivedFromPredictions, "1");
        var point = AccuracyFairnessTradeoff.Solve(problem, FairnessConstraint.EqualizedOdds, 0, double.PositiveInfinity);
        Assert.Equal(FairnessConstraint.EqualizedOdds, point.Constraint);
        Assert.True(point.Gap < 1e-6, $"gap {point.Gap}");

        // Brute force: every group must share one (FPR, TPR) inside each group's parallelogram; the error is linear in it.
        var cells = point.Cells.ToArray();
        var quads = cells.Select(c =>
        {
            var rows = counts.Cells.Where(k => k.Key.Sensitive == c.Group).ToArray();
            double Count(string prediction, string label) => rows.Where(k => k.Key.Prediction == prediction && k.Key.Label == label).Sum(k => k.Value);
            double fpr = Count("1", "0") / (Count("1", "0") + Count("0", "0")), tpr = Count("1", "1") / (Count("1", "1") + Count("0", "1"));
            var corners = new (double F, double T)[] { (0, 0), (fpr, tpr), (1, 1), (1 - fpr, 1 - tpr) };
            // Counter-clockwise order depends on which side of the diagonal the point lies.
            return tpr >= fpr ? corners.Reverse().ToArray() : corners;
        }).ToArray();
        double best = 0;
        for (int i = 0; i <= 500; i++)
            for (int j = 0; j <= 500; j++)
            {
                double f = i / 500.0, t = j / 500.0;
                if (!quads.All(q => Inside(q, f, t))) continue;
                best = Math.Max(best, cells.Sum(c => c.Share * (c.LabelPositiveRate * t + (1 - c.LabelPositiveRate) * (1 - f))));
            }
        Assert.True(point.Accuracy >= best - 1e-6, $"solver {point.Accuracy:F6} below a feasible grid point {best:F6}");
        Assert.True(point.Accuracy <= best + 3e-3, $"solver {point.Accuracy:F6} far above the grid's best {best:F6}");
        // The certificate is a bound: no feasible point, the grid's included, beats it.
        Assert.True(point.AccuracyUpperBound >= best - 1e-9, $"certified bound {point.AccuracyUpperBound:F6} below a feasible grid point {best:F6}");
        Assert.True(Disparity(point, local: false, onlyPositives: false) < 1e-8);
    }

    [Fact]
    public void A_cell_without_positive_labels_takes_no_part_in_equal_opportunity_and_the_rest_still_hold_the_budget()
    {
        var counts = RandomCounts(clients: 2, seed: 9);
        counts.Add("c2", "F", "0", "0", 40); // a client whose group F has only negatives
        counts.Add("c2", "F", "1", "0", 10);
        counts.Add("c2", "M", "1", "1", 30);
        counts.Add("c2", "M", "0", "0", 30);
        var problem = AccuracyFairnessProblem.FromCounts(counts, ClassifierFamily.DerivedFromPredictions, "1");
        foreach (var constraint in new[] { FairnessConstraint.EqualizedOdds, FairnessConstraint.EqualOpportunity })
        {
            var point = AccuracyFairnessTradeoff.Solve(problem, constraint, 0.001, 0.001);
            bool positivesOnly = constraint == FairnessConstraint.EqualOpportunity;
            Assert.True(Disparity(point, false, positivesOnly) <= 0.001 + 1e-9 && Disparity(point, true, positivesOnly) <= 0.001 + 1e-9);
            Assert.True(point.Gap < 1e-6, $"{constraint}: gap {point.Gap}");
            // The all-negative cell has nothing to equalise under equal opportunity: it predicts its best, never positive.
            if (positivesOnly) Assert.Equal(0, point.Cells.Single(c => c.Client == "c2" && c.Group == "F").PredictedPositiveRate, 6);
        }
    }

    [Theory]
    [InlineData(FairnessConstraint.EqualizedOdds)]
    [InlineData(FairnessConstraint.EqualOpportunity)]
    public void Budgets_hold_accuracy_grows_with_them_and_only_the_constrained_rates_are_tied(FairnessConstraint constraint)
    {
        var problem = AccuracyFairnessProblem.FromCounts(RandomCounts(clients: 4, seed: 5), ClassifierFamily.DerivedFromPredictions, "1");
        bool positivesOnly = constraint == FairnessConstraint.EqualOpportunity;
        var free = AccuracyFairnessTradeoff.Solve(problem, constraint, double.PositiveInfinity, double.PositiveInfinity);
        Assert.Equal(problem.UnconstrainedAccuracy, free.Accuracy, 5);
        double globalFree = Disparity(free, false, positivesOnly), localFree = Disparity(free, true, positivesOnly);
        Assert.True(globalFree > 1e-3 && localFree > 1e-3, $"the data should be unfair: {globalFree}, {localFree}");
        double previous = 0;
        foreach (double fraction in new[] { 0.0, 0.1, 0.5 })
        {
            double globalBudget = fraction * globalFree, localBudget = fraction * localFree;
            var point = AccuracyFairnessTradeoff.Solve(problem, constraint, globalBudget, localBudget);
            Assert.True(point.Gap < 1e-6, $"gap {point.Gap}");
            double global = Disparity(point, false, positivesOnly), local = Disparity(point, true, positivesOnly);
            Assert.True(global <= globalBudget + 1e-9, $"global {global} > {globalBudget}");
            Assert.True(local <= localBudget + 1e-9, $"local {local} > {localBudget}");
            Assert.Equal(global, point.GlobalDisparity, 6);
            Assert.Equal(local, point.LocalDisparity, 6);
            Assert.True(point.Accuracy >= previous - 1e-9 && point.Accuracy <= free.Accuracy + 1e-9);
            previous = point.Accuracy;
            foreach (var c in point.Cells)
                Assert.Equal(c.LabelPositiveRate * c.TruePositiveRate + (1 - c.LabelPositiveRate) * c.FalsePositiveRate, c.PredictedPositiveRate, 9);
        }
        if (positivesOnly)
        {
            // Equal opportunity leaves the false positive rates free: at a zero budget they still differ.
            var exact = AccuracyFairnessTradeoff.Solve(problem, constraint, 0, 0);
            Assert.True(Disparity(exact, false, onlyPositives: false) > 1e-4);
        }
    }
}
