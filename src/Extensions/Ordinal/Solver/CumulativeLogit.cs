using System.Runtime.CompilerServices;

namespace MLExtensions.Ordinal;

/// <summary>
/// The cumulative-logit model's arithmetic, in double precision and in log space where it matters:
/// <c>P(y ≤ k | x) = σ(η_k)</c> with <c>η_k = α_k + xᵀβ_k</c>, boundaries k = 1..K−1.
/// </summary>
/// <remarks>
/// Class probabilities use <c>σ(a) − σ(b) = σ(a)·σ(−b)·(1 − e^{−(a−b)})</c> for a ≥ b, which keeps rare upper and
/// middle classes accurate where <c>σ(a) − σ(b)</c> would cancel. On new data, crossing boundaries are repaired by
/// a running maximum over η (the cumulative probabilities are made non-decreasing), so probabilities are never
/// negative and always sum to one. The ONNX export computes the same formula in float32 (with 1 − e^{−gap} for lack of
/// an expm1 operator there).
/// </remarks>
internal static class CumulativeLogit
{
    public static double Sigmoid(double x) => x >= 0 ? 1 / (1 + Math.Exp(-x)) : Math.Exp(x) / (1 + Math.Exp(x));

    /// <summary>η_k = α_k + xᵀβ_k for every boundary, with the cumulative coefficients <paramref name="beta"/> boundary-major.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LinearPredictors(ReadOnlySpan<double> x, double[] alpha, double[] beta, Span<double> eta)
    {
        int p = x.Length;
        for (int k = 0; k < alpha.Length; k++)
        {
            double sum = alpha[k];
            var b = beta.AsSpan(k * p, p);
            for (int j = 0; j < p; j++) sum += x[j] * b[j];
            eta[k] = sum;
        }
    }

    /// <summary>Class probabilities (K values) from the K−1 linear predictors, repairing crossings.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Probabilities(ReadOnlySpan<double> eta, Span<double> probabilities)
    {
        int boundaries = eta.Length;
        double previous = eta[0];
        probabilities[0] = Sigmoid(previous);
        for (int k = 1; k < boundaries; k++)
        {
            double current = Math.Max(previous, eta[k]);
            probabilities[k] = Between(current, previous);
            previous = current;
        }
        probabilities[boundaries] = Sigmoid(-previous);
    }

    /// <summary><c>σ(a) − σ(b)</c> for a ≥ b, without cancellation.</summary>
    public static double Between(double a, double b) => Sigmoid(a) * Sigmoid(-b) * -double.ExpM1(b - a);

    /// <summary>
    /// log P(y | η) of a row of the lowest class and its derivatives with respect to its upper predictor a = η_1
    /// (the row's only boundary).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static RowDerivatives LowestClass(double a)
    {
        // Each predictor costs one exp (e^{−|x|} gives σ(x), σ(−x) and log σ); the solvers spend most of their time here.
        var upper = new Logistic(a);
        return new RowDerivatives(upper.LogSigmoid, upper.Minus, 0, upper.Plus * upper.Minus, 0, 0);
    }

    /// <summary>log P(y | η) of a row of the highest class and its derivatives with respect to its lower predictor b = η_{K−1}.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static RowDerivatives HighestClass(double b)
    {
        var lower = new Logistic(b);
        return new RowDerivatives(lower.LogSigmoidMinus, 0, -lower.Plus, 0, lower.Plus * lower.Minus, 0);
    }

    /// <summary>
    /// log P(y | η) of a row of a middle class and its first and second derivatives with respect to its upper and
    /// lower predictors (η_y and η_{y−1}).
    /// </summary>
    /// <returns>False when the two boundaries cross (the probability is not positive).</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool MiddleClass(double upperEta, double lowerEta, out RowDerivatives terms)
    {
        double gap = upperEta - lowerEta;
        if (!(gap > 0))
        {
            terms = default;
            return false;
        }
        var upper = new Logistic(upperEta);
        var lower = new Logistic(lowerEta);
        // With m = e^{−gap}: d log(1 − m)/d gap = m / (1 − m); its second derivative is −m / (1 − m)².
        double oneMinus = -double.ExpM1(-gap), m = 1 - oneMinus;
        double ratio = m / oneMinus, curvature = ratio / oneMinus;
        double probability = upper.Plus * lower.Minus * oneMinus;
        double logP = probability > 1e-300 ? Math.Log(probability) : upper.LogSigmoid + lower.LogSigmoidMinus + Math.Log(oneMinus);
        terms = new RowDerivatives(logP,
            upper.Minus + ratio,
            -lower.Plus - ratio,
            upper.Plus * upper.Minus + curvature,
            lower.Plus * lower.Minus + curvature,
            -curvature);
        return true;
    }

    /// <summary>σ(x), σ(−x) and their logarithms from the single exponential e^{−|x|}.</summary>
    private readonly struct Logistic
    {
        private readonly double _x;
        private readonly double _e;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Logistic(double x)
        {
            _x = x;
            _e = Math.Exp(-Math.Abs(x));
            double near = 1 / (1 + _e);
            Plus = x >= 0 ? near : _e * near;
            Minus = x >= 0 ? _e * near : near;
        }

        /// <summary>σ(x).</summary>
        public double Plus { get; }

        /// <summary>σ(−x) = 1 − σ(x).</summary>
        public double Minus { get; }

        public double LogSigmoid => Math.Min(_x, 0) - double.LogP1(_e);

        public double LogSigmoidMinus => Math.Min(-_x, 0) - double.LogP1(_e);
    }
}

/// <summary>
/// One row's log-likelihood, its gradient with respect to the upper and lower linear predictors, and the Hessian of
/// the negative log-likelihood (<c>UpperUpper</c>, <c>LowerLower</c>, <c>UpperLower</c>).
/// </summary>
internal readonly record struct RowDerivatives(double LogP, double GradientUpper, double GradientLower,
    double UpperUpper, double LowerLower, double UpperLower);
