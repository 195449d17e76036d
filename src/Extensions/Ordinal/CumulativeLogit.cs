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

    public static double LogSigmoid(double x) => x >= 0 ? -double.LogP1(Math.Exp(-x)) : x - double.LogP1(Math.Exp(x));

    /// <summary>Class probabilities (K values) from the K−1 linear predictors, repairing crossings.</summary>
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
    /// log P(y | η) of one row and its first and second derivatives with respect to the (at most two) linear
    /// predictors it depends on: the upper boundary y (if y &lt; K−1) and the lower boundary y−1 (if y &gt; 0).
    /// </summary>
    /// <returns>False when the row's boundaries cross (the probability is not positive).</returns>
    public static bool RowTerms(ReadOnlySpan<double> eta, int y, out RowDerivatives terms)
    {
        int boundaries = eta.Length;
        if (y == 0)
        {
            double a = eta[0];
            terms = new RowDerivatives(LogSigmoid(a), Sigmoid(-a), 0, Sigmoid(a) * Sigmoid(-a), 0, 0);
            return true;
        }
        if (y == boundaries)
        {
            double b = eta[boundaries - 1];
            terms = new RowDerivatives(LogSigmoid(-b), 0, -Sigmoid(b), 0, Sigmoid(b) * Sigmoid(-b), 0);
            return true;
        }
        double upper = eta[y], lower = eta[y - 1], gap = upper - lower;
        if (!(gap > 0))
        {
            terms = default;
            return false;
        }
        // With m = e^{−gap}: d log(1 − m)/d gap = m / (1 − m); its second derivative is −m / (1 − m)².
        double m = Math.Exp(-gap), oneMinus = -double.ExpM1(-gap);
        double ratio = m / oneMinus, curvature = m / (oneMinus * oneMinus);
        double logP = LogSigmoid(upper) + LogSigmoid(-lower) + Math.Log(oneMinus);
        terms = new RowDerivatives(logP,
            Sigmoid(-upper) + ratio,
            -Sigmoid(lower) - ratio,
            Sigmoid(upper) * Sigmoid(-upper) + curvature,
            Sigmoid(lower) * Sigmoid(-lower) + curvature,
            -curvature);
        return true;
    }
}

/// <summary>
/// One row's log-likelihood, its gradient with respect to the upper and lower linear predictors, and the Hessian of
/// the negative log-likelihood (<c>UpperUpper</c>, <c>LowerLower</c>, <c>UpperLower</c>).
/// </summary>
internal readonly record struct RowDerivatives(double LogP, double GradientUpper, double GradientLower,
    double UpperUpper, double LowerLower, double UpperLower);
