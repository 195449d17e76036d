namespace MLExtensions.Onnx.Scoring;

/// <summary>The ML.NET task whose output columns a scored ONNX model produces.</summary>
public enum PredictionKind
{
    /// <summary><c>Score</c>: scalar <see cref="float"/>.</summary>
    Regression,

    /// <summary><c>Score</c> (logit), <c>Probability</c> (both scalar <see cref="float"/>), <c>PredictedLabel</c> (<see cref="bool"/>, <c>Score &gt; 0</c>).</summary>
    BinaryClassification,

    /// <summary>
    /// <c>Score</c>: known-size vector of K class probabilities with slot names; <c>PredictedLabel</c>: key of K
    /// values carrying the label's values. Ordinal models use this kind too.
    /// </summary>
    MulticlassClassification,

    /// <summary>
    /// No standard head: the model's <see cref="OnnxScoringSpec.ExtraOutputs"/> become columns of the same names (e.g.
    /// per-point vectors of an equivariant model). No <c>Score</c> column, so ML.NET's evaluators do not apply.
    /// </summary>
    Outputs,
}
