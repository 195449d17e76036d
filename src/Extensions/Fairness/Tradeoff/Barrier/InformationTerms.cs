using MLExtensions.Numerics;
using static MLExtensions.Fairness.Tradeoff.BernoulliTerms;

namespace MLExtensions.Fairness.Tradeoff;

/// <summary>
/// The disparities as functions of the rate variables x, in nats: I(Z;Ŷ) and I(Z;Ŷ|S), their budgets' slacks, their
/// gradients, and what the log barriers on their budgets add to a Newton system.
/// </summary>
internal static class InformationTerms
{
    /// <summary>I(Z;Ŷ) in nats.</summary>
    public static double GlobalInformation(this TradeoffReduction reduction, double[] x) => reduction.GlobalInformation(x, out _, out _);

    /// <summary>I(Z;Ŷ) in nats, with the group rates q and the overall rate.</summary>
    public static double GlobalInformation(this TradeoffReduction reduction, double[] x, out double[] groupRate, out double overall)
    {
        groupRate = new double[reduction.GroupCount];
        overall = 0;
        for (int g = 0; g < reduction.GroupCount; g++)
        {
            double q = 0;
            for (int j = 0; j < reduction.Rates; j++) q += reduction.GroupRates[g, j] * x[j];
            groupRate[g] = q;
            overall += reduction.GroupShare[g] * q;
        }
        double information = 0;
        for (int g = 0; g < reduction.GroupCount; g++) information += reduction.GroupShare[g] * Kl(groupRate[g], overall);
        return information;
    }

    /// <summary>I(Z;Ŷ|S) in nats (0 when rates are tied per client).</summary>
    public static double LocalInformation(this TradeoffReduction reduction, double[] x)
    {
        if (reduction.Tied) return 0;
        double information = 0;
        foreach (var block in reduction.BlockCells)
        {
            double mean = reduction.ClientRate(block, x).Mean;
            foreach (int k in block) information += reduction.Cells[k].Share * Kl(x[k], mean);
        }
        return information;
    }

    /// <summary>ε_g − I(Z;Ŷ) in nats.</summary>
    public static double GlobalSlack(this TradeoffReduction reduction, double[] x) => reduction.GlobalBudget - reduction.GlobalInformation(x);

    /// <summary>ε_l − I(Z;Ŷ|S) in nats.</summary>
    public static double LocalSlack(this TradeoffReduction reduction, double[] x) => reduction.LocalBudget - reduction.LocalInformation(x);

    /// <summary>∂I(Z;Ŷ)/∂x in nats.</summary>
    public static double[] GlobalGradient(this TradeoffReduction reduction, double[] x)
    {
        reduction.GlobalInformation(x, out var q, out double overall);
        return reduction.ToRates(reduction.GroupRateGradient(q, overall));
    }

    /// <summary>∂I(Z;Ŷ|S)/∂x in nats (untied rates only).</summary>
    public static double[] LocalGradient(this TradeoffReduction reduction, double[] x)
    {
        var gradient = new double[reduction.Rates];
        foreach (var block in reduction.BlockCells)
        {
            double mean = reduction.ClientRate(block, x).Mean;
            foreach (int k in block) gradient[k] = reduction.Cells[k].Share * (Logit(x[k]) - Logit(mean));
        }
        return gradient;
    }

    /// <summary>
    /// Adds the gradient and Hessian of −log(ε_g − I(Z;Ŷ)): the gradient to <paramref name="gx"/>, the Hessian as
    /// low-rank rows (it has rank at most |Z|, as I(Z;Ŷ) depends on x only through the group rates).
    /// </summary>
    public static void AddGlobalBarrierTerms(this TradeoffReduction reduction, double[] x, double[] gx, List<double[]> lowRank)
    {
        int groups = reduction.GroupCount;
        double slack = reduction.GlobalBudget - reduction.GlobalInformation(x, out var q, out double overall);
        var gq = reduction.GroupRateGradient(q, overall);
        var curvature = new double[groups, groups];
        for (int g = 0; g < groups; g++)
            for (int h = 0; h < groups; h++)
                curvature[g, h] = (g == h ? reduction.GroupShare[g] / (q[g] * (1 - q[g])) : 0)
                    - reduction.GroupShare[g] * reduction.GroupShare[h] / (overall * (1 - overall))
                    + gq[g] * gq[h] / slack;
        var gradient = reduction.ToRates(gq);
        for (int j = 0; j < reduction.Rates; j++) gx[j] += gradient[j] / slack;
        var (values, vectors) = SymmetricMatrix.Eigen(curvature);
        for (int e = 0; e < groups; e++)
        {
            if (!(values[e] > 0)) continue;
            double scale = Math.Sqrt(values[e] / slack);
            var row = new double[reduction.Rates];
            for (int j = 0; j < reduction.Rates; j++)
            {
                double v = 0;
                for (int g = 0; g < groups; g++) v += reduction.GroupRates[g, j] * vectors[g, e];
                row[j] = scale * v;
            }
            lowRank.Add(row);
        }
    }

    /// <summary>
    /// Adds the gradient and Hessian of −log(ε_l − I(Z;Ŷ|S)): the gradient to <paramref name="gx"/>, the information's
    /// Hessian over the slack (block diagonal by client) to <paramref name="blocks"/>, and ∇I ∇Iᵀ / slack² as one
    /// low-rank row.
    /// </summary>
    public static void AddLocalBarrierTerms(this TradeoffReduction reduction, double[] x, double[] gx, double[][,] blocks, List<double[]> lowRank)
    {
        double slack = reduction.LocalSlack(x);
        var gradient = reduction.LocalGradient(x);
        for (int b = 0; b < reduction.BlockCells.Length; b++)
        {
            var block = reduction.BlockCells[b];
            var (share, mean) = reduction.ClientRate(block, x);
            double meanCurvature = 1 / (share * mean * (1 - mean));
            for (int i = 0; i < block.Length; i++)
            {
                int k = block[i];
                for (int i2 = 0; i2 < block.Length; i2++)
                {
                    int k2 = block[i2];
                    double h = -reduction.Cells[k].Share * reduction.Cells[k2].Share * meanCurvature + (i == i2 ? reduction.Cells[k].Share / (x[k] * (1 - x[k])) : 0);
                    blocks[b][i, i2] += h / slack;
                }
            }
        }
        for (int j = 0; j < reduction.Rates; j++) gx[j] += gradient[j] / slack;
        lowRank.Add(gradient.Select(g => g / slack).ToArray());
    }

    /// <summary>∂I(Z;Ŷ)/∂q_g = p(g)·(logit q_g − logit q̄) for group rates q and overall rate q̄.</summary>
    private static double[] GroupRateGradient(this TradeoffReduction reduction, double[] q, double overall) =>
        Enumerable.Range(0, reduction.GroupCount).Select(g => reduction.GroupShare[g] * (Logit(q[g]) - Logit(overall))).ToArray();

    /// <summary>Maps a gradient in group rates to one in the rate variables (q = A x, so Aᵀ·g).</summary>
    private static double[] ToRates(this TradeoffReduction reduction, double[] groupGradient)
    {
        var gradient = new double[reduction.Rates];
        for (int g = 0; g < reduction.GroupCount; g++)
            for (int j = 0; j < reduction.Rates; j++) gradient[j] += reduction.GroupRates[g, j] * groupGradient[g];
        return gradient;
    }

    /// <summary>A client's share of the rows and its positive rate (untied rates: one variable per cell).</summary>
    private static (double Share, double Mean) ClientRate(this TradeoffReduction reduction, int[] block, double[] x)
    {
        double share = 0, mean = 0;
        foreach (int k in block) { share += reduction.Cells[k].Share; mean += reduction.Cells[k].Share * x[k]; }
        return (share, mean / share);
    }
}
