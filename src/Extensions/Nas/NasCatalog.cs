using MLExtensions.Mlp;
using MLExtensions.Training;
using Microsoft.ML;
using MLExtensions.Onnx.Scoring;

namespace MLExtensions.Nas;

/// <summary>
/// Neural architecture search for tabular data, and the plain MLP trainers it builds on.
/// Reached through <c>mlContext.Nas()</c>.
/// </summary>
public sealed class NasCatalog
{
    internal NasCatalog(MLContext mlContext)
    {
        Trainers = new NasTrainers(mlContext);
    }

    /// <summary>The trainers.</summary>
    public NasTrainers Trainers { get; }
}

/// <summary>The trainers of <see cref="NasCatalog"/>.</summary>
public sealed class NasTrainers
{
    private readonly MLContext _mlContext;

    internal NasTrainers(MLContext mlContext) => _mlContext = mlContext;

    /// <summary>A regressor whose network is found by architecture search. See <see cref="NasTrainer"/> for its columns.</summary>
    /// <param name="labelColumnName">The <see cref="float"/> label column.</param>
    /// <param name="featureColumnName">The known-size <see cref="float"/> vector feature column.</param>
    /// <param name="strategy">How to search.</param>
    /// <param name="timeBudget">Wall-clock budget of the whole fit; null for none.</param>
    public NasTrainer Regression(string labelColumnName = DefaultColumnNames.Label, string featureColumnName = DefaultColumnNames.Features,
        NasStrategy strategy = NasTrainer.Options.Defaults.Strategy, TimeSpan? timeBudget = null)
        => Regression(Search(labelColumnName, featureColumnName, strategy, timeBudget));

    /// <summary>A regressor found by architecture search, with full options.</summary>
    public NasTrainer Regression(NasTrainer.Options options) => new(_mlContext, options, PredictionKind.Regression);

    /// <summary>A binary classifier whose network is found by architecture search. See <see cref="NasTrainer"/> for its columns.</summary>
    /// <param name="labelColumnName">The <see cref="bool"/> label column.</param>
    /// <param name="featureColumnName">The known-size <see cref="float"/> vector feature column.</param>
    /// <param name="strategy">How to search.</param>
    /// <param name="timeBudget">Wall-clock budget of the whole fit; null for none.</param>
    public NasTrainer BinaryClassification(string labelColumnName = DefaultColumnNames.Label, string featureColumnName = DefaultColumnNames.Features,
        NasStrategy strategy = NasTrainer.Options.Defaults.Strategy, TimeSpan? timeBudget = null)
        => BinaryClassification(Search(labelColumnName, featureColumnName, strategy, timeBudget));

    /// <summary>A binary classifier found by architecture search, with full options.</summary>
    public NasTrainer BinaryClassification(NasTrainer.Options options) => new(_mlContext, options, PredictionKind.BinaryClassification);

    /// <summary>A multiclass classifier whose network is found by architecture search. See <see cref="NasTrainer"/> for its columns.</summary>
    /// <param name="labelColumnName">The key-typed label column.</param>
    /// <param name="featureColumnName">The known-size <see cref="float"/> vector feature column.</param>
    /// <param name="strategy">How to search.</param>
    /// <param name="timeBudget">Wall-clock budget of the whole fit; null for none.</param>
    public NasTrainer MulticlassClassification(string labelColumnName = DefaultColumnNames.Label, string featureColumnName = DefaultColumnNames.Features,
        NasStrategy strategy = NasTrainer.Options.Defaults.Strategy, TimeSpan? timeBudget = null)
        => MulticlassClassification(Search(labelColumnName, featureColumnName, strategy, timeBudget));

    /// <summary>A multiclass classifier found by architecture search, with full options.</summary>
    public NasTrainer MulticlassClassification(NasTrainer.Options options) => new(_mlContext, options, PredictionKind.MulticlassClassification);

    private static NasTrainer.Options Search(string label, string features, NasStrategy strategy, TimeSpan? budget) => new()
    {
        LabelColumnName = label,
        FeatureColumnName = features,
        Strategy = strategy,
        TimeBudget = budget,
    };

    /// <summary>An MLP regressor. See <see cref="MlpTrainer"/> for its columns.</summary>
    /// <param name="labelColumnName">The <see cref="float"/> label column.</param>
    /// <param name="featureColumnName">The known-size <see cref="float"/> vector feature column.</param>
    /// <param name="hiddenLayerSizes">Hidden layer widths; null keeps the default [64, 64].</param>
    /// <param name="numberOfEpochs">Passes over the data.</param>
    public MlpTrainer MlpRegression(string labelColumnName = DefaultColumnNames.Label, string featureColumnName = DefaultColumnNames.Features,
        int[]? hiddenLayerSizes = null, int numberOfEpochs = MlpTrainer.Options.Defaults.NumberOfEpochs)
        => MlpRegression(Simple(labelColumnName, featureColumnName, hiddenLayerSizes, numberOfEpochs));

    /// <summary>An MLP regressor with full options.</summary>
    public MlpTrainer MlpRegression(MlpTrainer.Options options) => new(_mlContext, options, PredictionKind.Regression);

    /// <summary>An MLP binary classifier. See <see cref="MlpTrainer"/> for its columns.</summary>
    /// <param name="labelColumnName">The <see cref="bool"/> label column.</param>
    /// <param name="featureColumnName">The known-size <see cref="float"/> vector feature column.</param>
    /// <param name="hiddenLayerSizes">Hidden layer widths; null keeps the default [64, 64].</param>
    /// <param name="numberOfEpochs">Passes over the data.</param>
    public MlpTrainer MlpBinaryClassification(string labelColumnName = DefaultColumnNames.Label, string featureColumnName = DefaultColumnNames.Features,
        int[]? hiddenLayerSizes = null, int numberOfEpochs = MlpTrainer.Options.Defaults.NumberOfEpochs)
        => MlpBinaryClassification(Simple(labelColumnName, featureColumnName, hiddenLayerSizes, numberOfEpochs));

    /// <summary>An MLP binary classifier with full options.</summary>
    public MlpTrainer MlpBinaryClassification(MlpTrainer.Options options) => new(_mlContext, options, PredictionKind.BinaryClassification);

    /// <summary>An MLP multiclass classifier. See <see cref="MlpTrainer"/> for its columns.</summary>
    /// <param name="labelColumnName">The key-typed label column.</param>
    /// <param name="featureColumnName">The known-size <see cref="float"/> vector feature column.</param>
    /// <param name="hiddenLayerSizes">Hidden layer widths; null keeps the default [64, 64].</param>
    /// <param name="numberOfEpochs">Passes over the data.</param>
    public MlpTrainer MlpMulticlassClassification(string labelColumnName = DefaultColumnNames.Label, string featureColumnName = DefaultColumnNames.Features,
        int[]? hiddenLayerSizes = null, int numberOfEpochs = MlpTrainer.Options.Defaults.NumberOfEpochs)
        => MlpMulticlassClassification(Simple(labelColumnName, featureColumnName, hiddenLayerSizes, numberOfEpochs));

    /// <summary>An MLP multiclass classifier with full options.</summary>
    public MlpTrainer MlpMulticlassClassification(MlpTrainer.Options options) => new(_mlContext, options, PredictionKind.MulticlassClassification);

    private static MlpTrainer.Options Simple(string label, string features, int[]? hidden, int epochs) => new()
    {
        LabelColumnName = label,
        FeatureColumnName = features,
        HiddenLayerSizes = hidden ?? [64, 64],
        NumberOfEpochs = epochs,
    };
}

/// <summary>Hangs <see cref="NasCatalog"/> off <see cref="MLContext"/>.</summary>
public static class NasCatalogExtensions
{
    /// <summary>Neural architecture search and MLP trainers: <c>mlContext.Nas().Trainers...</c>.</summary>
    public static NasCatalog Nas(this MLContext mlContext)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        return new NasCatalog(mlContext);
    }
}
