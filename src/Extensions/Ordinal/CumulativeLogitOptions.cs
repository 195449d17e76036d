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

    /// <summary>
    /// Read the training data in passes over the <see cref="Microsoft.ML.IDataView"/> instead of copying it into memory,
    /// for data larger than memory: memory then stays bounded by the feature count, whatever the number of rows.
    /// Every solver iteration is one pass, so the source should be fast to read (ML.NET's binary format, a
    /// cached view); the TorchSharp backend is not used. Without a fold column, cross-validation folds come from a
    /// seeded hash of each row's position instead of being stratified by class. Default: false.
    /// </summary>
    public bool StreamData { get; set; }

    internal override void Validate()
    {
        base.Validate();
        ArgumentOutOfRangeException.ThrowIfLessThan(MaximumNumberOfIterations, 1, nameof(MaximumNumberOfIterations));
        if (!(Tolerance > 0) || !double.IsFinite(Tolerance))
            throw new ArgumentOutOfRangeException(nameof(Tolerance), Tolerance, "The tolerance must be positive and finite.");
    }
}
