namespace MLExtensions.Fairness.Tradeoff;

/// <summary>
/// Solves one AGLFOP instance by a primal barrier (interior-point) method and certifies the answer with a Lagrangian
/// lower bound.
/// </summary>
/// <remarks>
/// <para>
/// Variables: the positive-prediction rate x of each cell (of each client when the local budget is 0, which forces
/// the rate to be the same for every group of a client) and an epigraph variable w ≥ e(x) per cell, e the cell's
/// convex piecewise-linear least error (<see cref="CellErrorCurve"/>). The problem is <c>min Σ p w</c> subject to
/// <c>w ≥ a_i x + d_i</c> for every piece, <c>0 ≤ x ≤ 1</c>, <c>I(Z;Ŷ) ≤ ε_g</c>, <c>I(Z;Ŷ|S) ≤ ε_l</c>:
/// a linear objective over a convex set. A zero global budget becomes linear equalities (all groups share one
/// positive rate), so the exactly fair corners are solved too, where a barrier on the information itself could not
/// start.
/// </para>
/// <para>
/// The parts: <see cref="TradeoffReduction"/> sets up the variables and constraints, <see cref="InformationTerms"/>
/// evaluates the disparities, <see cref="NewtonDirection"/> solves each Newton system, <see cref="BarrierLineSearch"/>
/// chooses the step and <see cref="DualCertificate"/> bounds the optimum after each centering. This class runs the
/// barrier loop, multiplying t by 10 per round until the certified gap is within tolerance, stops shrinking, or the
/// Newton steps run out.
/// </para>
/// </remarks>
internal sealed class TradeoffBarrier
{
    private const double CenteringTolerance = 1e-14;
    private const int NewtonStepsPerCentering = 500;

    private readonly AccuracyFairnessProblem _problem;
    private readonly double _globalBudgetBits, _localBudgetBits;
    private readonly TradeoffReduction _reduction;

    public TradeoffBarrier(AccuracyFairnessProblem problem, double globalBudgetBits, double localBudgetBits)
    {
        _problem = problem;
        _globalBudgetBits = globalBudgetBits;
        _localBudgetBits = localBudgetBits;
        _reduction = new TradeoffReduction(problem, globalBudgetBits, localBudgetBits);
    }

    public TradeoffPoint Solve(TradeoffOptions options)
    {
        var x = Enumerable.Repeat(0.5, _reduction.Rates).ToArray();
        var w = _reduction.Cells.Select(c => c.Curve.Error(0.5) + 0.5).ToArray();
        double t = _reduction.InequalityCount, bestLower = double.NegativeInfinity, previousGap = double.PositiveInfinity;
        int stalledRounds = 0;
        int steps = 0;
        while (true)
        {
            NewtonDirection step;
            int slowSteps = 0;
            double previous = double.PositiveInfinity;
            for (int centering = 0; ; centering++)
            {
                step = NewtonDirection.At(_reduction, x, w, t);
                // Newton converges quadratically near the centre; when the decrement stops shrinking there, the
                // systems' precision is spent.
                slowSteps = step.NearCentre && step.Decrement > 0.25 * previous ? slowSteps + 1 : 0;
                previous = step.Decrement;
                if (step.Decrement <= CenteringTolerance || slowSteps >= 3 || steps >= options.MaximumNewtonSteps || centering >= NewtonStepsPerCentering) break;
                steps++;
                options.Cancellation.ThrowIfCancellationRequested();
                if (!BarrierLineSearch.TakeStep(_reduction, x, w, t, step)) break;
            }
            bool centred = step.NearCentre;
            bestLower = Math.Max(bestLower, DualCertificate.LowerBound(_reduction, x, w, t, step));
            double gap = _reduction.Error(x) - bestLower;
            // Past the precision of the Newton systems (condition number ~ t²) the gap stops shrinking: stop there.
            stalledRounds = centred && gap > 0.8 * previousGap ? stalledRounds + 1 : 0;
            bool stalled = stalledRounds >= 2;
            previousGap = gap;
            if (gap <= options.Tolerance || stalled || steps >= options.MaximumNewtonSteps || t > 1e18) break;
            t *= 10;
        }

        double finalError = _reduction.Error(x);
        var cells = _reduction.Cells.Select((c, k) => new TradeoffCellRate(_problem.Clients[c.Client], _problem.Groups[c.Group], c.Share, c.LabelRate,
            x[_reduction.RateOf[k]], 1 - c.Curve.Error(x[_reduction.RateOf[k]]))).ToArray();
        return new TradeoffPoint(_globalBudgetBits, _localBudgetBits, 1 - finalError, Math.Min(1, 1 - bestLower),
            Math.Max(0, finalError - bestLower), Math.Max(0, _reduction.GlobalInformation(x) / Math.Log(2)),
            Math.Max(0, _reduction.LocalInformation(x) / Math.Log(2)), cells, steps);
    }
}
