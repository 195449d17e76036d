using MLExtensions.Training;

namespace MLExtensions.Ordinal;

/// <summary>Options shared by the cumulative-logit trainers (PRESTO and proportional odds).</summary>
public abstract class CumulativeLogitOptions : TorchTrainerOptions
{
    /// <summary>Newton iterations per fit (per λ). Default: 100.</summary>
    public int MaximumNumberOfIterations { get; set; } = 100;

    /// <summary>
    /// Convergence tolerance: a fit stops when a Newton step would lower the penalised mean negative
    /// log-likelihood by less than this. Default: 1e-12.
    /// </summary>
    public double Tolerance { get; set; } = 1e-12;

    /// <summary>Which code computes the likelihood derivatives. Default: <see cref="OrdinalSolverBackend.Auto"/>.</summary>
    public OrdinalSolverBackend Backend { get; set; } = OrdinalSolverBackend.Auto;

    internal virtual void Check()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(FeatureColumnName, nameof(FeatureColumnName));
        ArgumentException.ThrowIfNullOrWhiteSpace(LabelColumnName, nameof(LabelColumnName));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaximumNumberOfIterations, 1, nameof(MaximumNumberOfIterations));
        if (!(Tolerance > 0)) throw new ArgumentOutOfRangeException(nameof(Tolerance), Tolerance, "The tolerance must be positive.");
    }
}
