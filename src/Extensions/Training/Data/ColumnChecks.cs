using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLExtensions.Training;

/// <summary>What a trainer's label column holds.</summary>
internal enum LabelKind
{
    /// <summary>A real-valued <see cref="float"/> target (regression).</summary>
    Real,

    /// <summary>A <see cref="bool"/> target (binary classification).</summary>
    Boolean,

    /// <summary>A key-typed target (multiclass or ordinal classification).</summary>
    Key,
}

/// <summary>The label a task needs, as ML.NET's trainers of that task expect it.</summary>
internal static class LabelKinds
{
    public static LabelKind Of(MLExtensions.Onnx.Scoring.PredictionKind kind) => kind switch
    {
        MLExtensions.Onnx.Scoring.PredictionKind.Regression => LabelKind.Real,
        MLExtensions.Onnx.Scoring.PredictionKind.BinaryClassification => LabelKind.Boolean,
        _ => LabelKind.Key,
    };

    /// <summary>
    /// Refuses, at construction, a task a supervised trainer cannot fit: <see cref="MLExtensions.Onnx.Scoring.PredictionKind.Outputs"/>
    /// (raw ONNX outputs, no label) or a value outside the enum.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The kind is not regression, binary or multiclass classification.</exception>
    public static MLExtensions.Onnx.Scoring.PredictionKind CheckTrainable(MLExtensions.Onnx.Scoring.PredictionKind kind, string trainer, string paramName) =>
        kind is MLExtensions.Onnx.Scoring.PredictionKind.Regression or MLExtensions.Onnx.Scoring.PredictionKind.BinaryClassification
            or MLExtensions.Onnx.Scoring.PredictionKind.MulticlassClassification
            ? kind
            : throw new ArgumentOutOfRangeException(paramName, kind,
                $"{trainer} trains Regression, BinaryClassification or MulticlassClassification; {kind} has no label to train on. " +
                "Use the catalog methods (mlContext.Nas().Trainers.*), which pick the kind for you.");
}

/// <summary>
/// Schema checks with the messages users need to fix their pipeline: which column, what it is, what it must be,
/// and the ML.NET transform that converts it. Shared by every trainer's <c>Fit</c> and <c>GetOutputSchema</c>.
/// </summary>
internal static class ColumnChecks
{
    /// <summary>Finds <paramref name="name"/> in <paramref name="schema"/> or throws, listing the columns present.</summary>
    public static DataViewSchema.Column Require(DataViewSchema schema, string name, string role)
    {
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentException.ThrowIfNullOrWhiteSpace(name, role);
        return schema.GetColumnOrNull(name) ?? throw new ArgumentOutOfRangeException(role, name,
            $"The data has no {role} column '{name}'. Columns present: {string.Join(", ", schema.Where(c => !c.IsHidden).Select(c => $"'{c.Name}'"))}.");
    }

    /// <summary>Same as <see cref="Require(DataViewSchema, string, string)"/> for an estimator's input shape.</summary>
    public static SchemaShape.Column Require(SchemaShape schema, string name, string role)
    {
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentException.ThrowIfNullOrWhiteSpace(name, role);
        foreach (var column in schema)
            if (column.Name == name) return column;
        throw new ArgumentOutOfRangeException(role, name,
            $"The data has no {role} column '{name}'. Columns present: {string.Join(", ", schema.Select(c => $"'{c.Name}'"))}.");
    }

    /// <summary>
    /// Refuses an output column named like one of the estimator's input columns (it would hide that input from every
    /// later step, e.g. the label from an evaluator) or starting with "mlx_", the prefix of MLExtensions' temporary columns.
    /// </summary>
    /// <param name="option">The option that names the output column.</param>
    /// <param name="output">Its value.</param>
    /// <param name="inputs">The options that name input columns, with their values (null where unused).</param>
    /// <param name="example">A name to suggest instead.</param>
    public static void CheckOutputName(string option, string? output, IEnumerable<(string Option, string? Column)> inputs, string example)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(output, option);
        foreach (var (input, column) in inputs)
            if (string.Equals(column, output, StringComparison.Ordinal))
                throw new ArgumentException($"{option} '{output}' is also {input}: the output column would hide that input. Choose another name, e.g. \"{example}\".", option);
        if (output.StartsWith("mlx_", StringComparison.Ordinal))
            throw new ArgumentException($"{option} '{output}' starts with \"mlx_\", which MLExtensions reserves for its temporary columns. Choose another name, e.g. \"{example}\".", option);
    }

    /// <summary>The number of features in a known-size <see cref="float"/> vector column (1 for a scalar <see cref="float"/>).</summary>
    public static int FeatureCount(DataViewSchema.Column column)
    {
        switch (column.Type)
        {
            case NumberDataViewType t when t == NumberDataViewType.Single:
                return 1;
            case VectorDataViewType { ItemType: var item, IsKnownSize: true, Size: > 0 } vector when item == NumberDataViewType.Single:
                return vector.Size;
            case VectorDataViewType { ItemType: var item } when item == NumberDataViewType.Single:
                throw new ArgumentException(
                    $"Feature column '{column.Name}' is a variable-size vector; trainers need a known size. Build it with mlContext.Transforms.Concatenate(...) or declare [VectorType(n)].");
            default:
                throw new ArgumentException(
                    $"Feature column '{column.Name}' must be a known-size vector of Single, but it is {column.Type}. " +
                    $"Convert it with mlContext.Transforms.Conversion.ConvertType(\"{column.Name}\", outputKind: DataKind.Single) or build it with mlContext.Transforms.Concatenate(...).");
        }
    }

    /// <summary>Checks a feature column's shape during <c>GetOutputSchema</c>.</summary>
    public static void CheckFeatures(SchemaShape.Column column)
    {
        bool single = column.ItemType == NumberDataViewType.Single;
        if (!single || column.Kind == SchemaShape.Column.VectorKind.VariableVector)
            throw new ArgumentException($"Feature column '{column.Name}' must be a known-size vector of Single, but it is {Describe(column)}.");
    }

    /// <summary>Checks the label type for <paramref name="kind"/> and returns the class count for keys (0 otherwise).</summary>
    public static int CheckLabel(DataViewSchema.Column column, LabelKind kind)
    {
        var type = column.Type;
        switch (kind)
        {
            case LabelKind.Real when type == NumberDataViewType.Single:
                return 0;
            case LabelKind.Real:
                throw new ArgumentException($"Label column '{column.Name}' must be Single for regression, but it is {type}. " +
                    $"Convert it with mlContext.Transforms.Conversion.ConvertType(\"{column.Name}\", outputKind: DataKind.Single).");
            case LabelKind.Boolean when type == BooleanDataViewType.Instance:
                return 0;
            case LabelKind.Boolean:
                throw new ArgumentException($"Label column '{column.Name}' must be Boolean for binary classification, but it is {type}.");
            case LabelKind.Key when type is KeyDataViewType { Count: >= 2 and <= int.MaxValue } key:
                return (int)key.Count;
            case LabelKind.Key when type is KeyDataViewType key:
                throw new ArgumentException($"Label column '{column.Name}' has {key.Count} class(es); at least two are needed.");
            default:
                throw new ArgumentException($"Label column '{column.Name}' must be a key type for classification, but it is {type}. " +
                    $"Convert it with mlContext.Transforms.Conversion.MapValueToKey(\"{column.Name}\").");
        }
    }

    /// <summary>Checks the label type during <c>GetOutputSchema</c> (where the number of classes is not known yet).</summary>
    public static void CheckLabel(SchemaShape.Column column, LabelKind kind)
    {
        bool scalar = column.Kind == SchemaShape.Column.VectorKind.Scalar;
        bool ok = kind switch
        {
            LabelKind.Real => scalar && column.ItemType == NumberDataViewType.Single && !column.IsKey,
            LabelKind.Boolean => scalar && column.ItemType == BooleanDataViewType.Instance,
            _ => scalar && column.IsKey,
        };
        if (!ok)
        {
            string expected = kind switch { LabelKind.Real => "Single", LabelKind.Boolean => "Boolean", _ => "a key type" };
            throw new ArgumentException($"Label column '{column.Name}' must be {expected}, but it is {Describe(column)}.");
        }
    }

    /// <summary>Checks an example-weight column (scalar <see cref="float"/>).</summary>
    public static void CheckWeight(DataViewSchema.Column column)
    {
        if (column.Type != NumberDataViewType.Single)
            throw new ArgumentException($"Example weight column '{column.Name}' must be Single, but it is {column.Type}.");
    }

    private static string Describe(SchemaShape.Column column) => column.Kind switch
    {
        SchemaShape.Column.VectorKind.Scalar => column.ItemType.ToString(),
        SchemaShape.Column.VectorKind.Vector => $"Vector<{column.ItemType}>",
        _ => $"variable-size Vector<{column.ItemType}>",
    } + (column.IsKey ? " (key)" : "");
}
