namespace MLExtensions.Numerics;

/// <summary>Dense routines for small symmetric systems (a few hundred rows at most): the trade-off barrier solver, PONITA's reference energies, PRESTO's Newton directions.</summary>
internal static class SymmetricMatrix
{
    /// <summary>In-place Cholesky factor (lower triangle) of a positive definite matrix; false when it is not.</summary>
    public static bool TryCholesky(double[,] a)
    {
        int n = a.GetLength(0);
        for (int j = 0; j < n; j++)
        {
            double d = a[j, j];
            for (int k = 0; k < j; k++) d -= a[j, k] * a[j, k];
            if (!(d > 0)) return false;
            d = Math.Sqrt(d);
            a[j, j] = d;
            for (int i = j + 1; i < n; i++)
            {
                double v = a[i, j];
                for (int k = 0; k < j; k++) v -= a[i, k] * a[j, k];
                a[i, j] = v / d;
            }
        }
        return true;
    }

    /// <summary>Solves <c>L Lᵀ x = b</c> in place for a factor from <see cref="TryCholesky"/>.</summary>
    public static void CholeskySolve(double[,] l, Span<double> b)
    {
        int n = l.GetLength(0);
        for (int i = 0; i < n; i++)
        {
            double v = b[i];
            for (int k = 0; k < i; k++) v -= l[i, k] * b[k];
            b[i] = v / l[i, i];
        }
        for (int i = n - 1; i >= 0; i--)
        {
            double v = b[i];
            for (int k = i + 1; k < n; k++) v -= l[k, i] * b[k];
            b[i] = v / l[i, i];
        }
    }

    /// <summary>Eigenvalues and eigenvectors (columns) of a symmetric matrix by cyclic Jacobi rotations.</summary>
    public static (double[] Values, double[,] Vectors) Eigen(double[,] matrix)
    {
        int n = matrix.GetLength(0);
        var a = (double[,])matrix.Clone();
        var v = new double[n, n];
        for (int i = 0; i < n; i++) v[i, i] = 1;
        for (int sweep = 0; sweep < 100; sweep++)
        {
            double off = 0, scale = 0;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                    if (i != j) off += a[i, j] * a[i, j]; else scale += a[i, i] * a[i, i];
            if (off <= 1e-30 * scale || off == 0) break;
            for (int p = 0; p < n - 1; p++)
                for (int q = p + 1; q < n; q++)
                {
                    if (a[p, q] == 0) continue;
                    double theta = (a[q, q] - a[p, p]) / (2 * a[p, q]);
                    double t = Math.Sign(theta == 0 ? 1 : theta) / (Math.Abs(theta) + Math.Sqrt(theta * theta + 1));
                    double c = 1 / Math.Sqrt(t * t + 1), s = t * c;
                    for (int k = 0; k < n; k++)
                    {
                        double akp = a[k, p], akq = a[k, q];
                        a[k, p] = c * akp - s * akq;
                        a[k, q] = s * akp + c * akq;
                    }
                    for (int k = 0; k < n; k++)
                    {
                        double apk = a[p, k], aqk = a[q, k];
                        a[p, k] = c * apk - s * aqk;
                        a[q, k] = s * apk + c * aqk;
                    }
                    for (int k = 0; k < n; k++)
                    {
                        double vkp = v[k, p], vkq = v[k, q];
                        v[k, p] = c * vkp - s * vkq;
                        v[k, q] = s * vkp + c * vkq;
                    }
                }
        }
        var values = new double[n];
        for (int i = 0; i < n; i++) values[i] = a[i, i];
        return (values, v);
    }

    /// <summary>
    /// Solves a symmetric positive semidefinite system: by Cholesky when it is clearly definite (every pivot above
    /// 1e-13 of the largest diagonal entry), else by <see cref="PseudoSolve"/>.
    /// </summary>
    public static double[] Solve(double[,] a, double[] b)
    {
        var factor = (double[,])a.Clone();
        double largest = 0;
        for (int i = 0; i < b.Length; i++) largest = Math.Max(largest, Math.Abs(a[i, i]));
        bool definite = TryCholesky(factor);
        for (int i = 0; definite && i < b.Length; i++) definite = factor[i, i] * factor[i, i] > 1e-13 * largest;
        if (!definite) return PseudoSolve(a, b);
        var x = (double[])b.Clone();
        CholeskySolve(factor, x);
        return x;
    }

    /// <summary>
    /// Minimum-norm least-squares solution of <c>A x = b</c> for a symmetric positive semidefinite A (eigenvalues below
    /// a relative 1e-12 count as zero), so dependent equality rows do no harm.
    /// </summary>
    public static double[] PseudoSolve(double[,] a, double[] b)
    {
        var (values, vectors) = Eigen(a);
        int n = b.Length;
        double largest = values.Length == 0 ? 0 : values.Max(Math.Abs);
        var x = new double[n];
        for (int e = 0; e < n; e++)
        {
            if (!(values[e] > 1e-12 * largest)) continue;
            double projection = 0;
            for (int i = 0; i < n; i++) projection += vectors[i, e] * b[i];
            projection /= values[e];
            for (int i = 0; i < n; i++) x[i] += projection * vectors[i, e];
        }
        return x;
    }
}
