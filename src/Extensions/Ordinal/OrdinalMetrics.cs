namespace MLExtensions.Ordinal;

/// <summary>Quality of ordinal class probabilities, from <c>mlContext.Ordinal().Evaluate</c>.</summary>
public sealed class OrdinalMetrics
{
    internal OrdinalMetrics(long rows, double meanAbsoluteRankError, double accuracy, double brierScore, double logLoss, RareClassMetrics rareClass)
    {
        Rows = rows;
        MeanAbsoluteRankError = meanAbsoluteRankError;
        Accuracy = accuracy;
        BrierScore = brierScore;
        LogLoss = logLoss;
        RareClass = rareClass;
    }

    /// <summary>Rows evaluated.</summary>
    public long Rows { get; }

    /// <summary>Mean of |predicted class − true class| in ranks, the predicted class being the most probable one.</summary>
    public double MeanAbsoluteRankError { get; }

    /// <summary>Fraction of rows whose most probable class is the true one.</summary>
    public double Accuracy { get; }

    /// <summary>Mean multiclass Brier score, <c>Σ_k (1{y = k} − p_k)²</c> (0 is perfect, 2 the worst).</summary>
    public double BrierScore { get; }

    /// <summary>Mean <c>−ln p_y</c> (probabilities clipped at 1e-15).</summary>
    public double LogLoss { get; }

    /// <summary>The chosen rare class: its Brier score and calibration.</summary>
    public RareClassMetrics RareClass { get; }
}

/// <summary>How well the probability of one (rare) class is estimated.</summary>
public sealed class RareClassMetrics
{
    internal RareClassMetrics(string name, int index, double frequency, double brierScore, IReadOnlyList<CalibrationBin> calibration)
    {
        Name = name;
        Index = index;
        Frequency = frequency;
        BrierScore = brierScore;
        Calibration = calibration;
    }

    /// <summary>The class's name (its slot name in <c>Score</c>).</summary>
    public string Name { get; }

    /// <summary>Its zero-based position in the class order.</summary>
    public int Index { get; }

    /// <summary>Its frequency in the evaluated data.</summary>
    public double Frequency { get; }

    /// <summary>Mean <c>(1{y = r} − p_r)²</c>.</summary>
    public double BrierScore { get; }

    /// <summary>Reliability table: rows grouped by predicted probability of the class.</summary>
    public IReadOnlyList<CalibrationBin> Calibration { get; }
}

/// <summary>One bin of a reliability table.</summary>
/// <param name="Lower">Lower edge of the predicted probability (inclusive).</param>
/// <param name="Upper">Upper edge (exclusive, except for the last bin).</param>
/// <param name="Count">Rows in the bin.</param>
/// <param name="MeanPredicted">Mean predicted probability in the bin.</param>
/// <param name="ObservedFrequency">Fraction of the bin's rows that are of the class.</param>
public sealed record CalibrationBin(double Lower, double Upper, long Count, double MeanPredicted, double ObservedFrequency);
