namespace MLExtensions.Fairness.Tradeoff;

/// <summary>
/// Moves along a Newton direction: backtracking on the barrier while far from the centre; near it
/// (<see cref="NewtonDirection.NearCentre"/>, where Newton converges quadratically and the barrier's change is below
/// its round-off) the full step is taken when it stays strictly feasible.
/// </summary>
internal static class BarrierLineSearch
{
    /// <summary>
    /// Moves (<paramref name="x"/>, <paramref name="w"/>) in place along <paramref name="d"/>; false when no step
    /// longer than 1e-20 is accepted.
    /// </summary>
    public static bool TakeStep(TradeoffReduction reduction, double[] x, double[] w, double t, NewtonDirection d)
    {
        double step = 1;
        for (int k = 0; k < reduction.Cells.Length; k++)
        {
            var curve = reduction.Cells[k].Curve;
            int r = reduction.RateOf[k];
            for (int i = 0; i < curve.Slopes.Length; i++)
                step = Limit(step, w[k] - curve.Slopes[i] * x[r] - curve.Intercepts[i], d.Dw[k] - curve.Slopes[i] * d.Dx[r]);
        }
        for (int j = 0; j < reduction.Rates; j++)
        {
            step = Limit(step, x[j], d.Dx[j]);
            step = Limit(step, 1 - x[j], -d.Dx[j]);
        }
        bool nearCentre = d.NearCentre;
        double current = nearCentre ? 0 : Value(reduction, x, w, t);
        double globalSlack = reduction.Global == BudgetKind.Inequality ? reduction.GlobalSlack(x) : 1;
        double localSlack = reduction.Local == BudgetKind.Inequality ? reduction.LocalSlack(x) : 1;
        var nx = new double[x.Length];
        var nw = new double[w.Length];
        for (; step > 1e-20; step *= 0.5)
        {
            for (int j = 0; j < x.Length; j++) nx[j] = x[j] + step * d.Dx[j];
            for (int k = 0; k < w.Length; k++) nw[k] = w[k] + step * d.Dw[k];
            // An information slack may at most halve per step: the barrier of a curved constraint recovers only slowly
            // from an iterate pushed next to its boundary.
            if (reduction.Global == BudgetKind.Inequality && reduction.GlobalSlack(nx) < 0.5 * globalSlack) continue;
            if (reduction.Local == BudgetKind.Inequality && reduction.LocalSlack(nx) < 0.5 * localSlack) continue;
            double next = Value(reduction, nx, nw, t);
            if (nearCentre ? double.IsFinite(next) : next <= current - 0.25 * step * d.Decrement)
            {
                Array.Copy(nx, x, x.Length);
                Array.Copy(nw, w, w.Length);
                return true;
            }
        }
        return false;
    }

    /// <summary>The barrier objective t·Σ p w − Σ log(slack) over all inequalities; +∞ outside the strictly feasible set.</summary>
    private static double Value(TradeoffReduction reduction, double[] x, double[] w, double t)
    {
        double value = 0;
        for (int k = 0; k < reduction.Cells.Length; k++)
        {
            var curve = reduction.Cells[k].Curve;
            value += t * reduction.Cells[k].Share * w[k];
            for (int i = 0; i < curve.Slopes.Length; i++)
            {
                double slack = w[k] - curve.Slopes[i] * x[reduction.RateOf[k]] - curve.Intercepts[i];
                if (!(slack > 0)) return double.PositiveInfinity;
                value -= Math.Log(slack);
            }
        }
        foreach (double xj in x)
        {
            if (!(xj > 0 && xj < 1)) return double.PositiveInfinity;
            value -= Math.Log(xj) + Math.Log(1 - xj);
        }
        if (reduction.Global == BudgetKind.Inequality)
        {
            double slack = reduction.GlobalSlack(x);
            if (!(slack > 0)) return double.PositiveInfinity;
            value -= Math.Log(slack);
        }
        if (reduction.Local == BudgetKind.Inequality)
        {
            double slack = reduction.LocalSlack(x);
            if (!(slack > 0)) return double.PositiveInfinity;
            value -= Math.Log(slack);
        }
        return value;
    }

    /// <summary>Largest step (times 0.99) keeping <c>slack + step·rate</c> positive.</summary>
    private static double Limit(double step, double slack, double rate) => rate < 0 ? Math.Min(step, 0.99 * slack / -rate) : step;
}
