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

    /// <summary>
    /// A <see cref="float"/> column holding a known per-row term (an offset, e.g. a log exposure) added to every
    /// cumulative logit: <c>logit P(y ≤ k | x) = α_k + xᵀβ_k + offset</c>. Its coefficient is fixed at 1, so it is not
    /// estimated; it is read in training and cross-validation and is an input column of the fitted model at scoring
    /// too, where a missing column or a NaN or infinite value is refused. Not supported with <see cref="StreamData"/>.
    /// Null for no offset. Default: null.
    /// </summary>
    public string? OffsetColumnName { get; set; }

    /// <summary>
    /// Name of an optional output column of the K cumulative probabilities P(y ≤ k), k = 1..K, in class order (the last
    /// is 1), computed from the boundaries repaired as for <c>Score</c> (so they never decrease). Null: not produced.
    /// Default: null.
    /// </summary>
    public string? CumulativeProbabilitiesColumnName { get; set; }

    /// <summary>
    /// Name of an optional output column of the K − 1 linear predictors η_k = α_k + xᵀβ_k (+ offset), one per boundary,
    /// as fitted (before the repair of crossing boundaries). Null: not produced. Default: null.
    /// </summary>
    public string? LinearPredictorsColumnName { get; set; }

    /// <summary>
    /// The most memory, in bytes, a fit may plan to use. Before its large allocations the fit estimates what it will hold
    /// (the rows, sparse or dense; every kernel's copy; the coefficients kept along each λ path) and refuses with an
    /// <see cref="InsufficientMemoryException"/> that names the sizes and what would fit (fewer λ or folds, sparse rows,
    /// streaming) when the estimate exceeds this. Null: 3/4 of the memory available to the process
    /// (<see cref="GCMemoryInfo.TotalAvailableMemoryBytes"/>, which honours a container's limit). Default: null.
    /// </summary>
    /// <remarks>
    /// In memory, a vector column whose non-zeros are at most a tenth of its values is held as its non-zeros and the
    /// managed backend's cost then follows the non-zeros; the TorchSharp backend and <see cref="StreamData"/> hold rows dense.
    /// </remarks>
    public long? MemoryLimit { get; set; }

    /// <summary>Hold in-memory rows dense whatever their density (to compare the sparse kernels with the dense ones).</summary>
    internal bool DenseRowsOnly { get; set; }

    internal override void Validate()
    {
        base.Validate();
        if (MemoryLimit is long limit && limit <= 0)
            throw new ArgumentOutOfRangeException(nameof(MemoryLimit), limit, "The memory limit must be positive (bytes), or null for 3/4 of the available memory.");
        ArgumentOutOfRangeException.ThrowIfLessThan(MaximumNumberOfIterations, 1, nameof(MaximumNumberOfIterations));
        if (!(Tolerance > 0) || !double.IsFinite(Tolerance))
            throw new ArgumentOutOfRangeException(nameof(Tolerance), Tolerance, "The tolerance must be positive and finite.");
        if (OffsetColumnName is not null)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(OffsetColumnName, nameof(OffsetColumnName));
            if (StreamData)
                throw new NotSupportedException($"OffsetColumnName ('{OffsetColumnName}') is not supported with StreamData = true yet; load the data into memory (StreamData = false).");
            if (OffsetColumnName == FeatureColumnName || OffsetColumnName == LabelColumnName)
                throw new ArgumentException($"The offset column '{OffsetColumnName}' is also the feature or label column; name a column of its own.", nameof(OffsetColumnName));
        }
        var taken = new List<string> { "Score", "PredictedLabel", FeatureColumnName };
        if (OffsetColumnName is not null) taken.Add(OffsetColumnName);
        foreach (var (name, option) in new[] { (CumulativeProbabilitiesColumnName, nameof(CumulativeProbabilitiesColumnName)), (LinearPredictorsColumnName, nameof(LinearPredictorsColumnName)) })
        {
            if (name is null) continue;
            ArgumentException.ThrowIfNullOrWhiteSpace(name, option);
            if (taken.Contains(name))
                throw new ArgumentException($"{option} '{name}' is already taken by the model's input or its Score/PredictedLabel output; choose another name.", option);
            taken.Add(name);
        }
    }
}
