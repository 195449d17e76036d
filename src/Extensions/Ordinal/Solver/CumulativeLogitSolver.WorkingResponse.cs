using System.Runtime.CompilerServices;
using MLExtensions.Numerics;

namespace MLExtensions.Ordinal;

/// <summary>
/// The solver for large active sets: the same proximal Newton iteration (and its acceptance test and convergence
/// criterion), with the direction found by block coordinate descent on <see cref="WorkingResponseModel"/> instead of
/// on a formed Hessian. Blocks are the intercepts and each feature's K − 1 differences ψ; a block's curvature is
/// (K − 1) × (K − 1), from its column's entries, so memory and time follow the non-zeros instead of |A|².
/// </summary>
internal sealed partial class CumulativeLogitSolver
{
    /// <summary>
    /// The largest number of moving coordinates (K − 1)(|A| + 1) whose Newton step forms the Hessian; larger solves, and
    /// those whose Hessians would exceed <see cref="MemoryLimit"/>, use the working-response solver when the kernel
    /// exposes its rows. Null (the default): <see cref="DefaultNewtonCoordinateLimit"/> when the kernel's columns are
    /// sparse, and no limit for dense columns, where a block of the working-response solver costs every row and forming
    /// the Hessian is the faster (p·(K − 1) = 500, n = 2,500: 6.8 s for the tuned path with Hessians, 53 s without).
    /// </summary>
    public int? NewtonCoordinateLimit { get; init; }

    /// <summary>The default <see cref="NewtonCoordinateLimit"/> for sparse columns.</summary>
    public const int DefaultNewtonCoordinateLimit = 400;

    private int CoordinateLimit(IRowCurvatureKernel rows) => NewtonCoordinateLimit ?? (rows.SparseColumns ? DefaultNewtonCoordinateLimit : int.MaxValue);

    private SolverResult SolveByWorkingResponse(double lambda, SolverResult warm, Layout layout, IRowCurvatureKernel rows, CancellationToken cancellationToken)
    {
        int d = layout.Dimension;
        var theta = warm.Theta.Clone();
        var values = layout.Gather(theta);
        var step = new double[d];
        var gradient = new double[d];
        var model = new WorkingResponseModel(rows, _boundaries, layout.Features);
        double loss = double.NaN;
        for (int iteration = 1; iteration <= _maxIterations; iteration++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!rows.RowDerivatives(theta.Alphas(), theta.Betas(), out loss))
                throw new InvalidOperationException("The solver left the feasible region; this is a bug.");
            model.Reset();
            ModelGradient(model, gradient, layout);
            WorkingResponseDirection(model, values, lambda, step, layout, cancellationToken);

            double penalty = Penalty(values, layout);
            double predicted = FixedOrder.SequentialDot(gradient, step) + lambda * (PenaltyAfter(values, step, 1, layout) - penalty);
            double objective = loss + lambda * penalty;
            if (-predicted <= _tolerance)
            {
                // Converged. The direction was found to the floor tolerance, so unlike the inexact ones before it, it is
                // a Newton step: taken when it does not raise the objective, it settles the coordinates along flat
                // directions, which a decrease of at most the tolerance leaves up to its square root away.
                var last = layout.Moved(theta, values, step, 1);
                if (_kernel.Loss(last.Alphas(), last.Betas(), out double lastLoss) && lastLoss + lambda * PenaltyAfter(values, step, 1, layout) <= objective)
                    return new SolverResult(last, lastLoss, iteration, true);
                return new SolverResult(theta, loss, iteration, true);
            }

            double s = 1;
            var candidate = layout.Moved(theta, values, step, 1);
            if (!(_kernel.Loss(candidate.Alphas(), candidate.Betas(), out double trialLoss)
                  && trialLoss + lambda * PenaltyAfter(values, step, 1, layout) <= objective + 0.25 * predicted))
            {
                s = LineSearch(theta, values, step, lambda, objective, predicted, layout);
                if (s == 0) return new SolverResult(theta, loss, iteration, -predicted <= 1e-9 * Math.Max(1, Math.Abs(objective)));
                candidate = layout.Moved(theta, values, step, s);
            }
            Accept(ref theta, candidate, values, step, s);
        }
        _kernel.Loss(theta.Alphas(), theta.Betas(), out loss);
        return new SolverResult(theta, loss, _maxIterations, false);
    }

    /// <summary>The loss gradient over the layout in θ-coordinates, from the model before any step.</summary>
    private void ModelGradient(WorkingResponseModel model, double[] gradient, Layout layout)
    {
        int block = layout.Block;
        Span<double> part = stackalloc double[_boundaries];
        model.InterceptGradient(part);
        for (int k = 0; k < _boundaries; k++) gradient[k * block] = part[k];
        for (int q = 1; q < block; q++)
        {
            model.FeatureGradient(q - 1, part);
            for (int k = 0; k < _boundaries; k++) gradient[k * block + q] = part[k];
        }
        ToTheta(gradient, block);
    }

    /// <summary>
    /// Minimises the same penalised quadratic model as <see cref="NewtonDirection"/> by block coordinate descent, cycling
    /// as glmnet does: sweeps over the blocks that are non-zero until one changes the model by less than the inner
    /// tolerance, then a sweep over every block, which ends the solve when it too changes nothing beyond the tolerance
    /// (otherwise the cycling resumes on the blocks now non-zero). Blocks at zero are most of the layout on wide data
    /// and rarely move, so most sweeps skip them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void WorkingResponseDirection(WorkingResponseModel model, double[] theta, double lambda, double[] step, Layout layout, CancellationToken cancellationToken)
    {
        int boundaries = _boundaries, block = layout.Block;
        Array.Clear(step);
        // A sweep that changes the model by less than a millionth of what the sweeps so far did ends the cycling (the
        // early, inexact steps of the outer iteration need no more); near the optimum that is the floor, a millionth of
        // the outer tolerance, which the last, exact directions need for the coordinates to settle to 1e-6.
        double floor = Math.Max(_tolerance * 1e-6, 1e-24), progress = 0;
        var curvature = new double[boundaries, boundaries];
        var gradient = new double[boundaries];
        var current = new double[boundaries];
        var free = new bool[boundaries];
        var factor = new double[boundaries];
        var change = new double[boundaries];
        var slopes = new double[boundaries];
        var scratch = new BlockScratch(boundaries);
        // A block is cycled while any of its coordinates is non-zero or unpenalised; every sweep starts with all of them.
        var cycled = new bool[block];
        // Each feature's curvature in its differences, made when the block is first solved.
        var curvatures = new double[block * boundaries * boundaries];
        var curvatureKnown = new bool[block];
        bool everyBlock = true;
        for (int sweep = 0; sweep < 10_000; sweep++)
        {
            if ((sweep & 63) == 63) cancellationToken.ThrowIfCancellationRequested();
            double largest = 0, sweepTolerance = Math.Max(floor, 1e-6 * progress);
            for (int q = 0; q < block; q++)
            {
                if (!everyBlock && !cycled[q]) continue;
                bool any = false, nonZero = false;
                for (int k = 0; k < boundaries; k++)
                {
                    int c = k * block + q;
                    (free[k], factor[k], current[k]) = (layout.Free[c], layout.PenaltyFactor[c], theta[c] + step[c]);
                    any |= free[k];
                    nonZero |= current[k] != 0 || (free[k] && factor[k] * _alpha == 0);
                }
                cycled[q] = nonZero;
                if (!any) continue;
                if (q == 0)
                {
                    model.InterceptGradient(gradient);
                    model.InterceptCurvature(curvature);
                }
                else
                {
                    model.FeatureGradient(q - 1, gradient);
                    ToDifferences(gradient);
                    // A block at zero stays there while every slope is within its penalty (the block model's optimality at
                    // zero), which spares most blocks of a full sweep the curvature and the block solve.
                    if (!nonZero && StaysAtZero(gradient, free, factor, lambda)) continue;
                    int at = q * boundaries * boundaries;
                    if (!curvatureKnown[q])
                    {
                        model.FeatureCurvature(q - 1, curvature);
                        ToDifferences(curvature);
                        for (int r = 0; r < boundaries; r++)
                            for (int c = 0; c < boundaries; c++) curvatures[at + r * boundaries + c] = curvature[r, c];
                        curvatureKnown[q] = true;
                    }
                    else
                        for (int r = 0; r < boundaries; r++)
                            for (int c = 0; c < boundaries; c++) curvature[r, c] = curvatures[at + r * boundaries + c];
                }
                double moved = SolveBlock(gradient, curvature, current, free, factor, lambda, sweepTolerance, change, scratch);
                if (moved == 0) continue;
                largest = Math.Max(largest, moved);
                progress += moved;
                cycled[q] = true;
                for (int k = 0; k < boundaries; k++) step[k * block + q] += change[k];
                if (q == 0) model.MoveIntercepts(change);
                else
                {
                    // The slopes β_k = Σ_{l ≤ k} ψ_l.
                    double sum = 0;
                    for (int k = 0; k < boundaries; k++) slopes[k] = sum += change[k];
                    model.MoveFeature(q - 1, slopes);
                }
            }
            if (largest <= sweepTolerance)
            {
                if (everyBlock) break;
                everyBlock = true;
            }
            else everyBlock = false;
        }
    }

    /// <summary>A feature's slope gradient (β_k) as that of its differences ψ_l: ∂/∂ψ_l = Σ_{k ≥ l} ∂/∂β_k.</summary>
    private void ToDifferences(double[] gradient)
    {
        for (int l = _boundaries - 2; l >= 0; l--) gradient[l] += gradient[l + 1];
    }

    /// <summary>A feature's slope curvature (β_k) as that of its differences: the same sums on columns, then rows.</summary>
    private void ToDifferences(double[,] curvature)
    {
        int b = _boundaries;
        for (int r = 0; r < b; r++)
            for (int c = b - 2; c >= 0; c--) curvature[r, c] += curvature[r, c + 1];
        for (int c = 0; c < b; c++)
            for (int r = b - 2; r >= 0; r--) curvature[r, c] += curvature[r + 1, c];
    }

    /// <summary>Whether zero minimises the block model of a block now at zero: |∂/∂ψ_l| ≤ λ·α·f_l for its free coordinates.</summary>
    private bool StaysAtZero(double[] gradient, bool[] free, double[] factor, double lambda)
    {
        for (int l = 0; l < _boundaries; l++)
            if (free[l] && Math.Abs(gradient[l]) > lambda * _alpha * factor[l]) return false;
        return true;
    }

    /// <summary>
    /// Minimises <c>gᵀδ + ½δᵀ(C + rI)δ + λ Σ f_l (α|t_l + δ_l| + (1 − α)/2 (t_l + δ_l)²)</c> over the free coordinates of one
    /// block (t its current values, r a tiny ridge): coordinate descent finds which coordinates are zero and the signs of
    /// the others, and once a sweep leaves that pattern as it was, the model restricted to it is solved exactly and kept
    /// if it satisfies the block's optimality conditions (a feature's differences are strongly coupled, which takes
    /// coordinate descent alone many sweeps). Returns the change's Σ C_ll δ_l² (0 when nothing moved).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private double SolveBlock(double[] gradient, double[,] curvature, double[] current, bool[] free, double[] factor, double lambda, double tolerance,
        double[] change, BlockScratch scratch)
    {
        int b = _boundaries;
        Array.Clear(change);
        double scale = 0;
        for (int l = 0; l < b; l++) scale = Math.Max(scale, curvature[l, l]);
        double ridge = Ridge * Math.Max(scale, 1);
        var (pattern, previous) = (scratch.Pattern, scratch.PreviousPattern);
        for (int l = 0; l < b; l++) pattern[l] = PatternOf(current[l], free[l], factor[l]);
        // Nothing penalised at all (the intercepts): the pattern is known from the start.
        bool smooth = true;
        for (int l = 0; l < b; l++) smooth &= free[l] && factor[l] == 0;
        if (smooth && TrySolveBlockPattern(gradient, curvature, current, free, factor, lambda, ridge, pattern, change, scratch)) return Moved(curvature, change);
        for (int sweep = 0; sweep < 1_000; sweep++)
        {
            double largest = 0;
            for (int l = 0; l < b; l++)
            {
                if (!free[l]) continue;
                double hll = curvature[l, l] + ridge;
                double c = gradient[l];
                for (int m = 0; m < b; m++)
                    if (m != l) c += curvature[l, m] * change[m];
                double target = SoftThreshold(hll * current[l] - c, lambda * factor[l] * _alpha) / (hll + lambda * factor[l] * (1 - _alpha));
                double delta = target - (current[l] + change[l]);
                if (delta == 0) continue;
                change[l] += delta;
                largest = Math.Max(largest, hll * delta * delta);
            }
            if (largest <= tolerance * 1e-2) break;
            (pattern, previous) = (previous, pattern);
            bool settled = true;
            for (int l = 0; l < b; l++)
            {
                pattern[l] = PatternOf(current[l] + change[l], free[l], factor[l]);
                settled &= pattern[l] == previous[l];
            }
            if (settled && TrySolveBlockPattern(gradient, curvature, current, free, factor, lambda, ridge, pattern, change, scratch)) break;
        }
        return Moved(curvature, change);
    }

    /// <summary>A coordinate's place in a block's pattern: 0 fixed at zero (or not free), ±1 its sign, 2 free and unpenalised.</summary>
    private sbyte PatternOf(double value, bool free, double factor) =>
        !free ? (sbyte)0 : factor * _alpha == 0 ? (sbyte)2 : (sbyte)Math.Sign(value);

    /// <summary>
    /// The block model's exact minimiser when the coordinates <paramref name="pattern"/> marks zero stay zero and the
    /// others keep their signs; false, leaving <paramref name="change"/> alone, when it breaks the pattern.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool TrySolveBlockPattern(double[] gradient, double[,] curvature, double[] current, bool[] free, double[] factor, double lambda, double ridge,
        sbyte[] pattern, double[] change, BlockScratch scratch)
    {
        int b = _boundaries;
        var (delta, active) = (scratch.Delta, scratch.Active);
        int a = 0;
        for (int l = 0; l < b; l++)
        {
            delta[l] = !free[l] ? 0 : pattern[l] == 0 ? -current[l] : 0;
            if (free[l] && pattern[l] != 0) active[a++] = l;
        }
        var system = scratch.Systems[a];
        var rhs = scratch.Rights[a];
        for (int r = 0; r < a; r++)
        {
            int i = active[r];
            double sign = pattern[i] == 2 ? 0 : pattern[i];
            double fixedPart = 0;
            for (int m = 0; m < b; m++) fixedPart += curvature[i, m] * delta[m];
            rhs[r] = -gradient[i] - fixedPart - lambda * factor[i] * (_alpha * sign + (1 - _alpha) * current[i]);
            for (int c = 0; c < a; c++) system[r, c] = curvature[i, active[c]];
            system[r, r] += ridge + lambda * factor[i] * (1 - _alpha);
        }
        if (a > 0)
        {
            if (!MLExtensions.Numerics.SymmetricMatrix.TryCholesky(system)) return false;
            MLExtensions.Numerics.SymmetricMatrix.CholeskySolve(system, rhs);
        }
        for (int r = 0; r < a; r++)
        {
            int i = active[r];
            delta[i] = rhs[r];
            if (pattern[i] != 2 && Math.Sign(current[i] + delta[i]) != pattern[i]) return false;
        }
        // A coordinate held at zero is optimal while the model's slope there stays within ±λ·α·f.
        for (int l = 0; l < b; l++)
        {
            if (!free[l] || pattern[l] != 0) continue;
            double slope = gradient[l] + ridge * delta[l];
            for (int m = 0; m < b; m++) slope += curvature[l, m] * delta[m];
            if (Math.Abs(slope) > lambda * _alpha * factor[l] * (1 + 1e-9) + 1e-15) return false;
        }
        delta.AsSpan(0, b).CopyTo(change);
        return true;
    }

    /// <summary>Work arrays of <see cref="SolveBlock"/>, made once per direction.</summary>
    private sealed class BlockScratch(int boundaries)
    {
        public sbyte[] Pattern { get; } = new sbyte[boundaries];

        public sbyte[] PreviousPattern { get; } = new sbyte[boundaries];

        public double[] Delta { get; } = new double[boundaries];

        public int[] Active { get; } = new int[boundaries];

        /// <summary>Entry a: an a × a system and its right-hand side.</summary>
        public double[][,] Systems { get; } = Enumerable.Range(0, boundaries + 1).Select(a => new double[a, a]).ToArray();

        public double[][] Rights { get; } = Enumerable.Range(0, boundaries + 1).Select(a => new double[a]).ToArray();
    }

    private double Moved(double[,] curvature, double[] change)
    {
        double sum = 0;
        for (int l = 0; l < _boundaries; l++) sum += curvature[l, l] * change[l] * change[l];
        return sum;
    }
}
