namespace MLExtensions.Fairness.Information;

/// <summary>
/// Shannon measures of discrete distributions given as tables of probabilities or counts (normalised here), in bits.
/// Zero cells contribute nothing (0 · log 0 = 0).
/// </summary>
public static class InformationMeasures
{
    /// <summary>H(X) of a distribution or count vector.</summary>
    public static double Entropy(IReadOnlyList<double> distribution)
    {
        ArgumentNullException.ThrowIfNull(distribution);
        var (largest, total) = Scale(distribution, nameof(distribution));
        double h = 0;
        foreach (var v in distribution) h -= Term(v / largest / total);
        return h;
    }

    /// <summary>I(X;Y) of a joint table p(x, y).</summary>
    public static double MutualInformation(double[,] joint)
    {
        var p = Normalised(joint);
        int nx = p.GetLength(0), ny = p.GetLength(1);
        var px = new double[nx];
        var py = new double[ny];
        for (int x = 0; x < nx; x++)
            for (int y = 0; y < ny; y++)
            {
                px[x] += p[x, y];
                py[y] += p[x, y];
            }
        double sum = 0;
        for (int x = 0; x < nx; x++)
            for (int y = 0; y < ny; y++)
                if (p[x, y] > 0) sum += p[x, y] * Math.Log2(p[x, y] / (px[x] * py[y]));
        return Math.Max(sum, 0);
    }

    /// <summary>I(X;Y|Z) of a joint table p(x, y, z).</summary>
    public static double ConditionalMutualInformation(double[,,] joint)
    {
        var p = Normalised(joint);
        var terms = ConditionalInformationTerms(joint);
        double sum = 0;
        for (int x = 0; x < p.GetLength(0); x++)
            for (int y = 0; y < p.GetLength(1); y++)
                for (int z = 0; z < p.GetLength(2); z++)
                    if (p[x, y, z] > 0) sum += p[x, y, z] * terms[x, y, z];
        return Math.Max(sum, 0);
    }

    /// <summary>
    /// The terms of <see cref="ConditionalMutualInformation"/>: log2 p(x, y, z) p(z) / (p(x, z) p(y, z)) for each
    /// cell with mass (0 elsewhere). I(X;Y|Z) is their mean under p, so a sample's term is its influence on the
    /// plug-in estimate (up to that mean): what a standard error of the estimate is made of.
    /// </summary>
    internal static double[,,] ConditionalInformationTerms(double[,,] joint)
    {
        var p = Normalised(joint);
        int nx = p.GetLength(0), ny = p.GetLength(1), nz = p.GetLength(2);
        var pz = new double[nz];
        var pxz = new double[nx, nz];
        var pyz = new double[ny, nz];
        for (int x = 0; x < nx; x++)
            for (int y = 0; y < ny; y++)
                for (int z = 0; z < nz; z++)
                {
                    double v = p[x, y, z];
                    pz[z] += v;
                    pxz[x, z] += v;
                    pyz[y, z] += v;
                }
        var terms = new double[nx, ny, nz];
        for (int x = 0; x < nx; x++)
            for (int y = 0; y < ny; y++)
                for (int z = 0; z < nz; z++)
                    if (p[x, y, z] > 0) terms[x, y, z] = Math.Log2(p[x, y, z] * pz[z] / (pxz[x, z] * pyz[y, z]));
        return terms;
    }

    /// <summary>I(X; (Y, Z)) of a joint table p(x, y, z).</summary>
    public static double JointMutualInformation(double[,,] joint)
    {
        int nx = joint.GetLength(0), ny = joint.GetLength(1), nz = joint.GetLength(2);
        var flat = new double[nx, ny * nz];
        for (int x = 0; x < nx; x++)
            for (int y = 0; y < ny; y++)
                for (int z = 0; z < nz; z++) flat[x, y * nz + z] = joint[x, y, z];
        return MutualInformation(flat);
    }

    /// <summary>Co-information I(X;Y;Z) = I(X;Y) − I(X;Y|Z) (may be negative: synergy exceeds redundancy).</summary>
    public static double CoInformation(double[,,] joint) => MutualInformation(Marginal01(joint)) - ConditionalMutualInformation(joint);

    /// <summary>The (x, y) marginal of p(x, y, z).</summary>
    public static double[,] Marginal01(double[,,] joint)
    {
        int nx = joint.GetLength(0), ny = joint.GetLength(1), nz = joint.GetLength(2);
        var m = new double[nx, ny];
        for (int x = 0; x < nx; x++)
            for (int y = 0; y < ny; y++)
                for (int z = 0; z < nz; z++) m[x, y] += joint[x, y, z];
        return m;
    }

    /// <summary>The (x, z) marginal of p(x, y, z).</summary>
    public static double[,] Marginal02(double[,,] joint)
    {
        int nx = joint.GetLength(0), ny = joint.GetLength(1), nz = joint.GetLength(2);
        var m = new double[nx, nz];
        for (int x = 0; x < nx; x++)
            for (int y = 0; y < ny; y++)
                for (int z = 0; z < nz; z++) m[x, z] += joint[x, y, z];
        return m;
    }

    /// <summary>Checks a table of probabilities or counts and scales it to sum to one.</summary>
    /// <exception cref="ArgumentException">A negative, NaN or infinite entry, or an all-zero table.</exception>
    public static double[,,] Normalised(double[,,] joint)
    {
        ArgumentNullException.ThrowIfNull(joint);
        var (largest, total) = Scale(joint.Cast<double>(), nameof(joint));
        var p = (double[,,])joint.Clone();
        for (int a = 0; a < p.GetLength(0); a++)
            for (int b = 0; b < p.GetLength(1); b++)
                for (int c = 0; c < p.GetLength(2); c++) p[a, b, c] = p[a, b, c] / largest / total;
        return p;
    }

    private static double[,] Normalised(double[,] joint)
    {
        ArgumentNullException.ThrowIfNull(joint);
        var (largest, total) = Scale(joint.Cast<double>(), nameof(joint));
        var p = (double[,])joint.Clone();
        for (int a = 0; a < p.GetLength(0); a++)
            for (int b = 0; b < p.GetLength(1); b++) p[a, b] = p[a, b] / largest / total;
        return p;
    }

    /// <summary>
    /// The largest entry and the sum of entries divided by it: dividing by both normalises without the overflow a plain
    /// sum of huge counts would hit. Checks every entry.
    /// </summary>
    private static (double Largest, double Total) Scale(IEnumerable<double> values, string parameter)
    {
        double largest = 0, total = 0;
        foreach (var v in values) largest = Math.Max(largest, Check(v));
        if (!(largest > 0)) throw new ArgumentException("The table is empty (all entries are zero).", parameter);
        foreach (var v in values) total += v / largest;
        return (largest, total);
    }

    private static double Check(double v) => double.IsFinite(v) && v >= 0
        ? v
        : throw new ArgumentException($"Probabilities and counts must be finite and non-negative; found {v}.");

    private static double Term(double p) => p > 0 ? p * Math.Log2(p) : 0;
}
