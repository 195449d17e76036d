namespace MLExtensions.Ordinal;

/// <summary>One λ of the fitted path, on all training rows (ordinalNet's path summary).</summary>
/// <param name="Lambda">λ (+∞ for proportional odds).</param>
/// <param name="LogLikelihood">Weighted log-likelihood of the training rows.</param>
/// <param name="DevianceExplained">1 − deviance / deviance of the path's null model (the fit at λ ≥ λ_max).</param>
/// <param name="NonzeroDifferences">Differences ψ_k (k ≥ 2) not set to zero: features whose effect varies across boundaries.</param>
/// <param name="DegreesOfFreedom">Intercepts plus non-zero slope coefficients.</param>
/// <param name="Aic">−2·log-likelihood + 2·df.</param>
/// <param name="Bic">−2·log-likelihood + ln(n)·df (n: total row weight).</param>
/// <param name="Differences">
/// The fit's ψ on the original feature scale, boundary × feature: row 0 is β_1, row k the difference β_{k+1} − β_k.
/// </param>
public sealed record PrestoPathPoint(double Lambda, double LogLikelihood, double DevianceExplained, int NonzeroDifferences, int DegreesOfFreedom,
    double Aic, double Bic, IReadOnlyList<IReadOnlyList<double>> Differences);

/// <summary>
/// The likelihood-ratio test of proportional odds: the unpenalised non-parallel cumulative-logit fit (PRESTO at λ = 0)
/// against the proportional-odds fit, both by maximum likelihood on all training rows. A small p-value says some
/// feature's effect differs between boundaries (the proportional-odds assumption fails).
/// </summary>
/// <param name="Statistic">2·(log-likelihood of the non-parallel fit − that of the proportional-odds fit), at least 0.</param>
/// <param name="DegreesOfFreedom">p·(K − 2): the differences ψ_k (k ≥ 2) of the p non-constant features.</param>
/// <param name="PValue">P(χ² ≥ statistic) with <paramref name="DegreesOfFreedom"/> degrees of freedom (asymptotic).</param>
/// <param name="ProportionalOddsLogLikelihood">The proportional-odds fit's (weighted) log-likelihood.</param>
/// <param name="NonParallelLogLikelihood">The non-parallel fit's (weighted) log-likelihood.</param>
/// <param name="Converged">
/// Whether both fits converged; false when the classes are (nearly) separable and a maximum-likelihood estimate does
/// not exist, and then the statistic and p-value are not to be trusted.
/// </param>
/// <remarks>
/// With example weights the log-likelihoods are weighted, which the χ² reference assumes to be frequency weights.
/// </remarks>
public sealed record ProportionalOddsTest(double Statistic, int DegreesOfFreedom, double PValue, double ProportionalOddsLogLikelihood,
    double NonParallelLogLikelihood, bool Converged);

/// <summary>
/// The fitted cumulative-logit coefficients on the original feature scale,
/// <c>P(y ≤ k | x) = σ(Intercepts[k] + Σ_j Weights[k][j]·x_j)</c>, and how λ was chosen.
/// </summary>
public sealed class PrestoParameters
{
    internal PrestoParameters(double[] intercepts, double[][] weights, double lambda, double lambdaMax, double[] lambdaPath,
        double[] crossValidationScores, double[] crossValidationStandardErrors, bool converged, IReadOnlyList<PrestoPathPoint> pathDiagnostics,
        ProportionalOddsTest? proportionalOddsTest = null, string? offsetColumnName = null, double gamma = 1, RelaxedCrossValidation? relaxation = null,
        PrestoCrossValidationMetric? crossValidationMetric = null, string? rareClass = null)
    {
        CrossValidationMetric = crossValidationMetric;
        RareClass = rareClass;
        Gamma = gamma;
        Gammas = Array.AsReadOnly(relaxation?.Gammas ?? []);
        RelaxedCrossValidationScores = ReadOnly(relaxation?.Scores ?? []);
        RelaxedCrossValidationStandardErrors = ReadOnly(relaxation?.StandardErrors ?? []);
        ProportionalOddsTest = proportionalOddsTest;
        OffsetColumnName = offsetColumnName;
        PathDiagnostics = pathDiagnostics;
        Intercepts = Array.AsReadOnly(intercepts);
        Weights = Array.AsReadOnly(weights.Select(row => (IReadOnlyList<double>)Array.AsReadOnly(row)).ToArray());
        Lambda = lambda;
        LambdaMax = lambdaMax;
        LambdaPath = Array.AsReadOnly(lambdaPath);
        CrossValidationScores = Array.AsReadOnly(crossValidationScores);
        CrossValidationStandardErrors = Array.AsReadOnly(crossValidationStandardErrors);
        Converged = converged;
    }

    /// <summary>
    /// The likelihood-ratio test of proportional odds (see <see cref="Ordinal.ProportionalOddsTest"/>); null when it was
    /// not asked for (<c>PrestoTrainer.Options.TestProportionalOdds</c>), for the proportional-odds trainer, or when there is
    /// nothing to test (no non-constant feature) or too few rows for the non-parallel fit.
    /// </summary>
    public ProportionalOddsTest? ProportionalOddsTest { get; }

    /// <summary>
    /// The column of the known per-row term added to every linear predictor, or null without an offset:
    /// <c>P(y ≤ k | x) = σ(Intercepts[k] + Σ_j Weights[k][j]·x_j + offset)</c>.
    /// </summary>
    public string? OffsetColumnName { get; }

    /// <summary>Log-likelihood, deviance explained, non-zero differences, AIC and BIC at every λ of <see cref="LambdaPath"/> (or the one λ fitted).</summary>
    public IReadOnlyList<PrestoPathPoint> PathDiagnostics { get; }

    /// <summary>α_k, one per boundary between class k and k+1 (K − 1 values; the cumulative probabilities at x = 0).</summary>
    public IReadOnlyList<double> Intercepts { get; }

    /// <summary>β_k, boundary × feature (K − 1 rows of p values), on the original feature scale.</summary>
    public IReadOnlyList<IReadOnlyList<double>> Weights { get; }

    /// <summary>
    /// The differences ψ_k = β_k − β_{k−1} (ψ_1 = β_1) that the lasso shrinks: rows after the first are zero where the
    /// model is proportional odds for that feature.
    /// </summary>
    public IReadOnlyList<IReadOnlyList<double>> Differences =>
        Weights.Select((row, k) => (IReadOnlyList<double>)(k == 0 ? row.ToArray() : row.Zip(Weights[k - 1], (a, b) => a - b).ToArray())).ToArray();

    /// <summary>The λ used (on the standardised scale of the objective); +∞ for the proportional-odds model.</summary>
    public double Lambda { get; }

    /// <summary>The smallest λ at which every penalised coefficient is zero.</summary>
    public double LambdaMax { get; }

    /// <summary>Where <see cref="Lambda"/> sits in <see cref="LambdaPath"/> (−1 for the proportional-odds model, fitted at no λ).</summary>
    public int LambdaIndex => LambdaPath.ToList().IndexOf(Lambda);

    /// <summary>The λ values fitted, largest first (a single value when λ was given).</summary>
    public IReadOnlyList<double> LambdaPath { get; }

    /// <summary>
    /// Mean held-out score at each λ of <see cref="LambdaPath"/>, of the trainer's <c>CrossValidationMetric</c>
    /// (default the multiclass Brier score), at the chosen <see cref="Gamma"/>; empty when λ was given.
    /// </summary>
    public IReadOnlyList<double> CrossValidationScores { get; }

    /// <summary>What <see cref="CrossValidationScores"/> measure and λ was chosen by; null when λ was not cross-validated.</summary>
    public PrestoCrossValidationMetric? CrossValidationMetric { get; }

    /// <summary>
    /// The class whose Brier score chose λ (its name, as in the <c>Score</c> slot names) when
    /// <see cref="CrossValidationMetric"/> is <see cref="PrestoCrossValidationMetric.RareClassBrier"/>: the trainer's
    /// <c>RareClass</c>, or the last class when none was named. Null otherwise. Not saved with the model.
    /// </summary>
    public string? RareClass { get; }

    /// <summary>Standard error of the fold scores at each λ (empty when λ was given).</summary>
    public IReadOnlyList<double> CrossValidationStandardErrors { get; }

    /// <summary>Whether every fit met the tolerance within the iteration limit.</summary>
    public bool Converged { get; }

    /// <summary>
    /// The relaxed lasso's mixing γ (glmnet's <c>gamma</c>): the coefficients are <c>γ·β_lasso(λ) + (1 − γ)·β_refit(λ)</c>,
    /// where the refit is unpenalised on the lasso's pattern at λ. 1 (the lasso itself) unless the trainer's <c>Relax</c> is on.
    /// </summary>
    public double Gamma { get; }

    /// <summary>The γ values cross-validated with <c>Relax</c>, largest first; empty without it.</summary>
    public IReadOnlyList<double> Gammas { get; }

    /// <summary>
    /// With <c>Relax</c>, the mean held-out score per γ of <see cref="Gammas"/> (rows) and λ of <see cref="LambdaPath"/>
    /// (columns); <see cref="CrossValidationScores"/> is the row of the chosen γ. Empty without <c>Relax</c>.
    /// </summary>
    public IReadOnlyList<IReadOnlyList<double>> RelaxedCrossValidationScores { get; }

    /// <summary>The standard errors of <see cref="RelaxedCrossValidationScores"/>, in the same layout.</summary>
    public IReadOnlyList<IReadOnlyList<double>> RelaxedCrossValidationStandardErrors { get; }

    private static IReadOnlyList<IReadOnlyList<double>> ReadOnly(double[][] rows) =>
        Array.AsReadOnly(rows.Select(row => (IReadOnlyList<double>)Array.AsReadOnly(row)).ToArray());
}
