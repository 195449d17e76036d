namespace MLExtensions.Ordinal;

/// <summary>
/// The data-sized work of the cumulative-logit solvers: the mean negative log-likelihood
/// <c>L = −(1/W) Σ w_i log P(y_i | x_i)</c>, its gradient and its Hessian, in the coordinates
/// b = (α_k, β_k1..β_kp) per boundary k (blocks of p + 1).
/// </summary>
internal interface ICumulativeLogitKernel : IDisposable
{
    /// <summary>The loss, or false when a training row's boundaries cross (the loss is then +∞).</summary>
    bool Loss(double[] alpha, double[] beta, out double loss);

    /// <summary>Loss, gradient (length D) and Hessian (D × D, row-major) with D = (K−1)(p+1); false when infeasible.</summary>
    bool Derivatives(double[] alpha, double[] beta, double[] gradient, double[] hessian, out double loss);
}

/// <summary>
/// The kernel in plain managed code, vectorised: features are kept feature-major so that the linear predictors are
/// axpy's and every Hessian entry is one dot product over the rows. Rows are grouped by class, so each boundary's
/// sums run only over the two classes it separates. Reductions use <see cref="FixedOrder"/>, so the same data always
/// give the same bits.
/// </summary>
internal sealed class ManagedCumulativeLogitKernel : ICumulativeLogitKernel
{
    private readonly OrdinalProblem _problem;
    private readonly double[][] _columns;     // [p][n]
    private readonly double[] _weights;       // w_i / W
    private readonly double[][] _eta;         // [K−1][n]
    private readonly double[][] _gradient;    // [K−1][n]: ∂ log P_i / ∂ η_ik, weighted
    private readonly double[][] _diagonal;    // [K−1][n]: weighted ∂² (−log P_i) / ∂ η_ik²
    private readonly double[][] _offDiagonal; // [K−1][n]: entry k couples boundaries k−1 and k
    private readonly double[] _scratch;
    private readonly int[] _labels;           // sorted by class
    private readonly int[] _classStart;       // rows of class k are [_classStart[k], _classStart[k + 1])

    public ManagedCumulativeLogitKernel(OrdinalProblem problem)
    {
        _problem = problem;
        int n = problem.Rows, p = problem.FeatureCount, b = problem.Boundaries;
        var order = Enumerable.Range(0, n).OrderBy(i => problem.Labels[i]).ThenBy(i => i).ToArray();
        _labels = order.Select(i => problem.Labels[i]).ToArray();
        _classStart = new int[problem.ClassCount + 1];
        foreach (var y in _labels) _classStart[y + 1]++;
        for (int k = 0; k < problem.ClassCount; k++) _classStart[k + 1] += _classStart[k];
        _columns = new double[p][];
        for (int j = 0; j < p; j++)
        {
            _columns[j] = new double[n];
            for (int r = 0; r < n; r++) _columns[j][r] = problem.Features[order[r] * p + j];
        }
        _weights = order.Select(i => problem.Weights[i] / problem.TotalWeight).ToArray();
        _eta = Matrix(b, n);
        _gradient = Matrix(b, n);
        _diagonal = Matrix(b, n);
        _offDiagonal = Matrix(b, n);
        _scratch = new double[n];
    }

    public bool Loss(double[] alpha, double[] beta, out double loss)
    {
        LinearPredictors(alpha, beta);
        Span<double> eta = stackalloc double[_problem.Boundaries];
        double sum = 0;
        for (int i = 0; i < _problem.Rows; i++)
        {
            for (int k = 0; k < eta.Length; k++) eta[k] = _eta[k][i];
            if (!CumulativeLogit.RowTerms(eta, _labels[i], out var terms))
            {
                loss = double.PositiveInfinity;
                return false;
            }
            sum += _weights[i] * terms.LogP;
        }
        loss = -sum;
        return true;
    }

    public bool Derivatives(double[] alpha, double[] beta, double[] gradient, double[] hessian, out double loss)
    {
        int boundaries = _problem.Boundaries, p = _problem.FeatureCount, block = p + 1, d = boundaries * block;
        LinearPredictors(alpha, beta);
        foreach (var row in _gradient) Array.Clear(row);
        foreach (var row in _diagonal) Array.Clear(row);
        foreach (var row in _offDiagonal) Array.Clear(row);
        Span<double> eta = stackalloc double[boundaries];
        double sum = 0;
        for (int i = 0; i < _problem.Rows; i++)
        {
            for (int k = 0; k < boundaries; k++) eta[k] = _eta[k][i];
            int y = _labels[i];
            if (!CumulativeLogit.RowTerms(eta, y, out var t))
            {
                loss = double.PositiveInfinity;
                return false;
            }
            double w = _weights[i];
            sum += w * t.LogP;
            if (y < boundaries)
            {
                _gradient[y][i] += w * t.GradientUpper;
                _diagonal[y][i] += w * t.UpperUpper;
            }
            if (y > 0)
            {
                _gradient[y - 1][i] += w * t.GradientLower;
                _diagonal[y - 1][i] += w * t.LowerLower;
                if (y < boundaries) _offDiagonal[y][i] = w * t.UpperLower;
            }
        }
        loss = -sum;

        // Boundary k involves the rows of classes k and k + 1; the pair (k − 1, k) those of class k.
        for (int k = 0; k < boundaries; k++)
        {
            var (start, length) = (_classStart[k], _classStart[k + 2] - _classStart[k]);
            var g = _gradient[k].AsSpan(start, length);
            gradient[k * block] = -FixedOrder.Sum(g);
            for (int j = 0; j < p; j++) gradient[k * block + 1 + j] = -FixedOrder.Dot(g, _columns[j].AsSpan(start, length));
        }
        Array.Clear(hessian);
        for (int k = 0; k < boundaries; k++)
        {
            WeightedGram(_diagonal[k], _classStart[k], _classStart[k + 2], hessian, d, k * block, k * block, symmetric: true);
            if (k > 0) WeightedGram(_offDiagonal[k], _classStart[k], _classStart[k + 1], hessian, d, (k - 1) * block, k * block, symmetric: false);
        }
        // The blocks above were written on and above the diagonal; mirror them.
        for (int r = 0; r < d; r++)
            for (int c = r + 1; c < d; c++)
                hessian[c * d + r] = hessian[r * d + c];
        return true;
    }

    /// <summary>
    /// Writes <c>Σ_i c_i z_i z_iᵀ</c> (z = (1, x)) over rows [from, to) at (row0, col0); only the upper triangle of a
    /// symmetric block.
    /// </summary>
    private void WeightedGram(double[] coefficient, int from, int to, double[] hessian, int d, int row0, int col0, bool symmetric)
    {
        int block = _problem.FeatureCount + 1, length = to - from;
        var c = coefficient.AsSpan(from, length);
        var weighted = _scratch.AsSpan(0, length);
        for (int r = 0; r < block; r++)
        {
            if (r == 0) c.CopyTo(weighted);
            else FixedOrder.Multiply(c, _columns[r - 1].AsSpan(from, length), weighted);
            for (int col = symmetric ? r : 0; col < block; col++)
                hessian[(row0 + r) * d + col0 + col] = col == 0 ? FixedOrder.Sum(weighted) : FixedOrder.Dot(weighted, _columns[col - 1].AsSpan(from, length));
        }
    }

    private void LinearPredictors(double[] alpha, double[] beta)
    {
        int p = _problem.FeatureCount;
        for (int k = 0; k < alpha.Length; k++)
        {
            var eta = _eta[k];
            Array.Fill(eta, alpha[k]);
            for (int j = 0; j < p; j++)
            {
                double b = beta[k * p + j];
                if (b != 0) FixedOrder.AddScaled(_columns[j], b, eta);
            }
        }
    }

    private static double[][] Matrix(int rows, int columns) => Enumerable.Range(0, rows).Select(_ => new double[columns]).ToArray();

    public void Dispose()
    {
    }
}

/// <summary>
/// Small SIMD kernels whose order of operations depends only on the length of the data, never on where the arrays
/// sit in memory or on the hardware's fused multiply-add, so the same data give the same bits ("same seed, same
/// model"), which a library free to split loops by alignment does not promise.
/// </summary>
internal static class FixedOrder
{
    public static double Sum(ReadOnlySpan<double> x)
    {
        int width = System.Numerics.Vector<double>.Count, i = 0;
        var accumulator = System.Numerics.Vector<double>.Zero;
        for (; i <= x.Length - width; i += width) accumulator += new System.Numerics.Vector<double>(x.Slice(i, width));
        double sum = System.Numerics.Vector.Sum(accumulator);
        for (; i < x.Length; i++) sum += x[i];
        return sum;
    }

    /// <summary>z = x ⊙ y.</summary>
    public static void Multiply(ReadOnlySpan<double> x, ReadOnlySpan<double> y, Span<double> z)
    {
        int width = System.Numerics.Vector<double>.Count, i = 0;
        for (; i <= x.Length - width; i += width)
            (new System.Numerics.Vector<double>(x.Slice(i, width)) * new System.Numerics.Vector<double>(y.Slice(i, width))).CopyTo(z.Slice(i, width));
        for (; i < x.Length; i++) z[i] = x[i] * y[i];
    }

    /// <summary>y += a·x, rounding the product before the sum everywhere.</summary>
    public static void AddScaled(ReadOnlySpan<double> x, double a, Span<double> y)
    {
        int width = System.Numerics.Vector<double>.Count, i = 0;
        for (; i <= x.Length - width; i += width)
            (new System.Numerics.Vector<double>(y.Slice(i, width)) + new System.Numerics.Vector<double>(x.Slice(i, width)) * a).CopyTo(y.Slice(i, width));
        for (; i < x.Length; i++) y[i] += x[i] * a;
    }

    public static double Dot(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
    {
        int width = System.Numerics.Vector<double>.Count, i = 0;
        var accumulator = System.Numerics.Vector<double>.Zero;
        for (; i <= x.Length - width; i += width)
            accumulator += new System.Numerics.Vector<double>(x.Slice(i, width)) * new System.Numerics.Vector<double>(y.Slice(i, width));
        double sum = System.Numerics.Vector.Sum(accumulator);
        for (; i < x.Length; i++) sum += x[i] * y[i];
        return sum;
    }
}
