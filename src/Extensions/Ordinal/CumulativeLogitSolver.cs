namespace MLExtensions.Ordinal;

/// <summary>
/// Coefficients of the cumulative-logit model on the standardised scale, in PRESTO's parameterisation: intercepts
/// α_k and differences ψ_1 = β_1, ψ_k = β_k − β_{k−1}, stored as θ = (α_k, ψ_k1..ψ_kp) per boundary.
/// </summary>
internal sealed class Theta
{
    public Theta(int boundaries, int features)
    {
        Boundaries = boundaries;
        Features = features;
        Values = new double[boundaries * (features + 1)];
    }

    private Theta(Theta other)
    {
        Boundaries = other.Boundaries;
        Features = other.Features;
        Values = (double[])other.Values.Clone();
    }

    public int Boundaries { get; }

    public int Features { get; }

    public double[] Values { get; }

    public int Block => Features + 1;

    public double Alpha(int k) => Values[k * Block];

    public double Psi(int k, int j) => Values[k * Block + 1 + j];

    public Theta Clone() => new(this);

    public double[] Alphas() => Enumerable.Range(0, Boundaries).Select(Alpha).ToArray();

    /// <summary>Cumulative coefficients β_k = Σ_{l ≤ k} ψ_l, boundary-major.</summary>
    public double[] Betas()
    {
        var beta = new double[Boundaries * Features];
        for (int j = 0; j < Features; j++)
        {
            double sum = 0;
            for (int k = 0; k < Boundaries; k++)
            {
                sum += Psi(k, j);
                beta[k * Features + j] = sum;
            }
        }
        return beta;
    }
}

/// <summary>The outcome of one penalised fit.</summary>
internal sealed record SolverResult(Theta Theta, double Loss, int Iterations, bool Converged);

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
/// </remarks>
internal sealed class CumulativeLogitSolver
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
    }

    private int Dimension => _boundaries * (_features + 1);

    /// <summary>The gradient of the loss with respect to θ at <paramref name="theta"/> (for λ_max and optimality checks).</summary>
    public double[] Gradient(Theta theta, out double loss)
    {
        int d = Dimension;
        var gradient = new double[d];
        var hessian = new double[d * d];
        if (!_kernel.Derivatives(theta.Alphas(), theta.Betas(), gradient, hessian, out loss))
            throw new InvalidOperationException("The coefficients make some training row's class boundaries cross.");
        ToTheta(gradient);
        return gradient;
    }

    /// <summary>Minimises the penalised loss at <paramref name="lambda"/> starting from the feasible <paramref name="start"/>.</summary>
    public SolverResult Solve(double lambda, Theta start, CancellationToken cancellationToken)
    {
        int d = Dimension;
        var theta = start.Clone();
        var gradient = new double[d];
        var hessian = new double[d * d];
        var step = new double[d];
        double loss = double.NaN;
        for (int iteration = 1; iteration <= _maxIterations; iteration++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!_kernel.Derivatives(theta.Alphas(), theta.Betas(), gradient, hessian, out loss))
                throw new InvalidOperationException("The solver left the feasible region; this is a bug.");
            ToTheta(gradient);
            ToThetaMatrix(hessian);
            NewtonDirection(gradient, hessian, theta.Values, lambda, step);

            double penalty = Penalty(theta.Values);
            double predicted = Dot(gradient, step) + lambda * (PenaltyAfter(theta.Values, step, 1) - penalty);
            if (-predicted <= _tolerance) return new SolverResult(theta, loss, iteration, true);

            double objective = loss + lambda * penalty;
            var accepted = LineSearch(theta, step, lambda, objective, predicted, out double newLoss);
            // No step decreases the objective: converged if only round-off is left, otherwise stalled.
            if (accepted is null) return new SolverResult(theta, loss, iteration, -predicted <= 1e-9 * Math.Max(1, Math.Abs(objective)));
            theta = accepted;
            loss = newLoss;
        }
        return new SolverResult(theta, loss, _maxIterations, false);
    }

    private Theta? LineSearch(Theta theta, double[] step, double lambda, double objective, double predicted, out double loss)
    {
        var candidate = theta.Clone();
        double s = 1;
        for (int attempt = 0; attempt < 50; attempt++, s *= 0.5)
        {
            for (int j = 0; j < step.Length; j++) candidate.Values[j] = theta.Values[j] + s * step[j];
            if (_kernel.Loss(candidate.Alphas(), candidate.Betas(), out loss)
                && loss + lambda * Penalty(candidate.Values) <= objective + 0.25 * s * predicted)
                return candidate;
        }
        loss = double.NaN;
        return null;
    }

    /// <summary>Coordinate descent on <c>gᵀΔ + ½ΔᵀHΔ + λ Σ f_j (α|θ_j + Δ_j| + (1 − α)/2 (θ_j + Δ_j)²)</c> over the free coordinates.</summary>
    private void NewtonDirection(double[] gradient, double[] hessian, double[] theta, double lambda, double[] step)
    {
        int d = step.Length;
        Array.Clear(step);
        var hStep = new double[d];
        double scale = 0;
        for (int j = 0; j < d; j++) scale = Math.Max(scale, hessian[j * d + j]);
        double innerTolerance = Math.Max(_tolerance * 1e-3, 1e-18);
        for (int sweep = 0; sweep < 10_000; sweep++)
        {
            double largest = 0;
            for (int j = 0; j < d; j++)
            {
                if (!_free[j]) continue;
                double hjj = hessian[j * d + j] + Ridge * Math.Max(scale, 1);
                double current = theta[j] + step[j];
                double c = gradient[j] + hStep[j] - hjj * step[j] + Ridge * Math.Max(scale, 1) * step[j];
                double target = SoftThreshold(hjj * theta[j] - c, lambda * _penaltyFactor[j] * _alpha) / (hjj + lambda * _penaltyFactor[j] * (1 - _alpha));
                double change = target - current;
                if (change == 0) continue;
                step[j] += change;
                for (int m = 0; m < d; m++) hStep[m] += hessian[m * d + j] * change;
                largest = Math.Max(largest, hjj * change * change);
            }
            if (largest <= innerTolerance) break;
        }
    }

    private static double SoftThreshold(double z, double threshold) =>
        z > threshold ? z - threshold : z < -threshold ? z + threshold : 0;

    private double Penalty(double[] theta)
    {
        double sum = 0;
        for (int j = 0; j < theta.Length; j++) sum += _penaltyFactor[j] * (_alpha * Math.Abs(theta[j]) + 0.5 * (1 - _alpha) * theta[j] * theta[j]);
        return sum;
    }

    private double PenaltyAfter(double[] theta, double[] step, double s)
    {
        double sum = 0;
        for (int j = 0; j < theta.Length; j++)
        {
            double t = theta[j] + s * step[j];
            sum += _penaltyFactor[j] * (_alpha * Math.Abs(t) + 0.5 * (1 - _alpha) * t * t);
        }
        return sum;
    }

    private static double Dot(double[] a, double[] b)
    {
        double sum = 0;
        for (int j = 0; j < a.Length; j++) sum += a[j] * b[j];
        return sum;
    }

    /// <summary>b-space → θ-space for a vector: ∂/∂ψ_l = Σ_{k ≥ l} ∂/∂β_k (intercepts unchanged).</summary>
    private void ToTheta(double[] vector)
    {
        int block = _features + 1;
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
    private void ToThetaMatrix(double[] matrix)
    {
        int d = Dimension;
        var line = new double[d];
        for (int c = 0; c < d; c++)
        {
            for (int r = 0; r < d; r++) line[r] = matrix[r * d + c];
            ToTheta(line);
            for (int r = 0; r < d; r++) matrix[r * d + c] = line[r];
        }
        for (int r = 0; r < d; r++)
        {
            Array.Copy(matrix, r * d, line, 0, d);
            ToTheta(line);
            Array.Copy(line, 0, matrix, r * d, d);
        }
    }
}
