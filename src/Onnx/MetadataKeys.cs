namespace MLExtensions.Onnx;

/// <summary>The <c>metadata_props</c> keys every MLExtensions export writes, readable with <see cref="OnnxModelInfo"/>.</summary>
internal static class MetadataKeys
{
    /// <summary>The prediction kind: Regression, BinaryClassification, MulticlassClassification or Ordinal.</summary>
    public const string Kind = "mlextensions.kind";

    /// <summary>The method that produced the model, e.g. MLP, PRESTO, ProportionalOdds.</summary>
    public const string Method = "mlextensions.method";

    /// <summary>
    /// The graph inputs (comma-separated) whose values must be finite: block scoring refuses a NaN or infinite value in
    /// them, naming the column, slot and row; the per-row chain refuses the NaN score the graph then gives.
    /// </summary>
    public const string FiniteInputs = "mlextensions.finite_inputs";
}
