namespace MLExtensions.Fairness.Tradeoff;

/// <summary>The terms both barrier solvers build their disparities from: rates of a yes/no decision, in nats.</summary>
internal static class BernoulliTerms
{
    /// <summary>KL(Bernoulli(a) ‖ Bernoulli(m)), with 0·log 0 = 0.</summary>
    public static double Kl(double a, double m) => XLog(a, m) + XLog(1 - a, 1 - m);

    /// <summary>log(u / (1 − u)), as log u − log(1 − u).</summary>
    public static double Logit(double u) => Math.Log(u) - Math.Log(1 - u);

    private static double XLog(double u, double v) => u <= 0 ? 0 : u * Math.Log(u / v);
}
