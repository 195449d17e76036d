using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Ordinal;
using MLExtensions.Studies;

namespace MLExtensions.Bench;

/// <summary>
/// PRESTO on data larger than memory: rows of the paper's design (p = 20 of which 10 informative, K = 4) written to ML.NET's binary format
/// on disk, then fitted with <see cref="CumulativeLogitOptions.StreamData"/>. Each fit runs in its own process so
/// that its peak working set is its own. On a 10⁶-row subsample the streamed fit is compared with the in-memory one
/// (same folds, from a fold column); the full file is then fitted streamed.
/// </summary>
public static class PrestoStreamBench
{
    private const int FeatureCount = 20;

    private sealed class Row
    {
        [VectorType(FeatureCount)] public float[] Features { get; set; } = [];
        public float Label { get; set; }
        public string Fold { get; set; } = "";
    }

    public static void Run(long rows, int lambdas, string directory)
    {
        Directory.CreateDirectory(directory);
        string large = Path.Combine(directory, $"presto-{rows}.idv"), small = Path.Combine(directory, "presto-1000000.idv");
        foreach (var (file, n) in new[] { (small, 1_000_000L), (large, rows) })
            if (!File.Exists(file))
            {
                var clock = Stopwatch.StartNew();
                Write(file, n);
                Console.WriteLine($"wrote {n:N0} rows to {file} ({new FileInfo(file).Length / 1e6:F0} MB) in {clock.Elapsed.TotalSeconds:F0} s");
            }
        Console.WriteLine($"PRESTO streamed: p = {FeatureCount}, K = 4, {lambdas} λ, 5 folds (the file's fold column), {Environment.ProcessorCount} cores");
        var inMemory = Child(small, stream: false, lambdas);
        var streamed = Child(small, stream: true, lambdas);
        Print("10⁶ rows in memory", inMemory);
        Print("10⁶ rows streamed ", streamed);
        double gap = inMemory.Coefficients.Zip(streamed.Coefficients, (a, b) => Math.Abs(a - b)).Max();
        double scale = inMemory.Coefficients.Max(Math.Abs);
        Console.WriteLine($"   same λ: {inMemory.LambdaIndex == streamed.LambdaIndex} (index {inMemory.LambdaIndex}); λ {inMemory.Lambda:G10} vs {streamed.Lambda:G10}; " +
                          $"largest coefficient difference {gap:G3} ({gap / scale:G3} of the largest coefficient)");
        if (rows != 1_000_000) Print($"{rows:N0} rows streamed", Child(large, stream: true, lambdas));
    }

    /// <summary>Fits one file in this process and prints one line for <see cref="Run"/> to parse.</summary>
    public static void Fit(string file, bool stream, int lambdas)
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromBinary(file);
        var options = new PrestoTrainer.Options
        {
            StreamData = stream, FoldColumnName = "Fold", NumberOfLambdas = lambdas, LambdaMinRatio = 0.01, Seed = 1,
        };
        var clock = Stopwatch.StartNew();
        using var model = ml.Ordinal().Trainers.Presto(options).Fit(data);
        double seconds = clock.Elapsed.TotalSeconds;
        var parameters = model.Parameters;
        var coefficients = parameters.Intercepts.Concat(parameters.Weights.SelectMany(w => w)).Select(v => v.ToString("R", CultureInfo.InvariantCulture));
        Console.WriteLine(string.Join(' ', new[]
        {
            "RESULT", seconds.ToString("R", CultureInfo.InvariantCulture), Process.GetCurrentProcess().PeakWorkingSet64.ToString(CultureInfo.InvariantCulture),
            parameters.LambdaIndex.ToString(CultureInfo.InvariantCulture), parameters.Lambda.ToString("R", CultureInfo.InvariantCulture),
        }.Concat(coefficients)));
    }

    private sealed record Result(double Seconds, long PeakBytes, int LambdaIndex, double Lambda, double[] Coefficients);

    private static void Print(string title, Result r) =>
        Console.WriteLine($"{title}: fit {r.Seconds:F1} s, peak working set {r.PeakBytes / 1e6:F0} MB, λ* = {r.Lambda:G6}");

    private static Result Child(string file, bool stream, int lambdas)
    {
        string self = Environment.ProcessPath!;
        var arguments = new List<string>();
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") arguments.Add(typeof(PrestoStreamBench).Assembly.Location);
        arguments.AddRange(["--presto-stream-fit", file, stream ? "stream" : "memory", lambdas.ToString(CultureInfo.InvariantCulture)]);
        using var process = Process.Start(new ProcessStartInfo(self, arguments) { RedirectStandardOutput = true })!;
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        var line = output.Split('\n').LastOrDefault(l => l.StartsWith("RESULT", StringComparison.Ordinal))
                   ?? throw new InvalidOperationException($"the fit of {file} printed no result:\n{output}");
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        double D(int i) => double.Parse(parts[i], CultureInfo.InvariantCulture);
        return new Result(D(1), long.Parse(parts[2], CultureInfo.InvariantCulture), int.Parse(parts[3], CultureInfo.InvariantCulture), D(4),
            parts.Skip(5).Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray());
    }

    /// <summary>Writes rows of the paper's design lazily, so the generator holds one row at a time.</summary>
    private static void Write(string file, long n)
    {
        // The paper's design on 10 features; the other 10 are noise (informative ones would make rows' boundaries cross).
        var design = OrdinalSimulation.Generate(OrdinalDifferences.Sparse, 200, 10, [0, 3, 5], seed: 1);
        var ml = new MLContext(seed: 1);
        IEnumerable<Row> Rows()
        {
            var random = new Random(2);
            var eta = new double[3];
            var probabilities = new double[4];
            for (long i = 0; i < n; i++)
            {
                var x = new float[FeatureCount];
                for (int j = 0; j < FeatureCount; j++) x[j] = (float)(random.NextDouble() * 2 - 1);
                for (int k = 0; k < 3; k++)
                {
                    double sum = design.Intercepts[k];
                    for (int j = 0; j < design.FeatureCount; j++) sum += design.Weights[k][j] * x[j];
                    eta[k] = sum;
                }
                CumulativeLogit.Probabilities(eta, probabilities);
                double u = random.NextDouble(), cumulative = 0;
                int y = 3;
                for (int k = 0; k < 3; k++)
                    if (u < (cumulative += probabilities[k]))
                    {
                        y = k;
                        break;
                    }
                yield return new Row { Features = x, Label = y, Fold = $"f{StreamedOrdinalRows.HashFold(i, 7, 5)}" };
            }
        }
        using var stream = File.Create(file);
        ml.Data.SaveAsBinary(ml.Data.LoadFromEnumerable(Rows()), stream, keepHidden: false);
    }
}
