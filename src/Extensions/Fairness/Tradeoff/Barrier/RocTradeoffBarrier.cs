using MLExtensions.Numerics;
using static MLExtensions.Fairness.Tradeoff.BernoulliTerms;
using static MLExtensions.Numerics.FixedOrder;

namespace MLExtensions.Fairness.Tradeoff;

/// <summary>
/// Solves the trade-off under equalized odds or equal opportunity by a primal barrier method: each cell chooses its
/// false and true positive rates (f, t) in its ROC region, the error Σ p·(b(1 − t) + (1 − b) f) is linear, and the
/// disparities are sums of KL divergences over "label cells" (the cell's negatives at rate f, its positives at rate
/// t): I(Z;Ŷ|Y) is the global disparity of each label's rows weighted by the label's share, I(Z;Ŷ|Y,S) the local
/// one. Both are convex, so the barrier's centre path leads to the global optimum.
/// </summary>
/// <remarks>
/// The Newton systems have the structure <see cref="ReducedSystem"/> solves in linear time: blocks by client (the
/// ROC edges couple a cell's two rates, the local disparity couples a client's cells) plus rows of low rank (the
/// global disparity depends on the rates only through the |Z|·|Y| group rates). A zero budget becomes linear
/// equalities (equal group rates per label, globally or within each client). The reported bound is the barrier's
/// duality gap m/t at the last centre reached (m inequalities), the standard certificate of the method. It bounds the
/// gap on the cells' hulls as given; the mitigator's hulls are simplified to within 1e-4 of the rules' ROC points,
/// which can cost up to that much accuracy more.
/// </remarks>
internal sealed class RocTradeoffBarrier
{
    /// <summary>Newton steps allowed per centring; a round that cannot centre in as many ends the path.</summary>
    private const int CenteringSteps = 2000;

    /// <summary>
    /// Growth of t between centrings. The first centres sit near (½, ½), and the cells travel to their hulls' edges
    /// while t grows; under a binding local budget the barrier's curvature ∇²L/slack confines each Newton step to a
    /// region as small as the budget's slack, which shrinks like 1/t. Growing t by 10 made that journey at large t, in
    /// hundreds of steps (2,000 on 200 cells of smooth labels); by 4 it happens while the slack is still wide, and the
    /// whole path takes 150–600 steps.
    /// </summary>
    private const double PathGrowth = 4;

    private readonly AccuracyFairnessProblem _problem;
    private readonly FairnessConstraint _constraint;
    private readonly double _globalBudgetBits, _localBudgetBits, _globalBudget, _localBudget;
    private readonly IReadOnlyList<TradeoffCell> _cells;
    private readonly int[] _labels;
    private readonly double[,] _mass;
    private readonly int[][] _clientBlocks;
    private readonly int[] _blockOf, _positionInBlock;
    private readonly double[][] _equalities;
    private readonly int _inequalities;
    // Every cell's ROC edges in flat arrays (cell k's are [_edgeStart[k], _edgeStart[k + 1])): the inner loops of each
    // Newton step and line search run over them.
    private readonly int[] _edgeStart;
    private readonly double[] _edgeA, _edgeB, _edgeC;
    // Scratch for the group rates and masses, [group · 2 + label]: Global runs in every line-search trial.
    private readonly double[] _groupRate, _groupMass;
    private readonly double[][,] _hessianBlocks;

    public RocTradeoffBarrier(AccuracyFairnessProblem problem, FairnessConstraint constraint, double globalBudgetBits, double localBudgetBits)
    {
        _problem = problem;
        _constraint = constraint;
        _globalBudgetBits = globalBudgetBits;
        _localBudgetBits = localBudgetBits;
        _globalBudget = globalBudgetBits * Math.Log(2);
        _localBudget = localBudgetBits * Math.Log(2);
        _cells = problem.Cells;
        _labels = constraint == FairnessConstraint.EqualOpportunity ? [1] : [0, 1];
        double positives = _cells.Sum(c => c.Share * c.LabelRate);
        _mass = new double[_cells.Count, 2];
        for (int k = 0; k < _cells.Count; k++)
        {
            _mass[k, 0] = constraint == FairnessConstraint.EqualOpportunity ? 0 : _cells[k].Share * (1 - _cells[k].LabelRate);
            _mass[k, 1] = constraint == FairnessConstraint.EqualOpportunity ? (positives > 0 ? _cells[k].Share * _cells[k].LabelRate / positives : 0) : _cells[k].Share * _cells[k].LabelRate;
        }
        var byClient = Enumerable.Range(0, _cells.Count).GroupBy(k => _cells[k].Client).Select(g => g.ToArray()).ToArray();
        _clientBlocks = byClient.Select(ks => ks.SelectMany(k => new[] { 2 * k, 2 * k + 1 }).ToArray()).ToArray();
        _blockOf = new int[2 * _cells.Count];
        _positionInBlock = new int[2 * _cells.Count];
        for (int b = 0; b < _clientBlocks.Length; b++)
            for (int i = 0; i < _clientBlocks[b].Length; i++) (_blockOf[_clientBlocks[b][i]], _positionInBlock[_clientBlocks[b][i]]) = (b, i);
        var equalities = new List<double[]>();
        if (_globalBudget == 0) equalities.AddRange(ZeroBudgetEqualities.EqualGroupRates(_cells, _mass, _labels));
        if (_localBudget == 0) equalities.AddRange(ZeroBudgetEqualities.EqualClientRates(byClient, _mass, _labels, Variables));
        _equalities = [.. equalities];
        _inequalities = _cells.Sum(c => c.Region.Edges.Count) + (GlobalActive ? 1 : 0) + (LocalActive ? 1 : 0);
        _edgeStart = new int[_cells.Count + 1];
        for (int k = 0; k < _cells.Count; k++) _edgeStart[k + 1] = _edgeStart[k] + _cells[k].Region.Edges.Count;
        var edges = _cells.SelectMany(c => c.Region.Edges).ToArray();
        _edgeA = edges.Select(e => e.A).ToArray();
        _edgeB = edges.Select(e => e.B).ToArray();
        _edgeC = edges.Select(e => e.C).ToArray();
        _hessianBlocks = _clientBlocks.Select(b => new double[b.Length, b.Length]).ToArray();
        _groupRate = new double[2 * problem.Groups.Count];
        _groupMass = new double[2 * problem.Groups.Count];
    }

    private int Variables => 2 * _cells.Count;

    private bool GlobalActive => _globalBudget > 0 && double.IsFinite(_globalBudget);

    private bool LocalActive => _localBudget > 0 && double.IsFinite(_localBudget);

    public TradeoffPoint Solve(TradeoffOptions options)
    {
        var x = new double[Variables];
        Array.Fill(x, 0.5); // every cell at (½, ½): inside every region (each is symmetric about it), every disparity 0
        double t = Math.Max(1, _inequalities), centredAt = double.NaN;
        int steps = 0;
        while (true)
        {
            bool centred = false;
            double value = Barrier(x, t); // the barrier at x, carried from each accepted step to the next line search
            for (int centering = 0; centering < CenteringSteps && steps < options.MaximumNewtonSteps; centering++)
            {
                var (dx, decrement) = NewtonStep(x, t);
                if (decrement / 2 <= 1e-12) { centred = true; break; }
                steps++;
                options.Cancellation.ThrowIfCancellationRequested();
                if (LineSearch(x, dx, t, decrement, ref value)) continue;
                // No step decreases the barrier: at a small decrement the round-off of its value is reached, and
                // the point is as centred as it gets; at a large one the path is lost.
                centred = decrement < 1e-6;
                break;
            }
            // m/t bounds the gap only at a centre: a round that cannot centre (the systems' precision is spent) ends
            // the path, and the last centred t is what is certified.
            if (!centred) break;
            centredAt = t;
            if (_inequalities / t <= options.Tolerance || steps >= options.MaximumNewtonSteps || t > 1e16) break;
            t *= PathGrowth;
        }

        double error = Error(x), gap = double.IsNaN(centredAt) ? 1 : _inequalities / centredAt;
        var cells = _cells.Select((c, k) =>
        {
            double f = x[2 * k], tp = x[2 * k + 1];
            return new TradeoffCellRate(_problem.Clients[c.Client], _problem.Groups[c.Group], c.Share, c.LabelRate, c.LabelRate * tp + (1 - c.LabelRate) * f,
                1 - (c.LabelRate * (1 - tp) + (1 - c.LabelRate) * f), f, tp);
        }).ToArray();
        return new TradeoffPoint(_globalBudgetBits, _localBudgetBits, 1 - error, Math.Min(1, 1 - error + gap), gap,
            Math.Max(0, Global(x) / Math.Log(2)), Math.Max(0, Local(x) / Math.Log(2)), cells, steps)
        { Constraint = _constraint };
    }

    private double Error(double[] x)
    {
        double error = 0;
        for (int k = 0; k < _cells.Count; k++)
            error += _cells[k].Share * (_cells[k].LabelRate * (1 - x[2 * k + 1]) + (1 - _cells[k].LabelRate) * x[2 * k]);
        return error;
    }

    /// <summary>Σ_y Σ_z M_zy·KL(q_zy ‖ q̄_y) in nats; leaves the group rates q_zy and masses M_zy in <see cref="_groupRate"/> and <see cref="_groupMass"/>.</summary>
    private double Global(double[] x)
    {
        int groups = _problem.Groups.Count;
        var (rate, mass) = (_groupRate, _groupMass);
        Array.Clear(rate);
        Array.Clear(mass);
        for (int k = 0; k < _cells.Count; k++)
            foreach (int y in _labels)
            {
                mass[2 * _cells[k].Group + y] += _mass[k, y];
                rate[2 * _cells[k].Group + y] += _mass[k, y] * x[2 * k + y];
            }
        double information = 0;
        foreach (int y in _labels)
        {
            double total = 0, mean = 0;
            for (int z = 0; z < groups; z++)
            {
                if (mass[2 * z + y] > 0) rate[2 * z + y] /= mass[2 * z + y];
                total += mass[2 * z + y];
                mean += mass[2 * z + y] * rate[2 * z + y];
            }
            if (total <= 0) continue;
            mean /= total;
            for (int z = 0; z < groups; z++)
                if (mass[2 * z + y] > 0) information += mass[2 * z + y] * Kl(rate[2 * z + y], mean);
        }
        return information;
    }

    /// <summary>Σ_(s,y) Σ_k m_ky·KL(x_ky ‖ x̄_sy) in nats.</summary>
    private double Local(double[] x)
    {
        double information = 0;
        foreach (var block in _clientBlocks)
            foreach (int y in _labels)
            {
                var (total, mean) = ClientMean(block, x, y);
                if (total <= 0) continue;
                for (int i = 0; i < block.Length; i += 2)
                {
                    int k = block[i] / 2;
                    if (_mass[k, y] > 0) information += _mass[k, y] * Kl(x[2 * k + y], mean);
                }
            }
        return information;
    }

    private (double Total, double Mean) ClientMean(int[] block, double[] x, int y)
    {
        double total = 0, mean = 0;
        for (int i = 0; i < block.Length; i += 2)
        {
            int k = block[i] / 2;
            total += _mass[k, y];
            mean += _mass[k, y] * x[2 * k + y];
        }
        return (total, total > 0 ? mean / total : 0.5);
    }

    private (double[] Dx, double Decrement) NewtonStep(double[] x, double t)
    {
        int n = Variables;
        var gradient = new double[n];
        var blocks = _hessianBlocks; // each step's system is solved before the next one is assembled here
        foreach (var block in blocks) Array.Clear(block);
        var lowRank = new List<double[]>();
        for (int k = 0; k < _cells.Count; k++)
        {
            var cell = _cells[k];
            gradient[2 * k] += t * cell.Share * (1 - cell.LabelRate);
            gradient[2 * k + 1] -= t * cell.Share * cell.LabelRate;
            var block = blocks[_blockOf[2 * k]];
            int pf = _positionInBlock[2 * k], pt = _positionInBlock[2 * k + 1];
            double f = x[2 * k], tp = x[2 * k + 1], gf = 0, gt = 0, hff = 0, hft = 0, htt = 0;
            for (int e = _edgeStart[k]; e < _edgeStart[k + 1]; e++)
            {
                double a = _edgeA[e], b = _edgeB[e], inverse = 1 / (_edgeC[e] - a * f - b * tp);
                double wa = inverse * a, wb = inverse * b;
                gf += wa;
                gt += wb;
                hff += wa * wa;
                hft += wa * wb;
                htt += wb * wb;
            }
            gradient[2 * k] += gf;
            gradient[2 * k + 1] += gt;
            block[pf, pf] += hff;
            block[pf, pt] += hft;
            block[pt, pf] += hft;
            block[pt, pt] += htt;
        }
        if (LocalActive) AddLocalBarrier(x, gradient, blocks, lowRank);
        if (GlobalActive) AddGlobalBarrier(x, gradient, lowRank);

        var solver = new ReducedSystem(_clientBlocks, blocks, lowRank, n);
        var rhs = gradient.Select(g => -g).ToArray();
        var dx = solver.Solve(rhs);
        EqualityProjection.Enforce(_equalities, solver, x, dx);
        return (dx, Math.Max(0, -SequentialDot(gradient, dx)));
    }

    private void AddLocalBarrier(double[] x, double[] gradient, double[][,] blocks, List<double[]> lowRank)
    {
        double slack = _localBudget - Local(x);
        var g = new double[Variables];
        for (int b = 0; b < _clientBlocks.Length; b++)
        {
            var block = _clientBlocks[b];
            foreach (int y in _labels)
            {
                var (total, mean) = ClientMean(block, x, y);
                if (total <= 0) continue;
                double meanCurvature = 1 / (total * mean * (1 - mean));
                for (int i = y; i < block.Length; i += 2)
                {
                    int k = block[i] / 2;
                    double m = _mass[k, y];
                    if (m <= 0) continue;
                    double r = x[2 * k + y];
                    g[2 * k + y] = m * (Logit(r) - Logit(mean));
                    for (int j = y; j < block.Length; j += 2)
                    {
                        double m2 = _mass[block[j] / 2, y];
                        blocks[b][i, j] += ((i == j ? m / (r * (1 - r)) : 0) - m * m2 * meanCurvature) / slack;
                    }
                }
            }
        }
        for (int j = 0; j < Variables; j++) gradient[j] += g[j] / slack;
        lowRank.Add(g.Select(v => v / slack).ToArray());
    }

    private void AddGlobalBarrier(double[] x, double[] gradient, List<double[]> lowRank)
    {
        int groups = _problem.Groups.Count;
        double slack = _globalBudget - Global(x);
        var (rate, mass) = (_groupRate, _groupMass);
        // Coordinates (z, y) of the group rates; G depends on x only through them: q = A x.
        var coordinates = _labels.SelectMany(y => Enumerable.Range(0, groups).Where(z => mass[2 * z + y] > 0).Select(z => (z, y))).ToArray();
        int d = coordinates.Length;
        var gq = new double[d];
        var curvature = new double[d, d];
        var means = new double[2];
        var totals = new double[2];
        foreach (int y in _labels)
            for (int z = 0; z < groups; z++) { totals[y] += mass[2 * z + y]; means[y] += mass[2 * z + y] * rate[2 * z + y]; }
        foreach (int y in _labels) means[y] = totals[y] > 0 ? means[y] / totals[y] : 0.5;
        for (int i = 0; i < d; i++)
        {
            var (z, y) = coordinates[i];
            gq[i] = mass[2 * z + y] * (Logit(rate[2 * z + y]) - Logit(means[y]));
        }
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++)
            {
                var (z, y) = coordinates[i];
                var (z2, y2) = coordinates[j];
                double h = y != y2 ? 0 : (i == j ? mass[2 * z + y] / (rate[2 * z + y] * (1 - rate[2 * z + y])) : 0) - mass[2 * z + y] * mass[2 * z2 + y] / (totals[y] * means[y] * (1 - means[y]));
                curvature[i, j] = h / slack + gq[i] * gq[j] / (slack * slack);
            }
        // A's rows: ∂q_zy/∂x_(k,y) = m_ky / M_zy.
        var a = new double[d][];
        for (int i = 0; i < d; i++)
        {
            var (z, y) = coordinates[i];
            a[i] = new double[Variables];
            for (int k = 0; k < _cells.Count; k++)
                if (_cells[k].Group == z) a[i][2 * k + y] = _mass[k, y] / mass[2 * z + y];
        }
        for (int i = 0; i < d; i++)
            for (int j = 0; j < Variables; j++) gradient[j] += a[i][j] * gq[i] / slack;
        var (values, vectors) = SymmetricMatrix.Eigen(curvature);
        for (int e = 0; e < d; e++)
        {
            if (!(values[e] > 0)) continue;
            double scale = Math.Sqrt(values[e]);
            var row = new double[Variables];
            for (int i = 0; i < d; i++)
                for (int j = 0; j < Variables; j++) row[j] += scale * vectors[i, e] * a[i][j];
            lowRank.Add(row);
        }
    }

    /// <summary>
    /// Backtracking by halves from the full step along <paramref name="dx"/>: stay strictly inside every region and
    /// budget, and decrease the barrier <paramref name="value"/> at <paramref name="x"/> (Armijo); on success both move
    /// to the step taken. The regions are polygons, so the halvings that would leave them are skipped without
    /// evaluating the barrier: the trials that remain are the ones plain backtracking would make.
    /// </summary>
    private bool LineSearch(double[] x, double[] dx, double t, double decrement, ref double value)
    {
        var trial = new double[x.Length];
        double boundary = StepToBoundary(x, dx), step = 1;
        while (step >= boundary && step > 1e-14) step *= 0.5;
        for (; step > 1e-14; step *= 0.5)
        {
            for (int j = 0; j < x.Length; j++) trial[j] = x[j] + step * dx[j];
            double candidate = Barrier(trial, t);
            if (double.IsFinite(candidate) && candidate <= value - 0.25 * step * decrement + 1e-15 * Math.Abs(value))
            {
                Array.Copy(trial, x, x.Length);
                value = candidate;
                return true;
            }
        }
        return false;
    }

    /// <summary>The largest step along <paramref name="dx"/> that keeps every rate in (0, 1) and every region's slack non-negative.</summary>
    private double StepToBoundary(double[] x, double[] dx)
    {
        double largest = double.PositiveInfinity;
        for (int j = 0; j < x.Length; j++)
        {
            if (dx[j] > 0) largest = Math.Min(largest, (1 - x[j]) / dx[j]);
            else if (dx[j] < 0) largest = Math.Min(largest, -x[j] / dx[j]);
        }
        for (int k = 0; k < _cells.Count; k++)
            for (int e = _edgeStart[k]; e < _edgeStart[k + 1]; e++)
            {
                double rise = _edgeA[e] * dx[2 * k] + _edgeB[e] * dx[2 * k + 1];
                if (rise > 0) largest = Math.Min(largest, (_edgeC[e] - _edgeA[e] * x[2 * k] - _edgeB[e] * x[2 * k + 1]) / rise);
            }
        return largest;
    }

    /// <summary>t·error − Σ log(slacks); +∞ outside.</summary>
    /// <remarks>
    /// The regions' slacks are multiplied in runs and each run's product logged once (a product is logged before it
    /// can underflow): a logarithm costs several multiplications, and a large problem has thousands of edges.
    /// </remarks>
    private double Barrier(double[] x, double t)
    {
        double value = t * Error(x), product = 1;
        for (int k = 0; k < _cells.Count; k++)
        {
            double f = x[2 * k], tp = x[2 * k + 1];
            if (!(f > 0 && f < 1 && tp > 0 && tp < 1)) return double.PositiveInfinity;
            for (int e = _edgeStart[k]; e < _edgeStart[k + 1]; e++)
            {
                double slack = _edgeC[e] - _edgeA[e] * f - _edgeB[e] * tp;
                if (!(slack > 0)) return double.PositiveInfinity;
                product *= slack;
                if (product < 1e-200)
                {
                    value -= Math.Log(product);
                    product = 1;
                }
            }
        }
        value -= Math.Log(product);
        if (GlobalActive)
        {
            double slack = _globalBudget - Global(x);
            if (!(slack > 0)) return double.PositiveInfinity;
            value -= Math.Log(slack);
        }
        if (LocalActive)
        {
            double slack = _localBudget - Local(x);
            if (!(slack > 0)) return double.PositiveInfinity;
            value -= Math.Log(slack);
        }
        return value;
    }
}
