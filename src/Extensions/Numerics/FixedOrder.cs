using System.Runtime.CompilerServices;

namespace MLExtensions.Numerics;

/// <summary>
/// Sums and dot products whose order of operations depends only on the length of the data, never on where the arrays
/// sit in memory or on the hardware's fused multiply-add, so the same data give the same bits ("same seed, same
/// model"), which a library free to split loops by alignment does not promise. The SIMD kernels (<see cref="Sum"/>,
/// <see cref="Dot"/>) add in four fixed lanes for speed on data-sized vectors; <see cref="SequentialDot"/> adds one
/// product at a time, left to right, for the solvers whose reported figures were fixed in that order.
/// </summary>
internal static class FixedOrder
{
    /// <summary>Σ x in four fixed SIMD lanes, then the tail left to right.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double Sum(ReadOnlySpan<double> x)
    {
        // Four accumulators: one would wait on the latency of each add.
        int width = System.Numerics.Vector<double>.Count, i = 0;
        System.Numerics.Vector<double> a0 = default, a1 = default, a2 = default, a3 = default;
        for (; i <= x.Length - 4 * width; i += 4 * width)
        {
            a0 += new System.Numerics.Vector<double>(x.Slice(i, width));
            a1 += new System.Numerics.Vector<double>(x.Slice(i + width, width));
            a2 += new System.Numerics.Vector<double>(x.Slice(i + 2 * width, width));
            a3 += new System.Numerics.Vector<double>(x.Slice(i + 3 * width, width));
        }
        for (; i <= x.Length - width; i += width) a0 += new System.Numerics.Vector<double>(x.Slice(i, width));
        double sum = System.Numerics.Vector.Sum((a0 + a1) + (a2 + a3));
        for (; i < x.Length; i++) sum += x[i];
        return sum;
    }

    /// <summary>z = x ⊙ y.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Multiply(ReadOnlySpan<double> x, ReadOnlySpan<double> y, Span<double> z)
    {
        int width = System.Numerics.Vector<double>.Count, i = 0;
        for (; i <= x.Length - width; i += width)
            (new System.Numerics.Vector<double>(x.Slice(i, width)) * new System.Numerics.Vector<double>(y.Slice(i, width))).CopyTo(z.Slice(i, width));
        for (; i < x.Length; i++) z[i] = x[i] * y[i];
    }

    /// <summary>y += a·x, rounding the product before the sum everywhere.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AddScaled(ReadOnlySpan<double> x, double a, Span<double> y)
    {
        int width = System.Numerics.Vector<double>.Count, i = 0;
        for (; i <= x.Length - width; i += width)
            (new System.Numerics.Vector<double>(y.Slice(i, width)) + new System.Numerics.Vector<double>(x.Slice(i, width)) * a).CopyTo(y.Slice(i, width));
        for (; i < x.Length; i++) y[i] += x[i] * a;
    }

    /// <summary>x·y in four fixed SIMD lanes, then the tail left to right.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double Dot(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
    {
        int width = System.Numerics.Vector<double>.Count, i = 0;
        System.Numerics.Vector<double> a0 = default, a1 = default, a2 = default, a3 = default;
        for (; i <= x.Length - 4 * width; i += 4 * width)
        {
            a0 += new System.Numerics.Vector<double>(x.Slice(i, width)) * new System.Numerics.Vector<double>(y.Slice(i, width));
            a1 += new System.Numerics.Vector<double>(x.Slice(i + width, width)) * new System.Numerics.Vector<double>(y.Slice(i + width, width));
            a2 += new System.Numerics.Vector<double>(x.Slice(i + 2 * width, width)) * new System.Numerics.Vector<double>(y.Slice(i + 2 * width, width));
            a3 += new System.Numerics.Vector<double>(x.Slice(i + 3 * width, width)) * new System.Numerics.Vector<double>(y.Slice(i + 3 * width, width));
        }
        for (; i <= x.Length - width; i += width)
            a0 += new System.Numerics.Vector<double>(x.Slice(i, width)) * new System.Numerics.Vector<double>(y.Slice(i, width));
        double sum = System.Numerics.Vector.Sum((a0 + a1) + (a2 + a3));
        for (; i < x.Length; i++) sum += x[i] * y[i];
        return sum;
    }

    /// <summary>
    /// x·y summed left to right, one product at a time: not vectorised, because the figures of its callers (the ordinal
    /// solver's predicted decrease, the fairness trade-off's barrier steps) depend on this order.
    /// </summary>
    public static double SequentialDot(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
    {
        double sum = 0;
        for (int i = 0; i < x.Length; i++) sum += x[i] * y[i];
        return sum;
    }
}
