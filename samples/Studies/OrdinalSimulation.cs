using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLExtensions.Studies;

/// <summary>How the simulated boundaries differ from proportional odds.</summary>
public enum OrdinalDifferences
{
    /// <summary>
    /// β_1 has entries 1 with probability 1/3 (else 0); each later boundary adds, per feature with probability 1/3, a
    /// difference of ±0.5 (random sign). Most differences are exactly zero: PRESTO's home ground.
    /// </summary>
    Sparse,

    /// <summary>β_1 and every difference are uniform on (−0.5, 0.5): no difference is zero.</summary>
    Dense,
}

/// <summary>One simulated ordinal data set with the true class probabilities of its rows.</summary>
/// <param name="Features">Row-major features, <c>Rows × FeatureCount</c>, uniform on (−1, 1).</param>
/// <param name="Labels">Zero-based classes drawn from the true probabilities.</param>
/// <param name="TrueProbabilities">Row-major true class probabilities, <c>Rows × ClassCount</c>.</param>
/// <param name="Intercepts">The true α_k.</param>
/// <param name="Weights">The true β_k (boundary × feature).</param>
/// <param name="FeatureCount">p.</param>
/// <param name="ClassCount">K.</param>
public sealed record OrdinalSimulationData(float[] Features, int[] Labels, double[] TrueProbabilities, double[] Intercepts, double[][] Weights,
    int FeatureCount, int ClassCount)
{
    /// <summary>Number of rows.</summary>
    public int Rows => Labels.Length;

    /// <summary>Features of row <paramref name="i"/>.</summary>
    public float[] Row(int i) => Features.AsSpan(i * FeatureCount, FeatureCount).ToArray();

    /// <summary>The true probability of class <paramref name="k"/> for row <paramref name="i"/>.</summary>
    public double TrueProbability(int i, int k) => TrueProbabilities[i * ClassCount + k];

    /// <summary>
    /// The rows as an <see cref="IDataView"/>: <c>Features</c> (vector of p floats), <c>Label</c> (key of K classes,
    /// class k is key k + 1) and <c>Rare</c> (true for the last class).
    /// </summary>
    public IDataView ToDataView(MLContext mlContext)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        var rows = Enumerable.Range(0, Rows).Select(i => new SimulatedRow
        {
            Features = Row(i),
            Label = (uint)Labels[i], // LoadFromEnumerable stores key fields zero-based
            Rare = Labels[i] == ClassCount - 1,
        }).ToArray();
        var schema = SchemaDefinition.Create(typeof(SimulatedRow));
        schema[nameof(SimulatedRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, FeatureCount);
        schema[nameof(SimulatedRow.Label)].ColumnType = new KeyDataViewType(typeof(uint), ClassCount);
        return mlContext.Data.LoadFromEnumerable(rows, schema);
    }

    private sealed class SimulatedRow
    {
        public float[] Features { get; set; } = [];
        public uint Label { get; set; }
        public bool Rare { get; set; }
    }
}

/// <summary>
/// The synthetic design of the PRESTO paper (Faletto &amp; Bien, 2023, section 4): X uniform on (−1, 1),
/// <c>P(y ≤ k | x) = σ(α_k + xᵀβ_k)</c> with β_k drifting from β_1 by sparse or dense differences, and a rare
/// last class when the last intercept is large (e.g. α = (0, 3.5, 5.5)).
/// </summary>
public static class OrdinalSimulation
{
    /// <summary>Draws a data set; coefficient draws that give any row a negative probability are redrawn, and so are samples missing a class.</summary>
    /// <param name="differences">Sparse or dense differences between boundaries.</param>
    /// <param name="rows">n.</param>
    /// <param name="features">p.</param>
    /// <param name="intercepts">α_1..α_{K−1}, increasing; K is one more than their number.</param>
    /// <param name="seed">The random seed.</param>
    public static OrdinalSimulationData Generate(OrdinalDifferences differences, int rows, int features, double[] intercepts, int seed)
    {
        ArgumentNullException.ThrowIfNull(intercepts);
        if (intercepts.Length < 2) throw new ArgumentException("At least two intercepts (three classes) are needed.", nameof(intercepts));
        for (int k = 1; k < intercepts.Length; k++)
            if (intercepts[k] <= intercepts[k - 1]) throw new ArgumentException("Intercepts must increase.", nameof(intercepts));
        var random = new Random(seed);
        for (int attempt = 0; attempt < 1000; attempt++)
        {
            var weights = DrawWeights(differences, features, intercepts.Length, random);
            var data = TryDraw(rows, features, intercepts, weights, random);
            if (data is not null) return data;
        }
        throw new InvalidOperationException("No coefficient draw gave valid probabilities on every row; use larger gaps between intercepts.");
    }

    private static double[][] DrawWeights(OrdinalDifferences differences, int p, int boundaries, Random random)
    {
        var weights = new double[boundaries][];
        weights[0] = Enumerable.Range(0, p).Select(_ => differences == OrdinalDifferences.Sparse
            ? (random.NextDouble() < 1 / 3.0 ? 1.0 : 0.0)
            : random.NextDouble() - 0.5).ToArray();
        for (int k = 1; k < boundaries; k++)
        {
            weights[k] = new double[p];
            for (int j = 0; j < p; j++)
            {
                double difference = differences == OrdinalDifferences.Sparse
                    ? (random.NextDouble() < 1 / 3.0 ? (random.Next(2) == 0 ? -0.5 : 0.5) : 0.0)
                    : random.NextDouble() - 0.5;
                weights[k][j] = weights[k - 1][j] + difference;
            }
        }
        return weights;
    }

    private static OrdinalSimulationData? TryDraw(int n, int p, double[] intercepts, double[][] weights, Random random)
    {
        int boundaries = intercepts.Length, classes = boundaries + 1;
        var x = new float[n * p];
        var labels = new int[n];
        var probabilities = new double[n * classes];
        var seen = new bool[classes];
        Span<double> eta = stackalloc double[boundaries];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < p; j++) x[i * p + j] = (float)(random.NextDouble() * 2 - 1);
            for (int k = 0; k < boundaries; k++)
            {
                double sum = intercepts[k];
                for (int j = 0; j < p; j++) sum += weights[k][j] * x[i * p + j];
                eta[k] = sum;
                if (k > 0 && eta[k] <= eta[k - 1]) return null; // a negative class probability: redraw the coefficients
            }
            var row = probabilities.AsSpan(i * classes, classes);
            ClassProbabilities(eta, row);
            double u = random.NextDouble(), cumulative = 0;
            int y = classes - 1;
            for (int k = 0; k < classes - 1; k++)
            {
                cumulative += row[k];
                if (u < cumulative)
                {
                    y = k;
                    break;
                }
            }
            labels[i] = y;
            seen[y] = true;
        }
        return seen.All(s => s) ? new OrdinalSimulationData(x, labels, probabilities, (double[])intercepts.Clone(), weights, p, classes) : null;
    }

    /// <summary>
    /// The true class probabilities <c>σ(η_k) − σ(η_{k−1})</c> of one row, for increasing η (<see cref="TryDraw"/>
    /// redraws otherwise). The differences are taken as <c>σ(a)·σ(−b)·(1 − e^{−(a−b)})</c>, which does not cancel for
    /// the rare upper classes. The simulation states its model itself rather than borrowing the estimator's code, so
    /// that tests comparing fitted probabilities with these are not comparing the code with itself.
    /// </summary>
    private static void ClassProbabilities(ReadOnlySpan<double> eta, Span<double> probabilities)
    {
        probabilities[0] = Sigmoid(eta[0]);
        for (int k = 1; k < eta.Length; k++) probabilities[k] = Sigmoid(eta[k]) * Sigmoid(-eta[k - 1]) * -double.ExpM1(eta[k - 1] - eta[k]);
        probabilities[eta.Length] = Sigmoid(-eta[^1]);
    }

    private static double Sigmoid(double x) => x >= 0 ? 1 / (1 + Math.Exp(-x)) : Math.Exp(x) / (1 + Math.Exp(x));
}
