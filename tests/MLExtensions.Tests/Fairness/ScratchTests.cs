using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Fairness;
using Xunit;

namespace MLExtensions.Tests.Fairness;

public class ScratchTests
{
    [Fact]
    public void Scratch()
    {
        var ml = new MLContext(1);
        var fit = ml.Data.LoadFromEnumerable(MitigatorGeneralisationTests.Rows(1200, 100));
        var o = new FairnessMitigator.Options { SensitiveColumnName = "Sensitive", ClientColumnName = "Client", LabelColumnName = "Label", ScoreColumnName = "Probability",
            GlobalBudget = double.PositiveInfinity, LocalBudget = double.PositiveInfinity, RowKeyColumnName = "Id", PoolUnknownCells = true, CrossFitFolds = 0, ShrinkageRows = double.PositiveInfinity };
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var m = ml.Fairness().Mitigate(o).Fit(fit);
        var lines = new List<string> { $"fit {sw.ElapsedMilliseconds} ms, shrink {m.Shrinkage}, acc {m.Solution.Accuracy}" };
        var big = ml.Data.LoadFromEnumerable(MitigatorGeneralisationTests.Rows(12000, 11, clients: 4));
        foreach (var c in new[] { FairnessConstraint.DemographicParity, FairnessConstraint.EqualizedOdds })
            foreach (double? k in new double?[] { 0, 100, double.PositiveInfinity })
            {
                o.Constraint = c; o.ShrinkageRows = k; o.GlobalBudget = o.LocalBudget = 0.002;
                sw.Restart();
                var mm = ml.Fairness().Mitigate(o).Fit(big);
                lines.Add($"{c} k={k}: {sw.ElapsedMilliseconds} ms, steps {mm.Solution.NewtonSteps}, gap {mm.Solution.Gap}");
            }
        foreach (var r in m.Rules.Take(12)) lines.Add(r.ToString());
        var rows = MitigatorGeneralisationTests.Rows(1200, 100);
        lines.Add("c10,f scores: " + string.Join(" ", rows.Where(r => r.Client == "c10" && r.Sensitive == "f").Select(r => r.Probability).Order().Select(v => v.ToString("F3"))));
        var mr = rows.Where(r => r.Sensitive == "f").Select(r => new MLExtensions.Fairness.MitigationRowProbe(r.Label, r.Probability)).ToList();
        var (q, pivot) = MLExtensions.Fairness.MitigationRowProbe.Calibrate(mr);
        lines.Add($"pivot f {pivot}, q(0.402) {q(0.402)}, q(0.2) {q(0.2)}, q(0.8) {q(0.8)}");
        lines.Add(MLExtensions.Fairness.MitigationRowProbe.Hull(rows.Where(r => r.Client == "c10" && r.Sensitive == "f").Select(r => (double)r.Probability).ToArray(), q, pivot));
        lines.Add(MLExtensions.Fairness.MitigationRowProbe.Table(rows.Select(r => (r.Client, r.Sensitive, r.Label, (double)r.Probability)).ToList()));
        var cell = m.Solution.Cells.First(c => c.Client == "c10" && c.Group == "f");
        lines.Add($"rate {cell.PredictedPositiveRate} label {cell.LabelPositiveRate} acc {cell.Accuracy}");
        File.WriteAllLines("/tmp/scratch.txt", lines);
    }
}
