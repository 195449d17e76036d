using System.Runtime.CompilerServices;
using MLExtensions.Onnx.Scoring;

namespace MLExtensions.Ordinal;

/// <summary>
/// The per-row loss PRESTO's cross-validation averages: a <see cref="PrestoCrossValidationMetric"/> and, for
/// <see cref="PrestoCrossValidationMetric.RareClassBrier"/>, the class index it scores.
/// </summary>
/// <param name="Metric">The metric.</param>
/// <param name="RareClass">The class index <see cref="PrestoCrossValidationMetric.RareClassBrier"/> scores (0-based).</param>
internal readonly record struct CrossValidationLoss(PrestoCrossValidationMetric Metric, int RareClass)
{
    /// <summary>
    /// The loss for <paramref name="metric"/> on these classes: the rare class is the one named
    /// <paramref name="rareClass"/>, or the last class when none is named.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="rareClass"/> is not one of the classes.</exception>
    public static CrossValidationLoss For(PrestoCrossValidationMetric metric, string? rareClass, ClassLabels classes)
    {
        if (rareClass is null) return new CrossValidationLoss(metric, classes.Count - 1);
        int index = classes.Names.ToList().IndexOf(rareClass);
        if (index < 0)
            throw new ArgumentException(
                $"RareClass '{rareClass}' is not a class of the label; the classes found are {string.Join(", ", classes.Names.Select(n => $"'{n}'"))} " +
                "(key values as text, or ranks as text for a Single label).", nameof(PrestoTrainer.Options.RareClass));
        return new CrossValidationLoss(metric, index);
    }

    /// <summary>One row's loss given its class probabilities <paramref name="p"/> and class <paramref name="label"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public double RowLoss(ReadOnlySpan<double> p, int label)
    {
        switch (Metric)
        {
            case PrestoCrossValidationMetric.Brier:
                double loss = 0;
                for (int k = 0; k < p.Length; k++)
                {
                    double e = (label == k ? 1 : 0) - p[k];
                    loss += e * e;
                }
                return loss;
            case PrestoCrossValidationMetric.RareClassBrier:
                double rare = (label == RareClass ? 1 : 0) - p[RareClass];
                return rare * rare;
            case PrestoCrossValidationMetric.LogLikelihood:
                return -Math.Log(Math.Max(p[label], 1e-300));
            default:
                int predicted = 0;
                for (int k = 1; k < p.Length; k++)
                    if (p[k] > p[predicted]) predicted = k;
                return predicted == label ? 0 : 1;
        }
    }
}
