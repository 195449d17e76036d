using MLExtensions.Numerics;
using static MLExtensions.Numerics.FixedOrder;

namespace MLExtensions.Fairness.Tradeoff;

/// <summary>
/// Solves <c>(B + Vᵀ V) x = r</c> with B block diagonal (one positive definite block per client) and V a few dense
/// rows, by block Cholesky and Woodbury's identity: cost linear in the number of variables.
/// </summary>
internal sealed class ReducedSystem
{
    private readonly int[][] _blockIndices;
    private readonly double[][,] _factors;
    private readonly double[] _blockValues;  // the blocks before factoring, one after another (row-major), for Multiply
    private readonly double[] _scratch;      // one block's share of a right-hand side
    private readonly double[][] _rows;
    private readonly double[][] _solvedRows;
    private readonly double[,] _capacitance;
    private readonly int _size;

    public ReducedSystem(int[][] blockIndices, double[][,] blocks, List<double[]> rows, int size)
    {
        _blockIndices = blockIndices;
        _size = size;
        _blockValues = new double[blocks.Sum(b => b.Length)];
        int offset = 0;
        foreach (var block in blocks)
        {
            int n = block.GetLength(0);
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++) _blockValues[offset++] = block[i, j];
        }
        _scratch = new double[blockIndices.Length == 0 ? 0 : blockIndices.Max(b => b.Length)];
        _factors = blocks;
        for (int b = 0; b < blocks.Length; b++)
            if (!SymmetricMatrix.TryCholesky(blocks[b]))
                throw new InvalidOperationException("The barrier's Hessian lost positive definiteness (numerical breakdown).");
        _rows = rows.ToArray();
        _solvedRows = _rows.Select(SolveBlocks).ToArray();
        _capacitance = new double[_rows.Length, _rows.Length];
        for (int i = 0; i < _rows.Length; i++)
            for (int j = 0; j < _rows.Length; j++)
                _capacitance[i, j] = (i == j ? 1 : 0) + SequentialDot(_rows[i], _solvedRows[j]);
        if (!SymmetricMatrix.TryCholesky(_capacitance))
            throw new InvalidOperationException("The barrier's low-rank correction is not positive definite (numerical breakdown).");
    }

    /// <summary>
    /// Solves the system, with two rounds of iterative refinement: near an active information constraint the low-rank
    /// rows dwarf the blocks and a single Woodbury solve leaves a residual that stalls Newton's last digits.
    /// </summary>
    public double[] Solve(double[] rhs)
    {
        var x = SolveOnce(rhs);
        for (int round = 0; round < 2; round++)
        {
            var product = Multiply(x);
            var residual = new double[_size];
            for (int j = 0; j < _size; j++) residual[j] = rhs[j] - product[j];
            var correction = SolveOnce(residual);
            for (int j = 0; j < _size; j++) x[j] += correction[j];
        }
        return x;
    }

    /// <summary>(B + VᵀV) x.</summary>
    public double[] Multiply(double[] x)
    {
        var y = new double[_size];
        int offset = 0;
        foreach (var indices in _blockIndices)
            for (int i = 0; i < indices.Length; i++)
                for (int j = 0; j < indices.Length; j++) y[indices[i]] += _blockValues[offset++] * x[indices[j]];
        foreach (var row in _rows)
        {
            double d = SequentialDot(row, x);
            for (int j = 0; j < _size; j++) y[j] += row[j] * d;
        }
        return y;
    }

    private double[] SolveOnce(double[] rhs)
    {
        var y = SolveBlocks(rhs);
        if (_rows.Length == 0) return y;
        var u = _rows.Select(r => SequentialDot(r, y)).ToArray();
        SymmetricMatrix.CholeskySolve(_capacitance, u);
        for (int r = 0; r < _rows.Length; r++)
            for (int j = 0; j < _size; j++) y[j] -= _solvedRows[r][j] * u[r];
        return y;
    }

    private double[] SolveBlocks(double[] rhs)
    {
        var result = new double[_size];
        for (int b = 0; b < _factors.Length; b++)
        {
            var indices = _blockIndices[b];
            var local = _scratch.AsSpan(0, indices.Length);
            for (int i = 0; i < indices.Length; i++) local[i] = rhs[indices[i]];
            SymmetricMatrix.CholeskySolve(_factors[b], local);
            for (int i = 0; i < indices.Length; i++) result[indices[i]] = local[i];
        }
        return result;
    }
}
