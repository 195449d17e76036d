namespace MLExtensions.Fairness;

/// <summary>
/// The fitting rows arranged by (client, group) cell, with every group's calibration (the chance of a positive label
/// given the score, Platt-scaled on the group's rows of all clients), from which the cells' ROC hulls are built.
/// </summary>
/// <remarks>
/// Shrinkage touches only the labels: a cell's rule still moves its own rows (so its positive rate, which the
/// disparities are made of, is the cell's), but the error a rule makes there is judged on labels blended with the
/// group's calibration, y' = λ·y + (1 − λ)·q_z(score), λ = n / (n + shrinkage rows). A cell of ten rows then gets the
/// thresholds its group's model calibration supports rather than those its ten labels happen to favour.
/// </remarks>
internal sealed class CellTable
{
    private readonly List<MitigationRow>?[,] _rows;
    private readonly IReadOnlyList<MitigationRow> _all;
    private readonly Func<double, double>[] _calibration;
    private readonly double[] _pivot;
    private readonly bool _binned;
    private readonly ScoreDensity[]? _density;
    private readonly CellScores?[,] _scores;
    private readonly Lazy<CellRocHull> _pooled;

    /// <summary>
    /// A cell's distinct scores (descending) with the weight of positive labels, the total weight and the group's
    /// calibration at each: all a shrunk hull needs, computed once however many shrinkages are tried. Summing weights
    /// per score first also makes single rows and a histogram's bins of them give the same table to the last bit.
    /// </summary>
    private sealed record CellScores(double[] Scores, double[] Positive, double[] Total, double[] Calibrated);

    private CellTable(IReadOnlyList<MitigationRow> rows, bool fromScores, bool binned, int[]? ascending)
    {
        _all = rows;
        FromScores = fromScores;
        _binned = binned;
        Clients = rows.Select(r => r.Client).Distinct().Order(StringComparer.Ordinal).ToArray();
        Groups = rows.Select(r => r.Group).Distinct().Order(StringComparer.Ordinal).ToArray();
        ClientIndex = Clients.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i, StringComparer.Ordinal);
        GroupIndex = Groups.Select((g, i) => (g, i)).ToDictionary(p => p.g, p => p.i, StringComparer.Ordinal);
        _rows = new List<MitigationRow>?[Clients.Length, Groups.Length];
        Sizes = new double[Clients.Length, Groups.Length];
        var client = new int[rows.Count];
        var group = new int[rows.Count];
        for (int i = 0; i < rows.Count; i++)
        {
            var r = rows[i];
            int s = client[i] = ClientIndex[r.Client], z = group[i] = GroupIndex[r.Group];
            Sizes[s, z] += r.Weight;
            if (!fromScores) (_rows[s, z] ??= []).Add(r);
        }
        _scores = new CellScores?[Clients.Length, Groups.Length];
        _calibration = Groups.Select(_ => (Func<double, double>)(_ => 0.5)).ToArray();
        _pivot = Groups.Select(_ => double.NaN).ToArray();
        _pooled = new(() => CellRocHull.FromPredictions(_all)); // from scores: replaced below, once the rows are sorted
        if (!fromScores) return;

        // One sort of all rows by (score, label) serves every calibration and every cell's table.
        var order = ascending ?? SortedByScoreThenLabel(rows);
        _pooled = new(() => CellRocHull.FromScores(ScoreCounts.FromSorted(rows, order), ThresholdPlacement.GapTop));
        if (!binned) _density = Densities(rows, order, group, Groups.Length);
        // One feature for every fit of the table (log-odds when all scores are probabilities), so the pooled prior and
        // the groups' fits speak of the same curve.
        bool probabilities = rows.All(r => r.Score is >= 0 and <= 1);
        var entries = PlattCalibration.Entries.Of(rows, order, group, Groups.Length);
        var overall = PlattCalibration.Fit(entries[0], null, probabilities);
        var calibrations = Enumerable.Range(0, Groups.Length).Select(z => PlattCalibration.Fit(entries[1 + z], overall.Probability, probabilities)).ToArray();
        _calibration = calibrations.Select(c => c.Probability).ToArray();

        // A histogram's scores are bin edges: a threshold inside a gap would split a bin the fit counted whole.
        _pivot = calibrations.Select(c => binned ? double.NaN : c.Pivot).ToArray();

        var scores = new List<double>?[Clients.Length, Groups.Length];
        var positive = new List<double>?[Clients.Length, Groups.Length];
        var total = new List<double>?[Clients.Length, Groups.Length];
        for (int k = order.Length - 1; k >= 0; k--)
        {
            int i = order[k], s = client[i], z = group[i];
            var r = rows[i];
            var cellScores = scores[s, z] ??= [];
            if (cellScores.Count == 0 || cellScores[^1] != r.Score)
            {
                cellScores.Add(r.Score);
                (positive[s, z] ??= []).Add(0);
                (total[s, z] ??= []).Add(0);
            }
            if (r.Label) positive[s, z]![^1] += r.Weight;
            total[s, z]![^1] += r.Weight;
        }
        for (int s = 0; s < Clients.Length; s++)
            for (int z = 0; z < Groups.Length; z++)
                if (scores[s, z] is { } cellScores)
                    _scores[s, z] = new CellScores([.. cellScores], [.. positive[s, z]!], [.. total[s, z]!], cellScores.Select(_calibration[z]).ToArray());
    }

    /// <summary>
    /// Row indices in order of (score, label, index): ties keep row order, so sums over the order do not depend on the
    /// sort. Sorting the scores as plain numbers and then each run of equal scores by (label, index) is several times
    /// faster than comparing tuples.
    /// </summary>
    internal static int[] SortedByScoreThenLabel(IReadOnlyList<MitigationRow> rows)
    {
        var order = new int[rows.Count];
        var scores = new double[rows.Count];
        for (int i = 0; i < order.Length; i++) (order[i], scores[i]) = (i, rows[i].Score);
        Array.Sort(scores, order);
        var ties = new long[rows.Count];
        for (int start = 0, end; start < order.Length; start = end)
        {
            for (end = start + 1; end < order.Length && scores[end] == scores[start]; end++) { }
            if (end - start < 2) continue;
            for (int k = start; k < end; k++) ties[k] = (rows[order[k]].Label ? (long)rows.Count : 0) + order[k];
            Array.Sort(ties, order, start, end - start);
        }
        return order;
    }

    /// <summary>
    /// The table of <paramref name="rows"/>; <paramref name="binned"/> when their scores are histogram bin edges
    /// (thresholds then stay on them); <paramref name="ascending"/>, the rows' <see cref="SortedByScoreThenLabel"/>
    /// order when the caller has it (the folds of one data set share one sort).
    /// </summary>
    public static CellTable From(IReadOnlyList<MitigationRow> rows, bool fromScores, bool binned, int[]? ascending = null)
    {
        if (rows.Select(r => r.Group).Distinct().Count() < 2)
            throw new InvalidDataException("All fitting rows belong to one sensitive group; the mitigator needs at least two.");
        return new CellTable(rows, fromScores, binned, ascending);
    }

    /// <summary>
    /// The table of the rows outside fold <paramref name="f"/>, taken in the order <paramref name="ascending"/> of all
    /// rows, so that they arrive sorted: the same table as sorting them anew, without the sort.
    /// </summary>
    public static CellTable WithoutFold(IReadOnlyList<MitigationRow> rows, MitigationFolds folds, int f, bool fromScores, bool binned, int[]? ascending)
    {
        var training = folds.Training(rows, f, ascending);
        return From(training, fromScores, binned, ascending is null ? null : Enumerable.Range(0, training.Count).ToArray());
    }

    public bool FromScores { get; }

    public string[] Clients { get; }

    public string[] Groups { get; }

    public Dictionary<string, int> ClientIndex { get; }

    public Dictionary<string, int> GroupIndex { get; }

    /// <summary>Weight of each cell, [client, group].</summary>
    public double[,] Sizes { get; }

    /// <summary>
    /// Each non-empty cell's hull, its labels shrunk toward its group's calibration by <paramref name="shrinkage"/>
    /// rows; with <paramref name="keepRates"/> its thresholds keep their positive rates on new rows, else they lean to
    /// the group's pivot (see <see cref="ThresholdPlacement"/>; a histogram's thresholds sit on bin edges either way).
    /// </summary>
    public CellRocHull?[,] Hulls(double shrinkage, bool keepRates = false)
    {
        var hulls = new CellRocHull?[Clients.Length, Groups.Length];
        var placement = Groups.Select((_, z) => _binned ? ThresholdPlacement.GapTop
            : keepRates ? ThresholdPlacement.KeepingRates(_density?[z]) : ThresholdPlacement.AtPivot(_pivot[z])).ToArray();
        for (int s = 0; s < Clients.Length; s++)
            for (int z = 0; z < Groups.Length; z++)
            {
                if (!FromScores)
                {
                    if (_rows[s, z] is { } data) hulls[s, z] = CellRocHull.FromPredictions(data);
                    continue;
                }
                if (_scores[s, z] is not { } cell) continue;
                double own = double.IsPositiveInfinity(shrinkage) ? 0 : Sizes[s, z] / (Sizes[s, z] + shrinkage);
                var positives = new double[cell.Scores.Length];
                var negatives = new double[cell.Scores.Length];
                for (int k = 0; k < positives.Length; k++)
                {
                    positives[k] = own * cell.Positive[k] + (1 - own) * cell.Calibrated[k] * cell.Total[k];
                    negatives[k] = Math.Max(0, cell.Total[k] - positives[k]);
                }
                hulls[s, z] = CellRocHull.FromScores(new ScoreCounts(cell.Scores, positives, negatives), placement[z]);
            }
        return hulls;
    }

    /// <summary>Each group's scores of every client (from the rows' ascending <paramref name="order"/>): where a cell's new rows fall between its own scores.</summary>
    private static ScoreDensity[] Densities(IReadOnlyList<MitigationRow> rows, int[] order, int[] group, int groups)
    {
        var scores = Enumerable.Range(0, groups).Select(_ => new List<double>()).ToArray();
        var weights = Enumerable.Range(0, groups).Select(_ => new List<double>()).ToArray();
        foreach (int i in order)
        {
            int z = group[i];
            double score = rows[i].Score;
            if (scores[z].Count > 0 && scores[z][^1] == score) weights[z][^1] += rows[i].Weight;
            else
            {
                scores[z].Add(score);
                weights[z].Add(rows[i].Weight);
            }
        }
        return Enumerable.Range(0, groups).Select(z => new ScoreDensity([.. scores[z]], [.. weights[z]])).ToArray();
    }

    /// <summary>One hull over all rows: the rule of cells not seen when fitting, when they are pooled.</summary>
    public CellRocHull PooledHull() => _pooled.Value;
}

/// <summary>
/// The chance of a positive label given the score, P(y | s) = σ(a + b·u) with u the score's log-odds when every score
/// is a probability in [0, 1] and the score itself otherwise (Platt scaling): two parameters, so a group of a few
/// hundred rows pins it down where a step function would follow its noise. Fitted by Newton's method on the weighted
/// log-likelihood with a weak pull toward a prior calibration (the pooled fit), which also keeps separable data finite.
/// </summary>
internal sealed record PlattCalibration(Func<double, double> Probability, double Pivot)
{
    /// <summary>
    /// Observations for one fit: the rows summed per (score, label) in ascending order (negatives first), so single
    /// rows and a histogram's bins of them fit the same calibration to the last bit.
    /// </summary>
    public sealed class Entries(int capacity)
    {
        public List<double> Scores { get; } = new(capacity);

        public List<bool> Labels { get; } = new(capacity);

        public List<double> Weights { get; } = new(capacity);

        private void Add(MitigationRow row)
        {
            if (Scores.Count > 0 && Scores[^1] == row.Score && Labels[^1] == row.Label) Weights[^1] += row.Weight;
            else
            {
                Scores.Add(row.Score);
                Labels.Add(row.Label);
                Weights.Add(row.Weight);
            }
        }

        /// <summary>
        /// In one pass over <paramref name="order"/> (ascending score, negatives first): the entries of all rows, then
        /// those of each group (<paramref name="group"/> gives each row's, of <paramref name="groups"/>).
        /// </summary>
        public static Entries[] Of(IReadOnlyList<MitigationRow> rows, int[] order, int[] group, int groups)
        {
            var sizes = new int[groups];
            foreach (int z in group) sizes[z]++;
            var entries = new[] { new Entries(order.Length) }.Concat(sizes.Select(n => new Entries(n))).ToArray(); // sized once: no regrowth of large arrays
            foreach (int i in order)
            {
                entries[0].Add(rows[i]);
                entries[1 + group[i]].Add(rows[i]);
            }
            return entries;
        }
    }

    /// <summary>The fitted calibration of <paramref name="entries"/> and its pivot, the score where it crosses ½ (NaN when it does not rise with the score).</summary>
    public static PlattCalibration Fit(Entries entries, Func<double, double>? prior, bool probabilities)
    {
        double Feature(double score) => probabilities ? Math.Log(Math.Clamp(score, 1e-9, 1 - 1e-9) / (1 - Math.Clamp(score, 1e-9, 1 - 1e-9))) : score;
        var weight = entries.Weights.ToArray();
        var u = entries.Scores.Select(Feature).ToArray();
        // Standardise the feature so the pull and the Newton steps are scale-free.
        double total = 0, weighted = 0, positives = 0;
        for (int i = 0; i < u.Length; i++) total += weight[i];
        for (int i = 0; i < u.Length; i++) weighted += weight[i] * u[i];
        double mean = weighted / total, spread = 0;
        for (int i = 0; i < u.Length; i++) spread += weight[i] * (u[i] - mean) * (u[i] - mean);
        double sd = Math.Sqrt(spread / total);
        if (!(sd > 0)) sd = 1;
        // Prior targets: the pooled fit's parameters (read back from two points), else a = logit(base rate), b = 0.
        for (int i = 0; i < u.Length; i++)
            if (entries.Labels[i]) positives += weight[i];
        double baseRate = Math.Clamp(positives / total, 1e-6, 1 - 1e-6);
        double a0 = Math.Log(baseRate / (1 - baseRate)), b0 = 0;
        var priorParameters = prior is null ? (A: a0, B: b0) : ReadBack(prior, mean, sd, probabilities);
        const double pull = 1.0; // one pseudo-row's worth of curvature on each parameter
        double a = priorParameters.A, b = priorParameters.B;
        var x = u.Select(v => (v - mean) / sd).ToArray();
        var label = entries.Labels.Select(l => l ? 1.0 : 0.0).ToArray();
        for (int iteration = 0; iteration < 50; iteration++)
        {
            double ga = -pull * (a - priorParameters.A), gb = -pull * (b - priorParameters.B), haa = pull, hab = 0, hbb = pull;
            for (int i = 0; i < x.Length; i++)
            {
                double p = 1 / (1 + Math.Exp(-(a + b * x[i]))), w = weight[i];
                double residual = label[i] - p, curvature = w * p * (1 - p);
                ga += w * residual;
                gb += w * residual * x[i];
                haa += curvature;
                hab += curvature * x[i];
                hbb += curvature * x[i] * x[i];
            }
            double det = haa * hbb - hab * hab;
            double da = (hbb * ga - hab * gb) / det, db = (haa * gb - hab * ga) / det;
            // The penalised log-likelihood is strictly concave, so Newton converges; a damped step keeps near-separable groups from overshooting.
            double scale = Math.Min(1, 4 / Math.Max(Math.Abs(da), Math.Abs(db)));
            a += scale * da;
            b += scale * db;
            if (Math.Abs(da) + Math.Abs(db) < 1e-10) break;
        }
        if (!double.IsFinite(a) || !double.IsFinite(b)) (a, b) = priorParameters;
        double pivotFeature = mean - a * sd / b;
        double pivot = !(b > 1e-9) || !double.IsFinite(pivotFeature) ? double.NaN : probabilities ? 1 / (1 + Math.Exp(-pivotFeature)) : pivotFeature;
        return new PlattCalibration(score => 1 / (1 + Math.Exp(-(a + b * (Feature(score) - mean) / sd))), pivot);
    }

    /// <summary>The parameters, in this fit's standardised feature, of a calibration given as a function.</summary>
    private static (double A, double B) ReadBack(Func<double, double> calibration, double mean, double sd, bool probabilities)
    {
        double Logit(double p) => Math.Log(p / (1 - p));
        double Score(double u) => probabilities ? 1 / (1 + Math.Exp(-u)) : u;
        double l0 = Logit(Math.Clamp(calibration(Score(mean)), 1e-9, 1 - 1e-9)), l1 = Logit(Math.Clamp(calibration(Score(mean + sd)), 1e-9, 1 - 1e-9));
        return (l0, l1 - l0);
    }
}
