using MLExtensions.Mlp;
using Microsoft.ML;
using MLExtensions.Nas;

namespace NasSample;

/// <summary>
/// The candidates of the sample's selection, in the order they run: ML.NET's FastTree, LightGBM and a normalised
/// linear model (defaults), then our fixed MLP and our architecture search, which run last so that the time the others
/// leave goes to them. Our trainers' settings come from the caller (the sample's, or a test's tiny ones); the loop's
/// per-fit budget becomes their <c>TimeBudget</c>.
/// </summary>
public static class SampleCandidates
{
    /// <summary>The candidates, reading "Features" and a <see cref="bool"/> "Label".</summary>
    /// <param name="ml">The context the estimators are made from.</param>
    /// <param name="mlp">Makes the fixed MLP's options when the candidate starts.</param>
    /// <param name="nas">Makes the search's options when the candidate starts.</param>
    public static IReadOnlyList<Candidate> Create(MLContext ml, Func<MlpTrainer.Options> mlp, Func<NasTrainer.Options> nas)
    {
        ArgumentNullException.ThrowIfNull(ml);
        ArgumentNullException.ThrowIfNull(mlp);
        ArgumentNullException.ThrowIfNull(nas);
        return
        [
            new("ML.NET FastTree", _ => ml.BinaryClassification.Trainers.FastTree()),
            new("ML.NET LightGBM", _ => ml.BinaryClassification.Trainers.LightGbm()),
            new("ML.NET L-BFGS logistic regression (mean-variance normalised)",
                _ => ml.Transforms.NormalizeMeanVariance("Features").Append(ml.BinaryClassification.Trainers.LbfgsLogisticRegression())),
            new("MLExtensions MLP (fixed architecture)", budget =>
            {
                var options = mlp();
                options.TimeBudget = budget;
                return ml.Nas().Trainers.MlpBinaryClassification(options);
            }),
            new("MLExtensions NAS", budget =>
            {
                var options = nas();
                options.TimeBudget = budget;
                return ml.Nas().Trainers.BinaryClassification(options);
            }),
        ];
    }
}
