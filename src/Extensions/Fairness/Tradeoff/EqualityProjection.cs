using MLExtensions.Numerics;
using static MLExtensions.Fairness.Tradeoff.DenseVector;

namespace MLExtensions.Fairness.Tradeoff;

/// <summary>Newton steps under homogeneous linear equalities E·x = 0 (the zero budgets), shared by both barrier solvers.</summary>
internal static class EqualityProjection
{
    /// <summary>
    /// Corrects <paramref name="dx"/>, solved without the equalities, so that E(x + dx) = 0, through the Schur
    /// complement E H⁻¹ Eᵀ; returns the multipliers (none without equalities).
    /// </summary>
    public static double[] Enforce(double[][] equalities, ReducedSystem solver, double[] x, double[] dx)
    {
        if (equalities.Length == 0) return [];
        var columns = equalities.Select(solver.Solve).ToArray();
        var schur = new double[equalities.Length, equalities.Length];
        var rhs = new double[equalities.Length];
        for (int a = 0; a < equalities.Length; a++)
        {
            rhs[a] = Dot(equalities[a], dx) + Dot(equalities[a], x);
            for (int c = 0; c < equalities.Length; c++) schur[a, c] = Dot(equalities[a], columns[c]);
        }
        var multipliers = SymmetricMatrix.Solve(schur, rhs);
        for (int a = 0; a < multipliers.Length; a++)
            for (int j = 0; j < dx.Length; j++) dx[j] -= multipliers[a] * columns[a][j];
        return multipliers;
    }
}
