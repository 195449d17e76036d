using System.Runtime.CompilerServices;

namespace MLExtensions.Ordinal;

/// <summary>
/// The quadratic model of the loss at one point, kept as per-row working residuals instead of a Hessian (glmnet's
/// working response): r_i = g_i + H_i Δη_i, with g_i and the 2 × 2 H_i the row's derivatives with respect to the two
/// predictors it depends on. A block of coefficients (the intercepts, or one feature's K − 1 slopes) reads its model
/// gradient and its small tridiagonal curvature from its column's entries only, and a move of the block updates the
/// residuals of those rows only, so a sparse column costs its non-zeros.
/// </summary>
/// <remarks>
/// The standardised column is (v − mean)/sd with v mostly zero; its centring moves every row's predictor alike, so
/// it is kept with the intercepts' moves in one shift per boundary (Δa), and the residuals hold only the part that
/// follows the non-zeros: r_ik = ρ_ik + Σ_l H_ikl Δa_l.
/// </remarks>
internal sealed class WorkingResponseModel
{
    private readonly IRowCurvatureKernel _kernel;
    private readonly double[][] _diagonal;      // the kernel's per-row arrays, held here so the loops read no interface
    private readonly double[][] _offDiagonal;
    private readonly int _boundaries;
    private readonly int[] _classOf;
    private readonly FeatureColumn[] _columns;
    private readonly double[][] _residual;      // ρ_ik, valid on boundary k's rows (classes k and k + 1)
    private readonly double[] _residualSum;     // Σ_i ρ_ik over boundary k's rows
    private readonly double[] _shift;           // Δa_k
    private readonly double[] _totalDiagonal;   // Σ_i H_ikk
    private readonly double[] _totalOff;        // entry k: Σ_i H_i,k−1,k
    private readonly double[][] _curvature;     // per feature: its tridiagonal block (diagonal, then couplings), once known
    private readonly bool[] _curvatureKnown;

    /// <param name="kernel">The rows.</param>
    /// <param name="boundaries">K − 1.</param>
    /// <param name="features">The features whose blocks the model serves, in the order callers number them.</param>
    public WorkingResponseModel(IRowCurvatureKernel kernel, int boundaries, int[] features)
    {
        _kernel = kernel;
        (_diagonal, _offDiagonal) = (kernel.RowDiagonal, kernel.RowOffDiagonal);
        _boundaries = boundaries;
        var classStart = kernel.ClassStart;
        int rows = classStart[^1];
        _classOf = new int[rows];
        for (int c = 0; c + 1 < classStart.Length; c++) _classOf.AsSpan(classStart[c], classStart[c + 1] - classStart[c]).Fill(c);
        _columns = features.Select(kernel.Column).ToArray();
        _residual = Enumerable.Range(0, boundaries).Select(_ => new double[rows]).ToArray();
        _residualSum = new double[boundaries];
        _shift = new double[boundaries];
        _totalDiagonal = new double[boundaries];
        _totalOff = new double[boundaries];
        _curvature = features.Select(_ => new double[2 * boundaries]).ToArray();
        _curvatureKnown = new bool[features.Length];
    }

    /// <summary>Starts the model at the point whose per-row derivatives the kernel holds, with no step taken.</summary>
    public void Reset()
    {
        var start = _kernel.ClassStart;
        for (int k = 0; k < _boundaries; k++)
        {
            double sum = 0, diagonal = 0;
            var (residual, gradient, curvature) = (_residual[k], _kernel.RowGradient[k], _diagonal[k]);
            for (int i = start[k]; i < start[k + 2]; i++)
            {
                residual[i] = -gradient[i];
                sum += residual[i];
                diagonal += curvature[i];
            }
            (_residualSum[k], _totalDiagonal[k]) = (sum, diagonal);
            double off = 0;
            if (k > 0)
                for (int i = start[k]; i < start[k + 1]; i++) off += _offDiagonal[k][i];
            _totalOff[k] = off;
        }
        Array.Clear(_shift);
        Array.Clear(_curvatureKnown);
    }

    /// <summary>The model's gradient with respect to the intercepts: Σ_i r_ik over boundary k's rows.</summary>
    public void InterceptGradient(Span<double> gradient)
    {
        for (int k = 0; k < _boundaries; k++)
        {
            double sum = _residualSum[k] + _totalDiagonal[k] * _shift[k];
            if (k > 0) sum += _totalOff[k] * _shift[k - 1];
            if (k + 1 < _boundaries) sum += _totalOff[k + 1] * _shift[k + 1];
            gradient[k] = sum;
        }
    }

    /// <summary>The intercepts' curvature Σ_i H_i as a dense (K − 1) × (K − 1) matrix.</summary>
    public void InterceptCurvature(double[,] curvature) => Tridiagonal(_totalDiagonal, _totalOff, curvature);

    /// <summary>Moves the intercepts by <paramref name="change"/>.</summary>
    public void MoveIntercepts(ReadOnlySpan<double> change)
    {
        for (int k = 0; k < _boundaries; k++) _shift[k] += change[k];
    }

    /// <summary>The model's gradient with respect to feature <paramref name="q"/>'s slopes β_k: Σ_i x̃_i r_ik.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void FeatureGradient(int q, Span<double> gradient)
    {
        var column = _columns[q];
        Span<double> sums = stackalloc double[_boundaries];
        sums.Clear();
        int highest = _boundaries;
        for (int e = column.Start; e < column.Start + column.Length; e++)
        {
            int i = column.Rows?[e] ?? e, c = _classOf[i];
            double v = column.Values[e];
            if (v == 0) continue;
            if (c > 0) sums[c - 1] += v * Residual(i, c - 1, c);
            if (c < highest) sums[c] += v * Residual(i, c, c);
        }
        Span<double> totals = stackalloc double[_boundaries];
        if (column.Mean != 0) InterceptGradient(totals);
        for (int k = 0; k < _boundaries; k++) gradient[k] = (sums[k] - (column.Mean != 0 ? column.Mean * totals[k] : 0)) / column.Deviation;
    }

    /// <summary>Feature <paramref name="q"/>'s curvature Σ_i x̃_i² H_i, a dense (K − 1) × (K − 1) matrix (computed once per point).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void FeatureCurvature(int q, double[,] curvature)
    {
        var block = _curvature[q];
        if (!_curvatureKnown[q])
        {
            var column = _columns[q];
            int highest = _boundaries;
            var (diagonal, off) = (_diagonal, _offDiagonal);
            // Σ v² c and Σ v c, for each diagonal entry then each coupling.
            Span<double> squares = stackalloc double[2 * _boundaries];
            Span<double> linear = stackalloc double[2 * _boundaries];
            squares.Clear();
            linear.Clear();
            for (int e = column.Start; e < column.Start + column.Length; e++)
            {
                int i = column.Rows?[e] ?? e, c = _classOf[i];
                double v = column.Values[e];
                if (v == 0) continue;
                if (c > 0)
                {
                    squares[c - 1] += v * v * diagonal[c - 1][i];
                    linear[c - 1] += v * diagonal[c - 1][i];
                }
                if (c < highest)
                {
                    squares[c] += v * v * diagonal[c][i];
                    linear[c] += v * diagonal[c][i];
                    if (c > 0)
                    {
                        squares[_boundaries + c] += v * v * off[c][i];
                        linear[_boundaries + c] += v * off[c][i];
                    }
                }
            }
            double m = column.Mean, scale = column.Deviation * column.Deviation;
            for (int k = 0; k < _boundaries; k++)
            {
                block[k] = (squares[k] - 2 * m * linear[k] + m * m * _totalDiagonal[k]) / scale;
                int o = _boundaries + k;
                block[o] = k > 0 ? (squares[o] - 2 * m * linear[o] + m * m * _totalOff[k]) / scale : 0;
            }
            _curvatureKnown[q] = true;
        }
        Tridiagonal(block.AsSpan(0, _boundaries), block.AsSpan(_boundaries), curvature);
    }

    /// <summary>Moves feature <paramref name="q"/>'s slopes β_k by <paramref name="change"/>, updating the residuals of its rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void MoveFeature(int q, ReadOnlySpan<double> change)
    {
        var column = _columns[q];
        int highest = _boundaries;
        var (diagonal, off) = (_diagonal, _offDiagonal);
        for (int e = column.Start; e < column.Start + column.Length; e++)
        {
            int i = column.Rows?[e] ?? e, c = _classOf[i];
            double x = column.Values[e] / column.Deviation;
            if (x == 0) continue;
            double lower = c > 0 ? x * change[c - 1] : 0, upper = c < highest ? x * change[c] : 0;
            double coupling = c > 0 && c < highest ? off[c][i] : 0;
            if (c > 0)
            {
                double delta = diagonal[c - 1][i] * lower + coupling * upper;
                _residual[c - 1][i] += delta;
                _residualSum[c - 1] += delta;
            }
            if (c < highest)
            {
                double delta = diagonal[c][i] * upper + coupling * lower;
                _residual[c][i] += delta;
                _residualSum[c] += delta;
            }
        }
        if (column.Mean != 0)
            for (int k = 0; k < _boundaries; k++) _shift[k] -= column.Mean / column.Deviation * change[k];
    }

    /// <summary>r_ik for row i of class c at boundary k (c − 1 or c).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private double Residual(int i, int k, int c)
    {
        double r = _residual[k][i] + _diagonal[k][i] * _shift[k];
        int other = k == c ? c - 1 : c;
        if (other >= 0 && other < _boundaries) r += _offDiagonal[c][i] * _shift[other];
        return r;
    }

    private void Tridiagonal(ReadOnlySpan<double> diagonal, ReadOnlySpan<double> off, double[,] matrix)
    {
        for (int k = 0; k < _boundaries; k++)
            for (int l = 0; l < _boundaries; l++)
                matrix[k, l] = k == l ? diagonal[k] : l == k - 1 ? off[k] : k == l - 1 ? off[l] : 0;
    }
}
