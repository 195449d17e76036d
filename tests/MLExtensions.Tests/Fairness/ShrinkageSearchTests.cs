using MLExtensions.Fairness;
using Xunit;
using Xunit.Abstractions;

namespace MLExtensions.Tests.Fairness;

/// <summary>
/// The shrinkage cross-validation stops early (past the accuracy peak, or after two candidates over the budget):
/// it must pick what judging every candidate picks.
/// </summary>
public class ShrinkageSearchTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(FairnessConstraint.DemographicParity)]
    [InlineData(FairnessConstraint.EqualizedOdds)]
    [InlineData(FairnessConstraint.EqualOpportunity)]
    public void The_early_stopped_search_picks_what_the_whole_grid_picks(FairnessConstraint constraint)
    {
        int agree = 0, runs = 0;
        foreach (int n in new[] { 800, 3000 })
            for (int seed = 0; seed < 4; seed++)
            {
                var rows = MitigatorGeneralisationTests.Rows(n, 40 + seed, clients: 20)
                    .Select(r => new MitigationRow(r.Client, r.Sensitive, r.Label, r.Probability)).ToList();
                var options = new FairnessMitigator.Options
                {
                    SensitiveColumnName = "Sensitive", ClientColumnName = "Client", LabelColumnName = "Label", ScoreColumnName = "Probability",
                    Constraint = constraint, GlobalBudget = 0.002, LocalBudget = 0.002, Seed = seed,
                };
                var ascending = CellTable.SortedByScoreThenLabel(rows);
                double early = MitigationSolver.ChooseShrinkage(rows, options, binned: false, ascending);
                double full = MitigationSolver.ChooseShrinkage(rows, options, binned: false, ascending, exhaustive: true);
                output.WriteLine($"{constraint} n={n} seed={seed}: early {early}, whole grid {full}");
                runs++;
                if (early == full) agree++;
            }
        Assert.True(agree == runs, $"the early stop changed the pick in {runs - agree} of {runs} fits");
    }
}
