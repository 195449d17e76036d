using MLExtensions.Numerics;
using static MLExtensions.Numerics.FixedOrder;

namespace MLExtensions.Fairness.Tradeoff;

/// <summary>
/// A Newton step of the barrier problem: the moves of the rates x and epigraph variables w, the multipliers of the
/// equal-rate equalities (scaled by t), and the Newton decrement −∇f·Δ, which is 0 at the centre.
/// </summary>
/// <remarks>
/// Each Newton system is solved in time linear in the number of cells: w is eliminated per cell in closed form
/// (which also avoids the cancellation of nearly active epigraph pairs), the local information's Hessian is block
/// diagonal by client, and the global information's Hessian has rank at most |Z| (it depends on x only through the
/// group rates), so Woodbury's identity (<see cref="ReducedSystem"/>) reduces the rest to a |Z|+1 system.
/// </remarks>
internal sealed record NewtonDirection(double[] Dx, double[] Dw, double[] Multipliers, double Decrement)
{
    /// <summary>Below this decrement Newton converges quadratically and the barrier's change along a step is below its round-off.</summary>
    private const double PureNewtonDecrement = 1e-2;

    /// <summary>Whether the iterate is near the centre of its barrier parameter (decrement below 0.01).</summary>
    public bool NearCentre => Decrement < PureNewtonDecrement;

    /// <summary>The Newton direction of the barrier with parameter <paramref name="t"/> at (<paramref name="x"/>, <paramref name="w"/>).</summary>
    public static NewtonDirection At(TradeoffReduction reduction, double[] x, double[] w, double t)
    {
        int rates = reduction.Rates, cells = reduction.Cells.Length;
        var gx = new double[rates];
        var gw = new double[cells];
        var ratio = new double[cells];
        var hww = new double[cells];
        var diagonal = new double[rates];
        var pieceWeights = new double[reduction.Cells.Max(c => c.Curve.Slopes.Length)];
        for (int k = 0; k < cells; k++)
        {
            // Pieces w − a_i x − d_i ≥ 0 with weights h_i = 1/slack²; w is eliminated: the x curvature left is
            // Σh a² − (Σh a)²/Σh = Σ_{i<j} h_i h_j (a_i − a_j)² / Σh, written so that no large terms cancel.
            int r = reduction.RateOf[k];
            var curve = reduction.Cells[k].Curve;
            int pieces = curve.Slopes.Length;
            double sumH = 0, sumHa = 0, gradientW = t * reduction.Cells[k].Share, gradientX = 0;
            var h = pieceWeights.AsSpan(0, pieces);
            for (int i = 0; i < pieces; i++)
            {
                double slack = w[k] - curve.Slopes[i] * x[r] - curve.Intercepts[i];
                h[i] = 1 / (slack * slack);
                sumH += h[i];
                sumHa += h[i] * curve.Slopes[i];
                gradientW -= 1 / slack;
                gradientX += curve.Slopes[i] / slack;
            }
            double curvature = 0;
            for (int i = 0; i < pieces; i++)
                for (int j = i + 1; j < pieces; j++)
                {
                    double da = curve.Slopes[i] - curve.Slopes[j];
                    curvature += h[i] * h[j] * da * da;
                }
            gw[k] = gradientW;
            gx[r] += gradientX;
            hww[k] = sumH;
            ratio[k] = -sumHa / sumH;
            diagonal[r] += curvature / sumH;
        }
        for (int j = 0; j < rates; j++)
        {
            gx[j] += -1 / x[j] + 1 / (1 - x[j]);
            diagonal[j] += 1 / (x[j] * x[j]) + 1 / ((1 - x[j]) * (1 - x[j]));
        }

        var blocks = reduction.BlockRates.Select(b => new double[b.Length, b.Length]).ToArray();
        for (int b = 0; b < blocks.Length; b++)
            for (int i = 0; i < reduction.BlockRates[b].Length; i++) blocks[b][i, i] = diagonal[reduction.BlockRates[b][i]];
        var lowRank = new List<double[]>();
        if (reduction.Local == BudgetKind.Inequality) reduction.AddLocalBarrierTerms(x, gx, blocks, lowRank);
        if (reduction.Global == BudgetKind.Inequality) reduction.AddGlobalBarrierTerms(x, gx, lowRank);

        var reduced = new double[rates];
        for (int j = 0; j < rates; j++) reduced[j] = -gx[j];
        for (int k = 0; k < cells; k++) reduced[reduction.RateOf[k]] += ratio[k] * gw[k];

        var solver = new ReducedSystem(reduction.BlockRates, blocks, lowRank, rates);
        var dx = solver.Solve(reduced);
        var multipliers = EqualityProjection.Enforce(reduction.Equalities, solver, x, dx);
        var dw = new double[cells];
        for (int k = 0; k < cells; k++) dw[k] = -gw[k] / hww[k] - ratio[k] * dx[reduction.RateOf[k]];
        double decrement = -(SequentialDot(gx, dx) + SequentialDot(gw, dw));
        return new NewtonDirection(dx, dw, multipliers, Math.Max(0, decrement));
    }
}
