using MLExtensions.Onnx.Scoring;
using MLExtensions.Torch;

namespace MLExtensions.Ordinal;

/// <summary>
/// A fitted cumulative-logit model (PRESTO, or proportional odds), scored through its ONNX export.
/// </summary>
/// <remarks>
/// <para><b>Input and output columns.</b> Reads the feature column it was trained on (known-size vector of
/// <see cref="float"/>). Writes <c>Score</c>, a vector of the K class probabilities in class order (slot names: the
/// classes), and <c>PredictedLabel</c>, a key of the most probable class carrying the label's values, so
/// <c>mlContext.MulticlassClassification.Evaluate</c> and <c>mlContext.Ordinal().Evaluate</c> work as they are.
/// With an offset (<see cref="PrestoParameters.OffsetColumnName"/>) it reads that <see cref="float"/> column too and
/// refuses a missing column or a NaN or infinite value. When the trainer named them, it also writes the cumulative
/// probabilities P(y ≤ k) (K values, the last 1) and the K − 1 linear predictors as vectors of <see cref="float"/>.</para>
/// <para>On new data whose linear predictors cross (possible far outside the training range when boundaries have
/// different slopes), the cumulative probabilities are repaired by a running maximum over the boundaries: the
/// probabilities stay in [0, 1] and sum to one.</para>
/// </remarks>
public sealed class PrestoModel : OnnxScoredModel
{
    internal PrestoModel(OnnxScoringChain scoring, PrestoParameters parameters, ClassLabels classes, ParityReport exportParity, int seed)
        : base(scoring)
    {
        Parameters = parameters;
        Classes = classes;
        ExportParity = exportParity;
        Seed = seed;
    }

    /// <summary>Coefficients on the original feature scale, the chosen λ, the λ path and the cross-validation curve.</summary>
    public PrestoParameters Parameters { get; }

    /// <summary>The ordered classes.</summary>
    public ClassLabels Classes { get; }

    /// <summary>The number of features.</summary>
    public int FeatureCount => Parameters.Weights[0].Count;

    /// <summary>How closely the ONNX export reproduced the double-precision managed probabilities on fresh inputs.</summary>
    public ParityReport ExportParity { get; }

    /// <summary>The seed of the cross-validation folds.</summary>
    public int Seed { get; }

    /// <summary>The K class probabilities of one row, computed in managed double precision (the reference for the ONNX export).</summary>
    public double[] PredictProbabilities(ReadOnlySpan<float> features) => Probabilities(Parameters, features);

    /// <summary>
    /// The K class probabilities of one row with its <paramref name="offset"/> (the value of
    /// <see cref="PrestoParameters.OffsetColumnName"/>), in managed double precision.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The offset is NaN or infinite.</exception>
    public double[] PredictProbabilities(ReadOnlySpan<float> features, double offset)
    {
        if (!double.IsFinite(offset)) throw new ArgumentOutOfRangeException(nameof(offset), offset, "The offset must be finite.");
        return Probabilities(Parameters, features, offset);
    }

    internal static double[] Probabilities(PrestoParameters parameters, ReadOnlySpan<float> features, double offset = 0)
    {
        var probabilities = new double[parameters.Intercepts.Count + 1];
        CumulativeLogit.Probabilities(LinearPredictors(parameters, features, offset), probabilities);
        return probabilities;
    }

    /// <summary>η_k = α_k + Σ_j β_kj x_j + offset for every boundary.</summary>
    internal static double[] LinearPredictors(PrestoParameters parameters, ReadOnlySpan<float> features, double offset)
    {
        int boundaries = parameters.Intercepts.Count, p = parameters.Weights[0].Count;
        if (features.Length != p) throw new ArgumentException($"{features.Length} features given; the model has {p}.", nameof(features));
        var eta = new double[boundaries];
        for (int k = 0; k < boundaries; k++)
        {
            double sum = parameters.Intercepts[k];
            for (int j = 0; j < p; j++) sum += parameters.Weights[k][j] * features[j];
            eta[k] = sum + offset;
        }
        return eta;
    }
}
