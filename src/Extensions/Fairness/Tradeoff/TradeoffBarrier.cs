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
/// Each Newton system is solved in time linear in the number of cells: w is eliminated per cell in closed form
/// (which also avoids the cancellation of nearly active epigraph pairs), the local information's Hessian is block
/// diagonal by client, and the global information's Hessian has rank at most |Z| (it depends on x only through the
/// group rates), so Woodbury's identity reduces the rest to a |Z|+1 system.
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
    private enum Budget { Free, Inequality, Equality }

    private const double CenteringTolerance = 1e-14;
    private const double PureNewtonDecrement = 1e-2;
    private const int NewtonStepsPerCentering = 500;

    private readonly TradeoffCell[] _cells;
    private readonly double[] _groupShare;
    private readonly int[] _groups;
    private readonly int[] _rateOf;
    private readonly int[][] _blockRates;
    private readonly int[][] _blockCells;
    private readonly int[][] _rateCells;
    private readonly double[,] _groupRates;
    private readonly double[][] _equalities;
    private readonly Budget _global, _local;
    private readonly double _globalBudget, _localBudget;
    private readonly int _rates;
    private readonly bool _tied;
    private readonly AccuracyFairnessProblem _problem;
    private readonly double _globalBudgetBits, _localBudgetBits;

    public TradeoffBarrier(AccuracyFairnessProblem problem, double globalBudgetBits, double localBudgetBits)
    {
        _problem = problem;
        _globalBudgetBits = globalBudgetBits;
        _localBudgetBits = localBudgetBits;
        _cells = problem.Cells.ToArray();
        _globalBudget = globalBudgetBits * Math.Log(2);
        _localBudget = localBudgetBits * Math.Log(2);
        // Neither information can exceed H(Ŷ) ≤ 1 bit: larger budgets never bind.
        _global = globalBudgetBits == 0 ? Budget.Equality : globalBudgetBits >= 1 ? Budget.Free : Budget.Inequality;
        _local = localBudgetBits >= 1 ? Budget.Free : Budget.Inequality;
        _tied = localBudgetBits == 0;
        if (_tied) _local = Budget.Free;

        var clients = _cells.Select(c => c.Client).Distinct().ToArray();
        _blockCells = clients.Select(s => Enumerable.Range(0, _cells.Length).Where(k => _cells[k].Client == s).ToArray()).ToArray();
        _rateOf = new int[_cells.Length];
        for (int b = 0; b < clients.Length; b++)
            foreach (int k in _blockCells[b]) _rateOf[k] = _tied ? b : k;
        _rates = _tied ? clients.Length : _cells.Length;
        _blockRates = _tied ? Enumerable.Range(0, clients.Length).Select(b => new[] { b }).ToArray() : _blockCells;
        _rateCells = _tied ? _blockCells : Enumerable.Range(0, _cells.Length).Select(k => new[] { k }).ToArray();

        _groups = _cells.Select(c => c.Group).Distinct().Order().ToArray();
        _groupShare = _groups.Select(z => _cells.Where(c => c.Group == z).Sum(c => c.Share)).ToArray();
        _groupRates = new double[_groups.Length, _rates];
        for (int k = 0; k < _cells.Length; k++)
        {
            int g = Array.IndexOf(_groups, _cells[k].Group);
            _groupRates[g, _rateOf[k]] += _cells[k].Share / _groupShare[g];
        }
        _equalities = _global != Budget.Equality ? [] : EqualRateConstraints();
    }

    /// <summary>
    /// Orthonormal rows spanning "every group's positive rate equals the first group's". Rows that are zero in exact
    /// arithmetic (groups with the same client mix, e.g. iid clients) come out as round-off; orthonormalising with a
    /// relative tolerance drops them instead of letting Newton enforce a hyperplane of noise.
    /// </summary>
    private double[][] EqualRateConstraints()
    {
        double scale = 0;
        for (int g = 0; g < _groups.Length; g++)
        {
            double norm = 0;
            for (int j = 0; j < _rates; j++) norm += _groupRates[g, j] * _groupRates[g, j];
            scale = Math.Max(scale, Math.Sqrt(norm));
        }
        var basis = new List<double[]>();
        for (int g = 1; g < _groups.Length; g++)
        {
            var row = Enumerable.Range(0, _rates).Select(j => _groupRates[g, j] - _groupRates[0, j]).ToArray();
            for (int pass = 0; pass < 2; pass++) // twice: classical Gram–Schmidt loses orthogonality once
                foreach (var b in basis)
                {
                    double dot = Dot(row, b);
                    for (int j = 0; j < _rates; j++) row[j] -= dot * b[j];
                }
            double length = Math.Sqrt(Dot(row, row));
            if (length <= 1e-10 * scale) continue;
            basis.Add(row.Select(v => v / length).ToArray());
        }
        return basis.ToArray();
    }

    public TradeoffPoint Solve(TradeoffOptions options)
    {
        var x = Enumerable.Repeat(0.5, _rates).ToArray();
        var w = _cells.Select(c => c.Curve.Error(0.5) + 0.5).ToArray();
        int inequalities = _cells.Sum(c => c.Curve.Slopes.Length) + 2 * _rates
            + (_global == Budget.Inequality ? 1 : 0) + (_local == Budget.Inequality ? 1 : 0);
        double t = inequalities, bestLower = double.NegativeInfinity, previousGap = double.PositiveInfinity;
        int stalledRounds = 0;
        int steps = 0;
        while (true)
        {
            Direction step;
            int slowSteps = 0;
            double previous = double.PositiveInfinity;
            for (int centering = 0; ; centering++)
            {
                step = NewtonDirection(x, w, t);
                // Newton converges quadratically near the centre; when the decrement stops shrinking there, the
                // systems' precision is spent.
                slowSteps = step.Decrement < PureNewtonDecrement && step.Decrement > 0.25 * previous ? slowSteps + 1 : 0;
                previous = step.Decrement;
                if (step.Decrement <= CenteringTolerance || slowSteps >= 3 || steps >= options.MaximumNewtonSteps || centering >= NewtonStepsPerCentering) break;
                steps++;
                if (!TakeStep(x, w, t, step)) break;
            }
            bool centred = step.Decrement < PureNewtonDecrement;
            bestLower = Math.Max(bestLower, LowerBound(x, w, t, step));
            double gap = Error(x) - bestLower;
            // Past the precision of the Newton systems (condition number ~ t²) the gap stops shrinking: stop there.
            stalledRounds = centred && gap > 0.8 * previousGap ? stalledRounds + 1 : 0;
            bool stalled = stalledRounds >= 2;
            previousGap = gap;
            if (gap <= options.Tolerance || stalled || steps >= options.MaximumNewtonSteps || t > 1e18) break;
            t *= 10;
        }

        double finalError = Error(x);
        var cells = _cells.Select((c, k) => new TradeoffCellRate(_problem.Clients[c.Client], _problem.Groups[c.Group], c.Share, c.LabelRate,
            x[_rateOf[k]], 1 - c.Curve.Error(x[_rateOf[k]]))).ToArray();
        return new TradeoffPoint(_globalBudgetBits, _localBudgetBits, 1 - finalError, Math.Min(1, 1 - bestLower),
            Math.Max(0, finalError - bestLower), Math.Max(0, GlobalInformation(x, out _, out _) / Math.Log(2)),
            Math.Max(0, LocalInformation(x) / Math.Log(2)), cells, steps);
    }

    private double Error(double[] x)
    {
        double error = 0;
        for (int k = 0; k < _cells.Length; k++) error += _cells[k].Share * _cells[k].Curve.Error(x[_rateOf[k]]);
        return error;
    }

    private static double Kl(double a, double m) => XLog(a, m) + XLog(1 - a, 1 - m);

    private static double XLog(double u, double v) => u <= 0 ? 0 : u * Math.Log(u / v);

    private static double Logit(double u) => Math.Log(u) - Math.Log(1 - u);

    /// <summary>I(Z;Ŷ) in nats, with the group rates q and the overall rate.</summary>
    private double GlobalInformation(double[] x, out double[] groupRate, out double overall)
    {
        groupRate = new double[_groups.Length];
        overall = 0;
        for (int g = 0; g < _groups.Length; g++)
        {
            double q = 0;
            for (int j = 0; j < _rates; j++) q += _groupRates[g, j] * x[j];
            groupRate[g] = q;
            overall += _groupShare[g] * q;
        }
        double information = 0;
        for (int g = 0; g < _groups.Length; g++) information += _groupShare[g] * Kl(groupRate[g], overall);
        return information;
    }

    /// <summary>I(Z;Ŷ|S) in nats (0 when rates are tied per client).</summary>
    private double LocalInformation(double[] x)
    {
        if (_tied) return 0;
        double information = 0;
        foreach (var block in _blockCells)
        {
            double mean = ClientRate(block, x).Mean;
            foreach (int k in block) information += _cells[k].Share * Kl(x[k], mean);
        }
        return information;
    }

    /// <summary>The barrier objective; +∞ outside the strictly feasible set.</summary>
    private double Barrier(double[] x, double[] w, double t)
    {
        double value = 0;
        for (int k = 0; k < _cells.Length; k++)
        {
            var curve = _cells[k].Curve;
            value += t * _cells[k].Share * w[k];
            for (int i = 0; i < curve.Slopes.Length; i++)
            {
                double slack = w[k] - curve.Slopes[i] * x[_rateOf[k]] - curve.Intercepts[i];
                if (!(slack > 0)) return double.PositiveInfinity;
                value -= Math.Log(slack);
            }
        }
        foreach (double xj in x)
        {
            if (!(xj > 0 && xj < 1)) return double.PositiveInfinity;
            value -= Math.Log(xj) + Math.Log(1 - xj);
        }
        if (_global == Budget.Inequality)
        {
            double slack = _globalBudget - GlobalInformation(x, out _, out _);
            if (!(slack > 0)) return double.PositiveInfinity;
            value -= Math.Log(slack);
        }
        if (_local == Budget.Inequality)
        {
            double slack = _localBudget - LocalInformation(x);
            if (!(slack > 0)) return double.PositiveInfinity;
            value -= Math.Log(slack);
        }
        return value;
    }

    private sealed record Direction(double[] Dx, double[] Dw, double[] Multipliers, double Decrement);

    private Direction NewtonDirection(double[] x, double[] w, double t)
    {
        int rates = _rates, cells = _cells.Length;
        var gx = new double[rates];
        var gw = new double[cells];
        var ratio = new double[cells];
        var hww = new double[cells];
        var diagonal = new double[rates];
        var pieceWeights = new double[_cells.Max(c => c.Curve.Slopes.Length)];
        for (int k = 0; k < cells; k++)
        {
            // Pieces w − a_i x − d_i ≥ 0 with weights h_i = 1/slack²; w is eliminated: the x curvature left is
            // Σh a² − (Σh a)²/Σh = Σ_{i<j} h_i h_j (a_i − a_j)² / Σh, written so that no large terms cancel.
            int r = _rateOf[k];
            var curve = _cells[k].Curve;
            int pieces = curve.Slopes.Length;
            double sumH = 0, sumHa = 0, gradientW = t * _cells[k].Share, gradientX = 0;
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

        var blocks = _blockRates.Select(b => new double[b.Length, b.Length]).ToArray();
        for (int b = 0; b < blocks.Length; b++)
            for (int i = 0; i < _blockRates[b].Length; i++) blocks[b][i, i] = diagonal[_blockRates[b][i]];
        var lowRank = new List<double[]>();
        if (_local == Budget.Inequality) AddLocalTerms(x, gx, blocks, lowRank);
        if (_global == Budget.Inequality) AddGlobalTerms(x, gx, lowRank);

        var reduced = new double[rates];
        for (int j = 0; j < rates; j++) reduced[j] = -gx[j];
        for (int k = 0; k < cells; k++) reduced[_rateOf[k]] += ratio[k] * gw[k];

        var solver = new ReducedSystem(_blockRates, blocks, lowRank, rates);
        var dx = solver.Solve(reduced);
        var multipliers = new double[_equalities.Length];
        if (_equalities.Length > 0)
        {
            var columns = _equalities.Select(solver.Solve).ToArray();
            var schur = new double[_equalities.Length, _equalities.Length];
            var rhs = new double[_equalities.Length];
            for (int a = 0; a < _equalities.Length; a++)
            {
                rhs[a] = Dot(_equalities[a], dx) + Dot(_equalities[a], x);
                for (int c = 0; c < _equalities.Length; c++) schur[a, c] = Dot(_equalities[a], columns[c]);
            }
            multipliers = SymmetricMatrix.Solve(schur, rhs);
            for (int a = 0; a < multipliers.Length; a++)
                for (int j = 0; j < rates; j++) dx[j] -= multipliers[a] * columns[a][j];
        }
        var dw = new double[cells];
        for (int k = 0; k < cells; k++) dw[k] = -gw[k] / hww[k] - ratio[k] * dx[_rateOf[k]];
        double decrement = -(Dot(gx, dx) + Dot(gw, dw));
        return new Direction(dx, dw, multipliers, Math.Max(0, decrement));
    }

    private void AddLocalTerms(double[] x, double[] gx, double[][,] blocks, List<double[]> lowRank)
    {
        double slack = _localBudget - LocalInformation(x);
        var gradient = LocalGradient(x);
        for (int b = 0; b < _blockCells.Length; b++)
        {
            var block = _blockCells[b];
            var (share, mean) = ClientRate(block, x);
            double meanCurvature = 1 / (share * mean * (1 - mean));
            for (int i = 0; i < block.Length; i++)
            {
                int k = block[i];
                for (int i2 = 0; i2 < block.Length; i2++)
                {
                    int k2 = block[i2];
                    double h = -_cells[k].Share * _cells[k2].Share * meanCurvature + (i == i2 ? _cells[k].Share / (x[k] * (1 - x[k])) : 0);
                    blocks[b][i, i2] += h / slack;
                }
            }
        }
        for (int j = 0; j < _rates; j++) gx[j] += gradient[j] / slack;
        lowRank.Add(gradient.Select(g => g / slack).ToArray());
    }

    private void AddGlobalTerms(double[] x, double[] gx, List<double[]> lowRank)
    {
        int groups = _groups.Length;
        double slack = _globalBudget - GlobalInformation(x, out var q, out double overall);
        var gq = GroupRateGradient(q, overall);
        var curvature = new double[groups, groups];
        for (int g = 0; g < groups; g++)
            for (int h = 0; h < groups; h++)
                curvature[g, h] = (g == h ? _groupShare[g] / (q[g] * (1 - q[g])) : 0)
                    - _groupShare[g] * _groupShare[h] / (overall * (1 - overall))
                    + gq[g] * gq[h] / slack;
        var gradient = ToRates(gq);
        for (int j = 0; j < _rates; j++) gx[j] += gradient[j] / slack;
        var (values, vectors) = SymmetricMatrix.Eigen(curvature);
        for (int e = 0; e < groups; e++)
        {
            if (!(values[e] > 0)) continue;
            double scale = Math.Sqrt(values[e] / slack);
            var row = new double[_rates];
            for (int j = 0; j < _rates; j++)
            {
                double v = 0;
                for (int g = 0; g < groups; g++) v += _groupRates[g, j] * vectors[g, e];
                row[j] = scale * v;
            }
            lowRank.Add(row);
        }
    }

    /// <summary>
    /// Moves along the Newton direction: backtracking on the barrier while far from the centre; near it (decrement
    /// below 0.01, where Newton converges quadratically and the barrier's change is below its round-off) the full
    /// step is taken when it stays strictly feasible.
    /// </summary>
    private bool TakeStep(double[] x, double[] w, double t, Direction d)
    {
        double step = 1;
        for (int k = 0; k < _cells.Length; k++)
        {
            var curve = _cells[k].Curve;
            int r = _rateOf[k];
            for (int i = 0; i < curve.Slopes.Length; i++)
                step = Limit(step, w[k] - curve.Slopes[i] * x[r] - curve.Intercepts[i], d.Dw[k] - curve.Slopes[i] * d.Dx[r]);
        }
        for (int j = 0; j < _rates; j++)
        {
            step = Limit(step, x[j], d.Dx[j]);
            step = Limit(step, 1 - x[j], -d.Dx[j]);
        }
        bool nearCentre = d.Decrement < PureNewtonDecrement;
        double current = nearCentre ? 0 : Barrier(x, w, t);
        double globalSlack = _global == Budget.Inequality ? _globalBudget - GlobalInformation(x, out _, out _) : 1;
        double localSlack = _local == Budget.Inequality ? _localBudget - LocalInformation(x) : 1;
        var nx = new double[x.Length];
        var nw = new double[w.Length];
        for (; step > 1e-20; step *= 0.5)
        {
            for (int j = 0; j < x.Length; j++) nx[j] = x[j] + step * d.Dx[j];
            for (int k = 0; k < w.Length; k++) nw[k] = w[k] + step * d.Dw[k];
            // An information slack may at most halve per step: the barrier of a curved constraint recovers only slowly
            // from an iterate pushed next to its boundary.
            if (_global == Budget.Inequality && _globalBudget - GlobalInformation(nx, out _, out _) < 0.5 * globalSlack) continue;
            if (_local == Budget.Inequality && _localBudget - LocalInformation(nx) < 0.5 * localSlack) continue;
            double next = Barrier(nx, nw, t);
            if (nearCentre ? double.IsFinite(next) : next <= current - 0.25 * step * d.Decrement)
            {
                Array.Copy(nx, x, x.Length);
                Array.Copy(nw, w, w.Length);
                return true;
            }
        }
        return false;
    }

    /// <summary>Largest step (times 0.99) keeping <c>slack + step·rate</c> positive.</summary>
    private static double Limit(double step, double slack, double rate) => rate < 0 ? Math.Min(step, 0.99 * slack / -rate) : step;

    /// <summary>
    /// A certified lower bound on the least error (weak duality). For multipliers μ ≥ 0 of the information constraints
    /// and ν of the equalities, with F(x) = μ·(I(x) − ε) + ν·E x convex, the dual function is
    /// <c>min_x Σ p e(x) + F(x) ≥ F(x̄) + min_x [Σ p e(x) + ∇F(x̄)·(x − x̄)]</c>, and the inner problem is separable into
    /// one-dimensional piecewise-linear minimisations solved exactly at their breakpoints. The multipliers are fitted
    /// by least squares to the subgradient the barrier's piece multipliers imply, which avoids the round-off of
    /// 1/(t·slack) when slacks are tiny; the barrier's own values are the fallback.
    /// </summary>
    private double LowerBound(double[] x, double[] w, double t, Direction d)
    {
        var subgradient = new double[_rates];
        for (int k = 0; k < _cells.Length; k++)
        {
            var curve = _cells[k].Curve;
            int r = _rateOf[k];
            double total = 0, weighted = 0;
            for (int i = 0; i < curve.Slopes.Length; i++)
            {
                double inverseSlack = 1 / (w[k] - curve.Slopes[i] * x[r] - curve.Intercepts[i]);
                total += inverseSlack;
                weighted += inverseSlack * curve.Slopes[i];
            }
            subgradient[r] += _cells[k].Share * weighted / total;
        }

        var columns = new List<double[]>();
        var barrierMultipliers = new List<double>();
        var offsets = new List<double>();
        if (_global == Budget.Inequality)
        {
            double information = GlobalInformation(x, out _, out _);
            columns.Add(GlobalGradient(x));
            barrierMultipliers.Add(1 / (t * (_globalBudget - information)));
            offsets.Add(information - _globalBudget);
        }
        if (_local == Budget.Inequality)
        {
            double information = LocalInformation(x);
            columns.Add(LocalGradient(x));
            barrierMultipliers.Add(1 / (t * (_localBudget - information)));
            offsets.Add(information - _localBudget);
        }
        int inequalityColumns = columns.Count;
        for (int a = 0; a < _equalities.Length; a++)
        {
            columns.Add(_equalities[a]);
            barrierMultipliers.Add(d.Multipliers[a] / t);
            offsets.Add(Dot(_equalities[a], x));
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
            var slope = new double[_rates];
            double value = 0;
            for (int c = 0; c < columns.Count; c++)
            {
                value += multipliers[c] * offsets[c];
                for (int j = 0; j < _rates; j++) slope[j] += multipliers[c] * columns[c][j];
            }
            for (int j = 0; j < _rates; j++) value -= slope[j] * x[j];
            var perRate = new double[_rates];
            for (int j = 0; j < _rates; j++) perRate[j] = double.PositiveInfinity;
            // One-dimensional minima of Σ p e(u) + slope·u: a breakpoint of one of the rate's cells is optimal.
            foreach (var cells in _rateCells)
            {
                int j = _rateOf[cells[0]];
                foreach (int k in cells)
                    foreach (double u in _cells[k].Curve.Breakpoints)
                    {
                        double candidate = slope[j] * u;
                        foreach (int k2 in cells) candidate += _cells[k2].Share * _cells[k2].Curve.Error(u);
                        perRate[j] = Math.Min(perRate[j], candidate);
                    }
            }
            return value + perRate.Sum();
        }
    }

    /// <summary>∂I(Z;Ŷ)/∂x in nats.</summary>
    private double[] GlobalGradient(double[] x)
    {
        GlobalInformation(x, out var q, out double overall);
        return ToRates(GroupRateGradient(q, overall));
    }

    /// <summary>∂I(Z;Ŷ)/∂q_g = p(g)·(logit q_g − logit q̄) for group rates q and overall rate q̄.</summary>
    private double[] GroupRateGradient(double[] q, double overall) =>
        Enumerable.Range(0, _groups.Length).Select(g => _groupShare[g] * (Logit(q[g]) - Logit(overall))).ToArray();

    /// <summary>Maps a gradient in group rates to one in the rate variables (q = A x, so Aᵀ·g).</summary>
    private double[] ToRates(double[] groupGradient)
    {
        var gradient = new double[_rates];
        for (int g = 0; g < _groups.Length; g++)
            for (int j = 0; j < _rates; j++) gradient[j] += _groupRates[g, j] * groupGradient[g];
        return gradient;
    }

    /// <summary>A client's share of the rows and its positive rate (untied rates: one variable per cell).</summary>
    private (double Share, double Mean) ClientRate(int[] block, double[] x)
    {
        double share = 0, mean = 0;
        foreach (int k in block) { share += _cells[k].Share; mean += _cells[k].Share * x[k]; }
        return (share, mean / share);
    }

    /// <summary>∂I(Z;Ŷ|S)/∂x in nats (untied rates only).</summary>
    private double[] LocalGradient(double[] x)
    {
        var gradient = new double[_rates];
        foreach (var block in _blockCells)
        {
            double mean = ClientRate(block, x).Mean;
            foreach (int k in block) gradient[k] = _cells[k].Share * (Logit(x[k]) - Logit(mean));
        }
        return gradient;
    }
}
