using System.Runtime.CompilerServices;
using MLExtensions.Numerics;

namespace MLExtensions.Ordinal;

/// <summary>
/// The managed kernel for rows held as their non-zeros (<see cref="SparseFeatures"/>): the linear predictors, the
/// gradient's Xᵀg and the Hessian's weighted Gram matrix run over the non-zeros only, and the standardisation enters
/// through the column means (centring is never applied to the data: Σ c_i x̃_ij = (Σ c_i x_ij − mean_j Σ c_i)/sd_j,
/// and likewise for products of two columns). Rows are grouped by class as in
/// <see cref="ManagedCumulativeLogitKernel"/>, whose per-row pass it shares; sums run in a fixed order, so the same
/// data give the same bits.
/// </summary>
internal sealed class SparseCumulativeLogitKernel : ICumulativeLogitKernel, IRowCurvatureKernel
{
    private readonly int _boundaries;
    private readonly SparseFeatures _rows;    // sorted by class
    private readonly double[] _weights;       // w_i / W
    private readonly double[]? _offsets;
    private readonly int[] _classStart;
    private readonly double[][] _eta;
    private readonly double[][] _gradient;
    private readonly double[][] _diagonal;
    private readonly double[][] _offDiagonal;
    private readonly double[] _scaled;        // β on the original scale, boundary-major
    private readonly double[] _shift;         // per boundary: −Σ_j b_kj mean_j
    private readonly double[] _columnSums;    // [p]: Σ_i c_i x_ij over the current rows
    private readonly int[] _position;         // [p]: a feature's place in the Hessian's feature list, or −1
    private double[] _gram = [];
    private int[]? _columnStarts;             // the non-zeros by column (built when first asked for)
    private int[]? _columnRows;
    private double[]? _columnValues;

    public SparseCumulativeLogitKernel(OrdinalProblem problem)
    {
        var sparse = problem.Sparse ?? throw new ArgumentException("The sparse kernel needs rows held as their non-zeros.", nameof(problem));
        _boundaries = problem.Boundaries;
        int n = problem.Rows, p = problem.FeatureCount;
        // A stable counting sort by class.
        _classStart = new int[problem.ClassCount + 1];
        foreach (int label in problem.Labels) _classStart[label + 1]++;
        for (int k = 0; k < problem.ClassCount; k++) _classStart[k + 1] += _classStart[k];
        var next = (int[])_classStart.Clone();
        var order = new int[n];
        for (int i = 0; i < n; i++) order[next[problem.Labels[i]]++] = i;
        _rows = sparse.Subset(order);
        _weights = order.Select(i => problem.Weights[i] / problem.TotalWeight).ToArray();
        _offsets = problem.Offsets is { } offsets ? order.Select(i => offsets[i]).ToArray() : null;
        _eta = Matrix(_boundaries, n);
        _gradient = Matrix(_boundaries, n);
        _diagonal = Matrix(_boundaries, n);
        _offDiagonal = Matrix(_boundaries, n);
        _scaled = new double[_boundaries * p];
        _shift = new double[_boundaries];
        _columnSums = new double[p];
        _position = Enumerable.Repeat(-1, p).ToArray();
    }

    public bool Loss(double[] alpha, double[] beta, out double loss)
    {
        LinearPredictors(alpha, beta);
        return ManagedCumulativeLogitKernel.RowPass(_boundaries, _classStart, _weights, _eta, _gradient, _diagonal, _offDiagonal, derivatives: false, out loss);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool Derivatives(double[] alpha, double[] beta, int[] features, double[] gradient, double[]? hessian, out double loss)
    {
        int block = features.Length + 1, d = _boundaries * block;
        LinearPredictors(alpha, beta);
        if (!ManagedCumulativeLogitKernel.RowPass(_boundaries, _classStart, _weights, _eta, _gradient, _diagonal, _offDiagonal, derivatives: true, out loss))
            return false;
        for (int k = 0; k < _boundaries; k++)
        {
            int from = _classStart[k], to = _classStart[k + 2];
            double total = FixedOrder.Sum(_gradient[k].AsSpan(from, to - from));
            gradient[k * block] = -total;
            if (features.Length == 0) continue;
            ColumnSums(_gradient[k], from, to);
            for (int q = 0; q < features.Length; q++) gradient[k * block + 1 + q] = -Centred(features[q], _columnSums[features[q]], total);
        }
        if (hessian is null) return true;
        Array.Clear(hessian, 0, d * d);
        for (int q = 0; q < features.Length; q++) _position[features[q]] = q;
        try
        {
            for (int k = 0; k < _boundaries; k++)
            {
                WeightedGram(_diagonal[k], _classStart[k], _classStart[k + 2], features, hessian, d, k * block, k * block);
                if (k > 0) WeightedGram(_offDiagonal[k], _classStart[k], _classStart[k + 1], features, hessian, d, (k - 1) * block, k * block);
            }
        }
        finally
        {
            foreach (int j in features) _position[j] = -1;
        }
        // The blocks above were written on and above the diagonal; mirror them.
        for (int r = 0; r < d; r++)
            for (int c = r + 1; c < d; c++)
                hessian[c * d + r] = hessian[r * d + c];
        return true;
    }

    public int[] ClassStart => _classStart;

    public double[][] RowGradient => _gradient;

    public double[][] RowDiagonal => _diagonal;

    public double[][] RowOffDiagonal => _offDiagonal;

    public bool RowDerivatives(double[] alpha, double[] beta, out double loss)
    {
        LinearPredictors(alpha, beta);
        return ManagedCumulativeLogitKernel.RowPass(_boundaries, _classStart, _weights, _eta, _gradient, _diagonal, _offDiagonal, derivatives: true, out loss);
    }

    public FeatureColumn Column(int feature)
    {
        if (_columnStarts is null) Transpose();
        double sd = _rows.Deviations[feature];
        if (!(sd > 0)) return new FeatureColumn(_columnRows, _columnValues!, 0, 0, 0, 1);
        int from = _columnStarts![feature];
        return new FeatureColumn(_columnRows, _columnValues!, from, _columnStarts[feature + 1] - from, _rows.Means[feature], sd);
    }

    public bool SparseColumns => true;

    /// <summary>The non-zeros in compressed sparse columns, rows ascending within each.</summary>
    private void Transpose()
    {
        int p = _rows.FeatureCount;
        var starts = new int[p + 1];
        foreach (int j in _rows.Indices) starts[j + 1]++;
        for (int j = 0; j < p; j++) starts[j + 1] += starts[j];
        var next = (int[])starts.Clone();
        var rows = new int[_rows.Indices.Length];
        var values = new double[rows.Length];
        for (int i = 0; i < _rows.Rows; i++)
            for (int e = _rows.RowStarts[i]; e < _rows.RowStarts[i + 1]; e++)
            {
                int slot = next[_rows.Indices[e]]++;
                rows[slot] = i;
                values[slot] = _rows.Values[e];
            }
        (_columnStarts, _columnRows, _columnValues) = (starts, rows, values);
    }

    /// <summary>Σ_i c_i x̃_ij from the raw Σ_i c_i x_ij and Σ_i c_i (0 for a constant feature).</summary>
    private double Centred(int feature, double sum, double total)
    {
        double sd = _rows.Deviations[feature];
        return sd > 0 ? (sum - _rows.Means[feature] * total) / sd : 0;
    }

    /// <summary><see cref="_columnSums"/> = Σ_i c_i x_i over rows [from, to), every feature.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ColumnSums(double[] coefficient, int from, int to)
    {
        Array.Clear(_columnSums);
        var (starts, indices, values) = (_rows.RowStarts, _rows.Indices, _rows.Values);
        for (int i = from; i < to; i++)
        {
            double c = coefficient[i];
            if (c == 0) continue;
            for (int e = starts[i]; e < starts[i + 1]; e++) _columnSums[indices[e]] += c * values[e];
        }
    }

    /// <summary>
    /// Writes <c>Σ_i c_i z_i z_iᵀ</c> (z = (1, x̃_features)) over rows [from, to) at (row0, col0), on and above the
    /// diagonal: the raw sums over the non-zeros among <paramref name="features"/>, then centred and scaled.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void WeightedGram(double[] coefficient, int from, int to, int[] features, double[] hessian, int d, int row0, int col0)
    {
        int m = features.Length;
        if (_gram.Length < m * (m + 1)) _gram = new double[m * (m + 1)];
        var sums = _gram.AsSpan(0, m);            // Σ c_i x_iq
        var products = _gram.AsSpan(m, m * m);    // Σ c_i x_iq x_ir, q ≤ r
        sums.Clear();
        products.Clear();
        var (starts, indices, values) = (_rows.RowStarts, _rows.Indices, _rows.Values);
        double total = FixedOrder.Sum(coefficient.AsSpan(from, to - from));
        for (int i = from; i < to; i++)
        {
            double c = coefficient[i];
            if (c == 0) continue;
            // Indices ascend within a row and positions follow the features' order, so q < r for a before b.
            for (int a = starts[i]; a < starts[i + 1]; a++)
            {
                int q = _position[indices[a]];
                if (q < 0) continue;
                double cx = c * values[a];
                sums[q] += cx;
                for (int b = a; b < starts[i + 1]; b++)
                {
                    int r = _position[indices[b]];
                    if (r >= 0) products[q * m + r] += cx * values[b];
                }
            }
        }
        hessian[row0 * d + col0] = total;
        for (int q = 0; q < m; q++)
        {
            double centred = Centred(features[q], sums[q], total);
            hessian[row0 * d + col0 + 1 + q] = centred;
            hessian[(row0 + 1 + q) * d + col0] = centred;
        }
        for (int q = 0; q < m; q++)
        {
            double sq = _rows.Deviations[features[q]], mq = _rows.Means[features[q]];
            for (int r = q; r < m; r++)
            {
                double sr = _rows.Deviations[features[r]], mr = _rows.Means[features[r]];
                double value = sq > 0 && sr > 0 ? (products[q * m + r] - mr * sums[q] - mq * sums[r] + mq * mr * total) / (sq * sr) : 0;
                hessian[(row0 + 1 + q) * d + col0 + 1 + r] = value;
                hessian[(row0 + 1 + r) * d + col0 + 1 + q] = value;
            }
        }
    }

    /// <summary>η_k on the rows that use it (classes k and k + 1), from the original-scale coefficients.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void LinearPredictors(double[] alpha, double[] beta)
    {
        int p = _rows.FeatureCount;
        _rows.OriginalScale(beta, _scaled, _shift);
        for (int k = 0; k < _boundaries; k++)
        {
            var coefficients = _scaled.AsSpan(k * p, p);
            double constant = alpha[k] + _shift[k];
            var eta = _eta[k];
            for (int i = _classStart[k]; i < _classStart[k + 2]; i++)
                eta[i] = constant + (_offsets?[i] ?? 0) + _rows.Dot(i, coefficients);
        }
    }

    private static double[][] Matrix(int rows, int columns) => Enumerable.Range(0, rows).Select(_ => new double[columns]).ToArray();

    public void Dispose()
    {
    }
}
