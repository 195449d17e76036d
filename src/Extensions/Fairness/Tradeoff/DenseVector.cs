namespace MLExtensions.Fairness.Tradeoff;

/// <summary>Vector arithmetic shared by the trade-off solver's parts.</summary>
internal static class DenseVector
{
    /// <summary>
    /// a·b summed left to right, one product at a time: the solver's reported figures depend on this order, so it
    /// is not vectorised.
    /// </summary>
    public static double Dot(double[] a, double[] b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++) sum += a[i] * b[i];
        return sum;
    }
}
