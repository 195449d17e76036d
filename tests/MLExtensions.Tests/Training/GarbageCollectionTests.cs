using Microsoft.ML;
using MLExtensions.Nas;
using MLExtensions.Torch;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace MLExtensions.Tests.Training;

/// <summary>
/// Training must survive garbage collections started by other threads: TorchSharp's on-the-fly scalars can be
/// finalised while native code still reads them, so training code holds its scalars (see HeldScalars).
/// </summary>
public class GarbageCollectionTests
{
    [Fact]
    public void Adam_matches_TorchSharp_Adam_step_for_step()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(3);
        var x = randn(64, 4);
        var y = randn(64, 1);
        using var a = nn.Linear(4, 1);
        using var b = nn.Linear(4, 1);
        b.load_state_dict(a.state_dict());
        using var ours = new AdamOptimizer(a.parameters(), 0.01, weightDecay: 0.1);
        using var theirs = optim.Adam(b.parameters(), 0.01, weight_decay: 0.1);
        for (int step = 0; step < 50; step++)
        {
            ours.ZeroGrad();
            theirs.zero_grad();
            (a.forward(x) - y).square().mean().backward();
            (b.forward(x) - y).square().mean().backward();
            ours.Step();
            theirs.step();
        }
        Assert.True((a.weight! - b.weight!).abs().max().item<float>() < 1e-6);
        Assert.True((a.bias! - b.bias!).abs().max().item<float>() < 1e-6);
    }

    /// <summary>
    /// Runs <paramref name="work"/> while another thread allocates and forces collections, pausing
    /// <paramref name="pauseMilliseconds"/> between them (0: as often as it can, which slows a training a lot).
    /// </summary>
    private static async Task UnderCollectionPressure(Action work, int pauseMilliseconds)
    {
        using var stop = new CancellationTokenSource();
        var pressure = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                _ = new byte[64 * 1024];
                GC.Collect(0, GCCollectionMode.Forced, blocking: false);
                Thread.Sleep(pauseMilliseconds);
            }
        });
        try
        {
            work();
        }
        finally
        {
            stop.Cancel();
            await pressure;
        }
    }

    [Fact]
    public Task Held_scalar_arithmetic_survives_collections_from_another_thread() => UnderCollectionPressure(() =>
    {
        // With TorchSharp's implicit scalars ((x + y) * 2f - 1f) this loop fails within a second here. How many rounds
        // fit in that time depends on how the two cores share the forced collections (from seconds for all 50,000 to a
        // quarter of an hour), so the loop stops after 50,000 rounds or 10 seconds, whichever comes first.
        using var x = randn(8);
        using var y = randn(8);
        using var two = 2.0.ToScalar();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        int rounds = 0;
        for (; rounds < 50_000 && clock.Elapsed < TimeSpan.FromSeconds(10); rounds++)
        {
            using var scope = NewDisposeScope();
            _ = HeldScalars.Minus(HeldScalars.Plus(x, y).mul(two), y);
        }
        Assert.True(rounds >= 100, $"only {rounds} rounds ran under collection pressure");
    }, pauseMilliseconds: 0);

    [Fact]
    public Task Training_survives_collections_forced_from_another_thread() => UnderCollectionPressure(() =>
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(Synthetic.Rows(300, 1));
        using var model = ml.Nas().Trainers.Regression(new NasTrainer.Options
        {
            LabelColumnName = nameof(Synthetic.Row.Target), Strategy = NasStrategy.TangleNas, Sampler = ArchitectureSampler.Dirichlet,
            Depths = [1, 2], Widths = [8, 16], SearchEpochs = 15, WarmupEpochs = 2, BatchSize = 16, RetrainEpochs = 15, Seed = 1,
        }).Fit(data);
        Assert.True(model.ExportParity.RelativeError <= 1e-5);
    }, pauseMilliseconds: 1);
}
