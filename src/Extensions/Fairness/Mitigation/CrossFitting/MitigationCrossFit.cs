using MLExtensions.Numerics;

namespace MLExtensions.Fairness;

/// <summary>
/// An honest estimate of what the fitted rule does on new rows: k-fold cross-fitting, each fold's rows decided as
/// deployment decides them (their cell's rule with its random draw; cells the other folds lack get the pooled rule,
/// or are refused as deployment refuses them) by rules fitted on the other folds with the same settings. A row that
/// stands for many (a histogram bin) is divided among the folds (<see cref="MitigationFolds"/>) and its held-out
/// share is decided in expectation: the rule's chance of a positive decision at its score.
/// </summary>
internal static class MitigationCrossFit
{
    /// <summary>The folds of the estimate: others than those the shrinkage was chosen on, so the estimate is not that choice's own score.</summary>
    public static MitigationFolds Split(IReadOnlyList<MitigationRow> rows, FairnessMitigator.Options o) => MitigationFolds.Of(rows, o.CrossFitFolds, unchecked(o.RowSeed + 1));

    /// <summary>The rules fitted without fold <paramref name="f"/> of <paramref name="split"/>, or null when those rows lack a group.</summary>
    public static MitigationSolver.Fitted? FitWithout(IReadOnlyList<MitigationRow> rows, FairnessMitigator.Options o, double shrinkage, MitigationFolds split, int f, bool binned,
        int[]? ascending)
    {
        try
        {
            return MitigationSolver.Solve(CellTable.WithoutFold(rows, split, f, o.ScoreColumnName is not null, binned, ascending), o, shrinkage);
        }
        catch (InvalidDataException)
        {
            return null; // a fold lost a group
        }
    }

    /// <summary>The estimate from each fold's rules (<see cref="FitWithout"/>), deciding the fold's rows as deployment would.</summary>
    public static MitigationEstimate Estimate(IReadOnlyList<MitigationRow> rows, FairnessMitigator.Options o, MitigationFolds split, IReadOnlyList<MitigationSolver.Fitted?> fits)
    {
        int folds = split.Count;
        var draw = new Random(unchecked(o.RowSeed * 31 + 7));
        var decided = new List<(MitigationRow Row, bool Decision)>(rows.Count);
        double refused = 0;
        if (fits.Any(fit => fit is null)) return MitigationEstimate.Unavailable(folds); // no estimate without every fold
        for (int f = 0; f < folds; f++)
        {
            var fitted = fits[f]!;
            var rules = fitted.Rules.ToDictionary(r => (r.Client, r.Group));
            for (int i = 0; i < rows.Count; i++)
            {
                var r = rows[i];
                if (!split.Holds(i, f)) continue;
                double held = split.WeightIn(i, r.Weight, f);
                var rule = rules.GetValueOrDefault((r.Client, r.Group)) ?? (o.PoolUnknownCells ? fitted.Pooled : null);
                if (split.IsDivided(i))
                {
                    // A bin's rows get their own draws at deployment: its held-out weight splits by the rule's chance.
                    if (rule is null)
                    {
                        refused += held;
                        continue;
                    }
                    double positive = rule.PositiveProbability(r.Score);
                    if (positive > 0) decided.Add((r with { Weight = held * positive }, true));
                    if (positive < 1) decided.Add((r with { Weight = held * (1 - positive) }, false));
                    continue;
                }
                double u = draw.NextDouble();
                if (rule is null) refused += r.Weight;
                else decided.Add((r, rule.Apply(r.Score, u)));
            }
        }
        double total = decided.Sum(d => d.Row.Weight);
        if (total <= 0) return MitigationEstimate.Unavailable(folds);
        double correct = decided.Where(d => d.Row.Label == d.Decision).Sum(d => d.Row.Weight);
        var (global, globalCorrected) = Disparity(decided, o.Constraint, local: false);
        var (local, localCorrected) = Disparity(decided, o.Constraint, local: true);
        return new MitigationEstimate(correct / total, global, local, folds)
        {
            GlobalDisparityBiasCorrected = globalCorrected, LocalDisparityBiasCorrected = localCorrected, RefusedShare = refused / (refused + total),
        };
    }

    /// <summary>
    /// The constraint's disparity of the decisions, plug-in and Miller–Madow corrected (bits): I(Z;Ŷ|C) with C nothing
    /// or the client (demographic parity), the label or label and client (equalized odds), on the positive rows only
    /// (equal opportunity).
    /// </summary>
    internal static (double PlugIn, double BiasCorrected) Disparity(IEnumerable<(MitigationRow Row, bool Decision)> decided, FairnessConstraint constraint, bool local)
    {
        return ConditionalInformation.Of(decided.Where(d => constraint.Counts(d.Row.Label))
            .Select(d => (d.Row.Group, d.Decision, (Client: local ? d.Row.Client : "", Label: constraint.LabelStratum(d.Row.Label)), d.Row.Weight)));
    }
}

/// <summary>
/// I(Z;Ŷ|C) of weighted observations in bits (<see cref="Information.InformationMeasures.ConditionalMutualInformation"/>
/// of their table), plug-in and with the Miller–Madow correction: each plug-in entropy is low by (cells − 1)/(2n) nats.
/// </summary>
internal static class ConditionalInformation
{
    public static (double PlugIn, double BiasCorrected) Of<TZ, TC>(IEnumerable<(TZ Z, bool Y, TC C, double Weight)> observations)
        where TZ : notnull where TC : notnull
    {
        var zIndex = new Dictionary<TZ, int>();
        var cIndex = new Dictionary<TC, int>();
        var entries = new List<(int Z, int Y, int C, double Weight)>();
        foreach (var (z, y, condition, w) in observations)
        {
            if (!(w > 0)) continue;
            if (!zIndex.TryGetValue(z, out int zi)) zIndex[z] = zi = zIndex.Count;
            if (!cIndex.TryGetValue(condition, out int ci)) cIndex[condition] = ci = cIndex.Count;
            entries.Add((zi, y ? 1 : 0, ci, w));
        }
        if (entries.Count == 0) return (double.NaN, double.NaN);
        int groups = zIndex.Count, conditions = cIndex.Count;
        var joint = new double[groups, 2, conditions];
        var zc = new double[groups, conditions];
        var yc = new double[2, conditions];
        var c = new double[conditions];
        double n = 0;
        foreach (var (z, y, ci, w) in entries)
        {
            joint[z, y, ci] += w;
            zc[z, ci] += w;
            yc[y, ci] += w;
            c[ci] += w;
            n += w;
        }
        static int Occupied(Array table) => table.Cast<double>().Count(v => v > 0);
        double plugIn = Information.InformationMeasures.ConditionalMutualInformation(joint);
        return (plugIn, plugIn + (Occupied(zc) + Occupied(yc) - Occupied(joint) - Occupied(c)) / (2 * n * Math.Log(2)));
    }
}
