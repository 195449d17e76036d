using MLExtensions.Fairness.Tradeoff;

namespace MLExtensions.Fairness;

/// <summary>Builds each cell's rule hull, solves the trade-off over them and turns the optimal rates into rules.</summary>
internal static class MitigationSolver
{
    public sealed record Fitted(TradeoffPoint Solution, IReadOnlyList<CellDecisionRule> Rules, CellDecisionRule Pooled);

    public static Fitted Solve(IReadOnlyList<MitigationRow> rows, FairnessMitigator.Options o)
    {
        var clients = rows.Select(r => r.Client).Distinct().Order(StringComparer.Ordinal).ToArray();
        var groups = rows.Select(r => r.Group).Distinct().Order(StringComparer.Ordinal).ToArray();
        var clientIndex = clients.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i, StringComparer.Ordinal);
        var groupIndex = groups.Select((g, i) => (g, i)).ToDictionary(p => p.g, p => p.i, StringComparer.Ordinal);
        var cellRows = new List<MitigationRow>?[clients.Length, groups.Length];
        var sizes = new double[clients.Length, groups.Length];
        var positives = new double[clients.Length, groups.Length];
        foreach (var r in rows)
        {
            int s = clientIndex[r.Client], z = groupIndex[r.Group];
            (cellRows[s, z] ??= []).Add(r);
            sizes[s, z]++;
            if (r.Label) positives[s, z]++;
        }
        bool fromScores = o.ScoreColumnName is not null;
        CellRuleHull Hull(IReadOnlyList<MitigationRow> data) => fromScores ? CellRuleHull.FromScores(data) : CellRuleHull.FromPredictions(data);
        var hulls = new CellRuleHull?[clients.Length, groups.Length];
        for (int s = 0; s < clients.Length; s++)
            for (int z = 0; z < groups.Length; z++)
                if (cellRows[s, z] is { } data) hulls[s, z] = Hull(data);

        var problem = new AccuracyFairnessProblem(sizes, positives, fromScores ? ClassifierFamily.DerivedFromScores : ClassifierFamily.DerivedFromPredictions,
            (s, z, _) => hulls[s, z]!.Curve, clients, groups);
        var solution = AccuracyFairnessTradeoff.Solve(problem, o.GlobalBudget, o.LocalBudget, o.Solver);
        var rules = solution.Cells.Select(c => hulls[clientIndex[c.Client], groupIndex[c.Group]]!.RuleFor(c.Client, c.Group, c.PredictedPositiveRate)).ToArray();
        double pooledRate = solution.Cells.Sum(c => c.Share * c.PredictedPositiveRate);
        var pooled = Hull(rows).RuleFor("", "", pooledRate);
        return new Fitted(solution, rules, pooled);
    }

    /// <summary>
    /// Without a row key or features, rows are hashed by cell and probability, so rows with the same probability share
    /// their draw. Where such a tie holds more than 5 % of a cell's randomised rows, the cell's rate would land on one of
    /// its two rules instead of between them: refuse, asking for a key.
    /// </summary>
    public static void CheckKeylessRandomisation(IReadOnlyList<MitigationRow> rows, IReadOnlyList<CellDecisionRule> rules, string scoreColumn)
    {
        var byCell = rows.ToLookup(r => (r.Client, r.Group));
        foreach (var rule in rules.Where(r => r.UpperProbability > 0 && r.UpperProbability < 1))
        {
            var band = byCell[(rule.Client, rule.Group)].Where(r => rule.Upper.Apply(r.Score) != rule.Lower.Apply(r.Score)).ToList();
            if (band.Count < 2) continue;
            var largest = band.GroupBy(r => r.Score).MaxBy(g => g.Count())!;
            if (largest.Count() > Math.Max(1, 0.05 * band.Count))
                throw new InvalidDataException($"In cell ({rule.Client}, {rule.Group}), {largest.Count()} of the {band.Count} rows the rule randomises share the " +
                                               $"{scoreColumn} value {largest.Key}: hashed by cell and score they would all get the same decision. " +
                                               "Set RowKeyColumnName to a stable row id, or FeatureColumnName to a Single vector column.");
        }
    }

    /// <summary>
    /// An honest estimate of what the rule does on new rows: <paramref name="folds"/>-fold cross-fitting, each fold's
    /// rows decided by rules fitted and solved on the other folds (expected decisions, no draw), pooled into accuracy
    /// and the two disparities. The solver's own accuracy is measured on the rows its thresholds were chosen on.
    /// </summary>
    public static MitigationEstimate CrossFit(IReadOnlyList<MitigationRow> rows, FairnessMitigator.Options o, int folds)
    {
        var clients = rows.Select(r => r.Client).Distinct().Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i, StringComparer.Ordinal);
        var groups = rows.Select(r => r.Group).Distinct().Select((g, i) => (g, i)).ToDictionary(p => p.g, p => p.i, StringComparer.Ordinal);
        var joint = new double[groups.Count, 2, clients.Count];
        double correct = 0;
        var fold = new int[rows.Count];
        var random = new Random(o.Seed);
        for (int i = 0; i < fold.Length; i++) fold[i] = random.Next(folds);
        for (int f = 0; f < folds; f++)
        {
            var training = rows.Where((_, i) => fold[i] != f).ToList();
            Fitted fitted;
            try
            {
                fitted = Solve(training, o);
            }
            catch (InvalidDataException)
            {
                return new MitigationEstimate(double.NaN, double.NaN, double.NaN, folds); // a fold lost a group: no estimate
            }
            var rules = fitted.Rules.ToDictionary(r => (r.Client, r.Group));
            for (int i = 0; i < rows.Count; i++)
            {
                if (fold[i] != f) continue;
                var r = rows[i];
                var rule = rules.GetValueOrDefault((r.Client, r.Group)) ?? fitted.Pooled;
                double positive = rule.UpperProbability * (rule.Upper.Apply(r.Score) ? 1 : 0) + (1 - rule.UpperProbability) * (rule.Lower.Apply(r.Score) ? 1 : 0);
                correct += r.Label ? positive : 1 - positive;
                int z = groups[r.Group], s = clients[r.Client];
                joint[z, 1, s] += positive;
                joint[z, 0, s] += 1 - positive;
            }
        }
        return new MitigationEstimate(correct / rows.Count,
            Information.InformationMeasures.MutualInformation(Information.InformationMeasures.Marginal01(joint)),
            Information.InformationMeasures.ConditionalMutualInformation(joint), folds);
    }
}
