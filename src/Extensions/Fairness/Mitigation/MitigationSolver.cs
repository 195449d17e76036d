using MLExtensions.Fairness.Tradeoff;

namespace MLExtensions.Fairness;

/// <summary>Builds each cell's rule hull, solves the trade-off over them and turns the optimal rates into rules.</summary>
internal static class MitigationSolver
{
    /// <summary>The shrinkage strengths (rows of the group's pool blended into each cell) cross-validation chooses from.</summary>
    internal static readonly double[] ShrinkageGrid = [0, 10, 30, 100, 300, 1000, double.PositiveInfinity];

    private const int ShrinkageFolds = 5;

    public sealed record Fitted(TradeoffPoint Solution, IReadOnlyList<CellDecisionRule> Rules, CellDecisionRule Pooled, double Shrinkage)
    {
        /// <summary>The hull each of <see cref="Rules"/> was read from (for the model's ROC curves).</summary>
        public IReadOnlyList<CellRocHull> Hulls { get; init; } = [];
    }

    /// <summary>
    /// Fits the rules, choosing the shrinkage by cross-validation unless the options fix it; <paramref name="binned"/>
    /// when the rows are histogram bins (scores at their lower edges).
    /// </summary>
    public static Fitted Solve(IReadOnlyList<MitigationRow> rows, FairnessMitigator.Options o, bool binned) =>
        Solve(CellTable.From(rows, o.ScoreColumnName is not null, binned), o, o.ShrinkageRows ?? ChooseShrinkage(rows, o, binned));

    public static Fitted Solve(CellTable table, FairnessMitigator.Options o, double shrinkage)
    {
        var hulls = table.Hulls(shrinkage);
        var problem = new AccuracyFairnessProblem(table.Sizes, Positives(table, hulls),
            table.FromScores ? ClassifierFamily.DerivedFromScores : ClassifierFamily.DerivedFromPredictions,
            (s, z, _) => hulls[s, z]!.Curve, (s, z) => hulls[s, z]!.Region, table.Clients, table.Groups);
        var solution = AccuracyFairnessTradeoff.Solve(problem, o.Constraint, o.GlobalBudget, o.LocalBudget, o.Solver);
        var rules = solution.Cells.Select(c =>
        {
            var hull = hulls[table.ClientIndex[c.Client], table.GroupIndex[c.Group]]!;
            return o.Constraint == FairnessConstraint.DemographicParity
                ? hull.RuleForRate(c.Client, c.Group, c.PredictedPositiveRate)
                : hull.RuleForRates(c.Client, c.Group, c.FalsePositiveRate, c.TruePositiveRate);
        }).ToArray();
        double pooledRate = solution.Cells.Sum(c => c.Share * c.PredictedPositiveRate);
        var pooled = table.PooledHull().RuleForRate("", "", pooledRate);
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
    /// label-conditioned rates of equalized odds; of the rest the strongest shrinkage whose accuracy is within one
    /// standard error of the best wins (the one-standard-error rule), as differences that small are noise.
    /// </summary>
    public static double ChooseShrinkage(IReadOnlyList<MitigationRow> rows, FairnessMitigator.Options o, bool binned)
    {
        if (o.ScoreColumnName is null) return 0; // a binary prediction's hull has a single informative point: nothing to shrink
        var folds = MitigationFolds.Of(rows, ShrinkageFolds, o.Seed);
        int grid = ShrinkageGrid.Length;
        // Each row's cell as a number, so the loops below look rules up in arrays, not by strings.
        var cellIds = new Dictionary<(string, string), int>();
        var cellOf = rows.Select(r => cellIds.TryGetValue((r.Client, r.Group), out int id) ? id : cellIds[(r.Client, r.Group)] = cellIds.Count).ToArray();
        var held = new double[rows.Count];
        var positive = new double[grid][];
        var correct = new double[grid][];
        for (int g = 0; g < grid; g++) (positive[g], correct[g]) = (new double[rows.Count], new double[rows.Count]);
        for (int f = 0; f < ShrinkageFolds; f++)
        {
            CellTable table;
            try
            {
                table = CellTable.From(folds.Training(rows, f), fromScores: true, binned);
            }
            catch (InvalidDataException)
            {
                continue; // a fold lost a group: it cannot judge
            }
            var fits = ShrinkageGrid.Select(shrinkage => Solve(table, o, shrinkage)).ToArray();
            var rules = fits.Select(fit =>
            {
                var byCell = new CellDecisionRule?[cellIds.Count];
                foreach (var rule in fit.Rules) byCell[cellIds[(rule.Client, rule.Group)]] = rule;
                return byCell;
            }).ToArray();
            for (int i = 0; i < rows.Count; i++)
            {
                double weight = folds.WeightIn(i, rows[i].Weight, f);
                var r = rows[i];
                // Deployment's unseen-cell policy: pooled, or refused (and then no part of the judgement).
                if (weight <= 0 || (!o.PoolUnknownCells && rules[0][cellOf[i]] is null)) continue;
                held[i] += weight;
                for (int g = 0; g < grid; g++)
                {
                    double p = (rules[g][cellOf[i]] ?? fits[g].Pooled).PositiveProbability(r.Score);
                    positive[g][i] += weight * p;
                    correct[g][i] += weight * (r.Label ? p : 1 - p);
                }
            }
        }
        var used = Enumerable.Range(0, rows.Count).Where(i => held[i] > 0).ToArray();
        if (used.Length == 0) return 0;
        double total = used.Sum(i => held[i]);
        var accuracy = correct.Select(c => used.Sum(i => c[i]) / total).ToArray();
        var disparity = positive.Select(p => Disparities(rows, used, held, p, o.Constraint)).ToArray();
        bool Fair(int g) => disparity[g].Global <= Math.Max(o.GlobalBudget, disparity[0].Global) + 1e-4 && disparity[g].Local <= Math.Max(o.LocalBudget, disparity[0].Local) + 1e-4;
        var candidates = Enumerable.Range(0, grid).Where(g => g == 0 || Fair(g)).ToArray();
        int best = candidates.MaxBy(g => accuracy[g]);
        int chosen = best;
        foreach (int g in candidates.Where(g => ShrinkageGrid[g] > ShrinkageGrid[best]))
        {
            // Paired standard error of the accuracy difference to the best, every row (or a bin's rows) by its held-out weight.
            double mean = accuracy[best] - accuracy[g];
            double variance = used.Sum(i => { double d = (correct[best][i] - correct[g][i]) / held[i] - mean; return held[i] * d * d; }) / Math.Max(1, total - 1);
            double se = Math.Sqrt(variance / total);
            if (accuracy[best] - accuracy[g] <= se && ShrinkageGrid[g] > ShrinkageGrid[chosen]) chosen = g;
        }
        return ShrinkageGrid[chosen];
    }

    /// <summary>The constraint's plug-in disparities (bits) of expected decisions on the rows <paramref name="used"/>.</summary>
    private static (double Global, double Local) Disparities(IReadOnlyList<MitigationRow> rows, int[] used, double[] held, double[] positive, FairnessConstraint constraint)
    {
        var decided = used.SelectMany(i => new[] { (rows[i] with { Weight = positive[i] }, true), (rows[i] with { Weight = held[i] - positive[i] }, false) }).ToArray();
        return (MitigationCrossFit.Disparity(decided, constraint, local: false).PlugIn, MitigationCrossFit.Disparity(decided, constraint, local: true).PlugIn);
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
