namespace MLExtensions.Fairness.Information;

/// <summary>
/// A small dense two-phase simplex method (Bland's rule, so it cannot cycle) for <c>min cᵀx</c> subject to
/// <c>Ax = b, x ≥ 0</c>. Sized for the exact subproblems of the information solvers: transportation tables and
/// garbling tests with at most a few thousand variables.
/// </summary>
internal sealed class DenseSimplex
{
    private const double Eps = 1e-9;
    private readonly double[,] _t;
    private readonly int[] _basis;
    private readonly bool[] _rowActive;
    private readonly int _m;
    private readonly int _n;
    private readonly int _width;

    private DenseSimplex(IReadOnlyList<double[]> a, IReadOnlyList<double> b)
    {
        _m = a.Count;
        _n = a[0].Length;
        _width = _n + _m + 1;
        _t = new double[_m + 1, _width];
        _basis = new int[_m];
        _rowActive = Enumerable.Repeat(true, _m).ToArray();
        for (int i = 0; i < _m; i++)
        {
            double sign = b[i] < 0 ? -1 : 1;
            for (int j = 0; j < _n; j++) _t[i, j] = sign * a[i][j];
            _t[i, _n + i] = 1;
            _t[i, _width - 1] = sign * b[i];
            _basis[i] = _n + i;
        }
    }

    /// <summary>The least total violation of <c>Ax = b</c> over x ≥ 0: 0 when the system is feasible.</summary>
    public static double Infeasibility(IReadOnlyList<double[]> a, IReadOnlyList<double> b)
    {
        var simplex = new DenseSimplex(a, b);
        return simplex.PhaseOne();
    }

    /// <summary>
    /// min cᵀx over Ax = b, x ≥ 0; NaN when infeasible (beyond <paramref name="feasibilityTolerance"/>) or when the
    /// pivot limit ran out (a value short of the minimum would make the callers' certificates lie).
    /// </summary>
    public static double Minimize(IReadOnlyList<double[]> a, IReadOnlyList<double> b, IReadOnlyList<double> c, double feasibilityTolerance)
    {
        var simplex = new DenseSimplex(a, b);
        if (simplex.PhaseOne() > feasibilityTolerance) return double.NaN;
        return simplex.PhaseTwo(c);
    }

    private double PhaseOne()
    {
        // Objective: the sum of the artificials, written in the non-basic variables.
        for (int j = 0; j < _width; j++)
        {
            double sum = 0;
            for (int i = 0; i < _m; i++) sum += _t[i, j];
            _t[_m, j] = j >= _n && j < _n + _m ? 0 : -sum;
        }
        if (!Iterate(allowArtificials: true)) return double.PositiveInfinity;
        double value = -_t[_m, _width - 1];
        // A sum of non-negative artificials cannot be negative: if it is, round-off wrecked the tableau, and nothing
        // was proved either way.
        return value < -1e-9 || double.IsNaN(value) ? double.PositiveInfinity : Math.Max(value, 0);
    }

    private double PhaseTwo(IReadOnlyList<double> c)
    {
        // Drive artificials out of the basis; rows where that is impossible are redundant and are dropped.
        for (int i = 0; i < _m; i++)
        {
            if (_basis[i] < _n) continue;
            int column = -1;
            for (int j = 0; j < _n; j++)
                if (Math.Abs(_t[i, j]) > 1e-9)
                {
                    column = j;
                    break;
                }
            if (column < 0) _rowActive[i] = false;
            else Pivot(i, column);
        }
        for (int j = 0; j < _width; j++) _t[_m, j] = j < _n ? c[j] : 0;
        for (int i = 0; i < _m; i++)
        {
            if (!_rowActive[i] || _basis[i] >= _n) continue;
            double cost = c[_basis[i]];
            if (cost == 0) continue;
            for (int j = 0; j < _width; j++) _t[_m, j] -= cost * _t[i, j];
        }
        return Iterate(allowArtificials: false) ? -_t[_m, _width - 1] : double.NaN;
    }

    /// <summary>Pivots to optimality; false when the pivot limit ran out first.</summary>
    private bool Iterate(bool allowArtificials)
    {
        int columns = allowArtificials ? _n + _m : _n;
        for (int iteration = 0; iteration < 100_000; iteration++)
        {
            int entering = -1;
            for (int j = 0; j < columns; j++)
                if (_t[_m, j] < -Eps)
                {
                    entering = j;
                    break;
                }
            if (entering < 0) return true;
            int leaving = -1;
            double best = double.PositiveInfinity;
            for (int i = 0; i < _m; i++)
            {
                if (!_rowActive[i] || _t[i, entering] <= Eps) continue;
                double ratio = _t[i, _width - 1] / _t[i, entering];
                if (ratio < best - 1e-15 || (ratio <= best + 1e-15 && leaving >= 0 && _basis[i] < _basis[leaving]))
                {
                    best = ratio;
                    leaving = i;
                }
            }
            if (leaving < 0) return true; // unbounded: cannot happen for the bounded problems solved here
            Pivot(leaving, entering);
        }
        return false;
    }

    private void Pivot(int row, int column)
    {
        double pivot = _t[row, column];
        for (int j = 0; j < _width; j++) _t[row, j] /= pivot;
        for (int i = 0; i <= _m; i++)
        {
            if (i == row || _t[i, column] == 0) continue;
            double factor = _t[i, column];
            for (int j = 0; j < _width; j++) _t[i, j] -= factor * _t[row, j];
        }
        _basis[row] = column;
    }
}
