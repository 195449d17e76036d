using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Ordinal;

namespace MLExtensions.Studies;

/// <summary>One replication of <see cref="RareClassStudy"/>: the mean squared error of each method's rare-class probability.</summary>
/// <param name="Presto">PRESTO (λ by cross-validation).</param>
/// <param name="ProportionalOdds">The proportional-odds model.</param>
/// <param name="LogisticRegression">ML.NET's L-BFGS logistic regression (unpenalised) of "rare class or not".</param>
/// <param name="RareFraction">Share of the rare class in the replication's rows.</param>
public sealed record RareClassReplication(double Presto, double ProportionalOdds, double LogisticRegression, double RareFraction);

/// <summary>The replications of a study and the paper's summary: median paired ratios of rare-class MSE.</summary>
/// <param name="Replications">One entry per replication.</param>
public sealed record RareClassStudyResult(IReadOnlyList<RareClassReplication> Replications)
{
    /// <summary>Median over replications of MSE(PRESTO) / MSE(logistic regression); below 1 favours PRESTO.</summary>
    public double MedianRatioToLogisticRegression => Median(Replications.Select(r => r.Presto / r.LogisticRegression));

    /// <summary>Median over replications of MSE(PRESTO) / MSE(proportional odds); below 1 favours PRESTO.</summary>
    public double MedianRatioToProportionalOdds => Median(Replications.Select(r => r.Presto / r.ProportionalOdds));

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}

/// <summary>
/// The PRESTO paper's synthetic study (section 4): on data from <see cref="OrdinalSimulation"/>, the mean squared
/// error over the training rows of each method's estimate of the rare (last) class's probability against the truth.
/// </summary>
public static class RareClassStudy
{
    /// <summary>Runs <paramref name="replications"/> replications; replication r uses seed <paramref name="seed"/> + r.</summary>
    /// <param name="mlContext">The ML.NET context.</param>
    /// <param name="differences">Sparse or dense differences between boundaries.</param>
    /// <param name="rows">n per replication (the paper: 2500).</param>
    /// <param name="features">p (the paper: 10).</param>
    /// <param name="intercepts">α (the paper: (0, 3, 5), (0, 3.5, 5.5), (0, 4, 6)).</param>
    /// <param name="replications">Number of replications.</param>
    /// <param name="seed">Seed of the first replication.</param>
    /// <param name="presto">PRESTO's options (label, feature columns and seed are set here); null for the defaults.</param>
    public static RareClassStudyResult Run(MLContext mlContext, OrdinalDifferences differences, int rows, int features, double[] intercepts,
        int replications, int seed, PrestoTrainer.Options? presto = null)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentOutOfRangeException.ThrowIfLessThan(replications, 1);
        var results = new List<RareClassReplication>();
        for (int r = 0; r < replications; r++)
        {
            var data = OrdinalSimulation.Generate(differences, rows, features, intercepts, seed + r);
            int rare = data.ClassCount - 1;
            var view = data.ToDataView(mlContext);
            var truth = Enumerable.Range(0, data.Rows).Select(i => data.TrueProbability(i, rare)).ToArray();

            var options = presto ?? new PrestoTrainer.Options();
            options.LabelColumnName = "Label";
            options.FeatureColumnName = "Features";
            options.Seed = seed + r;
            double prestoMse, poMse;
            using (var model = new PrestoTrainer(mlContext, options).Fit(view)) prestoMse = Mse(model, data, rare, truth);
            using (var model = new ProportionalOddsTrainer(mlContext, new ProportionalOddsTrainer.Options()).Fit(view)) poMse = Mse(model, data, rare, truth);

            var logistic = mlContext.BinaryClassification.Trainers.LbfgsLogisticRegression(new Microsoft.ML.Trainers.LbfgsLogisticRegressionBinaryTrainer.Options
            {
                LabelColumnName = "Rare", FeatureColumnName = "Features", L1Regularization = 0, L2Regularization = 0, OptimizationTolerance = 1e-7f,
            }).Fit(view);
            var probabilities = logistic.Transform(view).GetColumn<float>("Probability").ToArray();
            double lrMse = truth.Select((t, i) => Math.Pow(probabilities[i] - t, 2)).Average();
            results.Add(new RareClassReplication(prestoMse, poMse, lrMse, data.Labels.Count(y => y == rare) / (double)data.Rows));
        }
        return new RareClassStudyResult(results);
    }

    private static double Mse(PrestoModel model, OrdinalSimulationData data, int rare, double[] truth) =>
        Enumerable.Range(0, data.Rows).Select(i => Math.Pow(model.PredictProbabilities(data.Row(i))[rare] - truth[i], 2)).Average();
}
