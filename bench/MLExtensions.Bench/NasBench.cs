using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Nas;

namespace MLExtensions.Bench;

/// <summary>
/// Ranking consistency of supernet training (SPOS vs PA&amp;DA) against stand-alone training of every architecture
/// of a small space, with the seed-vs-seed noise ceiling; regret of TangleNAS's pick; search cost in units of
/// training the largest network once.
/// </summary>
public static class NasBench
{
    private static readonly int[] Depths = [1, 2, 3];
    private static readonly int[] Widths = [8, 32, 128];
    private static readonly int[] Seeds = [1, 2, 3];

    public sealed class Row
    {
        [VectorType(10)] public float[] Features { get; set; } = [];
        public float Label { get; set; }
    }

    public sealed class BostonRow
    {
        [LoadColumn(0, 12), VectorType(13)] public float[] Features { get; set; } = [];
        [LoadColumn(13)] public float Label { get; set; }
    }

    public static void Run(bool quick)
    {
        var ml = new MLContext(1);
        var space = new NasSearchSpace { Depths = Depths, Widths = Widths, Activations = [MlpActivation.Relu], SearchResidual = false };
        var sets = new List<(string Name, IDataView Data)> { ("Friedman-1 (2,000 generated rows)", ml.Data.LoadFromEnumerable(Friedman(2000, 7))) };
        var boston = Shared("boston.csv");
        if (boston is not null)
            sets.Add(("Boston housing (506 rows)", ml.Data.LoadFromTextFile<BostonRow>(boston, separatorChar: ',', hasHeader: true, allowQuoting: true)));
        else
            sets.Add(("Friedman-1, noisier (2,000 generated rows)", ml.Data.LoadFromEnumerable(Friedman(2000, 8, noise: 3))));
        Console.WriteLine($"NAS ranking benchmark: {space}; {Seeds.Length} seeds{(quick ? " (quick)" : "")}");
        foreach (var (name, all) in sets)
        {
            var split = ml.Data.TrainTestSplit(ml.Data.Cache(all), testFraction: 0.3, seed: 1);
            var architectures = space.Enumerate().ToList();
            int epochs = quick ? 20 : 100;

            // Stand-alone: every architecture trained alone, per seed; test MSE.
            var alone = new double[architectures.Count, Seeds.Length];
            double largestSeconds = 0;
            for (int a = 0; a < architectures.Count; a++)
                for (int s = 0; s < Seeds.Length; s++)
                {
                    var clock = Stopwatch.StartNew();
                    using var model = ml.Nas().Trainers.MlpRegression(new MlpTrainer.Options
                    {
                        // A fixed number of epochs without early stopping: rankings of early-stopped runs are mostly noise.
                        HiddenLayerSizes = architectures[a].HiddenLayerSizes.ToArray(), NumberOfEpochs = epochs, BatchSize = 64, LearningRate = 1e-3, Seed = Seeds[s],
                    }).Fit(split.TrainSet);
                    if (architectures[a].HiddenLayerSizes.All(w => w == Widths.Max()) && architectures[a].HiddenLayerSizes.Count == Depths.Max())
                        largestSeconds += clock.Elapsed.TotalSeconds / Seeds.Length;
                    alone[a, s] = ml.Regression.Evaluate(model.Transform(split.TestSet)).MeanSquaredError;
                }
            var meanAlone = Enumerable.Range(0, architectures.Count).Select(a => Enumerable.Range(0, Seeds.Length).Average(s => alone[a, s])).ToArray();
            var ceiling = new List<double>();
            for (int s1 = 0; s1 < Seeds.Length; s1++)
                for (int s2 = s1 + 1; s2 < Seeds.Length; s2++)
                    ceiling.Add(KendallTau(Enumerable.Range(0, architectures.Count).Select(a => alone[a, s1]).ToArray(),
                        Enumerable.Range(0, architectures.Count).Select(a => alone[a, s2]).ToArray()));
            int best = Array.IndexOf(meanAlone, meanAlone.Min());
            Console.WriteLine();
            Console.WriteLine($"== {name} ==");
            Console.WriteLine($"stand-alone: best {architectures[best]} test MSE {meanAlone[best]:F3}; worst {meanAlone.Max():F3}; " +
                              $"seed-vs-seed Kendall τ (noise ceiling) {ceiling.Average():F3} ({string.Join(", ", ceiling.Select(c => c.ToString("F2")))}); " +
                              $"training the largest network once: {largestSeconds:F1} s");

            foreach (var strategy in new[] { NasStrategy.Spos, NasStrategy.PaDa, NasStrategy.TangleNas })
            {
                var taus = new List<double>();
                var regrets = new List<double>();
                var ranks = new List<int>();
                var costs = new List<double>();
                foreach (int seed in Seeds)
                {
                    var model = ml.Nas().Trainers.Regression(new NasTrainer.Options
                    {
                        Strategy = strategy, Depths = Depths, Widths = Widths, Activations = [MlpActivation.Relu], SearchResidual = false,
                        SearchEpochs = quick ? 10 : 80, WarmupEpochs = quick ? 3 : 20, BatchSize = 64, LearningRate = 3e-3,
                        TopK = architectures.Count, CandidatesToRank = architectures.Count, RetrainEpochs = 1, Seed = seed,
                    }).Fit(split.TrainSet);
                    costs.Add((model.Search.Times.Search + model.Search.Times.Ranking).TotalSeconds / largestSeconds);
                    int chosen = architectures.FindIndex(a => a.Equals(model.Architecture));
                    regrets.Add(meanAlone[chosen] - meanAlone[best]);
                    ranks.Add(1 + meanAlone.Count(m => m < meanAlone[chosen]));
                    if (strategy != NasStrategy.TangleNas)
                    {
                        var supernet = architectures.Select(a => model.Search.TopArchitectures.First(t => t.Architecture.Equals(a)).SupernetValidationLoss).ToArray();
                        taus.Add(KendallTau(supernet, meanAlone));
                    }
                    model.Dispose();
                }
                Console.WriteLine($"{strategy,-9}: " + (taus.Count > 0 ? $"Kendall τ supernet vs stand-alone {taus.Average():F3} ({string.Join(", ", taus.Select(t => t.ToString("F2")))}); " : "") +
                                  $"pick's stand-alone rank {string.Join(", ", ranks)} of {architectures.Count}, regret (test MSE) {regrets.Average():F3}; " +
                                  $"search cost {costs.Average():F1}× training the largest network");
            }
        }
    }

    /// <summary>Process memory while a long search runs: it must stay flat (every step's tensors are disposed).</summary>
    public static void Memory()
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(Friedman(2000, 9));
        var samples = new List<(int Epoch, double Megabytes)>();
        ml.Nas().Trainers.Regression(new NasTrainer.Options
        {
            Strategy = NasStrategy.TangleNas, Sampler = ArchitectureSampler.Dirichlet, SearchEpochs = 120, WarmupEpochs = 10, RetrainEpochs = 1, Seed = 1,
            Progress = new Reporter(p =>
            {
                if (p.Trainer == nameof(NasTrainer) && p.Epoch % 20 == 0)
                    samples.Add((p.Epoch, System.Diagnostics.Process.GetCurrentProcess().WorkingSet64 / 1048576.0));
            }),
        }).Fit(data).Dispose();
        Console.WriteLine("Working set during a 120-epoch TangleNAS search (default space, 2,000 rows): " +
                          string.Join(", ", samples.Select(s => $"epoch {s.Epoch}: {s.Megabytes:F0} MB")));
    }

    /// <summary>
    /// How well a fit keeps its <c>TimeBudget</c>: search and retraining asked for far more epochs than the budget
    /// allows, so only the budget stops them. Prints total and search time against the budget (the search may take 60 %).
    /// </summary>
    public static void Budget()
    {
        var ml = new MLContext(3);
        var data = ml.Data.LoadFromEnumerable(Friedman(2000, 6));
        foreach (double seconds in new[] { 3.0, 10.0 })
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            using var model = ml.Nas().Trainers.Regression(new NasTrainer.Options
            {
                Strategy = NasStrategy.TangleNas, SearchEpochs = 100_000, RetrainEpochs = 100_000, EarlyStoppingPatience = 100_000,
                TimeBudget = TimeSpan.FromSeconds(seconds), Seed = 1,
            }).Fit(data);
            Console.WriteLine($"TimeBudget {seconds:F0} s: fit returned after {clock.Elapsed.TotalSeconds:F2} s (search {model.Search.Times.Search.TotalSeconds:F2} s, " +
                              $"{model.Search.SearchEpochs} search epochs, stopped by budget: {model.Search.StoppedByTimeBudget})");
        }
    }

    /// <summary>Kendall's τ-b between two score vectors.</summary>
    public static double KendallTau(double[] a, double[] b)
    {
        long concordant = 0, discordant = 0, tiesA = 0, tiesB = 0;
        for (int i = 0; i < a.Length; i++)
            for (int j = i + 1; j < a.Length; j++)
            {
                double da = Math.Sign(a[i] - a[j]), db = Math.Sign(b[i] - b[j]);
                if (da == 0 && db == 0) continue;
                if (da == 0) tiesA++;
                else if (db == 0) tiesB++;
                else if (da == db) concordant++;
                else discordant++;
            }
        double denominator = Math.Sqrt((double)(concordant + discordant + tiesA) * (concordant + discordant + tiesB));
        return denominator == 0 ? 0 : (concordant - discordant) / denominator;
    }

    private static IEnumerable<Row> Friedman(int n, int seed, double noise = 1)
    {
        var random = new Random(seed);
        for (int i = 0; i < n; i++)
        {
            var x = Enumerable.Range(0, 10).Select(_ => (float)random.NextDouble()).ToArray();
            double y = 10 * Math.Sin(Math.PI * x[0] * x[1]) + 20 * Math.Pow(x[2] - 0.5, 2) + 10 * x[3] + 5 * x[4];
            double gaussian = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
            yield return new Row { Features = x, Label = (float)(y + noise * gaussian) };
        }
    }

    private static string? Shared(string file)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "data", file);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }
}
