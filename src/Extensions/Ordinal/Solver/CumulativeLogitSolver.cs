using System.Runtime.CompilerServices;
using MLExtensions.Numerics;

namespace MLExtensions.Ordinal;

/// <summary>
/// Proximal Newton for <c>L(θ) + λ Σ_j f_j |θ_j|</c>: each iteration forms the exact gradient and Hessian of the
/// negative log-likelihood, solves the lasso-penalised quadratic model by coordinate descent, and backtracks along
/// the step until the objective decreases enough and no training row's boundaries cross.
/// </summary>
/// <remarks>
/// The likelihood is convex and its domain (for every training row, the two boundaries around its own class
/// strictly ordered, so that its probability is positive) is convex, so from a feasible start the iterates stay
/// feasible and converge to the penalised optimum; Newton steps make the final iterations quadratic, which is what
/// lets the tests check optimality conditions to 1e-6. Boundaries a row does not sit between may still cross at
/// that row; scoring repairs such crossings.
/// Along a λ path, <see cref="SolveScreened"/> works only on the coordinates the sequential strong rule keeps
/// (Tibshirani et al., 2012) and on features with a non-zero coefficient, so the Hessian is formed for those
/// features alone; a check of the optimality (KKT) conditions on every other coordinate then adds any the rule
/// wrongly dropped and solves again, so the answer is the same as without screening.
/// </remarks>
internal sealed partial class CumulativeLogitSolver
{
    private const double Ridge = 1e-10;
    private readonly ICumulativeLogitKernel _kernel;
    private readonly int _boundaries;
    private readonly int _features;
    private readonly bool[] _free;
    private readonly double[] _penaltyFactor;
    private readonly double _alpha;
    private readonly int _maxIterations;
    private readonly double _tolerance;
    private readonly int[] _allFeatures;

    /// <param name="kernel">The data-sized work.</param>
    /// <param name="boundaries">K − 1.</param>
    /// <param name="features">p.</param>
    /// <param name="free">Which θ coordinates may move (others stay as they start, e.g. at zero).</param>
    /// <param name="penaltyFactor">Per-coordinate penalty weight f_j (0 for intercepts and unpenalised ψ).</param>
    /// <param name="maxIterations">Newton iterations per fit.</param>
    /// <param name="tolerance">Stop when the predicted decrease of the objective falls below this.</param>
    /// <param name="alpha">Elastic-net mixing: the penalty is Σ f_j (α|θ_j| + (1 − α)/2 θ_j²); 1 is the lasso.</param>
    public CumulativeLogitSolver(ICumulativeLogitKernel kernel, int boundaries, int features, bool[] free, double[] penaltyFactor,
        int maxIterations, double tolerance, double alpha = 1)
    {
        _alpha = alpha;
        _kernel = kernel;
        _boundaries = boundaries;
        _features = features;
        _free = free;
        _penaltyFactor = penaltyFactor;
        _maxIterations = maxIterations;
        _tolerance = tolerance;
        _allFeatures = Enumerable.Range(0, features).ToArray();
    }

    private int Dimension => _boundaries * (_features + 1);

    /// <summary>
    /// The most memory one solve's Newton step may take (its Hessians: at the current point, at the trial point, and the
    /// linear system of the non-zero pattern); a larger step is refused before it is allocated.
    /// </summary>
    public long MemoryLimit { get; init; } = long.MaxValue;

    /// <summary>The gradient of the loss with respect to θ at <paramref name="theta"/> (for λ_max and optimality checks).</summary>
    public double[] Gradient(Theta theta, out double loss)
    {
        var gradient = new double[Dimension];
        if (!_kernel.Derivatives(theta.Alphas(), theta.Betas(), _allFeatures, gradient, null, out loss))
            throw new InvalidOperationException("The coefficients make some training row's class boundaries cross.");
        ToTheta(gradient, _features + 1);
        return gradient;
    }

    /// <summary>Minimises the penalised loss at <paramref name="lambda"/> starting from the feasible <paramref name="start"/>.</summary>
    public SolverResult Solve(double lambda, Theta start, CancellationToken cancellationToken) =>
        Solve(lambda, new SolverResult(start, double.NaN, 0, false), null, cancellationToken);

    /// <summary>
    /// Minimises the penalised loss at λ from the solution at the previous λ, screening coordinates by the sequential
    /// strong rule and checking the optimality conditions of those left out.
    /// </summary>
    /// <param name="lambda">The λ to solve at.</param>
    /// <param name="previousLambda">The λ <paramref name="previous"/> solved (at least <paramref name="lambda"/>).</param>
    /// <param name="previous">The warm start.</param>
    /// <param name="previousGradient">The θ-gradient at <paramref name="previous"/>.</param>
    /// <param name="gradient">The θ-gradient at the returned solution, for the next λ.</param>
    /// <param name="cancellationToken">Stops the fit.</param>
    public SolverResult SolveScreened(double lambda, double previousLambda, SolverResult previous, double[] previousGradient, out double[] gradient,
        CancellationToken cancellationToken)
    {
        int d = Dimension;
        var screen = new bool[d];
        double strongThreshold = 2 * lambda - previousLambda;
        var entering = new List<(int Coordinate, double Excess)>();
        for (int j = 0; j < d; j++)
        {
            if (!_free[j]) continue;
            if (_penaltyFactor[j] == 0 || previous.Theta.Values[j] != 0) screen[j] = true;
            else if (Math.Abs(previousGradient[j]) >= _alpha * _penaltyFactor[j] * strongThreshold)
                entering.Add((j, Math.Abs(previousGradient[j]) / (_alpha * _penaltyFactor[j])));
        }
        Admit(screen, entering);
        var warm = previous;
        while (true)
        {
            var fit = Solve(lambda, warm, screen, cancellationToken);
            gradient = fit.AtSolution is { } at && at.Features.Length == _features ? (double[])at.Gradient.Clone() : Gradient(fit.Theta, out _);
            // A coordinate left at zero is optimal while |∂L/∂θ_j| ≤ λ·α·f_j.
            entering.Clear();
            for (int j = 0; j < d; j++)
                if (_free[j] && !screen[j] && Math.Abs(gradient[j]) > lambda * _alpha * _penaltyFactor[j])
                    entering.Add((j, Math.Abs(gradient[j]) / (_alpha * _penaltyFactor[j])));
            if (entering.Count == 0) return fit;
            Admit(screen, entering);
            warm = fit;
        }
    }

    /// <summary>The most zero coordinates one round of <see cref="SolveScreened"/> lets move beyond those already moving.</summary>
    private const int EnteringBatch = 64;

    /// <summary>
    /// Lets the entering coordinates move: all when they are few, otherwise those with the largest gradients, as many as
    /// <see cref="EnteringBatch"/> or the coordinates already moving, whichever is more. On wide sparse data the strong
    /// rule can pass thousands of coordinates of which few become non-zero, and the Newton step's Hessian spans every
    /// one that may move; the optimality check after each round lets in the rest that must, so the answer is the same.
    /// </summary>
    private static void Admit(bool[] screen, List<(int Coordinate, double Excess)> entering)
    {
        int limit = Math.Max(EnteringBatch, screen.Count(s => s));
        if (entering.Count > limit)
        {
            // Largest first; ties by coordinate, so the same data give the same rounds.
            entering.Sort((a, b) => b.Excess != a.Excess ? b.Excess.CompareTo(a.Excess) : a.Coordinate.CompareTo(b.Coordinate));
            entering.RemoveRange(limit, entering.Count - limit);
        }
        foreach (var (coordinate, _) in entering) screen[coordinate] = true;
    }

    /// <summary>
    /// Minimises the penalised loss at <paramref name="lambda"/> from <paramref name="warm"/> (reusing its derivatives,
    /// which do not depend on λ), moving only the free coordinates that <paramref name="screen"/> marks (all when null).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public SolverResult Solve(double lambda, SolverResult warm, bool[]? screen, CancellationToken cancellationToken)
    {
        var layout = new Layout(this, warm.Theta, screen);
        int d = layout.Dimension;
        bool hessianTooLarge = 3.0 * d * d * sizeof(double) > MemoryLimit;
        if (_kernel is IRowCurvatureKernel rows && (d > CoordinateLimit(rows) || hessianTooLarge))
            return SolveByWorkingResponse(lambda, warm, layout, rows, cancellationToken);
        if (hessianTooLarge)
            throw new InsufficientMemoryException(
                $"At λ = {lambda:G4} the fit has {layout.Features.Length:N0} features with coefficients that may move, so each Newton step needs {d:N0} × {d:N0} " +
                $"Hessians ({FitMemory.Size(3.0 * d * d * sizeof(double))}), beyond this path's share of the memory limit ({FitMemory.Size(MemoryLimit)}). " +
                "End the path at a larger λ (a larger LambdaMinRatio, or a LambdaSequence that stops sooner), use fewer folds, or raise MemoryLimit.");
        var theta = warm.Theta.Clone();
        var values = layout.Gather(theta);
        var step = new double[d];
        var trial = new PointDerivatives(_boundaries, layout.Features);
        var current = warm.AtSolution is { } reused && reused.Features.AsSpan().SequenceEqual(layout.Features) ? reused.Clone() : null;
        bool transformed = current is not null;
        if (current is null)
        {
            current = new PointDerivatives(_boundaries, layout.Features);
            if (!current.Evaluate(_kernel, theta)) throw new InvalidOperationException("The solver left the feasible region; this is a bug.");
        }
        for (int iteration = 1; iteration <= _maxIterations; iteration++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!transformed)
            {
                ToTheta(current.Gradient, layout.Block);
                ToThetaMatrix(current.Hessian, layout.Block);
            }
            transformed = false;
            NewtonDirection(current.Gradient, current.Hessian, values, lambda, step, layout);

            double penalty = Penalty(values, layout);
            double predicted = FixedOrder.SequentialDot(current.Gradient, step) + lambda * (PenaltyAfter(values, step, 1, layout) - penalty);
            if (-predicted <= _tolerance) return new SolverResult(theta, current.Loss, iteration, true) { AtSolution = current };

            double objective = current.Loss + lambda * penalty;
            // The full Newton step is almost always taken, so it is tried with the derivatives the next iteration needs.
            var candidate = layout.Moved(theta, values, step, 1);
            if (trial.Evaluate(_kernel, candidate) && trial.Loss + lambda * PenaltyAfter(values, step, 1, layout) <= objective + 0.25 * predicted)
            {
                Accept(ref theta, candidate, values, step, 1);
                (current, trial) = (trial, current);
                continue;
            }
            double s = LineSearch(theta, values, step, lambda, objective, predicted, layout);
            // No step decreases the objective: converged if only round-off is left, otherwise stalled.
            if (s == 0)
                return new SolverResult(theta, current.Loss, iteration, -predicted <= 1e-9 * Math.Max(1, Math.Abs(objective))) { AtSolution = current };
            Accept(ref theta, layout.Moved(theta, values, step, s), values, step, s);
            if (!current.Evaluate(_kernel, theta))
                throw new InvalidOperationException("The solver left the feasible region; this is a bug.");
        }
        return new SolverResult(theta, current.Loss, _maxIterations, false);
    }

    private static void Accept(ref Theta theta, Theta candidate, double[] values, double[] step, double s)
    {
        theta = candidate;
        for (int c = 0; c < values.Length; c++) values[c] += s * step[c];
    }

    /// <summary>Backtracking from half the Newton step until the objective decreases enough (Armijo) and no training row's boundaries cross; 0 when none does.</summary>
    private double LineSearch(Theta theta, double[] values, double[] step, double lambda, double objective, double predicted, Layout layout)
    {
        double s = 0.5;
        for (int attempt = 1; attempt < 50; attempt++, s *= 0.5)
        {
            var candidate = layout.Moved(theta, values, step, s);
            if (_kernel.Loss(candidate.Alphas(), candidate.Betas(), out double loss)
                && loss + lambda * PenaltyAfter(values, step, s, layout) <= objective + 0.25 * s * predicted)
                return s;
        }
        return 0;
    }

    /// <summary>
    /// The coordinates one solve works on: every boundary's intercept and differences of the features that have a
    /// coordinate allowed to move or a non-zero one, in blocks of 1 + |features| per boundary. Coordinates of other
    /// features are zero and stay so.
    /// </summary>
    private sealed class Layout
    {
        private readonly int[] _full;

        public Layout(CumulativeLogitSolver solver, Theta theta, bool[]? screen)
        {
            int block = solver._features + 1;
            Features = Enumerable.Range(0, solver._features).Where(j => Enumerable.Range(0, solver._boundaries).Any(k =>
            {
                int index = k * block + 1 + j;
                return (solver._free[index] && (screen?[index] ?? true)) || theta.Values[index] != 0;
            })).ToArray();
            Block = Features.Length + 1;
            _full = new int[solver._boundaries * Block];
            Free = new bool[_full.Length];
            PenaltyFactor = new double[_full.Length];
            for (int k = 0; k < solver._boundaries; k++)
                for (int q = 0; q < Block; q++)
                {
                    int c = k * Block + q, index = k * block + (q == 0 ? 0 : 1 + Features[q - 1]);
                    _full[c] = index;
                    Free[c] = solver._free[index] && (screen?[index] ?? true);
                    PenaltyFactor[c] = solver._penaltyFactor[index];
                }
        }

        public int[] Features { get; }

        public int Block { get; }

        public int Dimension => _full.Length;

        public bool[] Free { get; }

        public double[] PenaltyFactor { get; }

        public double[] Gather(Theta theta) => _full.Select(i => theta.Values[i]).ToArray();

        /// <summary>A copy of <paramref name="theta"/> with the layout's coordinates at <c>values + s·step</c>.</summary>
        public Theta Moved(Theta theta, double[] values, double[] step, double s)
        {
            var moved = theta.Clone();
            for (int c = 0; c < _full.Length; c++) moved.Values[_full[c]] = values[c] + s * step[c];
            return moved;
        }
    }

    /// <summary>
    /// Minimises the model <c>gᵀΔ + ½Δᵀ(H + rI)Δ + λ Σ f_j (α|θ_j + Δ_j| + (1 − α)/2 (θ_j + Δ_j)²)</c> over the layout's free
    /// coordinates (r a tiny ridge): coordinate descent finds which coordinates are zero and the signs of the others;
    /// once a sweep leaves that pattern unchanged, the model restricted to it is solved exactly (a linear system) and
    /// kept if it satisfies the model's optimality conditions. Collinear features (dummy-coded factors) otherwise
    /// take coordinate descent hundreds of sweeps.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void NewtonDirection(double[] gradient, double[] hessian, double[] theta, double lambda, double[] step, Layout layout)
    {
        int d = step.Length;
        Array.Clear(step);
        var hStep = new double[d];
        double scale = 0;
        for (int j = 0; j < d; j++) scale = Math.Max(scale, hessian[j * d + j]);
        double ridge = Ridge * Math.Max(scale, 1);
        double innerTolerance = Math.Max(_tolerance * 1e-3, 1e-18);
        var pattern = new sbyte[d];
        var previousPattern = new sbyte[d];
        bool triedThisPattern = false;
        for (int sweep = 0; sweep < 10_000; sweep++)
        {
            double largest = 0;
            for (int j = 0; j < d; j++)
            {
                if (!layout.Free[j]) continue;
                double factor = layout.PenaltyFactor[j];
                double hjj = hessian[j * d + j] + ridge;
                double current = theta[j] + step[j];
                double c = gradient[j] + hStep[j] - hessian[j * d + j] * step[j];
                double target = SoftThreshold(hjj * theta[j] - c, lambda * factor * _alpha) / (hjj + lambda * factor * (1 - _alpha));
                double change = target - current;
                if (change == 0) continue;
                step[j] += change;
                for (int m = 0; m < d; m++) hStep[m] += hessian[m * d + j] * change;
                largest = Math.Max(largest, hjj * change * change);
            }
            if (largest <= innerTolerance) break;
            for (int j = 0; j < d; j++) pattern[j] = (sbyte)Math.Sign(theta[j] + step[j]);
            bool settled = sweep > 0 && pattern.AsSpan().SequenceEqual(previousPattern);
            // One try per pattern: a failed one means coordinate descent has not found the right pattern yet.
            if (settled && !triedThisPattern)
            {
                if (TrySolvePattern(gradient, hessian, theta, lambda, ridge, pattern, layout, step)) break;
                triedThisPattern = true;
            }
            if (!settled) triedThisPattern = false;
            (pattern, previousPattern) = (previousPattern, pattern);
        }
    }

    /// <summary>
    /// The exact minimiser of the model when the coordinates that <paramref name="pattern"/> marks zero (and penalised)
    /// are zero and the others keep their signs; false, leaving <paramref name="step"/> alone, when that minimiser
    /// breaks the pattern (a sign flips, or a zero coordinate would move).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool TrySolvePattern(double[] gradient, double[] hessian, double[] theta, double lambda, double ridge, sbyte[] pattern, Layout layout, double[] step)
    {
        int d = step.Length;
        var delta = new double[d];
        var active = new List<int>();
        for (int j = 0; j < d; j++)
        {
            if (!layout.Free[j]) continue;
            if (pattern[j] != 0 || layout.PenaltyFactor[j] * _alpha == 0) active.Add(j);
            else delta[j] = -theta[j];
        }
        int a = active.Count;
        var system = new double[a, a];
        var rhs = new double[a];
        for (int r = 0; r < a; r++)
        {
            int i = active[r];
            double factor = layout.PenaltyFactor[i];
            double fixedPart = 0;
            for (int j = 0; j < d; j++) fixedPart += hessian[i * d + j] * delta[j];
            rhs[r] = -gradient[i] - fixedPart - lambda * factor * (_alpha * pattern[i] + (1 - _alpha) * theta[i]);
            for (int c = 0; c < a; c++) system[r, c] = hessian[i * d + active[c]];
            system[r, r] += ridge + lambda * factor * (1 - _alpha);
        }
        if (!MLExtensions.Numerics.SymmetricMatrix.TryCholesky(system)) return false;
        MLExtensions.Numerics.SymmetricMatrix.CholeskySolve(system, rhs);
        for (int r = 0; r < a; r++)
        {
            int i = active[r];
            delta[i] = rhs[r];
            if (layout.PenaltyFactor[i] * _alpha > 0 && Math.Sign(theta[i] + delta[i]) != pattern[i]) return false;
        }
        // A coordinate held at zero is optimal while the model's slope there stays within ±λ·α·f.
        for (int j = 0; j < d; j++)
        {
            if (!layout.Free[j] || pattern[j] != 0 || layout.PenaltyFactor[j] * _alpha == 0) continue;
            double slope = gradient[j] + ridge * delta[j];
            for (int m = 0; m < d; m++) slope += hessian[j * d + m] * delta[m];
            if (Math.Abs(slope) > lambda * _alpha * layout.PenaltyFactor[j] * (1 + 1e-9) + 1e-15) return false;
        }
        delta.CopyTo(step, 0);
        return true;
    }

    private static double SoftThreshold(double z, double threshold) =>
        z > threshold ? z - threshold : z < -threshold ? z + threshold : 0;

    private double Penalty(double[] theta, Layout layout) => PenaltyAfter(theta, theta, 0, layout);

    /// <summary>The penalty at <c>θ + s·step</c> over the layout (coordinates outside it are zero).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private double PenaltyAfter(double[] theta, double[] step, double s, Layout layout)
    {
        double sum = 0;
        for (int j = 0; j < theta.Length; j++)
        {
            double t = theta[j] + s * step[j];
            sum += layout.PenaltyFactor[j] * (_alpha * Math.Abs(t) + 0.5 * (1 - _alpha) * t * t);
        }
        return sum;
    }

    /// <summary>b-space → θ-space for a vector in blocks of <paramref name="block"/>: ∂/∂ψ_l = Σ_{k ≥ l} ∂/∂β_k (intercepts unchanged).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ToTheta(double[] vector, int block)
    {
        for (int j = 1; j < block; j++)
        {
            double sum = 0;
            for (int k = _boundaries - 1; k >= 0; k--)
            {
                sum += vector[k * block + j];
                vector[k * block + j] = sum;
            }
        }
    }

    /// <summary>b-space → θ-space for the Hessian: the same transform on columns, then on rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ToThetaMatrix(double[] matrix, int block)
    {
        int d = _boundaries * block;
        var line = new double[d];
        for (int c = 0; c < d; c++)
        {
            for (int r = 0; r < d; r++) line[r] = matrix[r * d + c];
            ToTheta(line, block);
            for (int r = 0; r < d; r++) matrix[r * d + c] = line[r];
        }
        for (int r = 0; r < d; r++)
        {
            Array.Copy(matrix, r * d, line, 0, d);
            ToTheta(line, block);
            Array.Copy(line, 0, matrix, r * d, d);
        }
    }
}
