using MLExtensions.Numerics;
using static MLExtensions.Fairness.Tradeoff.DenseVector;

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
/// Certificate (weak duality): take the information multipliers 1/(t·slack), the Newton system's equality
/// multipliers, and per cell the piece multipliers 1/(t·slack) rescaled to sum to the cell's share (so w drops out).
/// The Lagrangian is then a convex function of x alone; its linearisation at the iterate, minimised over the box
/// x ∈ [0, 1], bounds the least error from below whatever the multipliers. The iterate is strictly feasible, so its
/// error bounds the optimum from above. The difference is the reported gap.
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
                if (!BarrierLineSearch.TakeStep(_reduction, x, w, t, step)) break;
            }
            bool centred = step.NearCentre;
            bestLower = Math.Max(bestLower, LowerBound(x, w, t, step));
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

    /// <summary>
    /// A certified lower bound on the least error (weak duality). For multipliers μ ≥ 0 of the information constraints
    /// and ν of the equalities, with F(x) = μ·(I(x) − ε) + ν·E x convex, the dual function is
    /// <c>min_x Σ p e(x) + F(x) ≥ F(x̄) + min_x [Σ p e(x) + ∇F(x̄)·(x − x̄)]</c>, and the inner problem is separable into
    /// one-dimensional piecewise-linear minimisations solved exactly at their breakpoints. The multipliers are fitted
    /// by least squares to the subgradient the barrier's piece multipliers imply, which avoids the round-off of
    /// 1/(t·slack) when slacks are tiny; the barrier's own values are the fallback.
    /// </summary>
    private double LowerBound(double[] x, double[] w, double t, NewtonDirection d)
    {
        var subgradient = new double[_reduction.Rates];
        for (int k = 0; k < _reduction.Cells.Length; k++)
        {
            var curve = _reduction.Cells[k].Curve;
            int r = _reduction.RateOf[k];
            double total = 0, weighted = 0;
            for (int i = 0; i < curve.Slopes.Length; i++)
            {
                double inverseSlack = 1 / (w[k] - curve.Slopes[i] * x[r] - curve.Intercepts[i]);
                total += inverseSlack;
                weighted += inverseSlack * curve.Slopes[i];
            }
            subgradient[r] += _reduction.Cells[k].Share * weighted / total;
        }

        var columns = new List<double[]>();
        var barrierMultipliers = new List<double>();
        var offsets = new List<double>();
        if (_reduction.Global == BudgetKind.Inequality)
        {
            double information = _reduction.GlobalInformation(x);
            columns.Add(_reduction.GlobalGradient(x));
            barrierMultipliers.Add(1 / (t * (_reduction.GlobalBudget - information)));
            offsets.Add(information - _reduction.GlobalBudget);
        }
        if (_reduction.Local == BudgetKind.Inequality)
        {
            double information = _reduction.LocalInformation(x);
            columns.Add(_reduction.LocalGradient(x));
            barrierMultipliers.Add(1 / (t * (_reduction.LocalBudget - information)));
            offsets.Add(information - _reduction.LocalBudget);
        }
        int inequalityColumns = columns.Count;
        for (int a = 0; a < _reduction.Equalities.Length; a++)
        {
            columns.Add(_reduction.Equalities[a]);
            barrierMultipliers.Add(d.Multipliers[a] / t);
            offsets.Add(Dot(_reduction.Equalities[a], x));
        }

        double best = Bound(barrierMultipliers.ToArray());
        if (columns.Count > 0)
        {
            var normal = new double[columns.Count, columns.Count];
            var rhs = new double[columns.Count];
            for (int i = 0; i < columns.Count; i++)
            {
                rhs[i] = -Dot(columns[i], subgradient);
                for (int j = 0; j < columns.Count; j++) normal[i, j] = Dot(columns[i], columns[j]);
            }
            var fitted = SymmetricMatrix.Solve(normal, rhs);
            for (int i = 0; i < inequalityColumns; i++) fitted[i] = Math.Max(0, fitted[i]);
            if (fitted.All(double.IsFinite)) best = Math.Max(best, Bound(fitted));
        }
        return best;

        double Bound(double[] multipliers)
        {
            var slope = new double[_reduction.Rates];
            double value = 0;
            for (int c = 0; c < columns.Count; c++)
            {
                value += multipliers[c] * offsets[c];
                for (int j = 0; j < _reduction.Rates; j++) slope[j] += multipliers[c] * columns[c][j];
            }
            for (int j = 0; j < _reduction.Rates; j++) value -= slope[j] * x[j];
            var perRate = new double[_reduction.Rates];
            for (int j = 0; j < _reduction.Rates; j++) perRate[j] = double.PositiveInfinity;
            // One-dimensional minima of Σ p e(u) + slope·u: a breakpoint of one of the rate's cells is optimal.
            foreach (var cells in _reduction.RateCells)
            {
                int j = _reduction.RateOf[cells[0]];
                foreach (int k in cells)
                    foreach (double u in _reduction.Cells[k].Curve.Breakpoints)
                    {
                        double candidate = slope[j] * u;
                        foreach (int k2 in cells) candidate += _reduction.Cells[k2].Share * _reduction.Cells[k2].Curve.Error(u);
                        perRate[j] = Math.Min(perRate[j], candidate);
                    }
            }
            return value + perRate.Sum();
        }
    }
}
