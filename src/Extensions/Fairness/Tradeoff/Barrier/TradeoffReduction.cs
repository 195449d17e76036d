using static MLExtensions.Numerics.FixedOrder;

namespace MLExtensions.Fairness.Tradeoff;

/// <summary>How an information budget enters the barrier problem.</summary>
internal enum BudgetKind
{
    /// <summary>Not a constraint: the budget cannot bind, or tied rates already meet it.</summary>
    Free,

    /// <summary>A log barrier on the budget's slack.</summary>
    Inequality,

    /// <summary>Linear equalities: a zero global budget, where every group has the same positive rate.</summary>
    Equality,
}

/// <summary>
/// One AGLFOP instance in the variables of <see cref="TradeoffBarrier"/>: which rate variable each cell uses, the
/// client blocks the local information couples, the group rates the global information depends on, and how each
/// budget enters.
/// </summary>
internal sealed class TradeoffReduction
{
    public TradeoffReduction(AccuracyFairnessProblem problem, double globalBudgetBits, double localBudgetBits)
    {
        Cells = problem.Cells.ToArray();
        GlobalBudget = globalBudgetBits * Math.Log(2);
        LocalBudget = localBudgetBits * Math.Log(2);
        // Neither information can exceed H(Ŷ) ≤ 1 bit: larger budgets never bind.
        Global = globalBudgetBits == 0 ? BudgetKind.Equality : globalBudgetBits >= 1 ? BudgetKind.Free : BudgetKind.Inequality;
        Tied = localBudgetBits == 0;
        Local = Tied || localBudgetBits >= 1 ? BudgetKind.Free : BudgetKind.Inequality;

        var clients = Cells.Select(c => c.Client).Distinct().ToArray();
        BlockCells = clients.Select(s => Enumerable.Range(0, Cells.Length).Where(k => Cells[k].Client == s).ToArray()).ToArray();
        RateOf = new int[Cells.Length];
        for (int b = 0; b < clients.Length; b++)
            foreach (int k in BlockCells[b]) RateOf[k] = Tied ? b : k;
        Rates = Tied ? clients.Length : Cells.Length;
        BlockRates = Tied ? Enumerable.Range(0, clients.Length).Select(b => new[] { b }).ToArray() : BlockCells;
        RateCells = Tied ? BlockCells : Enumerable.Range(0, Cells.Length).Select(k => new[] { k }).ToArray();

        var groups = Cells.Select(c => c.Group).Distinct().Order().ToArray();
        GroupShare = groups.Select(z => Cells.Where(c => c.Group == z).Sum(c => c.Share)).ToArray();
        GroupRates = new double[groups.Length, Rates];
        for (int k = 0; k < Cells.Length; k++)
        {
            int g = Array.IndexOf(groups, Cells[k].Group);
            GroupRates[g, RateOf[k]] += Cells[k].Share / GroupShare[g];
        }
        Equalities = Global != BudgetKind.Equality ? [] : EqualRateConstraints();
    }

    /// <summary>The problem's non-empty cells.</summary>
    public TradeoffCell[] Cells { get; }

    /// <summary>Whether rates are tied per client (local budget 0): one rate variable per client instead of per cell.</summary>
    public bool Tied { get; }

    /// <summary>Number of rate variables.</summary>
    public int Rates { get; }

    /// <summary>The rate variable of each cell.</summary>
    public int[] RateOf { get; }

    /// <summary>The cells of each client.</summary>
    public int[][] BlockCells { get; }

    /// <summary>The rate variables of each client: the diagonal blocks of the Newton system.</summary>
    public int[][] BlockRates { get; }

    /// <summary>The cells that share each rate variable.</summary>
    public int[][] RateCells { get; }

    /// <summary>Each group's share of the rows.</summary>
    public double[] GroupShare { get; }

    /// <summary>Number of groups with rows.</summary>
    public int GroupCount => GroupShare.Length;

    /// <summary>The group rates as a linear map of the rate variables: q_g = Σ_j GroupRates[g, j]·x_j.</summary>
    public double[,] GroupRates { get; }

    /// <summary>How the global budget I(Z;Ŷ) ≤ ε_g enters.</summary>
    public BudgetKind Global { get; }

    /// <summary>How the local budget I(Z;Ŷ|S) ≤ ε_l enters.</summary>
    public BudgetKind Local { get; }

    /// <summary>ε_g in nats.</summary>
    public double GlobalBudget { get; }

    /// <summary>ε_l in nats.</summary>
    public double LocalBudget { get; }

    /// <summary>Rows of the equalities E x = 0 of a zero global budget (none otherwise).</summary>
    public double[][] Equalities { get; }

    /// <summary>Inequalities the barrier holds a log term for: every piece of every cell, both ends of every rate, and inequality budgets.</summary>
    public int InequalityCount => Cells.Sum(c => c.Curve.Slopes.Length) + 2 * Rates
        + (Global == BudgetKind.Inequality ? 1 : 0) + (Local == BudgetKind.Inequality ? 1 : 0);

    /// <summary>The least error Σ p e(x) at the rates x.</summary>
    public double Error(double[] x)
    {
        double error = 0;
        for (int k = 0; k < Cells.Length; k++) error += Cells[k].Share * Cells[k].Curve.Error(x[RateOf[k]]);
        return error;
    }

    /// <summary>
    /// Orthonormal rows spanning "every group's positive rate equals the first group's". Rows that are zero in exact
    /// arithmetic (groups with the same client mix, e.g. iid clients) come out as round-off; orthonormalising with a
    /// relative tolerance drops them instead of letting Newton enforce a hyperplane of noise.
    /// </summary>
    private double[][] EqualRateConstraints()
    {
        double scale = 0;
        for (int g = 0; g < GroupCount; g++)
        {
            double norm = 0;
            for (int j = 0; j < Rates; j++) norm += GroupRates[g, j] * GroupRates[g, j];
            scale = Math.Max(scale, Math.Sqrt(norm));
        }
        var basis = new List<double[]>();
        for (int g = 1; g < GroupCount; g++)
        {
            var row = Enumerable.Range(0, Rates).Select(j => GroupRates[g, j] - GroupRates[0, j]).ToArray();
            for (int pass = 0; pass < 2; pass++) // twice: classical Gram–Schmidt loses orthogonality once
                foreach (var b in basis)
                {
                    double dot = SequentialDot(row, b);
                    for (int j = 0; j < Rates; j++) row[j] -= dot * b[j];
                }
            double length = Math.Sqrt(SequentialDot(row, row));
            if (length <= 1e-10 * scale) continue;
            basis.Add(row.Select(v => v / length).ToArray());
        }
        return basis.ToArray();
    }
}
