using MLExtensions.Onnx.Scoring;

namespace MLExtensions.Nas;

/// <summary>
/// Greedy ensemble selection with replacement (Caruana, Niculescu-Mizil, Crew and Ksikes, ICML 2004), as AutoGluon
/// and Auto-PyTorch weight their members: each round adds the member (again, possibly) whose addition gives the
/// uniformly averaged ensemble the lowest loss on held-out rows; the weights are the selection counts over the rounds,
/// divided by their total. The first round picks the best single member, and the rounds kept are the prefix with the
/// lowest loss, so the ensemble's loss on those rows is never above the best member's.
/// </summary>
internal static class EnsembleSelection
{
    /// <summary>Rounds of selection (Auto-PyTorch's default ensemble size).</summary>
    public const int Rounds = 50;

    /// <summary>Clamp of probabilities in the log-loss, as scikit-learn's.</summary>
    private const double Epsilon = 1e-15;

    /// <summary>The selection: counts per member, the ensemble's loss, and each member's own loss.</summary>
    /// <param name="Counts">How often each member was picked over the kept rounds.</param>
    /// <param name="Loss">The weighted ensemble's loss on the rows.</param>
    /// <param name="MemberLosses">Each member's loss on the rows.</param>
    public sealed record Outcome(int[] Counts, double Loss, double[] MemberLosses)
    {
        /// <summary>Counts divided by their total.</summary>
        public double[] Weights => Counts.Select(c => (double)c / Counts.Sum()).ToArray();
    }

    /// <summary>Selects from <paramref name="predictions"/> by <paramref name="rounds"/> greedy rounds with replacement.</summary>
    /// <param name="kind">The task, which sets the loss: squared error, logistic loss or cross-entropy.</param>
    /// <param name="predictions">
    /// Per member, its prediction of every row, row-major [rows, outputs]: regression values (1 output), the
    /// probability of the positive class (1 output), or class probabilities (K outputs).
    /// </param>
    /// <param name="labels">Per row: the value, 0/1, or the class index.</param>
    /// <param name="weights">Per-row example weights, or null.</param>
    /// <param name="rounds">Selection rounds (≥ 1).</param>
    /// <remarks>Ties go to the lower member index (the better-ranked architecture), and to the shorter prefix.</remarks>
    public static Outcome Select(PredictionKind kind, IReadOnlyList<double[]> predictions, float[] labels, float[]? weights, int rounds = Rounds)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentOutOfRangeException.ThrowIfLessThan(rounds, 1);
        if (predictions.Count == 0) throw new ArgumentException("Nothing to select from.", nameof(predictions));
        int length = predictions[0].Length;
        if (labels.Length == 0 || predictions.Any(p => p.Length != length) || length % labels.Length != 0)
            throw new ArgumentException($"Every member must predict the {labels.Length} rows alike.", nameof(predictions));

        var memberLosses = predictions.Select(p => Loss(kind, p, labels, weights)).ToArray();
        var sum = new double[length];
        var candidate = new double[length];
        var counts = new int[predictions.Count];
        var best = (Loss: double.PositiveInfinity, Counts: counts);
        for (int round = 1; round <= rounds; round++)
        {
            int pick = -1;
            double pickLoss = double.PositiveInfinity;
            for (int m = 0; m < predictions.Count; m++)
            {
                var p = predictions[m];
                for (int i = 0; i < length; i++) candidate[i] = (sum[i] + p[i]) / round;
                double loss = Loss(kind, candidate, labels, weights);
                if (loss < pickLoss || pick < 0) (pick, pickLoss) = (m, loss);
            }
            for (int i = 0; i < length; i++) sum[i] += predictions[pick][i];
            counts[pick]++;
            if (round == 1 || pickLoss < best.Loss) best = (pickLoss, counts.ToArray());
        }
        return new Outcome(best.Counts, best.Loss, memberLosses);
    }

    /// <summary>The (example-weighted) mean loss of <paramref name="prediction"/> over the rows.</summary>
    public static double Loss(PredictionKind kind, double[] prediction, float[] labels, float[]? weights)
    {
        int rows = labels.Length, outputs = prediction.Length / rows;
        double total = 0, weightSum = 0;
        for (int r = 0; r < rows; r++)
        {
            double w = weights?[r] ?? 1;
            double loss = kind switch
            {
                PredictionKind.Regression => Squared(prediction[r] - labels[r]),
                PredictionKind.BinaryClassification => -Math.Log(Math.Clamp(labels[r] > 0.5f ? prediction[r] : 1 - prediction[r], Epsilon, 1)),
                _ => -Math.Log(Math.Clamp(prediction[r * outputs + (int)labels[r]], Epsilon, 1)),
            };
            total += w * loss;
            weightSum += w;
        }
        return weightSum > 0 ? total / weightSum : double.NaN;
    }

    private static double Squared(double d) => d * d;
}
