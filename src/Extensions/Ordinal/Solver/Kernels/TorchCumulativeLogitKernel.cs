using TorchSharp;
using static MLExtensions.Torch.HeldScalars;
using static TorchSharp.torch;

namespace MLExtensions.Ordinal;

/// <summary>
/// The cumulative-logit kernel with TorchSharp tensors (float64, on the training device): the Hessian's blocks are
/// weighted Gram matrices <c>Zᵀ·diag(c)·Z</c>, which BLAS computes far faster than a loop once the data are large.
/// </summary>
internal sealed class TorchCumulativeLogitKernel : ICumulativeLogitKernel
{
    private readonly OrdinalProblem _problem;
    private readonly Device _device;
    private readonly Tensor _z;          // [n, p+1]: a column of ones, then the features
    private readonly Tensor _upper;      // [n, 1]: index of the row's upper boundary in the padded predictors
    private readonly Tensor _lower;      // [n, 1]: index of its lower boundary
    private readonly Tensor _weights;    // [n, 1]: w_i / W
    private readonly Tensor? _offsets;   // [n, 1]: the known term of each row, or null for none

    public TorchCumulativeLogitKernel(OrdinalProblem problem, Device device)
    {
        _problem = problem;
        _device = device;
        using var scope = NewDisposeScope();
        int n = problem.Rows, p = problem.FeatureCount;
        // Dense tensors only: the fitter picks dense rows for this backend (refusing beforehand when they would not fit).
        var x = tensor(problem.Densified().Features!, [n, p], ScalarType.Float64, device);
        _z = cat([ones(n, 1, ScalarType.Float64, device), x], 1).MoveToOuterDisposeScope();
        var labels = tensor(problem.Labels.Select(v => (long)v).ToArray(), [n, 1], device: device);
        // Padded predictors are [−∞, η_1..η_{K−1}, +∞]: class y sits between columns y and y + 1.
        _upper = labels.add(IntegerOne, IntegerOne).MoveToOuterDisposeScope();
        _lower = labels.MoveToOuterDisposeScope();
        using var total = problem.TotalWeight.ToScalar();
        _weights = tensor(problem.Weights, [n, 1], ScalarType.Float64, device).div(total).MoveToOuterDisposeScope();
        _offsets = problem.Offsets is { } offsets ? tensor(offsets, [n, 1], ScalarType.Float64, device).MoveToOuterDisposeScope() : null;
    }

    public bool Loss(double[] alpha, double[] beta, out double loss)
    {
        using var scope = NewDisposeScope();
        var (a, b, gap) = Bounds(alpha, beta);
        if (gap.le(Zero).logical_or(gap.isnan()).any().item<bool>())
        {
            loss = double.PositiveInfinity;
            return false;
        }
        loss = -LogLikelihood(a, b, gap).mul(_weights).sum().item<double>();
        return true;
    }

    public bool Derivatives(double[] alpha, double[] beta, int[] features, double[] gradient, double[]? hessian, out double loss)
    {
        using var scope = NewDisposeScope();
        int boundaries = _problem.Boundaries, block = features.Length + 1, d = boundaries * block;
        var (a, b, gap) = Bounds(alpha, beta);
        if (gap.le(Zero).logical_or(gap.isnan()).any().item<bool>())
        {
            loss = double.PositiveInfinity;
            return false;
        }
        loss = -LogLikelihood(a, b, gap).mul(_weights).sum().item<double>();

        // r = 1/(e^gap − 1) and c = r(1 + r) are 0 for the extreme classes (gap = +∞).
        var r = gap.expm1().reciprocal();
        var c = r.mul(PlusOne(r));
        var sa = a.sigmoid();
        var sb = b.sigmoid();
        var gradA = Plus(OneMinus(sa), r);
        var gradB = Minus(sb.neg(), r);
        int padded = boundaries + 2;
        var g = zeros(_problem.Rows, padded, ScalarType.Float64, _device)
            .scatter_add(1, _upper, gradA).scatter_add(1, _lower, gradB).narrow(1, 1, boundaries);
        var z = features.Length == _problem.FeatureCount ? _z
            : _z.index_select(1, tensor(new long[] { 0 }.Concat(features.Select(j => (long)j + 1)).ToArray(), device: _device));
        var gradientBlocks = z.t().matmul(g.mul(_weights)).neg();                                    // [1 + |features|, K−1]
        gradientBlocks.t().contiguous().cpu().data<double>().CopyTo(gradient);
        if (hessian is null) return true;

        var diagonal = zeros(_problem.Rows, padded, ScalarType.Float64, _device)
            .scatter_add(1, _upper, Plus(sa.mul(OneMinus(sa)), c)).scatter_add(1, _lower, Plus(sb.mul(OneMinus(sb)), c)).narrow(1, 1, boundaries);
        var offDiagonal = zeros(_problem.Rows, padded, ScalarType.Float64, _device).scatter_add(1, _lower, c.neg()); // pair (y−1, y) at column y
        Array.Clear(hessian, 0, d * d);
        for (int k = 0; k < boundaries; k++)
        {
            CopyBlock(Gram(z, diagonal.narrow(1, k, 1)), hessian, d, k * block, k * block, block);
            if (k == 0) continue;
            var gram = Gram(z, offDiagonal.narrow(1, k, 1));
            CopyBlock(gram, hessian, d, (k - 1) * block, k * block, block);
            CopyBlock(gram, hessian, d, k * block, (k - 1) * block, block);
        }
        return true;
    }

    private Tensor Gram(Tensor z, Tensor coefficient) => z.t().matmul(z.mul(coefficient.mul(_weights)));

    /// <summary>log P(y) = log σ(a) + log σ(−b) + log(1 − e^{−gap}) per row.</summary>
    private static Tensor LogLikelihood(Tensor a, Tensor b, Tensor gap) =>
        Plus(Plus(nn.functional.logsigmoid(a), nn.functional.logsigmoid(b.neg())), gap.neg().expm1().neg().log());

    private static void CopyBlock(Tensor block, double[] hessian, int d, int row0, int col0, int size)
    {
        var values = block.contiguous().cpu().data<double>().ToArray();
        for (int r = 0; r < size; r++) Array.Copy(values, r * size, hessian, (row0 + r) * d + col0, size);
    }

    /// <summary>Each row's upper and lower linear predictors (±∞ beyond the extreme boundaries) and their gap.</summary>
    private (Tensor Upper, Tensor Lower, Tensor Gap) Bounds(double[] alpha, double[] beta)
    {
        int boundaries = _problem.Boundaries, p = _problem.FeatureCount;
        var coefficients = new double[boundaries * (p + 1)];
        for (int k = 0; k < boundaries; k++)
        {
            coefficients[k * (p + 1)] = alpha[k];
            Array.Copy(beta, k * p, coefficients, k * (p + 1) + 1, p);
        }
        var eta = _z.matmul(tensor(coefficients, [boundaries, p + 1], ScalarType.Float64, _device).t());   // [n, K−1]
        if (_offsets is not null) eta = Plus(eta, _offsets);
        var padded = cat([full(_problem.Rows, 1, NegativeInfinity, ScalarType.Float64, _device), eta,
            full(_problem.Rows, 1, PositiveInfinity, ScalarType.Float64, _device)], 1);
        var upper = padded.gather(1, _upper);
        var lower = padded.gather(1, _lower);
        return (upper, lower, Minus(upper, lower));
    }

    public void Dispose()
    {
        _z.Dispose();
        _upper.Dispose();
        _lower.Dispose();
        _weights.Dispose();
        _offsets?.Dispose();
    }
}
