using MLExtensions.Numerics;
using static MLExtensions.Numerics.FixedOrder;

namespace MLExtensions.Fairness.Tradeoff;

/// <summary>Newton steps under homogeneous linear equalities E·x = 0 (the zero budgets), shared by both barrier solvers.</summary>
internal static class EqualityProjection
{
    /// <summary>
    /// Corrects <paramref name="dx"/>, solved without the equalities, so that E(x + dx) = 0, through the Schur
    /// complement E H⁻¹ Eᵀ; returns the multipliers (none without equalities).
    /// </summary>
    /// <remarks>
    /// Late in the path H is huge in the directions of cells pressed against their hulls and E H⁻¹ Eᵀ is so
    /// ill-conditioned that its solve can miss by 1e-2, which the barrier (blind to equalities) would accept. The
    /// residual is therefore removed by the least Euclidean correction, so every step keeps E x = 0 to round-off; a
    /// correction that leaves a region is refused by the line search, which ends the path at its last centre.
    /// </remarks>
    public static double[] Enforce(double[][] equalities, ReducedSystem solver, double[] x, double[] dx)
    {
        if (equalities.Length == 0) return [];
        var columns = equalities.Select(solver.Solve).ToArray();
        var schur = new double[equalities.Length, equalities.Length];
        for (int a = 0; a < equalities.Length; a++)
            for (int c = 0; c < equalities.Length; c++) schur[a, c] = SequentialDot(equalities[a], columns[c]);
        var rhs = equalities.Select(e => SequentialDot(e, dx) + SequentialDot(e, x)).ToArray();
        var multipliers = SymmetricMatrix.Solve(schur, rhs);
        for (int a = 0; a < multipliers.Length; a++)
            for (int j = 0; j < dx.Length; j++) dx[j] -= multipliers[a] * columns[a][j];
        // Whatever is left (the Schur solve's lost digits) goes by the least Euclidean correction, E E^T being well conditioned.
        var residual = equalities.Select(e => SequentialDot(e, dx) + SequentialDot(e, x)).ToArray();
        var gram = new double[equalities.Length, equalities.Length];
        for (int a = 0; a < equalities.Length; a++)
            for (int c = 0; c < equalities.Length; c++) gram[a, c] = SequentialDot(equalities[a], equalities[c]);
        var correction = SymmetricMatrix.Solve(gram, residual);
        for (int a = 0; a < correction.Length; a++)
            for (int j = 0; j < dx.Length; j++) dx[j] -= correction[a] * equalities[a][j];
        return multipliers;
    }
}
