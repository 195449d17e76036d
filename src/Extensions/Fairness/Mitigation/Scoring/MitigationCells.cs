using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Training;

namespace MLExtensions.Fairness;

/// <summary>What the mitigator needs to know of a client or sensitive column to read its values as text.</summary>
/// <param name="Name">The column.</param>
/// <param name="Item">Its item type (a key's raw type in an estimator's input shape).</param>
/// <param name="Vector">Whether it holds vectors.</param>
/// <param name="IsKey">Whether it is a key.</param>
/// <param name="KeyValues">A key's value type (its <c>KeyValues</c> annotation); null for a key without values.</param>
internal readonly record struct CellColumn(string Name, DataViewType Item, bool Vector, bool IsKey, DataViewType? KeyValues)
{
    private const string KeyValuesAnnotation = "KeyValues";

    public static CellColumn Of(DataViewSchema.Column column)
    {
        var item = column.Type is VectorDataViewType v ? v.ItemType : column.Type;
        var values = column.Annotations.Schema.GetColumnOrNull(KeyValuesAnnotation)?.Type is VectorDataViewType kv ? kv.ItemType : null;
        return new CellColumn(column.Name, item, column.Type is VectorDataViewType, item is KeyDataViewType, values);
    }

    public static CellColumn Of(SchemaShape.Column column)
    {
        DataViewType? values = column.Annotations?.FirstOrDefault(a => a.Name == KeyValuesAnnotation) is { Name: not null } kv ? kv.ItemType : null;
        return new CellColumn(column.Name, column.ItemType, column.Kind != SchemaShape.Column.VectorKind.Scalar, column.IsKey, values);
    }

    /// <summary>Whether the text of a value may be "NaN" for a missing value (a floating-point number, or a key of them).</summary>
    public bool Floating => (IsKey ? KeyValues : Item) is NumberDataViewType n && (n == NumberDataViewType.Single || n == NumberDataViewType.Double);
}

/// <summary>
/// The first steps of a mitigator's chain, at fitting and at scoring alike: the client into
/// <see cref="MitigationColumns.Client"/> and the sensitive group (one column, or the intersection of several) into
/// <see cref="MitigationColumns.Group"/>, both as text. Fitting reads the cells through these very steps, so the
/// fitted rules name the cells exactly as the saved model will spell them when it scores.
/// </summary>
/// <remarks>
/// A text column is copied as it is; a key with text values is mapped back to them (<c>MapKeyToValue</c>); a
/// <see cref="bool"/>, a number, or a key with such values becomes text by ML.NET's <c>ConvertType</c> (Booleans
/// as <c>True</c>/<c>False</c>, numbers in invariant culture). The parts of an intersection are gathered into
/// <see cref="MitigationColumns.GroupParts"/> and joined by <see cref="FairnessMitigationGroupMapping"/>.
/// </remarks>
internal static class MitigationCells
{
    /// <summary>The steps and the temporary columns they leave (to drop at the end of the chain).</summary>
    public static (List<IEstimator<ITransformer>> Steps, List<string> Temporaries) Steps(MLContext ml, FairnessMitigator.Options o, Func<string, string, CellColumn> describe)
    {
        var steps = new List<IEstimator<ITransformer>>();
        var temporaries = new List<string> { MitigationColumns.Client, MitigationColumns.Group };
        ToText(ml, describe(o.ClientColumnName, "client"), MitigationColumns.Client, "client", nameof(FairnessMitigator.Options.ClientColumnName), steps);
        var sensitive = o.SensitiveColumns;
        if (o.SensitiveColumnNames is null)
        {
            ToText(ml, describe(sensitive[0], "sensitive"), MitigationColumns.Group, "sensitive", nameof(FairnessMitigator.Options.SensitiveColumnName), steps);
            return (steps, temporaries);
        }
        var parts = new string[sensitive.Length];
        for (int i = 0; i < sensitive.Length; i++)
        {
            var column = describe(sensitive[i], "sensitive");
            if (!column.IsKey && !column.Vector && column.Item is TextDataViewType)
            {
                parts[i] = column.Name; // already text: gathered as it is
                continue;
            }
            parts[i] = MitigationColumns.GroupPart + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            ToText(ml, column, parts[i], "sensitive", nameof(FairnessMitigator.Options.SensitiveColumnNames), steps);
            temporaries.Add(parts[i]);
        }
        steps.Add(ml.Transforms.Concatenate(MitigationColumns.GroupParts, parts));
        steps.Add(ml.Transforms.CustomMapping(new FairnessMitigationGroupMapping().GetMapping(), FairnessMitigationGroupMapping.ContractName));
        temporaries.Add(MitigationColumns.GroupParts);
        return (steps, temporaries);
    }

    /// <summary>The steps alone, as one estimator: what fitting reads the cells through.</summary>
    public static IEstimator<ITransformer> Estimator(MLContext ml, FairnessMitigator.Options o, DataViewSchema schema)
    {
        var chain = new EstimatorChain<ITransformer>();
        foreach (var step in Steps(ml, o, (name, role) => CellColumn.Of(ColumnChecks.Require(schema, name, role))).Steps) chain = chain.Append(step);
        return chain;
    }

    /// <summary>The step that writes <paramref name="column"/>'s values as text into <paramref name="target"/>; unreadable types are refused by name.</summary>
    private static void ToText(MLContext ml, CellColumn column, string target, string role, string option, List<IEstimator<ITransformer>> steps)
    {
        var t = ml.Transforms;
        const string accepted = "text, Boolean, a number, or a key with values (as MapValueToKey makes)";
        if (column.Vector)
            throw new ArgumentException($"The {role} column '{column.Name}' holds vectors of {column.Item}; the fairness mitigator reads one value per row: {accepted}.", option);
        if (column.IsKey)
        {
            switch (column.KeyValues)
            {
                case TextDataViewType:
                    steps.Add(t.Conversion.MapKeyToValue(target, column.Name));
                    return;
                case BooleanDataViewType or NumberDataViewType:
                    steps.Add(t.Conversion.MapKeyToValue(target, column.Name));
                    steps.Add(t.Conversion.ConvertType(target, target, DataKind.String));
                    return;
                default:
                    throw new ArgumentException($"The {role} column '{column.Name}' is a key without values (no KeyValues annotation{(column.KeyValues is null ? "" : $" of text, Boolean or numbers; it has {column.KeyValues}")}), " +
                                                "so its cells would have no names to match when the model scores. Give the column of values, or make the key with MapValueToKey.", option);
            }
        }
        switch (column.Item)
        {
            case TextDataViewType:
                steps.Add(t.CopyColumns(target, column.Name));
                return;
            case BooleanDataViewType or NumberDataViewType:
                steps.Add(t.Conversion.ConvertType(target, column.Name, DataKind.String));
                return;
            default:
                throw new ArgumentException($"The {role} column '{column.Name}' is {column.Item}; the fairness mitigator reads {accepted}.", option);
        }
    }
}

/// <summary>The group of several sensitive values: the audit's intersection, in one place for fitting and scoring.</summary>
internal static class MitigationGroups
{
    /// <summary>
    /// The values, each in its one spelling (<see cref="ValueReader.Canonical"/>), joined with <c>" &amp; "</c>;
    /// null when a value is blank or the joined name would read back as other values.
    /// </summary>
    public static string? Join(IReadOnlyList<string?> values)
    {
        var canonical = new string[values.Count];
        for (int i = 0; i < canonical.Length; i++)
            if (values[i] is not { } value || (canonical[i] = ValueReader.Canonical(value)!) is null) return null;
        return FairnessCounts.JoinIntersection(canonical);
    }

    /// <summary>Why <see cref="Join"/> refused the values, as a message naming them (and their columns, when known).</summary>
    public static string Refusal(IReadOnlyList<string?> values, IReadOnlyList<string>? columns)
    {
        string Part(int i) => $"'{values[i]}'{(columns is null ? "" : $" (column '{columns[i]}')")}";
        int blank = Enumerable.Range(0, values.Count).FirstOrDefault(i => string.IsNullOrWhiteSpace(values[i]), -1);
        if (blank >= 0)
            return $"the sensitive value {Part(blank)} is {(string.IsNullOrEmpty(values[blank]) ? "empty" : "blank")} (a missing value). Filter or fill such rows.";
        return $"the sensitive values {string.Join(", ", Enumerable.Range(0, values.Count).Select(Part))} join into the group " +
               $"'{string.Join(FairnessCounts.IntersectionSeparator, values)}', which reads back as other values: a value of several sensitive columns may not hold " +
               $"'{FairnessCounts.IntersectionSeparator}', start with '& ' or end with ' &'. Replace such values (e.g. 'and').";
    }
}
