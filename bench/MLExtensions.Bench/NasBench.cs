using MLExtensions.Mlp;
using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Nas;

namespace MLExtensions.Bench;

/// <summary>
/// Ranking benchmark with ground truth: every architecture of a small space trained stand-alone over several seeds
/// (test loss; the seed-vs-seed Kendall τ is the noise ceiling), then each search strategy's Kendall τ between its
/// supernet ranking (inherited weights, ranking split) and the stand-alone losses, the stand-alone rank and regret of
/// its pick, and its cost in units of one training of the largest network; against random search at the same cost
/// and the default fixed MLP. Three data sets of different kinds: Friedman-1 (generated regression), Boston housing
/// (real regression) and Pima diabetes (real binary classification; both from ../shared/data, generated stand-ins
/// without it).
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

    public sealed class VectorRow
    {
        public float[] Features { get; set; } = [];
        public float Label { get; set; }
    }

    public sealed class BinaryRow
    {
        public float[] Features { get; set; } = [];
        public bool Label { get; set; }
    }

    /// <summary>A search configuration of the benchmark.</summary>
    private sealed record Variant(string Name, Action<NasTrainer.Options> Configure);

    private static readonly Variant[] Variants =
    [
        new("SPOS", o => o.Strategy = NasStrategy.Spos),
        new("SPOS + sandwich", o => { o.Strategy = NasStrategy.Spos; o.SandwichRule = true; }),
        new("PA&DA", o => o.Strategy = NasStrategy.PaDa),
        new("PA&DA + fine-tune", o => { o.Strategy = NasStrategy.PaDa; o.FineTuneEpochs = 3; }),
        // The reference's cadence and no floor (per-entry slice gradients and kept estimates stay): what those two fixes change.
        new("PA&DA reference cadence", o => { o.Strategy = NasStrategy.PaDa; o.ImportanceFloor = 0; o.ImportanceUpdateSteps = 1; }),
        new("PA&DA raw slice norms", o => { o.Strategy = NasStrategy.PaDa; o.PerEntrySliceGradients = false; }),
        new("PA&DA re-weighted", o => { o.Strategy = NasStrategy.PaDa; o.ImportanceReweighting = true; }),
        new("TangleNAS softmax", o => { o.Strategy = NasStrategy.TangleNas; o.Sampler = ArchitectureSampler.Softmax; }),
        new("TangleNAS sparsemax", o => { o.Strategy = NasStrategy.TangleNas; o.Sampler = ArchitectureSampler.Sparsemax; }),
        new("TangleNAS DrNAS", o => { o.Strategy = NasStrategy.TangleNas; o.Sampler = ArchitectureSampler.Dirichlet; }),
        new("TangleNAS softmax + fine-tune", o => { o.Strategy = NasStrategy.TangleNas; o.Sampler = ArchitectureSampler.Softmax; o.FineTuneEpochs = 3; }),
        new("TangleNAS softmax α-lr 3e-4", o => { o.Strategy = NasStrategy.TangleNas; o.Sampler = ArchitectureSampler.Softmax; o.ArchitectureLearningRate = 3e-4; }),
        new("TangleNAS DrNAS KL", o => { o.Strategy = NasStrategy.TangleNas; o.Sampler = ArchitectureSampler.Dirichlet; o.DirichletRegularizer = DirichletRegularizer.KullbackLeibler; }),
        // Issue #23: the paper's relaxed gradient with the new α schedule, decay and dropout; and sampled paths without decay and dropout.
        new("TangleNAS relaxed", o => { o.Strategy = NasStrategy.TangleNas; o.Sampler = ArchitectureSampler.Softmax; o.ArchitectureGradient = ArchitectureGradient.Relaxed; }),
        new("TangleNAS relaxed sparsemax", o => { o.Strategy = NasStrategy.TangleNas; o.ArchitectureGradient = ArchitectureGradient.Relaxed; o.Sampler = ArchitectureSampler.Sparsemax; }),
        new("TangleNAS pick by loss", o => { o.Strategy = NasStrategy.TangleNas; o.Sampler = ArchitectureSampler.Softmax; o.ArchitectureGradient = ArchitectureGradient.SampledPaths; o.PickBySupernetLoss = true; }),
        new("TangleNAS sparsemax pick by loss", o => { o.Strategy = NasStrategy.TangleNas; o.Sampler = ArchitectureSampler.Sparsemax; o.ArchitectureGradient = ArchitectureGradient.SampledPaths; o.PickBySupernetLoss = true; }),
        // Fewer α steps on small data at a proportionally larger α learning rate (the same total movement): the cost.
        new("TangleNAS 6 alpha steps", o => { o.Strategy = NasStrategy.TangleNas; o.ArchitectureStepsPerEpoch = 6; o.ArchitectureLearningRate = 8e-3; }),
        // The schedule before today's default (8 steps at 6e-3): the same movement in twice the steps.
        new("TangleNAS 16 alpha steps", o => { o.Strategy = NasStrategy.TangleNas; o.ArchitectureStepsPerEpoch = 16; o.ArchitectureLearningRate = 3e-3; }),
        new("TangleNAS sampled no decay or dropout", o => { o.Strategy = NasStrategy.TangleNas; o.Sampler = ArchitectureSampler.Softmax; o.ArchitectureGradient = ArchitectureGradient.SampledPaths; o.SupernetWeightDecay = 0; o.SupernetDropout = 0; }),
    ];

    /// <summary>The fractions of the search's epochs at which <c>--anytime</c> reads each strategy's pick.</summary>
    private static readonly double[] AnytimeFractions = [0.25, 0.5, 1];

    public static void Run(bool quick, string? only = null, string? variants = null, double learningRate = 1e-3, bool anytime = false)
    {
        var ml = new MLContext(1);
        var space = new NasSearchSpace { Depths = Depths, Widths = Widths, Activations = [MlpActivation.Relu], SearchResidual = false };
        Console.WriteLine($"NAS ranking benchmark: {space}; {Seeds.Length} seeds{(quick ? " (quick)" : "")}");
        foreach (var (name, all, binary) in DataSets(ml))
        {
            if (only is not null && !name.Contains(only, StringComparison.OrdinalIgnoreCase)) continue;
            var split = ml.Data.TrainTestSplit(ml.Data.Cache(all), testFraction: 0.3, seed: 1);
            var architectures = space.Enumerate().ToList();
            int epochs = quick ? 20 : 100;
            string lossName = binary ? "log-loss" : "MSE";

            // Stand-alone: every architecture trained alone, per seed, as NasTrainer retrains its pick (early stopping
            // on a tenth of the training rows): the ground truth is what a user of the search would get.
            var alone = new double[architectures.Count, Seeds.Length];
            var validationLoss = new double[architectures.Count, Seeds.Length];
            var runSeconds = new double[architectures.Count, Seeds.Length];
            var seconds = new double[architectures.Count];
            for (int a = 0; a < architectures.Count; a++)
                for (int s = 0; s < Seeds.Length; s++)
                {
                    var clock = Stopwatch.StartNew();
                    var options = StandAlone(architectures[a], epochs, Seeds[s]);
                    using var model = binary ? ml.Nas().Trainers.MlpBinaryClassification(options).Fit(split.TrainSet) : ml.Nas().Trainers.MlpRegression(options).Fit(split.TrainSet);
                    runSeconds[a, s] = clock.Elapsed.TotalSeconds;
                    seconds[a] += runSeconds[a, s] / Seeds.Length;
                    alone[a, s] = TestLoss(ml, model, split.TestSet, binary);
                    validationLoss[a, s] = model.TrainingHistory.Min(h => h.ValidationLoss ?? double.PositiveInfinity);
                }
            int largest = architectures.FindIndex(a => a.HiddenLayerSizes.Count == Depths.Max() && a.HiddenLayerSizes.All(w => w == Widths.Max()));
            double largestSeconds = seconds[largest];
            var meanAlone = Enumerable.Range(0, architectures.Count).Select(a => Enumerable.Range(0, Seeds.Length).Average(s => alone[a, s])).ToArray();
            var ceiling = new List<double>();
            for (int s1 = 0; s1 < Seeds.Length; s1++)
                for (int s2 = s1 + 1; s2 < Seeds.Length; s2++)
                    ceiling.Add(KendallTau(Enumerable.Range(0, architectures.Count).Select(a => alone[a, s1]).ToArray(),
                        Enumerable.Range(0, architectures.Count).Select(a => alone[a, s2]).ToArray()));
            int best = Array.IndexOf(meanAlone, meanAlone.Min());
            int Rank(double loss) => 1 + meanAlone.Count(m => m < loss);
            Console.WriteLine();
            Console.WriteLine($"== {name} ==");
            var byLoss = Enumerable.Range(0, architectures.Count).OrderBy(a => meanAlone[a]).ToArray();
            Console.WriteLine($"stand-alone top 5: {string.Join(", ", byLoss.Take(5).Select(a => $"{architectures[a].ToString().Replace(" Relu", "")} {meanAlone[a]:F4}"))}; " +
                              $"bottom 3: {string.Join(", ", byLoss.TakeLast(3).Select(a => $"{architectures[a].ToString().Replace(" Relu", "")} {meanAlone[a]:F4}"))}");
            Console.WriteLine($"stand-alone (≤ {epochs} epochs, early stopping): best {architectures[best]} test {lossName} {meanAlone[best]:F4}; median {Median(meanAlone):F4}; worst {meanAlone.Max():F4}; " +
                              $"seed-vs-seed Kendall τ (noise ceiling) {ceiling.Average():F3}; training the largest network once: {largestSeconds:F2} s");
            Console.WriteLine();
            Console.WriteLine($"| strategy | Kendall τ (per seed) | τ / ceiling | pick's stand-alone rank of {architectures.Count} (per seed) | regret (test {lossName}) | cost × largest |");
            Console.WriteLine("|---|---|---|---|---|---|");
            var costs = new List<double>();
            var anytimeRows = new List<string>();
            foreach (var variant in Variants.Where(v => variants is null || variants.Split(',').Any(f => v.Name.Equals(f, StringComparison.OrdinalIgnoreCase))))
            {
                var taus = new List<double>();
                var regrets = new List<double>();
                var ranks = new List<int>();
                var picks = new List<string>();
                var variantCosts = new List<double>();
                var early = AnytimeFractions.SkipLast(1).Select(_ => (Ranks: new List<int>(), Losses: new List<double>(), Costs: new List<double>())).ToArray();
                foreach (int seed in Seeds)
                {
                    NasTrainer.Options Options()
                    {
                        var options = new NasTrainer.Options
                        {
                            Depths = Depths, Widths = Widths, Activations = [MlpActivation.Relu], SearchResidual = false,
                            SearchEpochs = quick ? 10 : 40, WarmupEpochs = quick ? 3 : 10, BatchSize = 64, LearningRate = learningRate,
                            TopK = architectures.Count, CandidatesToRank = architectures.Count, RetrainEpochs = 1, Seed = seed,
                        };
                        variant.Configure(options);
                        return options;
                    }
                    NasModel Fit(NasTrainer.Options options) =>
                        binary ? ml.Nas().Trainers.BinaryClassification(options).Fit(split.TrainSet) : ml.Nas().Trainers.Regression(options).Fit(split.TrainSet);
                    // Any-time: the same search ended after a fraction of its epochs, as a time budget would end it.
                    for (int f = 0; anytime && f < early.Length; f++)
                    {
                        var options = Options();
                        options.SearchEpochLimit = (int)Math.Ceiling(AnytimeFractions[f] * options.SearchEpochs);
                        using var cut = Fit(options);
                        int pick = architectures.FindIndex(a => a.Equals(cut.Architecture));
                        early[f].Ranks.Add(Rank(meanAlone[pick]));
                        early[f].Losses.Add(meanAlone[pick]);
                        early[f].Costs.Add((cut.Search.Times!.Search + cut.Search.Times.Ranking).TotalSeconds / largestSeconds);
                    }
                    using var model = Fit(Options());
                    variantCosts.Add((model.Search.Times!.Search + model.Search.Times.Ranking).TotalSeconds / largestSeconds);
                    int chosen = architectures.FindIndex(a => a.Equals(model.Architecture));
                    regrets.Add(meanAlone[chosen] - meanAlone[best]);
                    ranks.Add(Rank(meanAlone[chosen]));
                    picks.Add(model.Architecture.ToString().Replace(" Relu", ""));
                    var supernet = architectures.Select(a => model.Search.TopArchitectures.FirstOrDefault(t => t.Architecture.Equals(a))?.SupernetValidationLoss ?? double.NaN).ToArray();
                    if (supernet.All(double.IsFinite)) taus.Add(KendallTau(supernet, meanAlone));
                }
                costs.AddRange(variantCosts);
                if (anytime)
                {
                    var full = (Ranks: ranks, Losses: regrets.Select(r => r + meanAlone[best]).ToList(), Costs: variantCosts);
                    anytimeRows.Add($"| {variant.Name} | " + string.Join(" | ", early.Append(full)
                        .Select(e => $"{string.Join(", ", e.Ranks)}; {e.Losses.Average():F4}; {e.Costs.Average():F1}×")) + " |");
                }
                Console.WriteLine($"| {variant.Name} | {Format(taus, "F2")} | {(taus.Count > 0 ? (taus.Average() / ceiling.Average()).ToString("F2") : "–")} | " +
                                  $"{string.Join(", ", ranks.Zip(picks, (r, a) => $"{r} ({a})"))} | {regrets.Average():F4} | {variantCosts.Average():F1} |");
            }

            // Random search at the strategies' median cost: architectures in random order, trained alone as above
            // (the same runs), until their training time reaches that cost; the pick has the best validation loss.
            double budget = Median(costs.ToArray()) * largestSeconds;
            var randomRanks = new List<int>();
            var randomRegrets = new List<double>();
            var tried = new List<int>();
            for (int s = 0; s < Seeds.Length; s++)
            {
                var random = new Random(Seeds[s]);
                var order = Enumerable.Range(0, architectures.Count).OrderBy(_ => random.Next()).ToArray();
                double spent = 0, bestValidation = double.PositiveInfinity;
                int pick = order[0], count = 0;
                foreach (int a in order)
                {
                    if (count > 0 && spent + runSeconds[a, s] > budget) break;
                    spent += runSeconds[a, s];
                    count++;
                    if (validationLoss[a, s] < bestValidation) (bestValidation, pick) = (validationLoss[a, s], a);
                }
                tried.Add(count);
                randomRanks.Add(Rank(meanAlone[pick]));
                randomRegrets.Add(meanAlone[pick] - meanAlone[best]);
            }
            Console.WriteLine($"| random search ({string.Join(", ", tried)} architectures) | – | – | {string.Join(", ", randomRanks)} | {randomRegrets.Average():F4} | {budget / largestSeconds:F1} |");

            // The default fixed MLP (MlpTrainer's defaults), trained like the stand-alone runs.
            var fixedLosses = Seeds.Select(seed =>
            {
                var defaults = new MlpTrainer.Options();
                var options = StandAlone(new MlpArchitecture(defaults.HiddenLayerSizes, defaults.Activation, defaults.Residual), epochs, seed);
                using var model = binary ? ml.Nas().Trainers.MlpBinaryClassification(options).Fit(split.TrainSet) : ml.Nas().Trainers.MlpRegression(options).Fit(split.TrainSet);
                return TestLoss(ml, model, split.TestSet, binary);
            }).ToArray();
            Console.WriteLine($"| fixed MLP {string.Join("-", new MlpTrainer.Options().HiddenLayerSizes)} (default) | – | – | would rank {Rank(fixedLosses.Average())} | {fixedLosses.Average() - meanAlone[best]:F4} | {0:F1} |");
            if (anytime)
            {
                Console.WriteLine();
                Console.WriteLine($"Any-time: the pick after {string.Join(" / ", AnytimeFractions.Select(f => $"{f:P0}"))} of the search's epochs " +
                                  $"(stand-alone ranks per seed; mean stand-alone test {lossName} of the picks, best {meanAlone[best]:F4}; search + ranking cost × largest)");
                Console.WriteLine();
                Console.WriteLine($"| strategy | {string.Join(" | ", AnytimeFractions.Select(f => $"{f:P0}"))} |");
                Console.WriteLine($"|---|{string.Concat(AnytimeFractions.Select(_ => "---|"))}");
                foreach (var row in anytimeRows) Console.WriteLine(row);
            }
        }
    }

    /// <summary>
    /// <c>Dropouts</c> × <c>WeightDecays</c> chosen by retraining's validation loss against none: per data set and seed,
    /// SPOS over the benchmark's space, then the pick retrained without regularisation and with each combination of
    /// <paramref name="dropouts"/> × <paramref name="decays"/>; held-out test loss, the setting chosen and the retraining time.
    /// </summary>
    public static void Regularization(int[] seeds, double[] dropouts, double[] decays)
    {
        var ml = new MLContext(1);
        Console.WriteLine($"NAS retraining regularisation: dropouts {{{string.Join(", ", dropouts)}}} × weight decays {{{string.Join(", ", decays)}}} " +
                          $"chosen by validation loss, against none; SPOS over depths {{1,2,3}} × widths {{8,32,128}}, 40 search epochs, seeds {string.Join(", ", seeds)}");
        Console.WriteLine();
        Console.WriteLine("| data set | seed | pick | test loss, none | test loss, chosen | chosen | retraining s, none / chosen |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        foreach (var (name, all, binary) in DataSets(ml))
        {
            var split = ml.Data.TrainTestSplit(ml.Data.Cache(all), testFraction: 0.3, seed: 1);
            double noneSum = 0, chosenSum = 0;
            foreach (int seed in seeds)
            {
                (double Loss, string Pick, string Chosen, double Seconds) Fit(double[] d, double[] w)
                {
                    var options = new NasTrainer.Options
                    {
                        Depths = Depths, Widths = Widths, Activations = [MlpActivation.Relu], SearchResidual = false,
                        SearchEpochs = 40, BatchSize = 64, Seed = seed, Dropouts = d, WeightDecays = w,
                    };
                    using var model = binary ? ml.Nas().Trainers.BinaryClassification(options).Fit(split.TrainSet) : ml.Nas().Trainers.Regression(options).Fit(split.TrainSet);
                    return (TestLoss(ml, model, split.TestSet, binary), model.Architecture.ToString().Replace(" Relu", ""),
                        model.Search.Regularization?.ToString() ?? "–", model.Search.Times!.Retraining.TotalSeconds);
                }
                var none = Fit([0], [0]);
                var chosen = Fit(dropouts, decays);
                noneSum += none.Loss;
                chosenSum += chosen.Loss;
                Console.WriteLine($"| {name} | {seed} | {none.Pick} | {none.Loss:G4} | {chosen.Loss:G4} | {chosen.Chosen} | {none.Seconds:F1} / {chosen.Seconds:F1} |");
            }
            Console.WriteLine($"| {name} | mean | | {noneSum / seeds.Length:G4} | {chosenSum / seeds.Length:G4} | | |");
        }
    }

    /// <summary>Stand-alone training as NasTrainer retrains its pick: Adam, early stopping on 10 % of the rows.</summary>
    private static MlpTrainer.Options StandAlone(MlpArchitecture architecture, int epochs, int seed) => new()
    {
        HiddenLayerSizes = architecture.HiddenLayerSizes.ToArray(), Activation = architecture.Activation, Residual = architecture.Residual,
        NumberOfEpochs = epochs, BatchSize = 64, LearningRate = 1e-3, Seed = seed, ValidationFraction = 0.1, EarlyStoppingPatience = 10,
    };

    private static double TestLoss(MLContext ml, ITransformer model, IDataView test, bool binary) => binary
        ? ml.BinaryClassification.Evaluate(model.Transform(test)).LogLoss
        : ml.Regression.Evaluate(model.Transform(test)).MeanSquaredError;

    private static string Format(List<double> values, string format) =>
        values.Count == 0 ? "–" : $"{values.Average().ToString(format)} ({string.Join(", ", values.Select(v => v.ToString(format)))})";

    private static double Median(double[] values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>The benchmark's data sets: (name, data with Features and Label, whether the label is binary).</summary>
    internal static IEnumerable<(string Name, IDataView Data, bool Binary)> DataSets(MLContext ml)
    {
        yield return ("Friedman-1 (2,000 generated rows)", ml.Data.LoadFromEnumerable(Friedman(2000, 7)), false);
        var boston = Shared("boston.csv");
        yield return boston is null
            ? ("Friedman-1, noisier (2,000 generated rows; ../shared/data absent)", ml.Data.LoadFromEnumerable(Friedman(2000, 8, noise: 3)), false)
            : ("Boston housing (506 rows)", Load(ml, boston, label => float.Parse(label, System.Globalization.CultureInfo.InvariantCulture)), false);
        yield return ("Teacher network (2,000 generated rows)", ml.Data.LoadFromEnumerable(Teacher(2000, 11)), false);
        var adult = Shared(Path.Combine("adult", "adult.data"));
        if (adult is not null) yield return ("UCI Adult (5,000 rows, binary)", Adult(ml, adult, 5000), true);
        var pima = Shared("pima.csv");
        yield return pima is null
            ? ("Friedman-1 thresholded (2,000 generated rows; ../shared/data absent)", ml.Data.LoadFromEnumerable(Friedman(2000, 9, noise: 2)
                .Select(r => new BinaryRow { Features = r.Features, Label = r.Label > 14.4f }), VectorSchema<BinaryRow>(10)), true)
            : ("Pima diabetes (768 rows, binary)", Load(ml, pima, label => label == "pos"), true);
    }

    /// <summary>
    /// The first <paramref name="rows"/> complete rows of UCI Adult as 9 numeric features: age, education years, hours
    /// per week, log capital gain and loss, log final weight, and indicators of male, married (civil spouse) and a
    /// managerial or professional occupation; the label is income &gt; 50K.
    /// </summary>
    private static IDataView Adult(MLContext ml, string path, int rows)
    {
        var data = File.ReadLines(path).Select(l => l.Split(", ")).Where(c => c.Length == 15 && !c.Contains("?")).Take(rows).Select(c =>
        {
            float F(int i) => float.Parse(c[i], System.Globalization.CultureInfo.InvariantCulture);
            return new BinaryRow
            {
                Features = [F(0), F(4), F(12), MathF.Log(1 + F(10)), MathF.Log(1 + F(11)), MathF.Log(F(2)), c[9] == "Male" ? 1 : 0,
                    c[5] == "Married-civ-spouse" ? 1 : 0, c[6] is "Exec-managerial" or "Prof-specialty" ? 1 : 0],
                Label = c[14].StartsWith(">50K"),
            };
        }).ToArray();
        return ml.Data.LoadFromEnumerable(data, VectorSchema<BinaryRow>(9));
    }

    /// <summary>A CSV with a header, the label last: features as a vector (NA replaced by the column mean).</summary>
    private static IDataView Load<TLabel>(MLContext ml, string path, Func<string, TLabel> label)
    {
        var lines = File.ReadAllLines(path).Skip(1).Where(l => l.Length > 0).Select(l => l.Split(',').Select(c => c.Trim('"')).ToArray()).ToArray();
        int d = lines[0].Length - 1;
        var x = lines.Select(c => c.Take(d).Select(v => v == "NA" ? float.NaN : float.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray()).ToArray();
        for (int j = 0; j < d; j++)
        {
            float mean = (float)x.Select(r => r[j]).Where(v => !float.IsNaN(v)).Average();
            foreach (var r in x) if (float.IsNaN(r[j])) r[j] = mean;
        }
        return typeof(TLabel) == typeof(bool)
            ? ml.Data.LoadFromEnumerable(lines.Select((c, i) => new BinaryRow { Features = x[i], Label = (bool)(object)label(c[d])! }).ToArray(), VectorSchema<BinaryRow>(d))
            : ml.Data.LoadFromEnumerable(lines.Select((c, i) => new VectorRow { Features = x[i], Label = (float)(object)label(c[d])! }).ToArray(), VectorSchema<VectorRow>(d));
    }

    private static SchemaDefinition VectorSchema<T>(int features)
    {
        var schema = SchemaDefinition.Create(typeof(T));
        schema["Features"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, features);
        return schema;
    }

    /// <summary>
    /// Gradient search's α on Friedman-1 (a diagnostic): per seed, the mean entropy of α's decisions per epoch as a
    /// fraction of uniform (1 = uniform, 0 = decided), the final distributions and the pick; then how stable the pick
    /// is across seeds (the share of seed pairs that agree, whole architecture and per decision).
    /// </summary>
    public static void Trace(int[] seeds, ArchitectureSampler sampler, ArchitectureGradient gradient, int rows, int epochs, int warmup,
        double? architectureLearningRate = null, int? architectureSteps = null, bool regularize = true)
    {
        var ml = new MLContext(1);
        var data = ml.Data.Cache(ml.Data.LoadFromEnumerable(Friedman(rows, 7)));
        Console.WriteLine($"α trace: Friedman-1, {rows} rows, TangleNAS {sampler} {gradient}, {epochs} epochs ({warmup} warm-up), " +
                          $"{architectureSteps?.ToString() ?? "default"} α steps an epoch, {(regularize ? "" : "no ")}supernet decay and dropout, " +
                          $"depths {{{string.Join(",", Depths)}}} × widths {{{string.Join(",", Widths)}}}, seeds {string.Join(", ", seeds)}");
        var picks = new List<MlpArchitecture>();
        var entropies = new List<double[]>();
        foreach (int seed in seeds)
        {
            var options = new NasTrainer.Options
            {
                Strategy = NasStrategy.TangleNas, Sampler = sampler, ArchitectureGradient = gradient, Depths = Depths, Widths = Widths,
                Activations = [MlpActivation.Relu], SearchResidual = false, SearchEpochs = epochs, WarmupEpochs = warmup, BatchSize = 64,
                RetrainEpochs = 1, Seed = seed,
            };
            if (architectureLearningRate is double lr) options.ArchitectureLearningRate = lr;
            if (architectureSteps is int steps) options.ArchitectureStepsPerEpoch = steps;
            if (!regularize) (options.SupernetWeightDecay, options.SupernetDropout) = (0, 0);
            using var model = ml.Nas().Trainers.Regression(options).Fit(data);
            entropies.Add(model.Search.History.Select(h => h.Decisions.Where(d => d.Probabilities.Count > 1).Average(d => Entropy(d.Probabilities))).ToArray());
            picks.Add(model.Architecture);
            Console.WriteLine($"seed {seed}: picked {model.Architecture.ToString().Replace(" Relu", "")}; final α: " + string.Join("; ", model.Search.History[^1].Decisions
                .Where(d => d.Probabilities.Count > 1).Select(d => $"{d.Decision} " + string.Join(" ", d.Choices.Zip(d.Probabilities, (c, p) => $"{c}:{p:F2}")))));
        }
        Console.WriteLine();
        Console.WriteLine("| epoch | " + string.Join(" | ", seeds.Select(s => $"entropy / uniform, seed {s}")) + " |");
        Console.WriteLine("|---|" + string.Concat(seeds.Select(_ => "---|")));
        for (int e = 0; e < entropies.Min(h => h.Length); e++)
            Console.WriteLine($"| {e + 1} | " + string.Join(" | ", entropies.Select(h => h[e].ToString("F3"))) + " |");
        int pairs = 0, same = 0;
        var decisions = new int[1 + Depths.Max()];
        for (int i = 0; i < picks.Count; i++)
            for (int j = i + 1; j < picks.Count; j++)
            {
                pairs++;
                if (picks[i].Equals(picks[j])) same++;
                if (picks[i].HiddenLayerSizes.Count == picks[j].HiddenLayerSizes.Count) decisions[0]++;
                for (int l = 0; l < Depths.Max(); l++)
                    if (picks[i].HiddenLayerSizes.ElementAtOrDefault(l) == picks[j].HiddenLayerSizes.ElementAtOrDefault(l)) decisions[1 + l]++;
            }
        Console.WriteLine();
        Console.WriteLine($"pick stability across {seeds.Length} seeds: {same}/{pairs} seed pairs pick the same architecture; agreeing pairs per decision: depth {decisions[0]}/{pairs}, " +
                          string.Join(", ", Enumerable.Range(0, Depths.Max()).Select(l => $"width {l + 1} {decisions[1 + l]}/{pairs}")) + " (a layer the pick lacks counts as width 0)");
    }

    /// <summary>Entropy of <paramref name="p"/> as a fraction of the uniform distribution's.</summary>
    private static double Entropy(IReadOnlyList<double> p) => -p.Where(v => v > 0).Sum(v => v * Math.Log(v)) / Math.Log(p.Count);

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
            Console.WriteLine($"TimeBudget {seconds:F0} s: fit returned after {clock.Elapsed.TotalSeconds:F2} s (search {model.Search.Times!.Search.TotalSeconds:F2} s, " +
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

    /// <summary>
    /// A sharp ground truth: the output of a fixed random ReLU network 10-32-32-1 (He-scaled Gaussian weights, seed 11)
    /// on Gaussian features, plus noise of 5 % of its spread. Capacity decides the stand-alone ranking, so seeds agree on
    /// it (a high noise ceiling) and a search's pick can be judged.
    /// </summary>
    private static IEnumerable<Row> Teacher(int n, int seed)
    {
        var weights = new Random(seed);
        double Gaussian(Random random) => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        double[][] Layer(int outputs, int inputs) =>
            Enumerable.Range(0, outputs).Select(_ => Enumerable.Range(0, inputs).Select(_ => Gaussian(weights) * Math.Sqrt(2.0 / inputs)).ToArray()).ToArray();
        var layers = new[] { Layer(32, 10), Layer(32, 32), Layer(1, 32) };
        double Forward(float[] x)
        {
            var h = x.Select(v => (double)v).ToArray();
            for (int l = 0; l < layers.Length; l++)
            {
                h = layers[l].Select(row => row.Zip(h, (w, v) => w * v).Sum()).ToArray();
                if (l < layers.Length - 1) h = h.Select(v => Math.Max(0, v)).ToArray();
            }
            return h[0];
        }
        var rows = new Random(seed + 1);
        var features = Enumerable.Range(0, n).Select(_ => Enumerable.Range(0, 10).Select(_ => (float)Gaussian(rows)).ToArray()).ToList();
        var clean = features.Select(Forward).ToArray();
        double mean = clean.Average(), spread = Math.Sqrt(clean.Sum(y => (y - mean) * (y - mean)) / n);
        for (int i = 0; i < n; i++)
            yield return new Row { Features = features[i], Label = (float)((clean[i] - mean) / spread + 0.05 * Gaussian(rows)) };
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
