using MLExtensions.Mlp;
using Microsoft.ML;
using MLExtensions.Nas;
using MLExtensions.Torch;
using MLExtensions.Training;
using TorchSharp;
using Xunit;

namespace MLExtensions.Tests.Training;

public class TabularDataTests
{
    private static readonly MLContext Ml = new(0);

    private static TabularData Data(int rows, string? weight = null) => new(
        Ml.Data.LoadFromEnumerable(Synthetic.Rows(rows, 1).Select((r, i) => { r.Target = i; r.Weight = i % 3; return r; })),
        new MlpTrainer.Options { LabelColumnName = "Target", ExampleWeightColumnName = weight }, LabelKind.Real);

    [Theory]
    [InlineData(1000, 7, 64)]     // buffer smaller than the data: streaming shuffle
    [InlineData(250, 32, 4096)]   // data fits the buffer: full shuffle
    public void Shuffled_batches_visit_every_row_once_per_epoch_in_a_seeded_order(int rows, int batchSize, int buffer)
    {
        var data = Data(rows);
        List<float> Epoch(int seed) => data.ReadBatches(batchSize, new Random(seed), buffer, null, default)
            .SelectMany(b => b.Labels.Take(b.Count)).ToList();
        var first = Epoch(1);
        Assert.Equal(Enumerable.Range(0, rows).Select(i => (float)i), first.Order());
        Assert.Equal(first, Epoch(1));
        Assert.NotEqual(first, Epoch(2));
        Assert.NotEqual(Enumerable.Range(0, rows).Select(i => (float)i), first);
        Assert.All(data.ReadBatches(batchSize, null, 0, null, default).SkipLast(1), b => Assert.Equal(batchSize, b.Count));
    }

    [Fact]
    public void Weights_travel_with_their_rows()
    {
        var data = Data(100, weight: "Weight");
        foreach (var batch in data.ReadBatches(16, new Random(3), 32, null, default))
            for (int i = 0; i < batch.Count; i++)
                Assert.Equal(batch.Labels[i] % 3, batch.Weights![i]);
    }

    [Fact]
    public void Summary_gives_moments_and_rows()
    {
        var rows = Synthetic.Rows(500, 4);
        var data = new TabularData(Ml.Data.LoadFromEnumerable(rows), new MlpTrainer.Options { LabelColumnName = "Target" }, LabelKind.Real);
        var summary = data.Summarize();
        Assert.Equal(500, summary.Rows);
        double mean3 = rows.Average(r => (double)r.Features[3]);
        Assert.Equal(mean3, summary.FeatureMean[3], 6);
        Assert.Equal(Math.Sqrt(rows.Average(r => Math.Pow(r.Features[3] - mean3, 2))), summary.FeatureStdDev[3], 6);
        Assert.Equal(rows.Average(r => (double)r.Target), summary.LabelMean, 6);
    }

    [Fact]
    public void Validation_split_is_seeded_disjoint_and_near_its_fraction()
    {
        var split = ValidationSplit.Create(0.2, seed: 9)!;
        var held = Enumerable.Range(0, 20_000).Count(i => split.IsValidation(i));
        Assert.InRange(held, 3_700, 4_300);
        Assert.All(Enumerable.Range(0, 1000), i => Assert.NotEqual(split.IsValidation(i), split.IsTraining(i)));
        var again = ValidationSplit.Create(0.2, seed: 9)!;
        var other = ValidationSplit.Create(0.2, seed: 10)!;
        Assert.All(Enumerable.Range(0, 1000), i => Assert.Equal(split.IsValidation(i), again.IsValidation(i)));
        Assert.Contains(Enumerable.Range(0, 1000), i => split.IsValidation(i) != other.IsValidation(i));
        Assert.Null(ValidationSplit.Create(0, 1));
    }

    [Fact]
    public void Asking_for_cuda_without_it_says_how_to_get_it()
    {
        if (TorchDevices.CudaAvailable)
        {
            Assert.Equal(DeviceType.CUDA, TorchDevices.Resolve(ComputeDevice.Auto).type);
            return;
        }
        Assert.Equal(DeviceType.CPU, TorchDevices.Resolve(ComputeDevice.Auto).type);
        var error = Assert.Throws<InvalidOperationException>(() => TorchDevices.Resolve(ComputeDevice.Cuda));
        Assert.Contains("TorchBackend=cuda", error.Message);
    }
}
