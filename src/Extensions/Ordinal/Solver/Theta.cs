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

    public double[] Alphas()
    {
        var alphas = new double[Boundaries];
        for (int k = 0; k < Boundaries; k++) alphas[k] = Alpha(k);
        return alphas;
    }

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
internal sealed record SolverResult(Theta Theta, double Loss, int Iterations, bool Converged)
{
    /// <summary>Gradient and Hessian (θ-coordinates) at <see cref="Theta"/>, which a warm start at another λ reuses; null when not computed.</summary>
    public PointDerivatives? AtSolution { get; init; }
}

/// <summary>
/// Loss, gradient and Hessian at one point over the intercepts and the slopes of <see cref="Features"/>: in the
/// kernel's b-coordinates after <see cref="Evaluate"/>, in θ-coordinates once transformed.
/// </summary>
internal sealed class PointDerivatives
{
    public PointDerivatives(int boundaries, int[] features)
    {
        Features = features;
        int d = boundaries * (features.Length + 1);
        Gradient = new double[d];
        Hessian = new double[d * d];
    }

    public int[] Features { get; }

    public double[] Gradient { get; }

    public double[] Hessian { get; }

    public double Loss { get; private set; }

    public bool Evaluate(ICumulativeLogitKernel kernel, Theta theta)
    {
        bool feasible = kernel.Derivatives(theta.Alphas(), theta.Betas(), Features, Gradient, Hessian, out double loss);
        Loss = loss;
        return feasible;
    }

    public PointDerivatives Clone()
    {
        var copy = new PointDerivatives(Gradient.Length / (Features.Length + 1), Features) { Loss = Loss };
        Gradient.CopyTo(copy.Gradient, 0);
        Hessian.CopyTo(copy.Hessian, 0);
        return copy;
    }
}
