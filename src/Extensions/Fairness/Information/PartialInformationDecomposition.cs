namespace MLExtensions.Fairness.Information;

/// <summary>
/// The BROJA partial information decomposition of the information that Ŷ (predictions) and S (clients) carry about
/// Z (the sensitive attribute), in bits: <c>I(Z;Ŷ) = Unique + Redundant</c>, <c>I(Z;Ŷ|S) = Unique + Synergistic</c>,
/// <c>I(Z;S) = UniqueOther + Redundant</c>.
/// </summary>
/// <param name="Unique">Uni(Z:Ŷ∖S): disparity visible both globally and within clients.</param>
/// <param name="UniqueOther">Uni(Z:S∖Ŷ): what only the client identity says about Z.</param>
/// <param name="Redundant">Red(Z:Ŷ,S): global disparity explained by clients' different make-up.</param>
/// <param name="Synergistic">Syn(Z:Ŷ,S): "masked" disparity, visible within clients but not globally.</param>
/// <param name="Gap">
/// Certificate of the unique information: the computed <see cref="Unique"/> exceeds the true minimum by at most
/// this (a Frank–Wolfe duality gap; 0 when the exact zero test proved Unique = 0).
/// </param>
/// <param name="GlobalDisparity">I(Z;Ŷ).</param>
/// <param name="LocalDisparity">I(Z;Ŷ|S).</param>
/// <param name="Iterations">Iterations of the alternating minimisation (0 when not needed).</param>
public sealed record PidResult(double Unique, double UniqueOther, double Redundant, double Synergistic, double Gap,
    double GlobalDisparity, double LocalDisparity, int Iterations);

/// <summary>Settings of <see cref="PartialInformationDecomposition.Compute(double[,,], PidOptions?)"/>.</summary>
public sealed class PidOptions
{
    /// <summary>Stop when the certified gap on the unique information falls below this many bits. Default: 1e-10.</summary>
    public double Tolerance { get; init; } = 1e-10;

    /// <summary>Most alternating-minimisation iterations. Default: 200,000.</summary>
    public int MaximumIterations { get; init; } = 200_000;

    internal void Validate()
    {
        if (!(Tolerance > 0) || !double.IsFinite(Tolerance))
            throw new ArgumentOutOfRangeException(nameof(Tolerance), Tolerance, "The tolerance must be a positive finite number of bits.");
        ArgumentOutOfRangeException.ThrowIfLessThan(MaximumIterations, 1, nameof(MaximumIterations));
    }
}

/// <summary>
/// Computes the BROJA partial information decomposition of a joint distribution p(z, ŷ, s).
/// </summary>
/// <remarks>
/// The unique information is <c>Uni(Z:Ŷ∖S) = min_Q I_Q(Z;Ŷ|S)</c> over the distributions Q with the same (z, ŷ) and
/// (z, s) marginals as p. It is found by first testing exactly whether it is zero (a linear feasibility problem:
/// is p(ŷ|z) a garbling of p(s|z)?), and otherwise by alternating divergence minimisation (iterative scaling, all
/// iterates feasible, objective monotone), stopped by a Frank–Wolfe duality gap computed with exact transportation
/// problems. Redundant and synergistic parts follow by subtraction; their ±1e-12 round-off is clamped.
/// </remarks>
public static class PartialInformationDecomposition
{
    /// <summary>Decomposes p(z, ŷ, s) given as probabilities or counts (axes: z, ŷ, s).</summary>
    /// <exception cref="ArgumentException">Negative, NaN or infinite entries, or an all-zero table.</exception>
    public static PidResult Compute(double[,,] joint, PidOptions? options = null)
    {
        options ??= new PidOptions();
        options.Validate();
        var p = InformationMeasures.Normalised(joint);
        double globalDisparity = InformationMeasures.MutualInformation(InformationMeasures.Marginal01(p));
        double clientInformation = InformationMeasures.MutualInformation(InformationMeasures.Marginal02(p));
        double localDisparity = InformationMeasures.ConditionalMutualInformation(p);

        var (unique, gap, iterations) = UniqueInformation(p, options);
        unique = Clamp(Math.Min(unique, Math.Min(globalDisparity, localDisparity)));
        double redundant = Clamp(globalDisparity - unique);
        double synergistic = Clamp(localDisparity - unique);
        double uniqueOther = Clamp(clientInformation - redundant);
        return new PidResult(unique, uniqueOther, redundant, synergistic, gap, globalDisparity, localDisparity, iterations);
    }

    /// <summary>Terms obtained by subtraction carry round-off; anything within 1e-12 of zero (or below it) is zero.</summary>
    private static double Clamp(double value) => value < 1e-12 ? 0 : value;

    /// <summary>Uni(Z:Ŷ∖S) with its certificate and the iterations spent.</summary>
    private static (double Unique, double Gap, int Iterations) UniqueInformation(double[,,] p, PidOptions options)
    {
        int nz = p.GetLength(0), ny = p.GetLength(1), ns = p.GetLength(2);
        var zs = Enumerable.Range(0, nz).Where(z => Sum(p, z) > 0).ToArray();
        var pz = zs.Select(z => Sum(p, z)).ToArray();
        var yGivenZ = zs.Select(z => Enumerable.Range(0, ny).Select(y => Row(p, z, y) / Sum(p, z)).ToArray()).ToArray();
        var sGivenZ = zs.Select(z => Enumerable.Range(0, ns).Select(s => Column(p, z, s) / Sum(p, z)).ToArray()).ToArray();

        if (zs.Length <= 1 || Garbling.Exists(yGivenZ, sGivenZ, 1e-11)) return (0, 0, 0);

        // q[z] are the conditionals Q(ŷ, s | z); r is their mixture Q(ŷ, s).
        var q = new double[zs.Length][,];
        for (int z = 0; z < zs.Length; z++)
        {
            q[z] = new double[ny, ns];
            for (int y = 0; y < ny; y++)
                for (int s = 0; s < ns; s++) q[z][y, s] = yGivenZ[z][y] * sGivenZ[z][s];
        }
        var r = Mixture(q, pz, ny, ns);
        double clientInformation = InformationMeasures.MutualInformation(InformationMeasures.Marginal02(p));
        double gap = double.PositiveInfinity;
        int iteration = 0, nextCheck = 1;
        var rowScales = zs.Select(_ => Enumerable.Repeat(1.0, ny).ToArray()).ToArray();
        var columnScales = zs.Select(_ => Enumerable.Repeat(1.0, ns).ToArray()).ToArray();
        while (iteration < options.MaximumIterations)
        {
            iteration++;
            for (int z = 0; z < zs.Length; z++) q[z] = Scale(r, yGivenZ[z], sGivenZ[z], rowScales[z], columnScales[z]);
            r = Mixture(q, pz, ny, ns);
            if (iteration == nextCheck || iteration == options.MaximumIterations)
            {
                // The certificate costs one transportation problem per z, far more than an iteration: check it at
                // geometrically spaced iterations (at most ~12 % more iterations than checking every time).
                nextCheck = iteration + Math.Max(10, iteration / 8);
                // The objective only decreases, so the smallest gap seen so far still bounds the current error;
                // near boundary optima later gaps can grow from round-off in the log-ratios.
                var current = FrankWolfeGap(q, r, pz, yGivenZ, sGivenZ);
                if (!double.IsNaN(current)) gap = Math.Min(gap, current);
                if (gap <= options.Tolerance) break;
            }
        }
        return (Objective(q, r, pz) - clientInformation, gap, iteration);
    }

    /// <summary>f(Q) = I_Q(Z; Ŷ, S) = Σ_z p(z) D(q_z ‖ r), in bits.</summary>
    private static double Objective(double[][,] q, double[,] r, double[] pz)
    {
        double f = 0;
        for (int z = 0; z < q.Length; z++)
            for (int y = 0; y < r.GetLength(0); y++)
                for (int s = 0; s < r.GetLength(1); s++)
                    if (q[z][y, s] > 0) f += pz[z] * q[z][y, s] * Math.Log2(q[z][y, s] / r[y, s]);
        return f;
    }

    /// <summary>
    /// <c>⟨∇f(Q), Q − Q*⟩</c> maximised over the feasible set: an upper bound on f(Q) − min f by convexity. The
    /// gradient is log2(q_z / r); the minimising Q* solves one transportation problem per z.
    /// </summary>
    private static double FrankWolfeGap(double[][,] q, double[,] r, double[] pz, double[][] yGivenZ, double[][] sGivenZ)
    {
        int ny = r.GetLength(0), ns = r.GetLength(1);
        double gap = 0;
        for (int z = 0; z < q.Length; z++)
        {
            var cost = new double[ny, ns];
            double current = 0;
            for (int y = 0; y < ny; y++)
                for (int s = 0; s < ns; s++)
                {
                    // Cells outside the z-th rectangle can hold no mass; their cost does not matter.
                    cost[y, s] = q[z][y, s] > 0 && r[y, s] > 0 ? Math.Log2(q[z][y, s] / r[y, s]) : 0;
                    current += cost[y, s] * q[z][y, s];
                }
            gap += pz[z] * (current - Transportation.MinimumCost(cost, yGivenZ[z], sGivenZ[z]));
        }
        return Math.Max(gap, 0);
    }

    /// <summary>
    /// The I-projection of <paramref name="r"/> onto the distributions with these row and column sums:
    /// <c>x = diag(a)·r·diag(b)</c> by Sinkhorn scaling. <paramref name="a"/> and <paramref name="b"/> carry the scaling
    /// from the previous outer iteration: r moves little between iterations, so a warm start needs a few sweeps where a
    /// cold one needs dozens.
    /// </summary>
    private static double[,] Scale(double[,] r, double[] rows, double[] columns, double[] a, double[] b)
    {
        int ny = rows.Length, ns = columns.Length;
        if (ny == 2 && rows[0] > 0 && rows[1] > 0 && TwoRowScale(r, rows, columns, a, b)) return Scaled(r, a, b);
        for (int sweep = 0; sweep < 10_000; sweep++)
        {
            double error = 0;
            for (int y = 0; y < ny; y++)
            {
                if (rows[y] <= 0) { a[y] = 0; continue; }
                double sum = 0;
                for (int s = 0; s < ns; s++) sum += r[y, s] * b[s];
                if (sum <= 0) continue;
                double updated = rows[y] / sum;
                if (a[y] > 0) error = Math.Max(error, Math.Abs(updated / a[y] - 1));
                else error = 1;
                a[y] = updated;
            }
            for (int s = 0; s < ns; s++)
            {
                if (columns[s] <= 0) { b[s] = 0; continue; }
                double sum = 0;
                for (int y = 0; y < ny; y++) sum += a[y] * r[y, s];
                if (sum <= 0) continue;
                double updated = columns[s] / sum;
                if (b[s] > 0) error = Math.Max(error, Math.Abs(updated / b[s] - 1));
                else error = 1;
                b[s] = updated;
            }
            if (error < 1e-13) break;
        }
        return Scaled(r, a, b);
    }

    private static double[,] Scaled(double[,] r, double[] a, double[] b)
    {
        int ny = a.Length, ns = b.Length;
        var x = new double[ny, ns];
        for (int y = 0; y < ny; y++)
            for (int s = 0; s < ns; s++) x[y, s] = a[y] * r[y, s] * b[s];
        return x;
    }

    /// <summary>
    /// The projection for a binary prediction (two rows) in closed form up to one monotone equation: with a = (1, t),
    /// b_s = c_s / (r_0s + t·r_1s), the first row sums to g(t) = Σ_s c_s·r_0s / (r_0s + t·r_1s), decreasing in t;
    /// Newton's method on ln t (bisection as a safeguard) solves g(t) = rows[0] to machine precision in a few steps,
    /// where Sinkhorn sweeps converge linearly and slowly. False when the data leave the equation without a root.
    /// </summary>
    private static bool TwoRowScale(double[,] r, double[] rows, double[] columns, double[] a, double[] b)
    {
        int ns = columns.Length;
        double G(double t, out double derivative)
        {
            double value = 0;
            derivative = 0;
            for (int s = 0; s < ns; s++)
            {
                double r0 = r[0, s], r1 = r[1, s];
                if (columns[s] <= 0 || r0 <= 0) continue;
                double d = r0 + t * r1;
                value += columns[s] * r0 / d;
                derivative -= columns[s] * r0 * r1 / (d * d);
            }
            return value - rows[0];
        }
        // Every column with mass needs somewhere to put it, and g must cross zero between t → 0 and t → ∞.
        for (int s = 0; s < ns; s++)
            if (columns[s] > 0 && r[0, s] <= 0 && r[1, s] <= 0) return false;
        double t = a[0] > 0 && a[1] > 0 ? a[1] / a[0] : 1, low = 0, high = double.PositiveInfinity;
        for (int step = 0; step < 200; step++)
        {
            double g = G(t, out double slope);
            if (Math.Abs(g) <= 1e-15 * rows[0]) break;
            if (g > 0) low = t; else high = t;
            // Newton in ln t: t ← t·exp(−g / (t·g′)), kept inside the bracket.
            double next = slope < 0 ? t * Math.Exp(Math.Clamp(-g / (t * slope), -5, 5)) : double.NaN;
            if (!(next > low && next < high)) next = double.IsPositiveInfinity(high) ? Math.Max(2 * t, 1e-300) : low > 0 ? Math.Sqrt(low * high) : high / 2;
            if (next == t) break;
            t = next;
        }
        if (!(t > 0) || !double.IsFinite(t)) return false;
        a[0] = 1;
        a[1] = t;
        for (int s = 0; s < ns; s++)
        {
            double d = r[0, s] + t * r[1, s];
            b[s] = columns[s] > 0 && d > 0 ? columns[s] / d : 0;
        }
        // The second row sums to 1 − rows[0] = rows[1] by construction; a failed solve falls back to Sinkhorn.
        double first = 0;
        for (int s = 0; s < ns; s++) first += r[0, s] * b[s];
        return Math.Abs(first - rows[0]) <= 1e-12 * Math.Max(rows[0], 1e-300);
    }

    private static double[,] Mixture(double[][,] q, double[] pz, int ny, int ns)
    {
        var r = new double[ny, ns];
        for (int z = 0; z < q.Length; z++)
            for (int y = 0; y < ny; y++)
                for (int s = 0; s < ns; s++) r[y, s] += pz[z] * q[z][y, s];
        return r;
    }

    private static double Sum(double[,,] p, int z)
    {
        double sum = 0;
        for (int y = 0; y < p.GetLength(1); y++)
            for (int s = 0; s < p.GetLength(2); s++) sum += p[z, y, s];
        return sum;
    }

    private static double Row(double[,,] p, int z, int y)
    {
        double sum = 0;
        for (int s = 0; s < p.GetLength(2); s++) sum += p[z, y, s];
        return sum;
    }

    private static double Column(double[,,] p, int z, int s)
    {
        double sum = 0;
        for (int y = 0; y < p.GetLength(1); y++) sum += p[z, y, s];
        return sum;
    }
}
