using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;
using Microsoft.ML.Transforms.Onnx;
using MLExtensions.Onnx.Batching;

namespace MLExtensions.Onnx.Scoring;

/// <summary>
/// <see cref="PredictionKind.MulticlassClassification"/>: <c>Score</c>, the class probabilities as the model emits them
/// (<see cref="OnnxOutputHeads.ClassProbabilities"/>, with slot names), and <c>PredictedLabel</c>, a key carrying the
/// label's values, from <see cref="OnnxOutputHeads.PredictedIndex"/>; and any <see cref="OnnxScoringSpec.ExtraOutputs"/> as
/// columns of their own names (such a chain scores per row: block scoring does not make them).
/// </summary>
/// <remarks>Chain: ApplyOnnxModel, <see cref="PredictedIndexMapping"/>, a value map from class index to key, DropColumns.</remarks>
internal sealed class MulticlassClassificationHead : PredictionHead
{
    public override PredictionKind Kind => PredictionKind.MulticlassClassification;

    /// <summary>
    /// The <c>PredictedLabel</c> key of zero-based class <paramref name="index"/>: keys count from one, in the order of
    /// the classes, as the value map lists them.
    /// </summary>
    public static uint KeyOf(uint index) => index + 1;

    public override string[] OnnxOutputs(OnnxScoringSpec spec) => [OnnxOutputHeads.ClassProbabilities, OnnxOutputHeads.PredictedIndex, .. spec.ExtraOutputs];

    public override SchemaShape Extend(MLContext mlContext, SchemaShape input, SchemaShape.Column? label)
    {
        // The number of classes is not part of a schema shape; any size gives the same column shapes.
        const int anyClassCount = 2;
        var definition = SchemaDefinition.Create(typeof(ShapeRow));
        definition[nameof(ShapeRow.Score)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, anyClassCount);
        var map = typeof(MulticlassClassificationHead).GetMethod(nameof(PredictedLabelShape), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
            .MakeGenericMethod(KeyValueType(label));
        var predictedLabel = (IEstimator<ITransformer>)map.Invoke(null, [ValueMapContext(), anyClassCount])!;
        return ScoringSchema.ColumnsOf<ShapeRow>(mlContext, definition)
            .Append(predictedLabel)
            .Append(mlContext.Transforms.DropColumns(PredictedIndexMapping.OutputColumn))
            .GetOutputSchema(input);
    }

    public override IEstimator<ITransformer> AppendTo(EstimatorChain<ITransformer> chain, MLContext mlContext, OnnxScoringSpec spec,
        Func<string[], OnnxScoringEstimator> applyOnnxModel)
    {
        var classes = spec.Classes ?? throw new ArgumentException("A multiclass spec needs its Classes.", nameof(spec));
        return chain
            .Append(applyOnnxModel(OnnxOutputs(spec)))
            .Append(mlContext.Transforms.CustomMapping(new PredictedIndexMapping().GetMapping(), PredictedIndexMapping.ContractName))
            .Append(PredictedLabelMap(ValueMapContext(), classes))
            .Append(mlContext.Transforms.DropColumns(OnnxOutputHeads.PredictedIndex, PredictedIndexMapping.OutputColumn));
    }

    public override IReadOnlyList<PredictionColumn> BatchedColumns { get; } =
    [
        new VectorPrediction<float>("Score", OnnxOutputHeads.ClassProbabilities),
        new ScalarPrediction<uint, uint>("PredictedLabel", OnnxOutputHeads.PredictedIndex, KeyOf),
    ];

    public override bool IsFittedChain(IReadOnlyList<ITransformer> parts) => IsChainMapping<RawPredictedIndex>(parts, partCount: 4);

    /// <summary>
    /// A context of its own for each value map. ML.NET builds a value map by saving its table with its binary saver,
    /// which opens a progress channel; the context's progress tracker keeps every such channel until someone reads the
    /// progress, which nothing does, so on the user's context each fit (and each schema promise) left about 3.5 kB behind
    /// for the context's lifetime. On a context of its own the record lives and dies with the map; the map logs nothing.
    /// </summary>
    private static MLContext ValueMapContext() => new(seed: 0);

    /// <summary>Class index (0..K-1) → <c>PredictedLabel</c> key whose key values are the label's values.</summary>
    private static IEstimator<ITransformer> PredictedLabelMap(MLContext mlContext, ClassLabels classes)
    {
        if (classes.KeyValues is null)
        {
            // Unsigned values are taken as raw key numbers: the map gives each index its key.
            var rawKeys = Enumerable.Range(0, classes.Count).Select(i => new KeyValuePair<uint, uint>((uint)i, KeyOf((uint)i)));
            return mlContext.Transforms.Conversion.MapValue("PredictedLabel", rawKeys, PredictedIndexMapping.OutputColumn, treatValuesAsKeyType: true);
        }
        var map = typeof(MulticlassClassificationHead).GetMethod(nameof(TypedPredictedLabelMap), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
            .MakeGenericMethod(classes.KeyValues.GetType().GetElementType()!);
        return (IEstimator<ITransformer>)map.Invoke(null, [mlContext, classes.KeyValues])!;
    }

    /// <summary>The value map gives the i-th value listed the key <see cref="KeyOf"/>(i).</summary>
    private static IEstimator<ITransformer> TypedPredictedLabelMap<T>(MLContext mlContext, T[] values)
    {
        var pairs = values.Select((value, index) => new KeyValuePair<uint, T>((uint)index, value));
        return mlContext.Transforms.Conversion.MapValue("PredictedLabel", pairs, PredictedIndexMapping.OutputColumn, treatValuesAsKeyType: true);
    }

    /// <summary>The type of the <c>PredictedLabel</c> key values the value map will give, from the label's key values.</summary>
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

    /// <summary>The columns before the value map, for <see cref="Extend"/>.</summary>
    private sealed class ShapeRow
    {
        public float[] Score { get; set; } = [];

        [ColumnName(PredictedIndexMapping.OutputColumn)]
        public uint PredictedIndex { get; set; }
    }
}

/// <summary>Input of <see cref="PredictedIndexMapping"/>: the ONNX arg-max.</summary>
internal sealed class RawPredictedIndex
{
    /// <summary>The [1] class-index vector.</summary>
    [ColumnName(OnnxOutputHeads.PredictedIndex), VectorType(1)]
    public uint[] PredictedIndex { get; set; } = [];
}

/// <summary>Output of <see cref="PredictedIndexMapping"/>: the zero-based class index as a scalar.</summary>
internal sealed class PredictedIndexOutput
{
    /// <summary>The zero-based index of the most probable class.</summary>
    [ColumnName(PredictedIndexMapping.OutputColumn)]
    public uint PredictedIndex { get; set; }
}

/// <summary>Turns the ONNX class index into a scalar, which a value map then turns into the <c>PredictedLabel</c> key.</summary>
[CustomMappingFactoryAttribute(ContractName)]
internal sealed class PredictedIndexMapping : CustomMappingFactory<RawPredictedIndex, PredictedIndexOutput>
{
    /// <summary>The name saved with models.</summary>
    public const string ContractName = "MLExtensions.Scoring.PredictedIndex";

    /// <summary>The temporary scalar column.</summary>
    public const string OutputColumn = "mlx_predicted_index_scalar";

    /// <inheritdoc />
    public override Action<RawPredictedIndex, PredictedIndexOutput> GetMapping() => (raw, output) => output.PredictedIndex = raw.PredictedIndex[0];
}
