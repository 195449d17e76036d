namespace MLExtensions.Onnx;

/// <summary>The <c>metadata_props</c> keys every MLExtensions export writes, readable with <see cref="OnnxModelInfo"/>.</summary>
public static class MetadataKeys
{
    /// <summary>The prediction kind: Regression, BinaryClassification, MulticlassClassification or Ordinal.</summary>
    public const string Kind = "mlextensions.kind";

    /// <summary>The method that produced the model, e.g. MLP, PRESTO, ProportionalOdds.</summary>
    public const string Method = "mlextensions.method";
}
