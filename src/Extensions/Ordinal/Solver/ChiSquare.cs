namespace MLExtensions.Ordinal;

/// <summary>The chi-square distribution's upper tail, for likelihood-ratio tests.</summary>
internal static class ChiSquare
{
    /// <summary>P(X ≥ <paramref name="statistic"/>) for X ~ χ² with <paramref name="degreesOfFreedom"/> degrees of freedom.</summary>
    public static double UpperTail(double statistic, int degreesOfFreedom)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(degreesOfFreedom, 1);
        if (double.IsNaN(statistic)) return double.NaN;
        if (statistic <= 0) return 1;
        if (double.IsPositiveInfinity(statistic)) return 0;
        return RegularisedUpperGamma(degreesOfFreedom / 2.0, statistic / 2);
    }

    /// <summary>Q(a, x) = Γ(a, x) / Γ(a): by the power series of P = 1 − Q below x = a + 1, by a continued fraction above.</summary>
    internal static double RegularisedUpperGamma(double a, double x)
    {
        double logPrefactor = -x + a * Math.Log(x) - LogGamma(a);
        if (x < a + 1)
        {
            // P(a, x) = e^{−x} x^a / Γ(a + 1) · Σ_n x^n / ((a + 1)···(a + n)).
            double term = 1 / a, sum = term;
            for (int n = 1; n < 10_000; n++)
            {
                term *= x / (a + n);
                sum += term;
                if (Math.Abs(term) < Math.Abs(sum) * 1e-16) break;
            }
            return Math.Max(0, 1 - Math.Exp(logPrefactor) * sum);
        }
        // Q(a, x) = e^{−x} x^a / Γ(a) · 1 / (x + 1 − a − 1(1 − a) / (x + 3 − a − 2(2 − a) / (x + 5 − a − ...))), by modified Lentz.
        const double tiny = 1e-300;
        double b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
        for (int i = 1; i < 10_000; i++)
        {
            double an = -i * (i - a);
            b += 2;
            d = an * d + b;
            if (Math.Abs(d) < tiny) d = tiny;
            c = b + an / c;
            if (Math.Abs(c) < tiny) c = tiny;
            d = 1 / d;
            double delta = d * c;
            h *= delta;
            if (Math.Abs(delta - 1) < 1e-16) break;
        }
        return Math.Min(1, Math.Exp(logPrefactor) * h);
    }

    /// <summary>log Γ(z) for z &gt; 0: Stirling's series at z + n ≥ 15, brought down by Γ(z + 1) = z·Γ(z).</summary>
    internal static double LogGamma(double z)
    {
        double shift = 0;
        while (z < 15)
        {
            shift -= Math.Log(z);
            z += 1;
        }
        double inverse = 1 / z, inverse2 = inverse * inverse;
        double series = inverse * (1.0 / 12 - inverse2 * (1.0 / 360 - inverse2 * (1.0 / 1260 - inverse2 * (1.0 / 1680))));
        return shift + (z - 0.5) * Math.Log(z) - z + 0.5 * Math.Log(2 * Math.PI) + series;
    }
}
