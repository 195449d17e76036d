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
public static class ScoringSchema
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
        var transforms = mlContext.Transforms;
        return kind switch
        {
            PredictionKind.Regression => transforms.CustomMapping<NoColumns, RegressionOutput>((_, _) => { }, null).GetOutputSchema(input),
            PredictionKind.BinaryClassification => transforms.CustomMapping<NoColumns, BinaryOutput>((_, _) => { }, null).GetOutputSchema(input),
            PredictionKind.MulticlassClassification => MulticlassShape(mlContext, input, label),
            PredictionKind.Outputs => input,
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
        };
    }

    /// <summary>Adds a variable-size vector of <see cref="float"/> named <paramref name="name"/> (an extra model output) to <paramref name="input"/>.</summary>
    public static SchemaShape AddFloatVector(MLContext mlContext, SchemaShape input, string name)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(input);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var definition = SchemaDefinition.Create(typeof(FloatVectorRow));
        definition[nameof(FloatVectorRow.Values)].ColumnName = name;
        return mlContext.Transforms.CustomMapping<NoColumns, FloatVectorRow>((_, _) => { }, null, outputSchemaDefinition: definition).GetOutputSchema(input);
    }

    private static SchemaShape MulticlassShape(MLContext mlContext, SchemaShape input, SchemaShape.Column? label)
    {
        // The number of classes is not part of a schema shape; any size gives the same column shapes.
        const int anyClassCount = 2;
        var definition = SchemaDefinition.Create(typeof(MulticlassShapeRow));
        definition[nameof(MulticlassShapeRow.Score)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, anyClassCount);
        var scores = mlContext.Transforms.CustomMapping<NoColumns, MulticlassShapeRow>((_, _) => { }, null, outputSchemaDefinition: definition);
        var keyValueType = KeyValueType(label);
        var map = typeof(ScoringSchema).GetMethod(nameof(PredictedLabelShape), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
            .MakeGenericMethod(keyValueType);
        var predictedLabel = (IEstimator<ITransformer>)map.Invoke(null, [mlContext, anyClassCount])!;
        return scores.Append(predictedLabel)
            .Append(mlContext.Transforms.DropColumns(PredictedIndexMapping.OutputColumn))
            .GetOutputSchema(input);
    }

    private static Type KeyValueType(SchemaShape.Column? label)
    {
        if (label is not { } column) return typeof(string);
        foreach (var annotation in column.Annotations)
        {
            if (annotation.Name != "KeyValues") continue;
            var raw = annotation.ItemType.RawType;
            return raw == typeof(ReadOnlyMemory<char>) || raw == typeof(uint) || raw == typeof(ulong) || raw == typeof(bool) ? typeof(string) : raw;
        }
        return typeof(string);
    }

    private static IEstimator<ITransformer> PredictedLabelShape<T>(MLContext mlContext, int classCount)
    {
        var pairs = Enumerable.Range(0, classCount).Select(i => new KeyValuePair<uint, T>((uint)i,
            typeof(T) == typeof(string) ? (T)(object)i.ToString(System.Globalization.CultureInfo.InvariantCulture) : (T)Convert.ChangeType(i, typeof(T), System.Globalization.CultureInfo.InvariantCulture)));
        return mlContext.Transforms.Conversion.MapValue("PredictedLabel", pairs, PredictedIndexMapping.OutputColumn, treatValuesAsKeyType: true);
    }

    private sealed class NoColumns;

    private sealed class FloatVectorRow
    {
        public float[] Values { get; set; } = [];
    }

    private sealed class MulticlassShapeRow
    {
        public float[] Score { get; set; } = [];

        [ColumnName(PredictedIndexMapping.OutputColumn)]
        public uint PredictedIndex { get; set; }
    }
}
