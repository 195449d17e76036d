using MLExtensions.Fairness.Information;

namespace MLExtensions.Fairness;

/// <summary>
/// A shrinkage candidate's plug-in disparities (bits) of expected decisions on the cross-validation's held-out rows,
/// with each row's term of them, so that two candidates judged on the same rows can be compared with a paired
/// standard error instead of by their noisy values alone.
/// </summary>
/// <remarks>
/// The disparities are those <see cref="MitigationCrossFit.Disparity"/> computes, from tables indexed by the rows'
/// group and client numbers (this runs once per candidate over every row). A row's term is the mean of the
/// information's log-ratio over its expected decision; the plug-in information is the weighted mean of the terms.
/// Rows the constraint does not count (negatives under equal opportunity) have NaN terms.
/// </remarks>
internal sealed class HeldOutDisparity
{
    private readonly double[] _globalTerms;
    private readonly double[] _localTerms;

    private HeldOutDisparity(double global, double local, double[] globalTerms, double[] localTerms)
    {
        Global = global;
        Local = local;
        _globalTerms = globalTerms;
        _localTerms = localTerms;
    }

    public double Global { get; }

    public double Local { get; }

    /// <summary>The disparities of decisions with held-out weight <paramref name="held"/> and positive weight <paramref name="positive"/> per row.</summary>
    public static HeldOutDisparity Of(IReadOnlyList<MitigationRow> rows, int[] groupOf, int groups, int[] clientOf, int clients,
        int[] used, double[] held, double[] positive, FairnessConstraint constraint)
    {
        int labels = constraint.LabelStrata();
        var global = new double[groups, 2, labels];
        var local = new double[groups, 2, clients * labels];
        bool Counted(int i) => constraint.Counts(rows[i].Label);
        int Label(int i) => constraint.LabelStratum(rows[i].Label);
        foreach (int i in used)
        {
            if (!Counted(i)) continue;
            int y = Label(i), z = groupOf[i], c = clientOf[i] * labels + y;
            Add(z, 1, y, c, positive[i]);
            Add(z, 0, y, c, held[i] - positive[i]);
        }
        void Add(int z, int decision, int y, int c, double weight)
        {
            if (!(weight > 0)) return;
            global[z, decision, y] += weight;
            local[z, decision, c] += weight;
        }
        var globalLog = InformationMeasures.ConditionalInformationTerms(global);
        var localLog = InformationMeasures.ConditionalInformationTerms(local);
        var globalTerms = new double[rows.Count];
        var localTerms = new double[rows.Count];
        Array.Fill(globalTerms, double.NaN);
        Array.Fill(localTerms, double.NaN);
        foreach (int i in used)
        {
            if (!Counted(i)) continue;
            int y = Label(i), z = groupOf[i], c = clientOf[i] * labels + y;
            double share = Math.Clamp(positive[i] / held[i], 0, 1);
            globalTerms[i] = share * globalLog[z, 1, y] + (1 - share) * globalLog[z, 0, y];
            localTerms[i] = share * localLog[z, 1, c] + (1 - share) * localLog[z, 0, c];
        }
        return new HeldOutDisparity(InformationMeasures.ConditionalMutualInformation(global), InformationMeasures.ConditionalMutualInformation(local),
            globalTerms, localTerms);
    }

    /// <summary>
    /// Whether these disparities keep within the budgets on the held-out rows, or within <paramref name="reference"/>'s
    /// (the unshrunk rules') where those exceed the budgets, allowing one paired standard error of the difference
    /// (at least 1e-4 bits): a candidate is out only when its excess is larger than the noise of judging it on these rows.
    /// </summary>
    public bool Within(HeldOutDisparity reference, double globalBudget, double localBudget, double[] held) =>
        Global <= Math.Max(globalBudget, reference.Global) + Math.Max(1e-4, 2 * PairedStandardError(_globalTerms, reference._globalTerms, held)) &&
        Local <= Math.Max(localBudget, reference.Local) + Math.Max(1e-4, 2 * PairedStandardError(_localTerms, reference._localTerms, held));

    /// <summary>Standard error of the weighted mean difference of two candidates' terms, paired by row.</summary>
    private static double PairedStandardError(double[] a, double[] b, double[] held)
    {
        double total = 0, sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            if (double.IsNaN(a[i]) || double.IsNaN(b[i])) continue;
            total += held[i];
            sum += held[i] * (a[i] - b[i]);
        }
        if (total <= 1) return 0;
        double mean = sum / total, squares = 0;
        for (int i = 0; i < a.Length; i++)
        {
            if (double.IsNaN(a[i]) || double.IsNaN(b[i])) continue;
            double d = a[i] - b[i] - mean;
            squares += held[i] * d * d;
        }
        return Math.Sqrt(squares / (total - 1) / total);
    }
}
