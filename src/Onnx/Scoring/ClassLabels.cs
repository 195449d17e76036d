using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLExtensions.Onnx.Scoring;

/// <summary>
/// The classes of a multiclass or ordinal model, in label-key order: their display names (the slot names of
/// <c>Score</c>) and the values that <c>PredictedLabel</c> carries as its key values.
/// </summary>
public sealed class ClassLabels
{
    private ClassLabels(IReadOnlyList<string> names, Array? keyValues)
    {
        Names = names;
        KeyValues = keyValues;
    }

    /// <summary>The K class names, in key order.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>The number of classes.</summary>
    public int Count => Names.Count;

    /// <summary>
    /// The label's key values (typed as in the label column, text as <see cref="string"/>), or null when the label
    /// key has none; <c>PredictedLabel</c> is then a bare key of <see cref="Count"/> values.
    /// </summary>
    public Array? KeyValues { get; }

    /// <summary>Reads the classes from a key-typed label column, keeping its key values.</summary>
    /// <exception cref="ArgumentException">The column is not a key, or has fewer than two values.</exception>
    public static ClassLabels FromKeyColumn(DataViewSchema.Column label)
    {
        if (label.Type is not KeyDataViewType key)
            throw new ArgumentException($"Column '{label.Name}' must be a key type to carry classes; it is {label.Type}. Use mlContext.Transforms.Conversion.MapValueToKey(\"{label.Name}\").", nameof(label));
        if (key.Count < 2 || key.Count > int.MaxValue)
            throw new ArgumentException($"Column '{label.Name}' has {key.Count} key values; a classifier needs at least two.", nameof(label));
        int count = (int)key.Count;
        var annotation = label.Annotations.Schema.GetColumnOrNull("KeyValues");
        if (annotation?.Type is not VectorDataViewType { ItemType: var itemType })
            return new ClassLabels(Enumerable.Range(0, count).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray(), null);

        var read = typeof(ClassLabels).GetMethod(nameof(ReadKeyValues), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
            .MakeGenericMethod(itemType.RawType);
        var values = (Array)read.Invoke(null, [label])!;
        if (values.Length != count)
            throw new ArgumentException($"Column '{label.Name}' has {count} keys but {values.Length} key values.", nameof(label));
        var names = values.Cast<object>().Select(v => Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture) ?? "").ToArray();
        // Unsigned integer values would be taken as raw key numbers by ML.NET's value map: keep the bare key instead.
        return new ClassLabels(names, values is uint[] or ulong[]? null : values);
    }

    /// <summary>Classes known only by name; <c>PredictedLabel</c> carries the names as text key values.</summary>
    public static ClassLabels FromNames(IReadOnlyList<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        if (names.Count < 2) throw new ArgumentException("At least two classes are needed.", nameof(names));
        var copy = names.ToArray();
        return new ClassLabels(copy, copy);
    }

    /// <summary>Classes with typed values (e.g. the distinct ranks of a numeric label), in order.</summary>
    public static ClassLabels FromValues<T>(IReadOnlyList<T> values) where T : notnull
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count < 2) throw new ArgumentException("At least two classes are needed.", nameof(values));
        var copy = values.ToArray();
        var names = copy.Select(v => Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture) ?? "").ToArray();
        return new ClassLabels(names, copy is uint[] or ulong[]? null : copy);
    }

    private static Array ReadKeyValues<T>(DataViewSchema.Column label)
    {
        var buffer = default(VBuffer<T>);
        label.GetKeyValues(ref buffer);
        var values = buffer.DenseValues().ToArray();
        return values is ReadOnlyMemory<char>[] text ? text.Select(t => t.ToString()).ToArray() : values;
    }
}
