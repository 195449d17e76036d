using MLExtensions.Plotting;
using MLExtensions.Fairness;
using MLExtensions.Fairness.Information;
using MLExtensions.Fairness.Tradeoff;
using Xunit;

namespace MLExtensions.Tests.Fairness;

public class TradeoffTests
{
    /// <summary>Random cells: sizes and label rates differ by client and group, as with heterogeneous clients.</summary>
    private static AccuracyFairnessProblem RandomProblem(int clients, int groups, int seed)
    {
        var random = new Random(seed);
        var sizes = new double[clients, groups];
        var positives = new double[clients, groups];
        for (int s = 0; s < clients; s++)
            for (int z = 0; z < groups; z++)
            {
                sizes[s, z] = random.Next(20, 400);
                positives[s, z] = Math.Round(sizes[s, z] * random.NextDouble());
            }
        return new AccuracyFairnessProblem(sizes, positives);
    }

    /// <summary>The disparities of a classifier given by its per-cell positive rates, computed independently.</summary>
    private static (double Global, double Local) Disparities(AccuracyFairnessProblem problem, TradeoffPoint point)
    {
        var joint = new double[problem.Groups.Count, 2, problem.Clients.Count];
        foreach (var cell in point.Cells)
        {
            int z = IndexOf(problem.Groups, cell.Group), s = IndexOf(problem.Clients, cell.Client);
            joint[z, 1, s] += cell.Share * cell.PredictedPositiveRate;
            joint[z, 0, s] += cell.Share * (1 - cell.PredictedPositiveRate);
        }
        return (InformationMeasures.MutualInformation(InformationMeasures.Marginal01(joint)), InformationMeasures.ConditionalMutualInformation(joint));
    }

    private static int IndexOf(IReadOnlyList<string> names, string name) => names.Select((n, i) => (n, i)).First(p => p.n == name).i;

    private static double Accuracy(TradeoffPoint point) => point.Cells.Sum(c => c.Share * (1 - Math.Abs(c.PredictedPositiveRate - c.LabelPositiveRate)));

    [Theory]
    [InlineData(2, 2, 1)]
    [InlineData(5, 3, 2)]
    [InlineData(40, 2, 3)]
    public void Large_budgets_give_the_unconstrained_accuracy(int clients, int groups, int seed)
    {
        var problem = RandomProblem(clients, groups, seed);
        foreach (var (g, l) in new[] { (double.PositiveInfinity, double.PositiveInfinity), (1.0, 1.0), (0.9, 0.9) })
        {
            var point = AccuracyFairnessTradeoff.Solve(problem, g, l);
            Assert.True(point.Gap <= 1e-7, $"gap {point.Gap}");
            Assert.Equal(1, problem.UnconstrainedAccuracy);
            Assert.Equal(1, point.Accuracy, 1e-6);
        }
    }

    [Theory]
    [InlineData(2, 2, 4)]
    [InlineData(6, 3, 5)]
    public void Zero_budgets_give_a_classifier_independent_of_Z_within_every_client(int clients, int groups, int seed)
    {
        var problem = RandomProblem(clients, groups, seed);
        var point = AccuracyFairnessTradeoff.Solve(problem, 0, 0);
        Assert.True(point.Gap <= 1e-7, $"gap {point.Gap}");
        foreach (var client in point.Cells.GroupBy(c => c.Client))
            Assert.All(client, c => Assert.Equal(client.First().PredictedPositiveRate, c.PredictedPositiveRate));
        var groupRates = point.Cells.GroupBy(c => c.Group).Select(g => g.Sum(c => c.Share * c.PredictedPositiveRate) / g.Sum(c => c.Share)).ToArray();
        Assert.All(groupRates, r => Assert.Equal(groupRates[0], r, 1e-9));
        var (global, local) = Disparities(problem, point);
        Assert.True(global < 1e-12 && local < 1e-12, $"{global} {local}");
        Assert.Equal(ExactlyFairOptimum(problem), point.Accuracy, 1e-6);
    }

    [Fact]
    public void Clients_with_identical_group_mix_at_zero_budgets_match_the_linear_program()
    {
        // Every client has the same group composition (an iid split), so "equal group rates" is implied by "equal
        // rates within each client": the global equality rows vanish and must not turn into constraints of round-off.
        var problem = new AccuracyFairnessProblem(new double[,] { { 30, 70 }, { 60, 140 }, { 150, 350 } },
            new double[,] { { 21, 14 }, { 12, 100 }, { 140, 35 } });
        var point = AccuracyFairnessTradeoff.Solve(problem, 0, 0);
        double optimum = ExactlyFairOptimum(problem);
        Assert.True(point.Gap <= 1e-7, $"gap {point.Gap}");
        Assert.Equal(optimum, point.Accuracy, 1e-6);
        Assert.True(point.AccuracyUpperBound >= optimum - 1e-9, $"bound {point.AccuracyUpperBound} below the optimum {optimum}");
    }

    /// <summary>The ε = 0 problem as a linear program (one rate per client, equal group rates), by the simplex method.</summary>
    private static double ExactlyFairOptimum(AccuracyFairnessProblem problem)
    {
        var cells = problem.Cells;
        int clients = problem.Clients.Count, groups = problem.Groups.Count;
        // Variables: rate c_s, upper slack (1 − c_s), per cell error e⁺, e⁻ with c_s − b = e⁺ − e⁻.
        int n = 2 * clients + 2 * cells.Count;
        var rows = new List<double[]>();
        var rhs = new List<double>();
        for (int s = 0; s < clients; s++)
        {
            var row = new double[n];
            row[s] = 1;
            row[clients + s] = 1;
            rows.Add(row);
            rhs.Add(1);
        }
        for (int k = 0; k < cells.Count; k++)
        {
            var row = new double[n];
            row[cells[k].Client] = 1;
            row[2 * clients + 2 * k] = -1;
            row[2 * clients + 2 * k + 1] = 1;
            rows.Add(row);
            rhs.Add(cells[k].LabelRate);
        }
        double GroupShare(int z) => cells.Where(c => c.Group == z).Sum(c => c.Share);
        for (int z = 1; z < groups; z++)
        {
            var row = new double[n];
            foreach (var c in cells)
            {
                if (c.Group == z) row[c.Client] += c.Share / GroupShare(z);
                if (c.Group == 0) row[c.Client] -= c.Share / GroupShare(0);
            }
            rows.Add(row);
            rhs.Add(0);
        }
        var cost = new double[n];
        for (int k = 0; k < cells.Count; k++) cost[2 * clients + 2 * k] = cost[2 * clients + 2 * k + 1] = cells[k].Share;
        return 1 - DenseSimplex.Minimize(rows, rhs, cost, 1e-9);
    }

    [Theory]
    [InlineData(0.002, 0.01, 6)]
    [InlineData(0.01, 0.002, 7)]
    [InlineData(0.0, 0.02, 8)]
    [InlineData(0.03, 0.0, 9)]
    public void No_classifier_on_a_fine_grid_beats_the_certified_bound_and_the_answer_is_feasible(double globalBudget, double localBudget, int seed)
    {
        var problem = RandomProblem(2, 2, seed);
        var point = AccuracyFairnessTradeoff.Solve(problem, globalBudget, localBudget);
        Assert.True(point.Gap <= 1e-7, $"gap {point.Gap}");
        Assert.Equal(Accuracy(point), point.Accuracy, 1e-12);
        var (global, local) = Disparities(problem, point);
        Assert.True(global <= globalBudget + 1e-10 && local <= localBudget + 1e-10, $"disparities {global}, {local}");

        // Brute force over every classifier with rates in steps of 1/24 (and tied rates when a budget is 0).
        var cells = problem.Cells;
        double best = 0;
        const int steps = 24;
        foreach (var rates in Grid(4, steps))
        {
            var trial = point with { Cells = cells.Select((c, k) => new TradeoffCellRate(problem.Clients[c.Client], problem.Groups[c.Group], c.Share, c.LabelRate, rates[k], 0)).ToArray() };
            var (g, l) = Disparities(problem, trial);
            if (g <= globalBudget + 1e-15 && l <= localBudget + 1e-15) best = Math.Max(best, Accuracy(trial));
        }
        Assert.True(best <= point.AccuracyUpperBound + 1e-12, $"grid {best} above the bound {point.AccuracyUpperBound}");
        Assert.True(point.Accuracy >= best - 1e-9, $"solver {point.Accuracy} below the grid's {best}");
    }

    private static IEnumerable<double[]> Grid(int dimensions, int steps)
    {
        var index = new int[dimensions];
        while (true)
        {
            yield return index.Select(i => i / (double)steps).ToArray();
            int d = 0;
            while (d < dimensions && ++index[d] > steps) index[d++] = 0;
            if (d == dimensions) yield break;
        }
    }

    [Fact]
    public void The_Pareto_surface_is_monotone_and_concave_in_each_budget()
    {
        var problem = RandomProblem(4, 2, 10);
        var surface = AccuracyFairnessTradeoff.Sweep(problem, 6);
        Assert.Equal(6, surface.GlobalBudgets.Count);
        Assert.Equal(6, surface.LocalBudgets.Count);
        Assert.True(surface.MaximumGap <= 1e-7);
        double slack = 2e-7;
        for (int g = 0; g < 6; g++)
            for (int l = 0; l < 6; l++)
            {
                if (g > 0) Assert.True(surface[g, l].Accuracy >= surface[g - 1, l].Accuracy - slack);
                if (l > 0) Assert.True(surface[g, l].Accuracy >= surface[g, l - 1].Accuracy - slack);
                if (g is > 0 and < 5) Assert.True(surface[g, l].Accuracy >= (surface[g - 1, l].Accuracy + surface[g + 1, l].Accuracy) / 2 - slack);
                if (l is > 0 and < 5) Assert.True(surface[g, l].Accuracy >= (surface[g, l - 1].Accuracy + surface[g, l + 1].Accuracy) / 2 - slack);
            }
        Assert.Equal(1, surface[5, 5].Accuracy, 1e-6);
        Assert.True(surface[0, 0].Accuracy < 1 - 1e-3);
        Assert.Contains("<svg", surface.ToSvg());
        Assert.Contains("ε_l =", surface.ToSvg()); // one legend entry per local budget
        var png = Path.Combine(Path.GetTempPath(), $"tradeoff-{Guid.NewGuid():N}.png");
        try
        {
            surface.SavePlot(png);
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, File.ReadAllBytes(png).Take(4).ToArray());
        }
        finally
        {
            File.Delete(png);
        }
        Assert.Equal(37, surface.ToCsv().Trim().Split('\n').Length);
        Assert.Contains("| ε_g", surface.ToMarkdown());
    }

    [Fact]
    public void Hundreds_of_clients_and_several_groups_are_solved_with_a_certificate()
    {
        var problem = RandomProblem(300, 3, 11);
        var (global, local) = AccuracyFairnessTradeoff.UnconstrainedDisparities(problem);
        var point = AccuracyFairnessTradeoff.Solve(problem, global / 4, local / 4);
        Assert.True(point.Gap <= 1e-7, $"gap {point.Gap}");
        var (g, l) = Disparities(problem, point);
        Assert.True(g <= global / 4 + 1e-10 && l <= local / 4 + 1e-10);
        Assert.True(point.Accuracy < 1);
    }

    [Fact]
    public void An_audit_count_table_becomes_a_tradeoff_problem()
    {
        var counts = new FairnessCounts();
        counts.Add("a", "F", "1", "1", 30);
        counts.Add("a", "F", "0", "0", 10);
        counts.Add("a", "M", "1", "0", 5);
        counts.Add("b", "M", "0", "1", 15);
        counts.Add("b", "M", "0", "0", 40);
        var problem = AccuracyFairnessProblem.FromCounts(counts);
        Assert.Equal(["a", "b"], problem.Clients);
        Assert.Equal(["F", "M"], problem.Groups);
        Assert.Equal(100, problem.Rows);
        Assert.Equal(ClassifierFamily.Any, problem.Family);
        Assert.Equal(1, problem.UnconstrainedAccuracy, 1e-12);
        Assert.Equal(1, AccuracyFairnessTradeoff.Solve(problem, double.PositiveInfinity, double.PositiveInfinity).Accuracy, 1e-6);

        // Post-processing the predictions: (a,F) is already perfect, (a,M) is perfectly wrong (flip it), (b,M) carries
        // no information (predict its majority: 40 of 55).
        var derived = AccuracyFairnessProblem.FromCounts(counts, ClassifierFamily.DerivedFromPredictions);
        Assert.Equal((40 + 5 + 40) / 100.0, derived.UnconstrainedAccuracy, 1e-12);
        var best = AccuracyFairnessTradeoff.Solve(derived, double.PositiveInfinity, double.PositiveInfinity);
        Assert.Equal(0.85, best.Accuracy, 1e-6);
        var fair = AccuracyFairnessTradeoff.Solve(derived, 0, 0);
        Assert.True(fair.Gap <= 1e-7);
        Assert.True(fair.Accuracy < 0.85);
    }

    [Fact]
    public void Bad_input_gets_clear_messages()
    {
        var problem = RandomProblem(2, 2, 12);
        Assert.Throws<ArgumentOutOfRangeException>(() => AccuracyFairnessTradeoff.Solve(problem, -0.1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => AccuracyFairnessTradeoff.Solve(problem, 0, double.NaN));
        Assert.Contains("positives", Assert.Throws<ArgumentException>(() => new AccuracyFairnessProblem(new double[,] { { 1, 2 } }, new double[,] { { 2, 0 } })).Message);
        Assert.Contains("two groups", Assert.Throws<InvalidDataException>(() => new AccuracyFairnessProblem(new double[,] { { 1, 0 }, { 3, 0 } }, new double[,] { { 1, 0 }, { 1, 0 } })).Message);
        Assert.Throws<InvalidDataException>(() => new AccuracyFairnessProblem(new double[,] { { 0, 0 } }, new double[,] { { 0, 0 } }));
        var unlabelled = new FairnessCounts();
        unlabelled.Add("a", "F", "1", null);
        Assert.Contains("label", Assert.Throws<InvalidDataException>(() => AccuracyFairnessProblem.FromCounts(unlabelled)).Message);
    }

    [Fact]
    public void Empty_cells_and_pure_cells_are_handled()
    {
        // Client b has no rows of group F; every cell's labels are pure.
        var problem = new AccuracyFairnessProblem(new double[,] { { 50, 50 }, { 0, 80 } }, new double[,] { { 50, 0 }, { 0, 20 } }, ["a", "b"], ["F", "M"]);
        foreach (var (g, l) in new[] { (0.0, 0.0), (0.01, 0.0), (0.0, 0.05), (0.05, 0.05), (1.0, 1.0) })
        {
            var point = AccuracyFairnessTradeoff.Solve(problem, g, l);
            Assert.True(point.Gap <= 1e-7, $"({g}, {l}) gap {point.Gap}");
            Assert.Equal(3, point.Cells.Count);
            Assert.All(point.Cells, c => Assert.InRange(c.PredictedPositiveRate, 0, 1));
        }
    }
}
