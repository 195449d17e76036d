namespace MLExtensions.Fairness;
internal sealed record MitigationRowProbe(bool Label, double Score)
{
    public static (Func<double, double>, double) Calibrate(List<MitigationRowProbe> rows)
    {
        var c = PlattCalibration.Fit(rows.Select(r => new MitigationRow("a", "f", r.Label, r.Score)).ToList(), null);
        return (c.Probability, c.Pivot);
    }

    public static string Table(List<(string C, string G, bool L, double S)> rows)
    {
        var mr = rows.Select(r => new MitigationRow(r.C, r.G, r.L, r.S)).ToList();
        var overall = PlattCalibration.Fit(mr, null);
        var fcal = PlattCalibration.Fit(mr.Where(r => r.Group == "f").ToList(), overall.Probability);
        var extra = $"overall pivot {overall.Pivot} q(.402) {overall.Probability(0.402)}; f|prior pivot {fcal.Pivot} q(.402) {fcal.Probability(0.402)} ";
        var table = CellTable.From(mr, true);
        var hull = table.Hulls(double.PositiveInfinity)[table.ClientIndex["c10"], table.GroupIndex["f"]]!;
        return extra + $"table: labelrate {hull.LabelRate} best {hull.Curve.BestRate} breakpoints {string.Join(" ", hull.Curve.Breakpoints.Select(b => b.ToString("F4")))} rule {hull.RuleForRate("a", "f", hull.Curve.BestRate)}";
    }

    public static string Hull(double[] scores, Func<double, double> q, double pivot)
    {
        var counts = ScoreCounts.From(scores.Select(s => (s, q(s), 1 - q(s))));
        var hull = CellRocHull.FromScores(counts, pivot);
        var curve = hull.Curve;
        return $"best {curve.BestRate} min {curve.MinimumError} breakpoints {string.Join(" ", curve.Breakpoints.Select(b => b.ToString("F4")))} | rule {hull.RuleForRate("a", "f", curve.BestRate)}";
    }
}
