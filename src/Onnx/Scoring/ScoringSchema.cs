using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLExtensions.Onnx.Scoring;

/// <summary>
/// The output schema shape of a scoring chain, known before anything is fitted, as ML.NET's
/// <c>EstimatorChain</c> asks every estimator for it first.
/// </summary>
/// <remarks>
/// Outside assemblies cannot construct <see cref="SchemaShape.Column"/>, so the shape is produced by ML.NET's own
/// estimators: CustomMappings over no input columns for the plain outputs, and a value map for the
/// <c>PredictedLabel</c> key, so that it carries key values like the real one and <c>MapKeyToValue</c> can follow.
/// </remarks>
internal static class ScoringSchema
{
    /// <summary>Adds the prediction columns of <paramref name="kind"/> to <paramref name="input"/>.</summary>
    /// <param name="mlContext">The ML.NET context.</param>
    /// <param name="input">The estimator's input shape.</param>
    /// <param name="kind">The prediction kind.</param>
    /// <param name="label">The key label column (multiclass only): gives the type of the predicted label's key values.</param>
    public static SchemaShape Extend(MLContext mlContext, SchemaShape input, PredictionKind kind, SchemaShape.Column? label = null)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(input);
        return PredictionHeadRegistry.For(kind).Extend(mlContext, input, label);
    }

    /// <summary>Adds a variable-size vector of <see cref="float"/> named <paramref name="name"/> (an extra model output) to <paramref name="input"/>.</summary>
    public static SchemaShape AddFloatVector(MLContext mlContext, SchemaShape input, string name)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(input);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var definition = SchemaDefinition.Create(typeof(FloatVectorRow));
        definition[nameof(FloatVectorRow.Values)].ColumnName = name;
        return ColumnsOf<FloatVectorRow>(mlContext, definition).GetOutputSchema(input);
    }

    /// <summary>Adds the columns of <typeparamref name="TRow"/> to <paramref name="input"/>.</summary>
    internal static SchemaShape AddColumns<TRow>(MLContext mlContext, SchemaShape input) where TRow : class, new() =>
        ColumnsOf<TRow>(mlContext).GetOutputSchema(input);

    /// <summary>
    /// An estimator that reads no column and adds those of <typeparamref name="TRow"/> (as <paramref name="definition"/>
    /// names and types them, when given); only its output shape is used.
    /// </summary>
    internal static IEstimator<ITransformer> ColumnsOf<TRow>(MLContext mlContext, SchemaDefinition? definition = null) where TRow : class, new() =>
        mlContext.Transforms.CustomMapping<NoColumns, TRow>((_, _) => { }, null, outputSchemaDefinition: definition);

    private sealed class NoColumns;

    private sealed class FloatVectorRow
    {
        public float[] Values { get; set; } = [];
    }
}
