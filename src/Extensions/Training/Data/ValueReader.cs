using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLExtensions.Training;

/// <summary>Reads a categorical column's value as text, whatever its type; each category is one string instance.</summary>
internal static class ValueReader
{
    /// <summary>
    /// The one spelling of a value: without surrounding white space, and <c>True</c> or <c>False</c> for any casing
    /// of those words; null for a blank value.
    /// </summary>
    public static string? Canonical(string value)
    {
        var trimmed = value.Trim();
        if (trimmed.Length == 0) return null;
        if (trimmed.Equals(bool.TrueString, StringComparison.OrdinalIgnoreCase)) return bool.TrueString;
        if (trimmed.Equals(bool.FalseString, StringComparison.OrdinalIgnoreCase)) return bool.FalseString;
        return trimmed;
    }

    /// <summary>
    /// A reader of <paramref name="column"/>'s value at the cursor's row (given the row's number, for messages): text in
    /// its one spelling, Booleans and scores at or above <paramref name="threshold"/> (Single columns, when given) as
    /// <c>True</c>/<c>False</c>, keys by their values, other numbers as invariant text. A missing value is refused,
    /// naming the column and row.
    /// </summary>
    public static Func<long, string> For(DataViewRowCursor cursor, DataViewSchema.Column column, float? threshold)
    {
        var type = column.Type;
        switch (type)
        {
            case TextDataViewType:
                var getText = cursor.GetGetter<ReadOnlyMemory<char>>(column);
                // Categories repeat: each spelling is looked up without allocating, and spellings of one value share its string.
                var seen = new Dictionary<ReadOnlyMemory<char>, string>(TextComparer.Instance);
                var values = new Dictionary<string, string>(StringComparer.Ordinal);
                return row =>
                {
                    ReadOnlyMemory<char> v = default;
                    getText(ref v);
                    if (!seen.TryGetValue(v, out var text))
                    {
                        var spelling = v.ToString();
                        var value = Canonical(spelling) ?? throw Missing(column, row, spelling.Length == 0 ? "empty text" : "blank text");
                        if (!values.TryGetValue(value, out text)) values[value] = text = value;
                        seen[spelling.AsMemory()] = text;
                    }
                    return text;
                };
            case BooleanDataViewType:
                var getBool = cursor.GetGetter<bool>(column);
                return _ =>
                {
                    bool v = false;
                    getBool(ref v);
                    return v ? "True" : "False";
                };
            case KeyDataViewType key:
                var names = KeyNames(column, key);
                var getKey = KeyGetter(cursor, column, key);
                return row =>
                {
                    ulong v = getKey();
                    return v == 0 || v > (ulong)names.Length ? throw Missing(column, row, "a missing key")
                        : names[v - 1] ?? throw Missing(column, row, $"key {v}, whose value is blank");
                };
            case NumberDataViewType n when n == NumberDataViewType.Single && threshold is float t:
                var getScore = cursor.GetGetter<float>(column);
                return row =>
                {
                    float v = 0;
                    getScore(ref v);
                    return float.IsNaN(v) ? throw Missing(column, row, "NaN") : v >= t ? "True" : "False";
                };
            case NumberDataViewType number:
                var read = typeof(ValueReader).GetMethod(nameof(Numbers), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
                    .MakeGenericMethod(number.RawType);
                return (Func<long, string>)read.Invoke(null, [cursor, column])!;
            default:
                throw new ArgumentException($"Column '{column.Name}' is {type}; an audit needs text, Boolean, key or numeric values.");
        }
    }

    /// <summary>
    /// Reads a label to compare with a binary (Boolean or thresholded score) prediction as "True"/"False": Booleans as
    /// they are, numbers positive when &gt; 0 as in ML.NET's binary trainers. Other labels read as categories.
    /// </summary>
    public static Func<long, string> ForLabel(DataViewRowCursor cursor, DataViewSchema.Column column, bool binaryPrediction)
    {
        if (!binaryPrediction || column.Type is not NumberDataViewType) return For(cursor, column, null);
        var read = typeof(ValueReader).GetMethod(nameof(PositiveNumbers), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
            .MakeGenericMethod(column.Type.RawType);
        return (Func<long, string>)read.Invoke(null, [cursor, column])!;
    }

    private static Func<long, string> PositiveNumbers<T>(DataViewRowCursor cursor, DataViewSchema.Column column) where T : System.Numerics.INumber<T>
    {
        var get = cursor.GetGetter<T>(column);
        return row =>
        {
            T v = T.Zero;
            get(ref v);
            return T.IsNaN(v) ? throw Missing(column, row, "NaN") : v > T.Zero ? "True" : "False";
        };
    }

    /// <summary>A key column's value widened to 64 bits, whatever its storage type.</summary>
    private static Func<ulong> KeyGetter(DataViewRowCursor cursor, DataViewSchema.Column column, KeyDataViewType key)
    {
        switch (key.RawType)
        {
            case var t when t == typeof(byte):
                var getByte = cursor.GetGetter<byte>(column);
                return () => { byte v = 0; getByte(ref v); return v; };
            case var t when t == typeof(ushort):
                var getShort = cursor.GetGetter<ushort>(column);
                return () => { ushort v = 0; getShort(ref v); return v; };
            case var t when t == typeof(uint):
                var getInt = cursor.GetGetter<uint>(column);
                return () => { uint v = 0; getInt(ref v); return v; };
            default:
                var getLong = cursor.GetGetter<ulong>(column);
                return () => { ulong v = 0; getLong(ref v); return v; };
        }
    }

    /// <summary>A key's values in their counted spelling (null where blank), one string per value.</summary>
    private static string?[] KeyNames(DataViewSchema.Column column, KeyDataViewType key)
    {
        if (column.Annotations.Schema.GetColumnOrNull("KeyValues")?.Type is VectorDataViewType { ItemType: TextDataViewType })
        {
            VBuffer<ReadOnlyMemory<char>> values = default;
            column.GetKeyValues(ref values);
            var spellings = new Dictionary<string, string>(StringComparer.Ordinal);
            return values.DenseValues().Select(v => Canonical(v.ToString()) is { } value
                ? spellings.TryGetValue(value, out var kept) ? kept : spellings[value] = value
                : null).ToArray();
        }
        return Enumerable.Range(1, (int)key.Count).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();
    }

    /// <summary>Integers and floating-point values (NaN is missing), as invariant text.</summary>
    private static Func<long, string> Numbers<T>(DataViewRowCursor cursor, DataViewSchema.Column column) where T : IFormattable, IEquatable<T>
    {
        var get = cursor.GetGetter<T>(column);
        var seen = new Dictionary<T, string>();
        return row =>
        {
            T v = default!;
            get(ref v);
            if (v is float f && float.IsNaN(f) || v is double d && double.IsNaN(d)) throw Missing(column, row, "NaN");
            if (!seen.TryGetValue(v, out var text)) seen[v] = text = v.ToString(null, CultureInfo.InvariantCulture);
            return text;
        };
    }

    /// <summary>Compares text by content, so a category's string is looked up without allocating.</summary>
    private sealed class TextComparer : IEqualityComparer<ReadOnlyMemory<char>>
    {
        public static readonly TextComparer Instance = new();

        public bool Equals(ReadOnlyMemory<char> x, ReadOnlyMemory<char> y) => x.Span.SequenceEqual(y.Span);

        public int GetHashCode(ReadOnlyMemory<char> value) => string.GetHashCode(value.Span);
    }

    private static InvalidDataException Missing(DataViewSchema.Column column, long row, string what) =>
        new($"Column '{column.Name}', row {row}: {what} (a missing value). Filter or fill such rows before auditing.");
}
