using MLExtensions.Fairness.Tradeoff;

namespace MLExtensions.Fairness;

/// <summary>Builds each cell's rule hull, solves the trade-off over them and turns the optimal rates into rules.</summary>
internal static class MitigationSolver
{
    /// <summary>The shrinkage strengths (rows of the group's pool blended into each cell) cross-validation chooses from.</summary>
    internal static readonly double[] ShrinkageGrid = [0, 10, 30, 100, 300, 1000];

    private const int ShrinkageFolds = 5;

    public sealed record Fitted(TradeoffPoint Solution, IReadOnlyList<CellDecisionRule> Rules, CellDecisionRule Pooled, double Shrinkage);

    /// <summary>Fits the rules, choosing the shrinkage by cross-validation unless the options fix it.</summary>
    public static Fitted Solve(IReadOnlyList<MitigationRow> rows, FairnessMitigator.Options o) =>
        Solve(CellTable.From(rows, o.ScoreColumnName is not null), o, o.ShrinkageRows ?? ChooseShrinkage(rows, o));

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
        return new Fitted(solution, rules, pooled, shrinkage);
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
    /// The shrinkage with the best cross-validated accuracy at the options' budgets: for each candidate, rules fitted
    /// on four fifths of the rows decide the fifth (expected decisions; unseen cells pooled; a histogram's bins are
    /// divided among the folds, see <see cref="MitigationFolds"/>). Rules fitted to cells of a few rows chase noise,
    /// rules shrunk too far ignore what a client's rows show: the held-out rows arbitrate. Ties go to the weaker shrinkage.
    /// </summary>
    public static double ChooseShrinkage(IReadOnlyList<MitigationRow> rows, FairnessMitigator.Options o)
    {
        if (o.ScoreColumnName is null) return 0; // a binary prediction's hull has a single informative point: nothing to shrink
        var folds = MitigationFolds.Of(rows, ShrinkageFolds, o.Seed);
        var correct = new double[ShrinkageGrid.Length];
        for (int f = 0; f < ShrinkageFolds; f++)
        {
            var training = folds.Training(rows, f);
            CellTable table;
            try
            {
                table = CellTable.From(training, fromScores: true);
            }
            catch (InvalidDataException)
            {
                continue;
            }
            for (int g = 0; g < ShrinkageGrid.Length; g++)
            {
                Fitted fitted;
                try
                {
                    fitted = Solve(table, o, ShrinkageGrid[g]);
                }
                catch (InvalidDataException)
                {
                    break; // a fold lost a group: it cannot judge
                }
                var rules = fitted.Rules.ToDictionary(r => (r.Client, r.Group));
                for (int i = 0; i < rows.Count; i++)
                {
                    var r = rows[i];
                    if (!folds.Holds(i, f)) continue;
                    double held = folds.WeightIn(i, r.Weight, f);
                    double positive = (rules.GetValueOrDefault((r.Client, r.Group)) ?? fitted.Pooled).PositiveProbability(r.Score);
                    correct[g] += held * (r.Label ? positive : 1 - positive);
                }
            }
        }
        int best = 0;
        for (int g = 1; g < ShrinkageGrid.Length; g++)
            if (correct[g] > correct[best] + 1e-9 * Math.Max(1, correct[best])) best = g;
        return ShrinkageGrid[best];
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
