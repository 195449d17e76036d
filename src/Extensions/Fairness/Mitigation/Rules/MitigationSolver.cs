using MLExtensions.Fairness.Tradeoff;
using MLExtensions.Numerics;

namespace MLExtensions.Fairness;

/// <summary>Builds each cell's rule hull, solves the trade-off over them and turns the optimal rates into rules.</summary>
internal static class MitigationSolver
{
    /// <summary>The shrinkage strengths (rows of the group's pool blended into each cell) cross-validation chooses from.</summary>
    internal static readonly double[] ShrinkageGrid = [0, 10, 30, 100, 300, 1000, double.PositiveInfinity];

    private const int ShrinkageFolds = 5;

    public sealed record Fitted(TradeoffPoint Solution, IReadOnlyList<CellDecisionRule> Rules, Lazy<CellDecisionRule> PooledRule, double Shrinkage)
    {
        /// <summary>The rule of cells not seen when fitting; built when first asked for (cross-validation folds seldom need it).</summary>
        public CellDecisionRule Pooled => PooledRule.Value;

        /// <summary>The hull each of <see cref="Rules"/> was read from (for the model's ROC curves).</summary>
        public IReadOnlyList<CellRocHull> Hulls { get; init; } = [];

        /// <summary>The cross-fitted estimate of these rules on new rows (unavailable when the options skip it).</summary>
        public MitigationEstimate Estimate { get; init; } = MitigationEstimate.Unavailable(0);
    }

    /// <summary>
    /// Fits the rules, choosing the shrinkage by cross-validation unless the options fix it, with their cross-fitted
    /// estimate when the options ask for one; <paramref name="binned"/> when the rows are histogram bins (scores at
    /// their lower edges).
    /// </summary>
    /// <remarks>
    /// The pieces that do not wait on each other share the cores: the table of all rows is built while the shrinkage
    /// is cross-validated, and the final fit runs beside the cross-fitted estimate's folds.
    /// </remarks>
    public static Fitted Solve(IReadOnlyList<MitigationRow> rows, FairnessMitigator.Options o, bool binned)
    {
        // One sort of the rows serves the full table and every fold's.
        var ascending = o.ScoreColumnName is null ? null : CellTable.SortedByScoreThenLabel(rows);
        var table = Task.Run(() => CellTable.From(rows, o.ScoreColumnName is not null, binned, ascending));
        double shrinkage = o.ShrinkageRows ?? ChooseShrinkage(rows, o, binned, ascending);
        var full = table.GetAwaiter().GetResult();
        if (o.CrossFitFolds < 2) return Solve(full, o, shrinkage);
        var split = MitigationCrossFit.Split(rows, o);
        var fits = ParallelWork.Map(1 + split.Count, i => i == 0 ? Solve(full, o, shrinkage) : MitigationCrossFit.FitWithout(rows, o, shrinkage, split, i - 1, binned, ascending));
        return fits[0]! with { Estimate = MitigationCrossFit.Estimate(rows, o, split, fits[1..]) };
    }

    /// <summary>The rules of <paramref name="table"/>'s cells at one shrinkage; <paramref name="solver"/> overrides the options' solver settings.</summary>
    public static Fitted Solve(CellTable table, FairnessMitigator.Options o, double shrinkage, TradeoffOptions? solver = null)
    {
        // Under a budget the rates are what new rows must keep; without one, accuracy is all, and the pivot serves it.
        var hulls = table.Hulls(shrinkage, keepRates: !(double.IsPositiveInfinity(o.GlobalBudget) && double.IsPositiveInfinity(o.LocalBudget)));
        var problem = new AccuracyFairnessProblem(table.Sizes, Positives(table, hulls),
            table.FromScores ? ClassifierFamily.DerivedFromScores : ClassifierFamily.DerivedFromPredictions,
            (s, z, _) => hulls[s, z]!.Curve, (s, z) => hulls[s, z]!.Region, table.Clients, table.Groups);
        var solution = AccuracyFairnessTradeoff.Solve(problem, o.Constraint, o.GlobalBudget, o.LocalBudget, solver ?? o.Solver);
        var rules = solution.Cells.Select(c =>
        {
            var hull = hulls[table.ClientIndex[c.Client], table.GroupIndex[c.Group]]!;
            return o.Constraint == FairnessConstraint.DemographicParity
                ? hull.RuleForRate(c.Client, c.Group, c.PredictedPositiveRate)
                : hull.RuleForRates(c.Client, c.Group, c.FalsePositiveRate, c.TruePositiveRate);
        }).ToArray();
        double pooledRate = solution.Cells.Sum(c => c.Share * c.PredictedPositiveRate);
        var pooled = new Lazy<CellDecisionRule>(() => table.PooledHull().RuleForRate("", "", pooledRate));
        return new Fitted(solution, rules, pooled, shrinkage)
        {
            Hulls = solution.Cells.Select(c => hulls[table.ClientIndex[c.Client], table.GroupIndex[c.Group]]!).ToArray(),
        };
    }

    /// <summary>The label rate the solver sees is the (blended) hull's, so a cell's positives are its size times that rate.</summary>
    private static double[,] Positives(CellTable table, CellRocHull?[,] hulls)
    {
        var positives = new double[table.Clients.Length, table.Groups.Length];
        for (int s = 0; s < table.Clients.Length; s++)
            for (int z = 0; z < table.Groups.Length; z++)
                if (hulls[s, z] is { } hull) positives[s, z] = table.Sizes[s, z] * hull.LabelRate;
        return positives;
    }

    /// <summary>
    /// The shrinkage cross-validation supports, at the options' budgets: for each candidate, rules fitted on four
    /// fifths of the rows decide the fifth (expected decisions; unseen cells pooled; a histogram's bins are divided
    /// among the folds, see <see cref="MitigationFolds"/>). Rules fitted to cells of a few rows chase noise, rules
    /// shrunk too far ignore what a client's rows show: the held-out rows arbitrate. Candidates whose held-out
    /// disparity exceeds the budget (and the unshrunk rules' own) are out, since shrinking the labels moves the
    /// label-conditioned rates of equalized odds and equal opportunity (demographic parity's rates do not depend on
    /// the labels, and every candidate is eligible); of the rest the strongest shrinkage whose accuracy is within one
    /// standard error of the best wins (the one-standard-error rule), as differences that small are noise.
    /// </summary>
    /// <remarks>
    /// Candidates are tried from the weakest shrinkage up, and the search stops at the first eligible one more than
    /// three standard errors below the best so far: shrinkage trades the cells' variance for the group's bias, so the
    /// held-out accuracy rises to one peak and falls, and a candidate that far below the best cannot be within one
    /// standard error of it. It also stops when two candidates in a row break the budget on held-out rows: stronger
    /// shrinkage moves the labels the rules are fitted to further from the cells' own, and with them the rates the
    /// budget constrains. On large data this spares the strongest (smoothest, most expensive) candidates.
    /// </remarks>
    /// <param name="rows">The fitting rows.</param>
    /// <param name="o">The options (constraint, budgets, seed, solver).</param>
    /// <param name="binned">Whether the rows are histogram bins.</param>
    /// <param name="ascending">The rows' order by (score, label, index), shared with the other tables of the fit.</param>
    /// <param name="exhaustive">Judge every candidate, without the early stops (what the stops are checked against).</param>
    public static double ChooseShrinkage(IReadOnlyList<MitigationRow> rows, FairnessMitigator.Options o, bool binned, int[]? ascending, bool exhaustive = false)
    {
        if (o.ScoreColumnName is null) return 0; // a binary prediction's hull has a single informative point: nothing to shrink
        var folds = MitigationFolds.Of(rows, ShrinkageFolds, o.RowSeed);
        // Each row's cell as a number, so the loops below look rules up in arrays, not by strings.
        var cellIds = new Dictionary<(string, string), int>();
        var cellOf = rows.Select(r => cellIds.TryGetValue((r.Client, r.Group), out int id) ? id : cellIds[(r.Client, r.Group)] = cellIds.Count).ToArray();
        var groupOf = Numbered(rows, r => r.Group, out int groups);
        var clientOf = Numbered(rows, r => r.Client, out int clients);
        // Each fold's table is built by the first solve that needs it.
        var tables = Enumerable.Range(0, ShrinkageFolds).Select(f => new Lazy<CellTable?>(() =>
        {
            try
            {
                return CellTable.WithoutFold(rows, folds, f, fromScores: true, binned, ascending);
            }
            catch (InvalidDataException)
            {
                return null; // a fold lost a group: it cannot judge
            }
        })).ToArray();
        // The weight each row is judged with: its held-out share, unless deployment would refuse its cell (then no part of the judgement).
        var held = new double[rows.Count];
        var correctOf = new List<double[]>(); // per candidate tried, each row's held-out expected correctness
        int[]? used = null;
        double total = 0;
        var accuracy = new List<double>();
        var disparity = new List<HeldOutDisparity?>();
        int best = 0, chosen = 0, unfairInARow = 0;
        // Demographic parity's rates are the cells' own at every shrinkage (it moves labels only) and keep on new rows
        // (the thresholds' placement, see ScoreCounts.RocPoints): what the held-out folds would show of a candidate's
        // disparity is noise. The label-conditioned rates of the other constraints move with the labels: they are judged.
        bool labelled = o.Constraint != FairnessConstraint.DemographicParity;
        // Candidates' fold fits are computed in order ahead of the judgement below, which may stop the search early (and
        // then the solves under way). Accuracies are compared to a few 1e-4: solves certified to 1e-5 of the optimum judge
        // them as well as exact ones.
        using var work = new OrderedWork<Fitted?>(ShrinkageGrid.Length * ShrinkageFolds, (i, stop) =>
            tables[i % ShrinkageFolds].Value is { } table ? Solve(table, o, ShrinkageGrid[i / ShrinkageFolds], new TradeoffOptions
            {
                Tolerance = Math.Max(1e-5, o.Solver?.Tolerance ?? 0),
                MaximumNewtonSteps = o.Solver?.MaximumNewtonSteps ?? new TradeoffOptions().MaximumNewtonSteps,
                Cancellation = stop,
            }) : null);
        foreach (double shrinkage in ShrinkageGrid)
        {
            int first = accuracy.Count * ShrinkageFolds;
            var fits = Enumerable.Range(first, ShrinkageFolds).Select(i => work[i]).ToArray();
            var positive = new double[rows.Count];
            var correct = new double[rows.Count];
            for (int f = 0; f < ShrinkageFolds; f++)
            {
                if (fits[f] is not { } fit) continue;
                var rules = new CellDecisionRule?[cellIds.Count];
                foreach (var rule in fit.Rules) rules[cellIds[(rule.Client, rule.Group)]] = rule;
                for (int i = 0; i < rows.Count; i++)
                {
                    double weight = folds.WeightIn(i, rows[i].Weight, f);
                    if (weight <= 0 || (!o.PoolUnknownCells && rules[cellOf[i]] is null)) continue;
                    if (correctOf.Count == 0) held[i] += weight;
                    double p = (rules[cellOf[i]] ?? fit.Pooled).PositiveProbability(rows[i].Score);
                    positive[i] += weight * p;
                    correct[i] += weight * (rows[i].Label ? p : 1 - p);
                }
            }
            if (used is null)
            {
                used = Enumerable.Range(0, rows.Count).Where(i => held[i] > 0).ToArray();
                if (used.Length == 0) return 0;
                total = used.Sum(i => held[i]);
            }
            correctOf.Add(correct);
            int g = correctOf.Count - 1;
            accuracy.Add(used.Sum(i => correct[i]) / total);
            disparity.Add(labelled ? HeldOutDisparity.Of(rows, groupOf, groups, clientOf, clients, used, held, positive, o.Constraint) : null);
            bool fair = g == 0 || !labelled || (disparity[g]!.Within(disparity[0]!, o.GlobalBudget, o.LocalBudget, held));
            if (!fair)
            {
                if (++unfairInARow == 2 && !exhaustive) break; // the labels only move further from the cells' own
                continue;
            }
            unfairInARow = 0;
            if (accuracy[g] > accuracy[best])
            {
                best = chosen = g; // a new best: the weaker shrinkages tried before it are weaker, the one-SE rule looks only up
                continue;
            }
            double se = PairedStandardError(correctOf[best], correct, held, used, total, accuracy[best] - accuracy[g]);
            if (accuracy[best] - accuracy[g] <= se) chosen = g;
            else if (accuracy[best] - accuracy[g] > 3 * se && !exhaustive) break;
        }
        return ShrinkageGrid[chosen];
    }

    /// <summary>Standard error of the held-out accuracy difference <paramref name="mean"/> of two candidates, paired by row (a bin's rows by their held-out weight).</summary>
    private static double PairedStandardError(double[] a, double[] b, double[] held, int[] used, double total, double mean)
    {
        double variance = used.Sum(i => { double d = (a[i] - b[i]) / held[i] - mean; return held[i] * d * d; }) / Math.Max(1, total - 1);
        return Math.Sqrt(variance / total);
    }

    /// <summary>Each row's value of <paramref name="key"/> as a number from 0, in order of first appearance; <paramref name="count"/> distinct values.</summary>
    private static int[] Numbered(IReadOnlyList<MitigationRow> rows, Func<MitigationRow, string> key, out int count)
    {
        var numbers = new Dictionary<string, int>(StringComparer.Ordinal);
        var of = new int[rows.Count];
        for (int i = 0; i < of.Length; i++)
        {
            string k = key(rows[i]);
            if (!numbers.TryGetValue(k, out of[i])) numbers[k] = of[i] = numbers.Count;
        }
        count = numbers.Count;
        return of;
    }

    /// <summary>
    /// Without a row key or features, rows are hashed by cell and probability, so rows with the same probability share
    /// their draw. Where such a tie holds more than 5 % of a cell's randomised rows, the cell's rate would land on one of
    /// its rules instead of between them: refuse, asking for a key.
    /// </summary>
    public static void CheckKeylessRandomisation(IReadOnlyList<MitigationRow> rows, IReadOnlyList<CellDecisionRule> rules, string scoreColumn)
    {
        var byCell = rows.ToLookup(r => (r.Client, r.Group));
        foreach (var rule in rules.Where(r => r.IsRandomised))
        {
            var band = byCell[(rule.Client, rule.Group)].Where(r => rule.PositiveProbability(r.Score) is > 0 and < 1).ToList();
            if (band.Count < 2) continue;
            var largest = band.GroupBy(r => r.Score).MaxBy(g => g.Count())!;
            if (largest.Count() > Math.Max(1, 0.05 * band.Count))
                throw new InvalidDataException($"In cell ({rule.Client}, {rule.Group}), {largest.Count()} of the {band.Count} rows the rule randomises share the " +
                                               $"{scoreColumn} value {largest.Key}: hashed by cell and score they would all get the same decision. " +
                                               "Set RowKeyColumnName to a stable row id, or FeatureColumnName to a Single vector column.");
        }
    }
}
