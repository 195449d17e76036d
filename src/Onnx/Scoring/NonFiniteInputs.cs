namespace MLExtensions.Onnx.Scoring;

/// <summary>
/// The refusal of a NaN or infinite input value (<see cref="OnnxOutputHeads.RequireFinite"/>): the name of the graph's
/// check node, which ONNX Runtime quotes when the check fails, and the message users get, naming the column and row.
/// </summary>
internal static class NonFiniteInputs
{
    private const string Prefix = "mlx_refuse_non_finite__";
    private const string Suffix = "__holds_NaN_or_infinity";

    /// <summary>The check node's name for input <paramref name="input"/>.</summary>
    public static string CheckNodeName(string input) => Prefix + input + Suffix;

    /// <summary>Whether <paramref name="error"/> (or an exception inside it) is the graph refusing an input; gives the input's name.</summary>
    public static bool Describes(Exception error, out string input)
    {
        for (var e = (Exception?)error; e is not null; e = e.InnerException)
        {
            int start = e.Message.IndexOf(Prefix, StringComparison.Ordinal);
            int end = start < 0 ? -1 : e.Message.IndexOf(Suffix, start, StringComparison.Ordinal);
            if (end > start)
            {
                input = e.Message[(start + Prefix.Length)..end];
                return true;
            }
        }
        input = "";
        return false;
    }

    /// <summary>The refusal of a value in <paramref name="column"/>, with its slot and value when known and the row when known.</summary>
    public static InvalidDataException Refusal(string column, long? row, int? slot = null, string? value = null, Exception? inner = null)
    {
        var what = value is null ? "a NaN or infinite value" : value;
        var where = (slot, row) switch
        {
            (int s, long r) => $" in slot {s} at row {r}",
            (int s, null) => $" in slot {s}",
            (null, long r) => $" at row {r}",
            _ => "",
        };
        return new InvalidDataException($"Column '{column}' holds {what}{where}; the model was trained on finite values and cannot score it. " +
            "Fix or drop such rows (e.g. mlContext.Transforms.ReplaceMissingValues or FilterRowsByMissingValues).", inner);
    }
}
