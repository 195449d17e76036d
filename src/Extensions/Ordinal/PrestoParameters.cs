namespace MLExtensions.Ordinal;

/// <summary>One λ of the fitted path, on all training rows (ordinalNet's path summary).</summary>
/// <param name="Lambda">λ (+∞ for proportional odds).</param>
/// <param name="LogLikelihood">Weighted log-likelihood of the training rows.</param>
/// <param name="DevianceExplained">1 − deviance / deviance of the path's null model (the fit at λ ≥ λ_max).</param>
/// <param name="NonzeroDifferences">Differences ψ_k (k ≥ 2) not set to zero: features whose effect varies across boundaries.</param>
/// <param name="DegreesOfFreedom">Intercepts plus non-zero slope coefficients.</param>
/// <param name="Aic">−2·log-likelihood + 2·df.</param>
/// <param name="Bic">−2·log-likelihood + ln(n)·df (n: total row weight).</param>
public sealed record PrestoPathPoint(double Lambda, double LogLikelihood, double DevianceExplained, int NonzeroDifferences, int DegreesOfFreedom,
    double Aic, double Bic);

/// <summary>
/// The fitted cumulative-logit coefficients on the original feature scale,
/// <c>P(y ≤ k | x) = σ(Intercepts[k] + Σ_j Weights[k][j]·x_j)</c>, and how λ was chosen.
/// </summary>
public sealed class PrestoParameters
{
    internal PrestoParameters(double[] intercepts, double[][] weights, double lambda, double lambdaMax, double[] lambdaPath,
        double[] crossValidationScores, double[] crossValidationStandardErrors, bool converged, IReadOnlyList<PrestoPathPoint> pathDiagnostics)
    {
        PathDiagnostics = pathDiagnostics;
        Intercepts = intercepts;
        Weights = weights;
        Lambda = lambda;
        LambdaMax = lambdaMax;
        LambdaPath = lambdaPath;
        CrossValidationScores = crossValidationScores;
        CrossValidationStandardErrors = crossValidationStandardErrors;
        Converged = converged;
    }

    /// <summary>Log-likelihood, deviance explained, non-zero differences, AIC and BIC at every λ of <see cref="LambdaPath"/> (or the one λ fitted).</summary>
    public IReadOnlyList<PrestoPathPoint> PathDiagnostics { get; }

    /// <summary>α_k, one per boundary between class k and k+1 (K − 1 values; the cumulative probabilities at x = 0).</summary>
    public double[] Intercepts { get; }

    /// <summary>β_k, boundary × feature (K − 1 rows of p values), on the original feature scale.</summary>
    public double[][] Weights { get; }

    /// <summary>
    /// The differences ψ_k = β_k − β_{k−1} (ψ_1 = β_1) that the lasso shrinks: rows after the first are zero where the
    /// model is proportional odds for that feature.
    /// </summary>
    public double[][] Differences => Weights.Select((row, k) => k == 0 ? (double[])row.Clone() : row.Zip(Weights[k - 1], (a, b) => a - b).ToArray()).ToArray();

    /// <summary>The λ used (on the standardised scale of the objective); +∞ for the proportional-odds model.</summary>
    public double Lambda { get; }

    /// <summary>The smallest λ at which every penalised coefficient is zero.</summary>
    public double LambdaMax { get; }

    /// <summary>The λ values fitted, largest first (a single value when λ was given).</summary>
    public double[] LambdaPath { get; }

    /// <summary>
    /// Mean held-out score at each λ of <see cref="LambdaPath"/>, of the trainer's <c>CrossValidationMetric</c>
    /// (default the multiclass Brier score); empty when λ was given.
    /// </summary>
    public double[] CrossValidationScores { get; }

    /// <summary>Standard error of the fold scores at each λ (empty when λ was given).</summary>
    public double[] CrossValidationStandardErrors { get; }

    /// <summary>Whether every fit met the tolerance within the iteration limit.</summary>
    public bool Converged { get; }
}
