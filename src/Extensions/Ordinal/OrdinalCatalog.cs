using MLExtensions.Training;
using Microsoft.ML;

namespace MLExtensions.Ordinal;

/// <summary>
/// Ordinal regression: PRESTO and proportional odds, and ordinal metrics. Reached through <c>mlContext.Ordinal()</c>.
/// </summary>
public sealed class OrdinalCatalog
{
    internal OrdinalCatalog(MLContext mlContext) => Trainers = new OrdinalTrainers(mlContext);

    /// <summary>The trainers.</summary>
    public OrdinalTrainers Trainers { get; }

    /// <summary>
    /// Ordinal metrics of scored data: mean absolute rank error, accuracy, multiclass Brier score, log-loss, and for
    /// one rare class its Brier score and a reliability table.
    /// </summary>
    /// <param name="data">Scored data with the label and the <c>Score</c> vector of class probabilities (in class order).</param>
    /// <param name="labelColumnName">The label: an ordered key, or a <see cref="float"/> rank matching the class names.</param>
    /// <param name="scoreColumnName">The class probabilities.</param>
    /// <param name="rareClass">The class (by name, as in the slot names of <c>Score</c>) to report on; null takes the least frequent.</param>
    /// <param name="numberOfBins">Bins of the reliability table.</param>
    public OrdinalMetrics Evaluate(IDataView data, string labelColumnName = DefaultColumnNames.Label, string scoreColumnName = DefaultColumnNames.Score,
        string? rareClass = null, int numberOfBins = 10)
        => OrdinalEvaluator.Evaluate(data, labelColumnName, scoreColumnName, rareClass, numberOfBins);
}

/// <summary>The trainers of <see cref="OrdinalCatalog"/>.</summary>
public sealed class OrdinalTrainers
{
    private readonly MLContext _mlContext;

    internal OrdinalTrainers(MLContext mlContext) => _mlContext = mlContext;

    /// <summary>PRESTO with λ chosen by cross-validation. See <see cref="PrestoTrainer"/> for its columns.</summary>
    /// <param name="labelColumnName">The ordered key label (or <see cref="float"/> ranks).</param>
    /// <param name="featureColumnName">The known-size <see cref="float"/> vector feature column.</param>
    /// <param name="exampleWeightColumnName">Optional example weights.</param>
    public PrestoTrainer Presto(string labelColumnName = DefaultColumnNames.Label, string featureColumnName = DefaultColumnNames.Features, string? exampleWeightColumnName = null)
        => Presto(new PrestoTrainer.Options { LabelColumnName = labelColumnName, FeatureColumnName = featureColumnName, ExampleWeightColumnName = exampleWeightColumnName });

    /// <summary>PRESTO with full options.</summary>
    public PrestoTrainer Presto(PrestoTrainer.Options options) => new(_mlContext, options);

    /// <summary>The proportional-odds model (PRESTO's λ → ∞ limit with β_1 free). See <see cref="ProportionalOddsTrainer"/>.</summary>
    /// <param name="labelColumnName">The ordered key label (or <see cref="float"/> ranks).</param>
    /// <param name="featureColumnName">The known-size <see cref="float"/> vector feature column.</param>
    /// <param name="exampleWeightColumnName">Optional example weights.</param>
    public ProportionalOddsTrainer ProportionalOdds(string labelColumnName = DefaultColumnNames.Label, string featureColumnName = DefaultColumnNames.Features, string? exampleWeightColumnName = null)
        => ProportionalOdds(new ProportionalOddsTrainer.Options { LabelColumnName = labelColumnName, FeatureColumnName = featureColumnName, ExampleWeightColumnName = exampleWeightColumnName });

    /// <summary>The proportional-odds model with full options.</summary>
    public ProportionalOddsTrainer ProportionalOdds(ProportionalOddsTrainer.Options options) => new(_mlContext, options);
}

/// <summary>Hangs <see cref="OrdinalCatalog"/> off <see cref="MLContext"/>.</summary>
public static class OrdinalCatalogExtensions
{
    /// <summary>Ordinal regression: <c>mlContext.Ordinal().Trainers.Presto(...)</c>, <c>mlContext.Ordinal().Evaluate(...)</c>.</summary>
    public static OrdinalCatalog Ordinal(this MLContext mlContext)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        return new OrdinalCatalog(mlContext);
    }
}
