namespace MLExtensions.Onnx.Batching;

/// <summary>
/// An ONNX input fed in blocks: its column, element type and per-row shape (the batch dimension excluded), and whether
/// its values must be finite (<see cref="MetadataKeys.FiniteInputs"/>).
/// </summary>
internal sealed record OnnxInputSpec(string OnnxName, Type ElementType, long[] RowShape, bool RequireFinite = false)
{
    public int RowLength { get; } = (int)RowShape.Aggregate(1L, (a, b) => a * b);

    public long[] Shape(int rows) => [rows, .. RowShape];
}

/// <summary>
/// How to score a model in blocks: which columns feed which ONNX inputs, which outputs to fetch, and how the
/// prediction columns are made from them, value for value as the per-row ML.NET chain makes them.
/// </summary>
internal sealed class OnnxBatchPlan
{
    private OnnxBatchPlan(IReadOnlyList<OnnxInputSpec> inputs, IReadOnlyList<PredictionColumn> columns, IReadOnlyDictionary<string, Type> outputTypes)
    {
        Inputs = inputs;
        Columns = columns;
        OutputTypes = outputTypes;
    }

    public IReadOnlyList<OnnxInputSpec> Inputs { get; }

    public IReadOnlyList<PredictionColumn> Columns { get; }

    /// <summary>Element type of every ONNX output the columns read.</summary>
    public IReadOnlyDictionary<string, Type> OutputTypes { get; }

    /// <summary>The plan for <paramref name="columns"/> made from a model's outputs, or null with the reason it cannot batch.</summary>
    public static OnnxBatchPlan? ForColumns(OnnxModelInfo model, IReadOnlyList<PredictionColumn> columns, out string? whyNot)
    {
        var inputs = BatchableInputs(model, out whyNot);
        return inputs is null ? null : Create(model, inputs, columns, out whyNot);
    }

    /// <summary>The plan for a user's ONNX model whose outputs become columns of the same names, or null with the reason.</summary>
    public static OnnxBatchPlan? ForRawOutputs(OnnxModelInfo model, IReadOnlyList<string> outputNames, out string? whyNot)
    {
        var inputs = BatchableInputs(model, out whyNot);
        if (inputs is null) return null;
        var columns = new List<PredictionColumn>();
        foreach (var name in outputNames)
        {
            var output = model.Outputs.FirstOrDefault(o => o.Name == name);
            var type = output is null ? null : ElementType(output.ElementType);
            if (type is null)
            {
                whyNot = $"ONNX output '{name}' is missing or of an element type batching does not handle.";
                return null;
            }
            columns.Add((PredictionColumn)Activator.CreateInstance(typeof(VectorPrediction<>).MakeGenericType(type), name, name)!);
        }
        return Create(model, inputs, columns, out whyNot);
    }

    private static OnnxBatchPlan? Create(OnnxModelInfo model, IReadOnlyList<OnnxInputSpec> inputs, IReadOnlyList<PredictionColumn> columns, out string? whyNot)
    {
        var types = new Dictionary<string, Type>(StringComparer.Ordinal);
        foreach (var name in columns.Select(c => c.OnnxOutput).Distinct())
        {
            var output = model.Outputs.FirstOrDefault(o => o.Name == name);
            var type = output is null ? null : ElementType(output.ElementType);
            if (type is null)
            {
                whyNot = $"ONNX output '{name}' is missing or of an element type batching does not handle.";
                return null;
            }
            types[name] = type;
        }
        whyNot = null;
        return new OnnxBatchPlan(inputs, columns, types);
    }

    /// <summary>Inputs qualify when their first dimension is the batch and all others are fixed.</summary>
    private static List<OnnxInputSpec>? BatchableInputs(OnnxModelInfo model, out string? whyNot)
    {
        var inputs = new List<OnnxInputSpec>();
        var finite = model.Metadata.TryGetValue(MetadataKeys.FiniteInputs, out var names) ? names.Split(',') : [];
        foreach (var input in model.Inputs)
        {
            var type = ElementType(input.ElementType);
            if (type is null || input.Dimensions.Count < 1 || input.Dimensions[0] is not null || input.Dimensions.Skip(1).Any(d => d is null))
            {
                whyNot = $"ONNX input '{input.Name}' is not a numeric tensor with a leading batch dimension and fixed other dimensions.";
                return null;
            }
            inputs.Add(new OnnxInputSpec(input.Name, type, input.Dimensions.Skip(1).Select(d => d!.Value).ToArray(),
                finite.Contains(input.Name) && (type == typeof(float) || type == typeof(double))));
        }
        whyNot = null;
        return inputs;
    }

    private static Type? ElementType(int onnxType) => onnxType switch
    {
        1 => typeof(float),
        6 => typeof(int),
        7 => typeof(long),
        9 => typeof(bool),
        11 => typeof(double),
        12 => typeof(uint),
        13 => typeof(ulong),
        _ => null,
    };
}
