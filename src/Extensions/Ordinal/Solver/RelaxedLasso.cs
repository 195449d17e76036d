namespace MLExtensions.Ordinal;

/// <summary>
/// glmnet's relaxed lasso for PRESTO: at each λ, the fit restricted to the lasso's pattern without the lasso's
/// shrinkage, and the mixtures <c>θ(λ, γ) = γ·θ_lasso(λ) + (1 − γ)·θ_relaxed(λ)</c> that cross-validation chooses from.
/// </summary>
/// <remarks>
/// The solver already works on PRESTO's differences θ = (α_k, ψ_k), so the constrained refit needs no
/// reparameterisation: a coordinate the lasso set to zero is simply not free (it stays exactly zero, so boundaries
/// whose differences are zero keep one shared coefficient), every other coordinate is free and unpenalised. The
/// refit's maximum-likelihood estimate need not exist when the classes are (nearly) separable on the pattern, so it
/// carries a ridge of <see cref="Ridge"/>·½‖ψ‖² on its free differences (the loss is a mean over rows, so the ridge
/// does not grow with n): negligible for well-posed data, and it gives separable data a unique, finite answer (without
/// it the solver drifts outwards until the loss is flat, at a point that depends on the tolerance; see the tests).
/// Mixing in θ is mixing in β (β_k is a sum of ψ), and both ends keep every training row's probability positive,
/// so every mixture does too (the feasible region is convex).
/// </remarks>
internal static class RelaxedLasso
{
    /// <summary>The γ grid, glmnet's default, from the lasso itself (γ = 1) to the unshrunk refit (γ = 0).</summary>
    public static readonly double[] Gammas = [1, 0.75, 0.5, 0.25, 0];

    /// <summary>The ridge on the refit's free differences that keeps it finite when the classes are separable.</summary>
    public const double Ridge = 1e-6;

    /// <summary>
    /// The unpenalised refit on the pattern of <paramref name="lasso"/>, started from it; <paramref name="previous"/>
    /// is returned as it is when its pattern is the same (the refit does not depend on λ).
    /// </summary>
    /// <param name="kernel">The data-sized work, over the rows <paramref name="lasso"/> was fitted on.</param>
    /// <param name="free">Which θ coordinates the lasso could move.</param>
    /// <param name="penaltyFactor">The lasso's penalty factor per θ coordinate (0: unpenalised, free in the refit whatever its value).</param>
    /// <param name="lasso">The lasso fit at one λ.</param>
    /// <param name="previous">The refit at the previous λ with its pattern, or null.</param>
    /// <param name="maxIterations">Newton iterations.</param>
    /// <param name="tolerance">The solver's tolerance.</param>
    /// <param name="cancellationToken">Stops the fit.</param>
    public static (SolverResult Fit, bool[] Pattern) Refit(ICumulativeLogitKernel kernel, bool[] free, double[] penaltyFactor, SolverResult lasso,
        (SolverResult Fit, bool[] Pattern)? previous, int maxIterations, double tolerance, CancellationToken cancellationToken)
    {
        var theta = lasso.Theta;
        int block = theta.Block;
        var pattern = new bool[free.Length];
        var ridge = new double[free.Length];
        for (int c = 0; c < free.Length; c++)
        {
            pattern[c] = free[c] && (penaltyFactor[c] == 0 || theta.Values[c] != 0);
            ridge[c] = pattern[c] && c % block != 0 ? 1 : 0; // intercepts stay unpenalised
        }
        if (previous is { } last && last.Pattern.AsSpan().SequenceEqual(pattern)) return last;
        var solver = new CumulativeLogitSolver(kernel, theta.Boundaries, theta.Features, pattern, ridge, maxIterations, tolerance, alpha: 0);
        // Kept for a whole path, the solution's Hessian would grow with it; nothing reuses it.
        return (solver.Solve(Ridge, theta, cancellationToken) with { AtSolution = null }, pattern);
    }

    /// <summary>The relaxed refit at every fit of a path, in path order.</summary>
    public static SolverResult[] RefitPath(ICumulativeLogitKernel kernel, bool[] free, double[] penaltyFactor, IReadOnlyList<SolverResult> lassoPath,
        int maxIterations, double tolerance, CancellationToken cancellationToken)
    {
        var refits = new SolverResult[lassoPath.Count];
        (SolverResult Fit, bool[] Pattern)? previous = null;
        for (int l = 0; l < lassoPath.Count; l++)
        {
            previous = Refit(kernel, free, penaltyFactor, lassoPath[l], previous, maxIterations, tolerance, cancellationToken);
            refits[l] = previous.Value.Fit;
        }
        return refits;
    }

    /// <summary><c>γ·lasso + (1 − γ)·relaxed</c>, coordinate by coordinate (intercepts included, as glmnet).</summary>
    public static Theta Mix(Theta lasso, Theta relaxed, double gamma)
    {
        if (gamma == 1) return lasso;
        var mixed = new Theta(lasso.Boundaries, lasso.Features);
        for (int c = 0; c < mixed.Values.Length; c++) mixed.Values[c] = gamma * lasso.Values[c] + (1 - gamma) * relaxed.Values[c];
        return mixed;
    }

    /// <summary>
    /// The candidates cross-validation scores, λ-major then γ in <paramref name="gammas"/>' order: index l·|γ| + g is
    /// λ_l mixed with γ_g.
    /// </summary>
    public static Theta[] Candidates(IReadOnlyList<SolverResult> lassoPath, IReadOnlyList<SolverResult>? refits, IReadOnlyList<double> gammas)
    {
        var candidates = new Theta[lassoPath.Count * gammas.Count];
        for (int l = 0; l < lassoPath.Count; l++)
            for (int g = 0; g < gammas.Count; g++)
                candidates[l * gammas.Count + g] = refits is null ? lassoPath[l].Theta : Mix(lassoPath[l].Theta, refits[l].Theta, gammas[g]);
        return candidates;
    }
}
