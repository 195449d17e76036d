namespace MLExtensions.Fairness;

/// <summary>
/// The folds of the mitigator's cross-validation and cross-fitting. A row of weight 1 goes whole to one fold, drawn
/// as it always was (one <c>Next(folds)</c> per such row from a stream seeded by the options' seed); a row that
/// stands for many rows (a histogram bin, whole-number weight above 1) is divided among the folds by multinomial
/// thinning: its count is split at random, as its rows would have been had each gone to a fold of its own. Without
/// this a bin of a million rows would sit in one fold, and the folds would not be samples of the data.
/// </summary>
internal sealed class MitigationFolds
{
    private readonly int[] _fold;          // the fold of a whole row; -1 for a divided one
    private readonly double[]?[] _shares;  // a divided row's weight in each fold

    private MitigationFolds(int folds, int[] fold, double[]?[] shares)
    {
        Count = folds;
        _fold = fold;
        _shares = shares;
    }

    /// <summary>Number of folds.</summary>
    public int Count { get; }

    /// <summary>
    /// Assigns <paramref name="rows"/> to <paramref name="folds"/> folds. Rows of weight 1 (and any weight that is not a
    /// whole number above 1) draw their fold from <c>new Random(seed)</c>, one draw per such row in order, so data of
    /// single rows is split exactly as before histograms existed; divided rows draw from a second stream.
    /// </summary>
    public static MitigationFolds Of(IReadOnlyList<MitigationRow> rows, int folds, int seed)
    {
        var fold = new int[rows.Count];
        var shares = new double[]?[rows.Count];
        var whole = new Random(seed);
        Random? divided = null;
        for (int i = 0; i < rows.Count; i++)
        {
            double w = rows[i].Weight;
            if (w > 1 && w == Math.Floor(w) && w <= MaximumExactCount)
            {
                divided ??= new Random(unchecked(seed * 1_000_003 + 17));
                shares[i] = Multinomial((long)w, folds, divided);
                fold[i] = -1;
            }
            else fold[i] = whole.Next(folds);
        }
        return new MitigationFolds(folds, fold, shares);
    }

    /// <summary>Weights above 2⁵³ are not whole numbers a double holds exactly; such a row stays whole.</summary>
    private const double MaximumExactCount = 9007199254740992;

    /// <summary>The weight row <paramref name="i"/> (of weight <paramref name="weight"/>) has in fold <paramref name="f"/>.</summary>
    public double WeightIn(int i, double weight, int f) => _shares[i] is { } s ? s[f] : _fold[i] == f ? weight : 0;

    /// <summary>Whether fold <paramref name="f"/> holds (some of) row <paramref name="i"/>.</summary>
    public bool Holds(int i, int f) => _shares[i] is { } s ? s[f] > 0 : _fold[i] == f;

    /// <summary>Whether row <paramref name="i"/> was divided among the folds (it stands for many rows).</summary>
    public bool IsDivided(int i) => _shares[i] is not null;

    /// <summary>The rows outside fold <paramref name="f"/>, each with its weight there (rows with none left out), in row order or in <paramref name="order"/>.</summary>
    public List<MitigationRow> Training(IReadOnlyList<MitigationRow> rows, int f, int[]? order = null)
    {
        var training = new List<MitigationRow>(rows.Count);
        for (int k = 0; k < rows.Count; k++)
        {
            int i = order is null ? k : order[k];
            if (_shares[i] is { } s)
            {
                double w = rows[i].Weight - s[f];
                if (w > 0) training.Add(rows[i] with { Weight = w });
            }
            else if (_fold[i] != f) training.Add(rows[i]);
        }
        return training;
    }

    /// <summary>A count divided among <paramref name="folds"/> equally likely folds: sequential binomial draws.</summary>
    internal static double[] Multinomial(long count, int folds, Random random)
    {
        var shares = new double[folds];
        long left = count;
        for (int f = 0; f < folds - 1 && left > 0; f++)
        {
            long n = Binomial.Sample(left, 1.0 / (folds - f), random);
            shares[f] = n;
            left -= n;
        }
        shares[folds - 1] += left;
        return shares;
    }
}

/// <summary>Exact binomial draws for any count: inversion for small means, Hörmann's BTRS rejection otherwise.</summary>
internal static class Binomial
{
    /// <summary>A draw from Binomial(<paramref name="n"/>, <paramref name="p"/>).</summary>
    public static long Sample(long n, double p, Random random)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        if (!(p >= 0 && p <= 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "A probability lies in [0, 1].");
        if (n == 0 || p == 0) return 0;
        if (p == 1) return n;
        if (p > 0.5) return n - Sample(n, 1 - p, random);
        return n * p < 10 ? Inversion(n, p, random) : Btrs(n, p, random);
    }

    /// <summary>Sequential search of the distribution function from 0 (expected n·p + 1 steps).</summary>
    private static long Inversion(long n, double p, Random random)
    {
        double q = 1 - p, s = p / q, a = (n + 1) * s, first = Math.Exp(n * double.LogP1(-p));
        while (true)
        {
            double r = first, u = random.NextDouble();
            long k = 0;
            while (u > r)
            {
                u -= r;
                k++;
                if (k > n) break; // rounding left mass beyond n: draw again
                r *= a / k - s;
            }
            if (k <= n) return k;
        }
    }

    /// <summary>
    /// Transformed rejection with squeeze (W. Hörmann, "The generation of binomial random variates", 1993), for
    /// n·p ≥ 10 and p ≤ ½; exact up to rounding: the acceptance test compares with the true probability ratio.
    /// </summary>
    private static long Btrs(long n, double p, Random random)
    {
        double q = 1 - p, spq = Math.Sqrt(n * p * q);
        double b = 1.15 + 2.53 * spq, a = -0.0873 + 0.0248 * b + 0.01 * p, c = n * p + 0.5, vr = 0.92 - 4.2 / b;
        double alpha = (2.83 + 5.1 / b) * spq, lpq = Math.Log(p / q);
        long m = (long)Math.Floor((n + 1) * p);
        double h = LogFactorial(m) + LogFactorial(n - m);
        while (true)
        {
            double u = random.NextDouble() - 0.5, v = random.NextDouble(), us = 0.5 - Math.Abs(u);
            double kd = Math.Floor((2 * a / us + b) * u + c);
            if (kd < 0 || kd > n) continue;
            long k = (long)kd;
            if (us >= 0.07 && v <= vr) return k;
            v = Math.Log(v * alpha / (a / (us * us) + b));
            if (v <= h - LogFactorial(k) - LogFactorial(n - k) + (k - m) * lpq) return k;
        }
    }

    private static readonly double[] SmallLogFactorials = BuildSmall();

    private static double[] BuildSmall()
    {
        var table = new double[256];
        for (int k = 1; k < table.Length; k++) table[k] = table[k - 1] + Math.Log(k);
        return table;
    }

    /// <summary>log k!: summed up to 255, Stirling's series (error below 1e-17 relative) beyond.</summary>
    internal static double LogFactorial(long k)
    {
        if (k < SmallLogFactorials.Length) return SmallLogFactorials[k];
        double x = k + 1.0, inverse = 1 / x, inverse2 = inverse * inverse;
        return (x - 0.5) * Math.Log(x) - x + 0.5 * Math.Log(2 * Math.PI)
               + inverse * (1.0 / 12 - inverse2 * (1.0 / 360 - inverse2 * (1.0 / 1260 - inverse2 / 1680)));
    }
}
