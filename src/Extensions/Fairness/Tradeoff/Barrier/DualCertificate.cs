using MLExtensions.Numerics;
using static MLExtensions.Numerics.FixedOrder;

namespace MLExtensions.Fairness.Tradeoff;

/// <summary>
/// The certificate of a barrier iterate (weak duality): take the information multipliers 1/(t·slack), the Newton
/// system's equality multipliers, and per cell the piece multipliers 1/(t·slack) rescaled to sum to the cell's share
/// (so w drops out). The Lagrangian is then a convex function of x alone; its linearisation at the iterate, minimised
/// over the box x ∈ [0, 1], bounds the least error from below whatever the multipliers. The iterate is strictly
/// feasible, so its error bounds the optimum from above. The difference is the reported gap.
/// </summary>
internal static class DualCertificate
{
    /// <summary>
    /// A certified lower bound on the least error (weak duality). For multipliers μ ≥ 0 of the information constraints
    /// and ν of the equalities, with F(x) = μ·(I(x) − ε) + ν·E x convex, the dual function is
    /// <c>min_x Σ p e(x) + F(x) ≥ F(x̄) + min_x [Σ p e(x) + ∇F(x̄)·(x − x̄)]</c>, and the inner problem is separable into
    /// one-dimensional piecewise-linear minimisations solved exactly at their breakpoints. The multipliers are fitted
    /// by least squares to the subgradient the barrier's piece multipliers imply, which avoids the round-off of
    /// 1/(t·slack) when slacks are tiny; the barrier's own values are the fallback.
    /// </summary>
    public static double LowerBound(TradeoffReduction reduction, double[] x, double[] w, double t, NewtonDirection d)
    {
        var columns = new List<double[]>();
        var barrierMultipliers = new List<double>();
        var offsets = new List<double>();
        if (reduction.Global == BudgetKind.Inequality)
        {
            double information = reduction.GlobalInformation(x);
            columns.Add(reduction.GlobalGradient(x));
            barrierMultipliers.Add(1 / (t * (reduction.GlobalBudget - information)));
            offsets.Add(information - reduction.GlobalBudget);
        }
        if (reduction.Local == BudgetKind.Inequality)
        {
            double information = reduction.LocalInformation(x);
            columns.Add(reduction.LocalGradient(x));
            barrierMultipliers.Add(1 / (t * (reduction.LocalBudget - information)));
            offsets.Add(information - reduction.LocalBudget);
        }
        int inequalityColumns = columns.Count;
        for (int a = 0; a < reduction.Equalities.Length; a++)
        {
            columns.Add(reduction.Equalities[a]);
            barrierMultipliers.Add(d.Multipliers[a] / t);
            offsets.Add(SequentialDot(reduction.Equalities[a], x));
        }

        double best = Bound(reduction, x, columns, offsets, barrierMultipliers.ToArray());
        if (columns.Count > 0)
        {
            var fitted = FitMultipliers(columns, PieceSubgradient(reduction, x, w));
            for (int i = 0; i < inequalityColumns; i++) fitted[i] = Math.Max(0, fitted[i]);
            if (fitted.All(double.IsFinite)) best = Math.Max(best, Bound(reduction, x, columns, offsets, fitted));
        }
        return best;
    }

    /// <summary>The subgradient of Σ p e at x implied by the piece multipliers 1/(t·slack), rescaled to each cell's share.</summary>
    private static double[] PieceSubgradient(TradeoffReduction reduction, double[] x, double[] w)
    {
        var subgradient = new double[reduction.Rates];
        for (int k = 0; k < reduction.Cells.Length; k++)
        {
            var curve = reduction.Cells[k].Curve;
            int r = reduction.RateOf[k];
            double total = 0, weighted = 0;
            for (int i = 0; i < curve.Slopes.Length; i++)
            {
                double inverseSlack = 1 / (w[k] - curve.Slopes[i] * x[r] - curve.Intercepts[i]);
                total += inverseSlack;
                weighted += inverseSlack * curve.Slopes[i];
            }
            subgradient[r] += reduction.Cells[k].Share * weighted / total;
        }
        return subgradient;
    }

    /// <summary>Multipliers m minimising |Σ m_c·column_c + subgradient|: the Lagrangian as close to stationary at x as the columns allow.</summary>
    private static double[] FitMultipliers(List<double[]> columns, double[] subgradient)
    {
        var normal = new double[columns.Count, columns.Count];
        var rhs = new double[columns.Count];
        for (int i = 0; i < columns.Count; i++)
        {
            rhs[i] = -SequentialDot(columns[i], subgradient);
            for (int j = 0; j < columns.Count; j++) normal[i, j] = SequentialDot(columns[i], columns[j]);
        }
        return SymmetricMatrix.Solve(normal, rhs);
    }

    /// <summary>
    /// The dual bound for the given multipliers of the constraint <paramref name="columns"/> (gradients at x) and
    /// <paramref name="offsets"/> (constraint values at x).
    /// </summary>
    private static double Bound(TradeoffReduction reduction, double[] x, List<double[]> columns, List<double> offsets, double[] multipliers)
    {
        var slope = new double[reduction.Rates];
        double value = 0;
        for (int c = 0; c < columns.Count; c++)
        {
            value += multipliers[c] * offsets[c];
            for (int j = 0; j < reduction.Rates; j++) slope[j] += multipliers[c] * columns[c][j];
        }
        for (int j = 0; j < reduction.Rates; j++) value -= slope[j] * x[j];
        var perRate = new double[reduction.Rates];
        for (int j = 0; j < reduction.Rates; j++) perRate[j] = double.PositiveInfinity;
        // One-dimensional minima of Σ p e(u) + slope·u: a breakpoint of one of the rate's cells is optimal.
        foreach (var cells in reduction.RateCells)
        {
            int j = reduction.RateOf[cells[0]];
            foreach (int k in cells)
                foreach (double u in reduction.Cells[k].Curve.Breakpoints)
                {
                    double candidate = slope[j] * u;
                    foreach (int k2 in cells) candidate += reduction.Cells[k2].Share * reduction.Cells[k2].Curve.Error(u);
                    perRate[j] = Math.Min(perRate[j], candidate);
                }
        }
        return value + perRate.Sum();
    }
}
