using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using MLExtensions.Ordinal;
using MLExtensions.Studies;

namespace MLExtensions.Bench;

/// <summary>
/// Issue #24's wide sparse fit: 30,000 rows × 50,000 hashed slots, 25 non-zeros a row, a few informative slots, K = 4,
/// tuned over 20 λ by 3-fold cross-validation with the defaults otherwise. Prints the fit's wall time (the ONNX
/// export and its parity check included), the peak working set, the GC's peak heap and the load average.
/// </summary>
internal static class PrestoSparseBench
{
    public static void Run(int rows, int slots, int nonZerosPerRow, double lambdaMinRatio)
    {
        var ml = new MLContext(seed: 1);
        var clock = Stopwatch.StartNew();
        var data = SparseOrdinalSimulation.Generate(rows, slots, nonZerosPerRow, classCount: 4, seed: 1).ToDataView(ml);
        Console.WriteLine($"generated {rows:N0} × {slots:N0}, {nonZerosPerRow} non-zeros a row, in {clock.Elapsed.TotalSeconds:F1} s; load average {LoadAverage()}");
        var options = new PrestoTrainer.Options { NumberOfLambdas = 20, NumberOfFolds = 3, Seed = 1, LambdaMinRatio = lambdaMinRatio };
        ml.Log += (_, e) =>
        {
            if (e.Kind is Microsoft.ML.Runtime.ChannelMessageKind.Info or Microsoft.ML.Runtime.ChannelMessageKind.Warning && e.Source.Contains("Presto", StringComparison.OrdinalIgnoreCase))
                Console.WriteLine($"  [{clock.Elapsed.TotalSeconds,6:F1} s, peak {Process.GetCurrentProcess().PeakWorkingSet64 / 1e9:F2} GB] {e.Message}");
        };
        long managedBefore = GC.GetTotalMemory(forceFullCollection: true);
        clock.Restart();
        using var model = ml.Ordinal().Trainers.Presto(options).Fit(data);
        double seconds = clock.Elapsed.TotalSeconds;
        using var process = Process.GetCurrentProcess();
        var parameters = model.Parameters;
        int selected = Enumerable.Range(0, slots).Count(j => parameters.Weights.Any(w => w[j] != 0));
        int informative = Enumerable.Range(0, SparseOrdinalSimulation.InformativeSlots).Count(j => parameters.Weights.Any(w => w[j] != 0));
        Console.WriteLine($"fit {seconds:F1} s; peak working set {process.PeakWorkingSet64 / 1e9:F2} GB; managed heap before the fit {managedBefore / 1e9:F2} GB; " +
                          $"load average {LoadAverage()}");
        Console.WriteLine($"λ* = {parameters.Lambda:G4} (#{parameters.LambdaIndex + 1} of {parameters.LambdaPath.Count}), {selected} slots selected " +
                          $"({informative} of the {SparseOrdinalSimulation.InformativeSlots} informative), export parity {model.ExportParity}");
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}
