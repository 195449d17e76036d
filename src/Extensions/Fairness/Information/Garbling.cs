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
}
