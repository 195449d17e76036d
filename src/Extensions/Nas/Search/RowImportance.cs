using MLExtensions.Mlp;

namespace MLExtensions.Nas;

/// <summary>
/// PA&amp;DA's data sampling: each row's importance is the norm of the loss gradient with respect to its output
/// (<see cref="MlpLoss.OutputGradientNorm"/>) from the training forward pass, a row drawn twice in one epoch keeping
/// the pairwise mean and a row not drawn scoring 0; at the end of the epoch the next epoch's N rows are drawn with
/// replacement from <c>p = τ·s/Σs + (1 − τ)/N</c>. Without importance every epoch is a plain permutation.
/// </summary>
internal sealed class RowImportance
{
    private readonly double[] _scores;
    private readonly bool[] _seen;
    private readonly bool _importance;
    private readonly double _floor;
    private double[] _probabilities;

    public RowImportance(int rows, bool importance, double floor)
    {
        _scores = new double[rows];
        _seen = new bool[rows];
        _importance = importance;
        _floor = floor;
        _probabilities = Enumerable.Repeat(1.0 / rows, rows).ToArray();
    }

    /// <summary>Whether the next epoch's rows are drawn by importance (after the first epoch with importance on).</summary>
    public bool Drawing { get; private set; }

    /// <summary>
    /// The epoch's rows: a permutation, or N draws with replacement from the importance distribution together with
    /// each draw's importance weight 1/(N·p) (for an unbiased loss, when asked).
    /// </summary>
    public (int[] Order, float[]? Weights) NextEpoch(Random random)
    {
        int n = _scores.Length;
        if (!Drawing)
        {
            var permutation = Enumerable.Range(0, n).ToArray();
            random.Shuffle(permutation);
            return (permutation, null);
        }
        var cumulative = new double[n];
        double c = 0;
        for (int i = 0; i < n; i++) cumulative[i] = c += _probabilities[i];
        var order = new int[n];
        var weights = new float[n];
        for (int k = 0; k < n; k++)
        {
            int i = Array.BinarySearch(cumulative, random.NextDouble() * c);
            if (i < 0) i = ~i;
            i = Math.Min(i, n - 1);
            order[k] = i;
            weights[k] = (float)(1 / (n * _probabilities[i]));
        }
        return (order, weights);
    }

    /// <summary>Records the output-gradient norms of the rows of one step.</summary>
    public void Observe(ReadOnlySpan<int> rows, ReadOnlySpan<double> norms)
    {
        if (!_importance) return;
        for (int k = 0; k < rows.Length; k++)
        {
            int i = rows[k];
            if (!double.IsFinite(norms[k])) continue;
            _scores[i] = _seen[i] ? (_scores[i] + norms[k]) / 2 : norms[k];
            _seen[i] = true;
        }
    }

    /// <summary>Sets the next epoch's distribution at importance weight <paramref name="tau"/> and resets the scores.</summary>
    public void EndEpoch(double tau)
    {
        if (!_importance) return;
        int n = _scores.Length;
        double sum = _scores.Sum();
        var p = new double[n];
        for (int i = 0; i < n; i++) p[i] = (1 - _floor) * (sum > 0 ? tau * _scores[i] / sum + (1 - tau) / n : 1.0 / n) + _floor / n;
        _probabilities = p;
        Drawing = true;
        Array.Clear(_scores);
        Array.Clear(_seen);
    }

    /// <summary>The probability each row is drawn with in the next epoch.</summary>
    public IReadOnlyList<double> Probabilities => _probabilities;
}
