using System.Runtime.CompilerServices;
using MLExtensions.Numerics;

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

    /// <summary>
    /// Loss, gradient and (unless <paramref name="hessian"/> is null) Hessian restricted to the intercepts and the
    /// slopes of <paramref name="features"/> (ascending): blocks of 1 + |features| per boundary, so D = (K−1)(1 + |features|)
    /// and the Hessian is D × D, row-major. False when infeasible.
    /// </summary>
    bool Derivatives(double[] alpha, double[] beta, int[] features, double[] gradient, double[]? hessian, out double loss);
}

/// <summary>
/// A kernel that exposes its per-row derivatives and its columns, for the solver that never forms the Hessian
/// (<see cref="WorkingResponseModel"/>). Rows are sorted by class: those of class c are [ClassStart[c], ClassStart[c + 1]).
/// </summary>
internal interface IRowCurvatureKernel
{
    int[] ClassStart { get; }

    /// <summary>[K−1][rows]: weighted ∂ log P_i / ∂ η_ik (the loss gradient's negative); valid on the rows of classes k and k + 1.</summary>
    double[][] RowGradient { get; }

    /// <summary>[K−1][rows]: weighted ∂² (−log P_i) / ∂ η_ik²; valid on the rows of classes k and k + 1.</summary>
    double[][] RowDiagonal { get; }

    /// <summary>[K−1][rows]: entry k couples boundaries k − 1 and k; valid on the rows of class k.</summary>
    double[][] RowOffDiagonal { get; }

    /// <summary>Fills the per-row arrays at (α, β); false when a training row's boundaries cross.</summary>
    bool RowDerivatives(double[] alpha, double[] beta, out double loss);

    /// <summary>Standardised feature j as x̃_ij = (v_ij − mean)/deviation, v zero outside the listed rows.</summary>
    FeatureColumn Column(int feature);

    /// <summary>Whether <see cref="Column"/> lists non-zeros only (a block then costs its non-zeros, not every row).</summary>
    bool SparseColumns { get; }
}

/// <param name="Rows">Row of each stored value, ascending; null when the values are every row's (dense).</param>
/// <param name="Values">v: the column is entries [Start, Start + Length) of <paramref name="Rows"/> and this.</param>
/// <param name="Start">The column's first entry.</param>
/// <param name="Length">Its number of entries.</param>
/// <param name="Mean">The centring.</param>
/// <param name="Deviation">The scaling (positive).</param>
internal readonly record struct FeatureColumn(int[]? Rows, double[] Values, int Start, int Length, double Mean, double Deviation);

/// <summary>
/// The kernel in plain managed code, vectorised: features are kept feature-major so that the linear predictors are
/// axpy's and every Hessian entry is one dot product over the rows. Rows are grouped by class, so each boundary's
/// sums run only over the two classes it separates. Reductions use <see cref="FixedOrder"/>, so the same data always
/// give the same bits.
/// </summary>
internal sealed class ManagedCumulativeLogitKernel : ICumulativeLogitKernel, IRowCurvatureKernel
{
    private readonly int _boundaries;
    private readonly int _featureCount;
    private readonly double[][] _columns;     // [p][capacity]
    private readonly double[] _weights;       // w_i / W
    private readonly double[][] _eta;         // [K−1][capacity]
    private readonly double[][] _gradient;    // [K−1][capacity]: ∂ log P_i / ∂ η_ik, weighted
    private readonly double[][] _diagonal;    // [K−1][capacity]: weighted ∂² (−log P_i) / ∂ η_ik²
    private readonly double[][] _offDiagonal; // [K−1][capacity]: entry k couples boundaries k−1 and k
    private readonly double[] _scratch;
    private readonly int[] _classStart;       // rows of class k are [_classStart[k], _classStart[k + 1])
    private double[]? _offsets;               // [capacity]: the known term of each row, or null for none

    /// <summary>A kernel over all rows of <paramref name="problem"/>.</summary>
    public ManagedCumulativeLogitKernel(OrdinalProblem problem) : this(problem.FeatureCount, problem.ClassCount, problem.Rows) =>
        Load(problem.Densified().Features, problem.Labels, problem.Weights, problem.TotalWeight, offsets: problem.Offsets);

    /// <summary>An empty kernel for up to <paramref name="capacity"/> rows at a time (see <see cref="Load"/>).</summary>
    public ManagedCumulativeLogitKernel(int featureCount, int classCount, int capacity)
    {
        _boundaries = classCount - 1;
        _featureCount = featureCount;
        _columns = Matrix(featureCount, capacity);
        _weights = new double[capacity];
        _eta = Matrix(_boundaries, capacity);
        _gradient = Matrix(_boundaries, capacity);
        _diagonal = Matrix(_boundaries, capacity);
        _offDiagonal = Matrix(_boundaries, capacity);
        _scratch = new double[capacity];
        _classStart = new int[classCount + 1];
    }

    /// <summary>
    /// Makes the kernel's rows these (standardised, row-major features), or those of them <paramref name="include"/>
    /// keeps, their weights divided by <paramref name="totalWeight"/>: a block of a larger data set has its share of
    /// the whole's mean loss.
    /// </summary>
    public void Load(ReadOnlySpan<double> features, ReadOnlySpan<int> labels, ReadOnlySpan<double> weights, double totalWeight, Predicate<int>? include = null,
        double[]? offsets = null)
    {
        int n = labels.Length, p = _featureCount;
        if (offsets is not null) _offsets ??= new double[_weights.Length];
        else _offsets = null;
        // A stable counting sort by class.
        Array.Clear(_classStart);
        for (int i = 0; i < n; i++)
            if (include?.Invoke(i) ?? true) _classStart[labels[i] + 1]++;
        for (int k = 0; k < _boundaries + 1; k++) _classStart[k + 1] += _classStart[k];
        Span<int> next = stackalloc int[_classStart.Length];
        _classStart.CopyTo(next);
        for (int i = 0; i < n; i++)
        {
            if (!(include?.Invoke(i) ?? true)) continue;
            int r = next[labels[i]]++;
            for (int j = 0; j < p; j++) _columns[j][r] = features[i * p + j];
            _weights[r] = weights[i] / totalWeight;
            if (offsets is not null) _offsets![r] = offsets[i];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool Loss(double[] alpha, double[] beta, out double loss)
    {
        LinearPredictors(alpha, beta);
        return RowPass(derivatives: false, out loss);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool Derivatives(double[] alpha, double[] beta, int[] features, double[] gradient, double[]? hessian, out double loss)
    {
        int boundaries = _boundaries, block = features.Length + 1, d = boundaries * block;
        LinearPredictors(alpha, beta);
        if (!RowPass(derivatives: true, out loss)) return false;

        // Boundary k involves the rows of classes k and k + 1; the pair (k − 1, k) those of class k.
        for (int k = 0; k < boundaries; k++)
        {
            var (start, length) = (_classStart[k], _classStart[k + 2] - _classStart[k]);
            var g = _gradient[k].AsSpan(start, length);
            gradient[k * block] = -FixedOrder.Sum(g);
            for (int q = 0; q < features.Length; q++) gradient[k * block + 1 + q] = -FixedOrder.Dot(g, _columns[features[q]].AsSpan(start, length));
        }
        if (hessian is null) return true;
        Array.Clear(hessian, 0, d * d);
        for (int k = 0; k < boundaries; k++)
        {
            WeightedGram(_diagonal[k], _classStart[k], _classStart[k + 2], features, hessian, d, k * block, k * block, symmetric: true);
            if (k > 0) WeightedGram(_offDiagonal[k], _classStart[k], _classStart[k + 1], features, hessian, d, (k - 1) * block, k * block, symmetric: false);
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
        return RowPass(derivatives: true, out loss);
    }

    public FeatureColumn Column(int feature) => new(null, _columns[feature], 0, _classStart[^1], 0, 1);

    public bool SparseColumns => false;

    /// <summary>
    /// The loss and, with <paramref name="derivatives"/>, each row's weighted derivatives with respect to the (at most
    /// two) predictors it depends on; false when a row's boundaries cross. Every entry the sums of
    /// <see cref="Derivatives"/> read is written here (boundary k's by the rows of classes k and k + 1).
    /// </summary>
    private bool RowPass(bool derivatives, out double loss) =>
        RowPass(_boundaries, _classStart, _weights, _eta, _gradient, _diagonal, _offDiagonal, derivatives, out loss);

    /// <summary>
    /// <see cref="RowPass(bool, out double)"/> over rows sorted by class (<paramref name="classStart"/>), with the
    /// predictors <paramref name="eta"/> and the derivatives' arrays as <see cref="ManagedCumulativeLogitKernel"/>
    /// lays them out ([K−1][rows]); shared with <see cref="SparseCumulativeLogitKernel"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static bool RowPass(int boundaries, int[] classStart, double[] weights, double[][] eta, double[][] gradient, double[][] diagonal,
        double[][] offDiagonal, bool derivatives, out double loss)
    {
        int highest = boundaries;
        double sum = 0;
        for (int c = 0; c <= highest; c++)
        {
            // Class c sits between boundaries c − 1 (its lower predictor) and c (its upper one).
            var upper = c < highest ? eta[c] : null;
            var lower = c > 0 ? eta[c - 1] : null;
            for (int i = classStart[c]; i < classStart[c + 1]; i++)
            {
                RowDerivatives t;
                if (lower is null) t = CumulativeLogit.LowestClass(upper![i]);
                else if (upper is null) t = CumulativeLogit.HighestClass(lower[i]);
                else if (!CumulativeLogit.MiddleClass(upper[i], lower[i], out t))
                {
                    loss = double.PositiveInfinity;
                    return false;
                }
                double w = weights[i];
                sum += w * t.LogP;
                if (!derivatives) continue;
                if (upper is not null)
                {
                    gradient[c][i] = w * t.GradientUpper;
                    diagonal[c][i] = w * t.UpperUpper;
                }
                if (lower is not null)
                {
                    gradient[c - 1][i] = w * t.GradientLower;
                    diagonal[c - 1][i] = w * t.LowerLower;
                    if (upper is not null) offDiagonal[c][i] = w * t.UpperLower;
                }
            }
        }
        loss = -sum;
        return true;
    }

    /// <summary>
    /// Writes <c>Σ_i c_i z_i z_iᵀ</c> (z = (1, x_features)) over rows [from, to) at (row0, col0); only the upper
    /// triangle of a symmetric block.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void WeightedGram(double[] coefficient, int from, int to, int[] features, double[] hessian, int d, int row0, int col0, bool symmetric)
    {
        int block = features.Length + 1, length = to - from;
        var c = coefficient.AsSpan(from, length);
        var weighted = _scratch.AsSpan(0, length);
        for (int r = 0; r < block; r++)
        {
            if (r == 0) c.CopyTo(weighted);
            else FixedOrder.Multiply(c, _columns[features[r - 1]].AsSpan(from, length), weighted);
            for (int col = symmetric ? r : 0; col < block; col++)
                hessian[(row0 + r) * d + col0 + col] = col == 0 ? FixedOrder.Sum(weighted) : FixedOrder.Dot(weighted, _columns[features[col - 1]].AsSpan(from, length));
        }
    }

    /// <summary>η_k on the rows that use it: those of classes k and k + 1 (the others' entries are stale).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void LinearPredictors(double[] alpha, double[] beta)
    {
        int p = _featureCount;
        for (int k = 0; k < alpha.Length; k++)
        {
            int start = _classStart[k], length = _classStart[k + 2] - start;
            var eta = _eta[k].AsSpan(start, length);
            if (_offsets is null) eta.Fill(alpha[k]);
            else
            {
                // The same order of operations as η = α + offset per row, whatever the block.
                var offsets = _offsets.AsSpan(start, length);
                for (int i = 0; i < length; i++) eta[i] = alpha[k] + offsets[i];
            }
            for (int j = 0; j < p; j++)
            {
                double b = beta[k * p + j];
                if (b != 0) FixedOrder.AddScaled(_columns[j].AsSpan(start, length), b, eta);
            }
        }
    }

    private static double[][] Matrix(int rows, int columns) => Enumerable.Range(0, rows).Select(_ => new double[columns]).ToArray();

    public void Dispose()
    {
    }
}
