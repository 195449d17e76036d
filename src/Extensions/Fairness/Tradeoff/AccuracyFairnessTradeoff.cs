using MLExtensions.Fairness.Information;

namespace MLExtensions.Fairness.Tradeoff;

/// <summary>
/// The accuracy–global–local fairness optimality problem (AGLFOP, Hamman &amp; Dutta 2024): the best accuracy any
/// classifier of binary labels can reach on given data while its global disparity I(Z;Ŷ) stays within ε_g and its
/// local disparity I(Z;Ŷ|S) within ε_l, and the Pareto surface of that accuracy over (ε_g, ε_l).
/// </summary>
/// <remarks>
/// The problem is convex (both informations are convex in the per-cell positive rates, accuracy is concave), for
/// any number of clients and sensitive groups. It is solved to its global optimum by an interior-point method whose
/// answer comes with a certified bound: <see cref="TradeoffPoint.AccuracyUpperBound"/> is a proof that no classifier
/// does better, <see cref="TradeoffPoint.Gap"/> the distance to it. A zero budget is enforced exactly (equal positive
/// rates across groups, globally or within every client).
/// </remarks>
public static class AccuracyFairnessTradeoff
{
    /// <summary>The most accurate classifier with I(Z;Ŷ) ≤ <paramref name="globalBudget"/> and I(Z;Ŷ|S) ≤ <paramref name="localBudget"/>.</summary>
    /// <param name="problem">The data's cells.</param>
    /// <param name="globalBudget">ε_g in bits, ≥ 0; <see cref="double.PositiveInfinity"/> for none.</param>
    /// <param name="localBudget">ε_l in bits, ≥ 0; <see cref="double.PositiveInfinity"/> for none.</param>
    /// <param name="options">Solver settings.</param>
    /// <exception cref="ArgumentOutOfRangeException">A budget is negative or NaN.</exception>
    public static TradeoffPoint Solve(AccuracyFairnessProblem problem, double globalBudget, double localBudget, TradeoffOptions? options = null)
        => Solve(problem, FairnessConstraint.DemographicParity, globalBudget, localBudget, options);

    /// <summary>
    /// The most accurate classifier whose disparities of kind <paramref name="constraint"/> stay within the budgets:
    /// demographic parity I(Z;Ŷ) ≤ ε_g and I(Z;Ŷ|S) ≤ ε_l, equalized odds I(Z;Ŷ|Y) ≤ ε_g and I(Z;Ŷ|Y,S) ≤ ε_l, or
    /// equal opportunity I(Z;Ŷ|Y=1) ≤ ε_g and I(Z;Ŷ|Y=1,S) ≤ ε_l. Under the last two each cell chooses its false and
    /// true positive rates within its ROC region (for <see cref="ClassifierFamily.Any"/>, the unit square).
    /// </summary>
    /// <param name="problem">The data's cells.</param>
    /// <param name="constraint">The disparity bounded.</param>
    /// <param name="globalBudget">ε_g in bits, ≥ 0; <see cref="double.PositiveInfinity"/> for none.</param>
    /// <param name="localBudget">ε_l in bits, ≥ 0; <see cref="double.PositiveInfinity"/> for none.</param>
    /// <param name="options">Solver settings.</param>
    /// <exception cref="ArgumentOutOfRangeException">A budget is negative or NaN, or the constraint is not defined.</exception>
    public static TradeoffPoint Solve(AccuracyFairnessProblem problem, FairnessConstraint constraint, double globalBudget, double localBudget, TradeoffOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(problem);
        CheckConstraint(constraint);
        CheckBudget(globalBudget, nameof(globalBudget));
        CheckBudget(localBudget, nameof(localBudget));
        options ??= new TradeoffOptions();
        options.Validate();
        return SolveChecked(problem, constraint, globalBudget, localBudget, options);
    }

    private static TradeoffPoint SolveChecked(AccuracyFairnessProblem problem, FairnessConstraint constraint, double globalBudget, double localBudget, TradeoffOptions options) =>
        constraint == FairnessConstraint.DemographicParity
            ? new TradeoffBarrier(problem, globalBudget, localBudget).Solve(options)
            : new RocTradeoffBarrier(problem, constraint, globalBudget, localBudget).Solve(options);

    private static void CheckConstraint(FairnessConstraint constraint)
    {
        if (!Enum.IsDefined(constraint))
            throw new ArgumentOutOfRangeException(nameof(constraint), constraint, "Give DemographicParity, EqualizedOdds or EqualOpportunity.");
    }

    /// <summary>The Pareto surface: the solution for every pair of budgets.</summary>
    /// <param name="problem">The data's cells.</param>
    /// <param name="globalBudgets">ε_g values, bits.</param>
    /// <param name="localBudgets">ε_l values, bits.</param>
    /// <param name="options">Solver settings.</param>
    public static ParetoSurface Sweep(AccuracyFairnessProblem problem, IReadOnlyList<double> globalBudgets, IReadOnlyList<double> localBudgets,
        TradeoffOptions? options = null) => Sweep(problem, FairnessConstraint.DemographicParity, globalBudgets, localBudgets, options);

    /// <summary>The Pareto surface for the disparity <paramref name="constraint"/>: the solution for every pair of budgets.</summary>
    /// <param name="problem">The data's cells.</param>
    /// <param name="constraint">The disparity bounded.</param>
    /// <param name="globalBudgets">ε_g values, bits.</param>
    /// <param name="localBudgets">ε_l values, bits.</param>
    /// <param name="options">Solver settings.</param>
    public static ParetoSurface Sweep(AccuracyFairnessProblem problem, FairnessConstraint constraint, IReadOnlyList<double> globalBudgets,
        IReadOnlyList<double> localBudgets, TradeoffOptions? options = null)
    {
        CheckConstraint(constraint);
        ArgumentNullException.ThrowIfNull(problem);
        ArgumentNullException.ThrowIfNull(globalBudgets);
        ArgumentNullException.ThrowIfNull(localBudgets);
        if (globalBudgets.Count == 0 || localBudgets.Count == 0) throw new ArgumentException("Give at least one budget of each kind.");
        foreach (double b in globalBudgets) CheckBudget(b, nameof(globalBudgets));
        foreach (double b in localBudgets) CheckBudget(b, nameof(localBudgets));
        options ??= new TradeoffOptions();
        options.Validate();
        var global = globalBudgets.Order().ToArray();
        var local = localBudgets.Order().ToArray();
        var points = new TradeoffPoint[global.Length * local.Length];
        Parallel.For(0, points.Length, i => points[i] = SolveChecked(problem, constraint, global[i / local.Length], local[i % local.Length], options));
        return new ParetoSurface(problem.UnconstrainedAccuracy, global, local, points);
    }

    /// <summary>
    /// The Pareto surface on an evenly spaced <paramref name="steps"/> × <paramref name="steps"/> grid from 0 to the
    /// disparities of the best unconstrained classifier, where the constraints stop binding.
    /// </summary>
    /// <param name="problem">The data's cells.</param>
    /// <param name="steps">Budgets per axis, ≥ 2. Default: 6.</param>
    /// <param name="options">Solver settings.</param>
    public static ParetoSurface Sweep(AccuracyFairnessProblem problem, int steps = 6, TradeoffOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(problem);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 2);
        var (global, local) = UnconstrainedDisparities(problem);
        static double[] Grid(double top, int n) => top <= 0 ? [0.0] : Enumerable.Range(0, n).Select(i => top * i / (n - 1)).ToArray();
        return Sweep(problem, Grid(global, steps), Grid(local, steps), options);
    }

    /// <summary>
    /// Global and local disparity (bits) of the most accurate unconstrained classifier of the problem's family (for
    /// <see cref="ClassifierFamily.Any"/> a perfect one, so the labels' own disparities).
    /// </summary>
    public static (double Global, double Local) UnconstrainedDisparities(AccuracyFairnessProblem problem)
    {
        ArgumentNullException.ThrowIfNull(problem);
        var joint = new double[problem.Groups.Count, 2, problem.Clients.Count];
        foreach (var cell in problem.Cells)
        {
            joint[cell.Group, 1, cell.Client] += cell.Share * cell.Curve.BestRate;
            joint[cell.Group, 0, cell.Client] += cell.Share * (1 - cell.Curve.BestRate);
        }
        return (InformationMeasures.MutualInformation(InformationMeasures.Marginal01(joint)), InformationMeasures.ConditionalMutualInformation(joint));
    }

    private static void CheckBudget(double budget, string name)
    {
        if (!(budget >= 0)) throw new ArgumentOutOfRangeException(name, budget, "Disparity budgets are bits of information: ≥ 0 (or +∞ for no constraint).");
    }
}
