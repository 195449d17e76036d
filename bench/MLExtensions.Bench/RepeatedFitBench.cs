using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Mlp;
using MLExtensions.Nas;
using MLExtensions.Ordinal;
using MLExtensions.Studies;

namespace MLExtensions.Bench;

/// <summary>
/// Managed memory over many fits on one <see cref="MLContext"/> (issue #21's acceptance figure for the leak a fit used
/// to leave on the context): PRESTO with a fixed λ fitted N times, then the MLP regression N/10 times, each model
/// disposed; managed memory after a full collection every tenth of the fits, the least-squares slope over the second
/// half in bytes per fit, and the process's resident set at start and end.
/// </summary>
internal static class RepeatedFitBench
{
    private const int FeatureCount = 5;

    private sealed class Row
    {
        [VectorType(FeatureCount)] public float[] Features { get; set; } = [];
        public float Target { get; set; }
    }

    public static void Run(int fits)
    {
        fits = Math.Max(10, fits);
        Console.WriteLine($"Repeated fits on one MLContext, each model disposed; {Environment.ProcessorCount} cores, resident set at start {Rss() / 1e6:F1} MB");
        var ml = new MLContext(1);

        var ordinal = OrdinalSimulation.Generate(OrdinalDifferences.Sparse, 60, 3, [0, 3.5, 5.5], 1).ToDataView(ml);
        var presto = ml.Ordinal().Trainers.Presto(new PrestoTrainer.Options { Lambda = 0.01, Seed = 1 });
        Measure($"PRESTO, fixed Lambda = 0.01, 60 rows × 3 features, 4 classes", fits, () =>
        {
            using var model = presto.Fit(ordinal);
        });

        var random = new Random(1);
        var rows = Enumerable.Range(0, 60).Select(_ =>
        {
            var x = Enumerable.Range(0, FeatureCount).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            return new Row { Features = x, Target = MathF.Sin(3 * x[0]) + x[1] * x[2] };
        }).ToList();
        var tabular = ml.Data.LoadFromEnumerable(rows);
        var mlp = ml.Nas().Trainers.MlpRegression(new MlpTrainer.Options
        {
            LabelColumnName = nameof(Row.Target), HiddenLayerSizes = [8], NumberOfEpochs = 2, Seed = 1,
        });
        Measure("MLP regression, 8 hidden, 2 epochs, 60 rows × 5 features", Math.Max(10, fits / 10), () =>
        {
            using var model = mlp.Fit(tabular);
        });

        Console.WriteLine($"resident set at end {Rss() / 1e6:F1} MB");
    }

    private static void Measure(string what, int fits, Action fitAndDispose)
    {
        Console.WriteLine();
        Console.WriteLine($"### {what}: {fits:N0} fits");
        // Warm-up: JIT, ML.NET's component catalog and ONNX Runtime's first session are one-off costs.
        for (int i = 0; i < 10; i++) fitAndDispose();
        int every = fits / 10;
        var samples = new List<(int Fits, long Bytes)> { (0, ManagedAfterCollection()) };
        long rssBefore = Rss();
        Console.WriteLine();
        Console.WriteLine("| fits | managed bytes after full GC | growth since 0 | resident set MB |");
        Console.WriteLine("|---:|---:|---:|---:|");
        Console.WriteLine($"| 0 | {samples[0].Bytes:N0} | 0 | {rssBefore / 1e6:F1} |");
        var clock = Stopwatch.StartNew();
        for (int i = 1; i <= fits; i++)
        {
            fitAndDispose();
            if (i % every == 0 || i == fits)
            {
                clock.Stop();
                long bytes = ManagedAfterCollection();
                samples.Add((i, bytes));
                Console.WriteLine($"| {i:N0} | {bytes:N0} | {bytes - samples[0].Bytes:N0} | {Rss() / 1e6:F1} |");
                clock.Start();
            }
        }
        var half = samples.Where(s => s.Fits >= fits / 2).ToList();
        Console.WriteLine();
        Console.WriteLine($"slope over the second half ({half.Count} points, fits {half[0].Fits:N0}–{half[^1].Fits:N0}): {Slope(half):F1} bytes per fit; " +
            $"total growth {samples[^1].Bytes - samples[0].Bytes:N0} bytes ({(double)(samples[^1].Bytes - samples[0].Bytes) / fits:F1} per fit); " +
            $"{clock.Elapsed.TotalMilliseconds / fits:F1} ms per fit");
    }

    /// <summary>Least-squares slope of bytes against fits.</summary>
    private static double Slope(IReadOnlyList<(int Fits, long Bytes)> points)
    {
        double mx = points.Average(p => (double)p.Fits), my = points.Average(p => (double)p.Bytes);
        double sxy = points.Sum(p => (p.Fits - mx) * (p.Bytes - my)), sxx = points.Sum(p => (p.Fits - mx) * (p.Fits - mx));
        return sxx == 0 ? 0 : sxy / sxx;
    }

    private static long ManagedAfterCollection()
    {
        for (int i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private static long Rss()
    {
        using var process = Process.GetCurrentProcess();
        return process.WorkingSet64;
    }
}
