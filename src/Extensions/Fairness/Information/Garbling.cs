namespace MLExtensions.Fairness.Information;

/// <summary>
/// Decides whether one channel is a garbling of another: whether some stochastic matrix R(ŷ|s) turns p(s|z) into
/// p(ŷ|z) for every z. By Blackwell's theorem (and Bertschinger et al. 2014, lemma 6) that is exactly when the
/// unique information Uni(Z:Ŷ∖S) is zero, which iterative solvers only approach slowly.
/// </summary>
internal static class Garbling
{
    /// <summary>True when a garbling exists, up to <paramref name="tolerance"/> in the marginal constraints.</summary>
    /// <param name="target">p(ŷ|z), indexed [z][ŷ].</param>
    /// <param name="source">p(s|z), indexed [z][s].</param>
    /// <param name="tolerance">Largest acceptable constraint violation.</param>
    public static bool Exists(double[][] target, double[][] source, double tolerance)
    {
        return target.Length == 2 && target[0].Length == 2 ? InZonotope(target, source, tolerance) : ByLinearProgram(target, source, tolerance);
    }

    /// <summary>The general test: feasibility of the garbling's linear constraints by the simplex method.</summary>
    internal static bool ByLinearProgram(double[][] target, double[][] source, double tolerance)
    {
        int zs = target.Length, ys = target[0].Length, ss = source[0].Length;
        int variables = ss * ys;
        // Rows: Σ_ŷ R(ŷ|s) = 1 for each s, then Σ_s p(s|z) R(ŷ|s) = p(ŷ|z) for each z and ŷ.
        var a = new List<double[]>();
        var b = new List<double>();
        for (int s = 0; s < ss; s++)
        {
            var row = new double[variables];
            for (int y = 0; y < ys; y++) row[s * ys + y] = 1;
            a.Add(row);
            b.Add(1);
        }
        for (int z = 0; z < zs; z++)
            for (int y = 0; y < ys; y++)
            {
                var row = new double[variables];
                for (int s = 0; s < ss; s++) row[s * ys + y] = source[z][s];
                a.Add(row);
                b.Add(target[z][y]);
            }
        return DenseSimplex.Infeasibility(a, b) <= tolerance;
    }

    /// <summary>
    /// Binary Z and Ŷ: with k_s = R(ŷ = 1 | s) ∈ [0, 1] a garbling exists exactly when v = (p(ŷ=1|z₀), p(ŷ=1|z₁)) lies in
    /// the zonotope Σ_s k_s·g_s of the generators g_s = (p(s|z₀), p(s|z₁)). A planar zonotope is the intersection of
    /// its supporting half-planes, whose normals are perpendicular to the generators (and, for a segment, along
    /// them): checking those O(|S|) directions decides membership in O(|S|²) instead of a simplex over 2|S| variables.
    /// </summary>
    internal static bool InZonotope(double[][] target, double[][] source, double tolerance)
    {
        int ss = source[0].Length;
        double vx = target[0][1], vy = target[1][1];
        double worst = 0;
        void Check(double ux, double uy)
        {
            double norm = Math.Sqrt(ux * ux + uy * uy);
            if (norm == 0) return;
            (ux, uy) = (ux / norm, uy / norm);
            double support = 0;
            for (int t = 0; t < ss; t++) support += Math.Max(0, ux * source[0][t] + uy * source[1][t]);
            worst = Math.Max(worst, ux * vx + uy * vy - support);
        }
        for (int s = 0; s < ss; s++)
        {
            double gx = source[0][s], gy = source[1][s];
            if (gx == 0 && gy == 0) continue;
            Check(-gy, gx);
            Check(gy, -gx);
            Check(gx, gy);
            Check(-gx, -gy);
        }
        Check(1, 0);
        Check(-1, 0);
        Check(0, 1);
        Check(0, -1);
        return worst <= tolerance;
    }
}
