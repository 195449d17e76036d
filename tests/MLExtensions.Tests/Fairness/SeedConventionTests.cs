using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Fairness;
using Xunit;

namespace MLExtensions.Tests.Fairness;

/// <summary>
/// The package's one seed convention, ML.NET's, for the fairness components that used a fixed seed of 1: a seed given
/// is used as it is; none draws one from the <see cref="MLContext"/>, so a seeded context reproduces and another seed varies.
/// </summary>
public class SeedConventionTests
{
    private static FairnessMitigator.Options Options(int? seed) => new()
    {
        SensitiveColumnName = "Sensitive", ClientColumnName = "Client", LabelColumnName = "Label", ScoreColumnName = "Probability",
        GlobalBudget = 0, LocalBudget = 0, RowKeyColumnName = "Id", ShrinkageRows = 100, CrossFitFolds = 0, Seed = seed,
    };

    private static bool[] Decisions(int contextSeed, int? seed)
    {
        var ml = new MLContext(contextSeed);
        var options = Options(seed);
        var fitted = ml.Fairness().Mitigate(options).Fit(ml.Data.LoadFromEnumerable(MitigatorTests.Rows(1500, 1)));
        Assert.Equal(seed, options.Seed);   // the user's options are left as given
        var scored = fitted.Transform(ml.Data.LoadFromEnumerable(MitigatorTests.Rows(1500, 2)));
        return scored.GetColumn<bool>(options.OutputColumnName).ToArray();
    }

    [Fact]
    public void The_mitigator_draws_its_seed_from_the_context_unless_given()
    {
        var first = Decisions(7, null);
        Assert.Equal(first, Decisions(7, null));
        // Zero budgets randomise cells, so another context's seed moves some rows' draws across their rule's branch.
        Assert.NotEqual(first, Decisions(8, null));
        Assert.Equal(Decisions(7, 5), Decisions(8, 5));
    }

    private static Interval? DifferenceInterval(int contextSeed, int? seed)
    {
        var ml = new MLContext(contextSeed);
        var rows = MitigatorTests.Rows(600, 3);
        var frame = ml.Fairness().MetricFrame(ml.Data.LoadFromEnumerable(rows), new MetricFrameOptions
        {
            SensitiveColumnNames = ["Sensitive"], ClientColumnName = "Client", BootstrapSamples = 50, Seed = seed,
        });
        return frame.Disparities.Single(d => d.Metric == nameof(BinaryMetrics.SelectionRate)).DifferenceInterval;
    }

    [Fact]
    public void The_metric_frame_draws_its_bootstrap_seed_from_the_context_unless_given()
    {
        var first = DifferenceInterval(3, null);
        Assert.NotNull(first);
        Assert.Equal(first, DifferenceInterval(3, null));
        Assert.NotEqual(first, DifferenceInterval(4, null));
        Assert.Equal(DifferenceInterval(3, 9), DifferenceInterval(4, 9));
    }
}
