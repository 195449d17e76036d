// Benchmark console: throughput of the shared road (training, scoring through the ML.NET glue,
// PredictionEngine, raw ONNX Runtime) for the reference MLP. Run in Release:
//   dotnet run -c Release --project bench/MLExtensions.Bench [-- --rows 100000]
// Batched vs per-row scoring on 1M rows:
//   dotnet run -c Release --project bench/MLExtensions.Bench -- --scoring [--rows 1000000]
// PRESTO fit time per backend and scoring cost:
//   dotnet run -c Release --project bench/MLExtensions.Bench -- --ordinal [--quick]
// PRESTO's tuned path on the paper's design and the soup survey, side by side with the official R code when R is installed (--presto-speed [--r-code DIR] [--quick]);
// PRESTO tuned on the all-class vs the rare class's Brier score against proportional odds and logistic regression, soup survey and WVS (--presto-rare [--splits 50] [--soup CSV] [--wvs CSV] [--cases 0,1,3] [--paper-tuning]);
// PRESTO on data larger than memory: 10⁶ rows streamed vs in memory, then 10⁷ streamed, time and peak working set (--presto-stream [--rows 10000000] [--lambdas 10]);
// PRESTO on wide sparse data: 30,000 rows × 50,000 hashed slots, 25 non-zeros a row, 20 λ, 3 folds, time and peak memory (--presto-sparse [--rows 30000] [--slots 50000] [--nonzeros 25] [--min-ratio 1e-3]);
// Cumulative-logit kernels per backend (--kernels [--mallopt]); partial information decomposition, fairness audit and trade-off (--pid); fairness mitigator fit and scoring (--mitigator [--constraint EqualizedOdds] [--default-only]);
// architecture search ranking consistency, regret and cost on four data sets, and with --anytime the pick at 25/50/100 % of the search (--nas [--quick] [--anytime] [--set Friedman|Boston|Teacher|Pima] [--variants "SPOS,TangleNAS DrNAS"] [--lr 1e-3]); memory of a long search (--nas-memory);
// fit time against TimeBudget (--nas-budget); retraining's Dropouts × WeightDecays chosen by validation against none (--nas-regularization [--seeds 1,2,3] [--dropouts 0,0.1,0.3] [--decays 0,1e-4,1e-3]); EnsembleSize 1 vs 5, test MSE on Friedman-1 and Boston (--nas-ensemble [--seeds 1,2] [--size 5]); gradient search's α entropy per epoch and pick stability across seeds
// (--nas-trace [--seeds 1,2,3] [--rows 500] [--epochs 40] [--warmup 10] [--softmax|--dirichlet] [--sampled] [--alpha-lr 6e-3] [--alpha-steps 8] [--no-regularization]);
// PONITA on the charged N-body task against linear extrapolation (--ponita-nbody [--systems 1000] [--epochs 30] [--cutoff 4] [--hidden 32] [--egnn]);
// PONITA's self-contained ONNX graph (neighbours found in the graph) vs the ordinary chain: a 216-atom Si-like cell and a 2,000-atom cloud (--ponita-selfcontained [--atoms 2000]);
// PONITA energy + forces of one large system at water-like density, N = 100, 1,000, 10,000 atoms: time and peak memory (--ponita-scale [--sizes 100,1000,10000]);
// PONITA's invariance error against NumberOfOrientations, with and without the canonical frame, on the shipped ethanol frames (--ponita-invariance [--data ethanol-xtb.extxyz.gz]; about 10 minutes);
// PONITA with the reference's gradient clipping at 0.5 and self-loops, alone and together, against neither, test energy and force MAE on the shipped ethanol frames (--ponita-recipe [--seeds 1,2] [--epochs 30] [--data F] [--variants "no clipping,clip 0.5"]);
// PONITA scoring speed on an extended-XYZ file, blocks vs per row (--ponita-file aspirin-xtb.extxyz.gz);
// PONITA inference molecules/s, TorchSharp eager vs ONNX Runtime, and training time per epoch (--ponita [--molecules 500]); its working set over a long training (--ponita-memory [--epochs 60]).
// Issue #21's reliability probes through the public API, a Markdown table of probe | outcome | verdict, exit code 1 if any fails (--probes);
// managed memory over N PRESTO fits and N/10 MLP fits on one MLContext, slope in bytes per fit and resident set (--repeated-fits [N], default 1000).
// Our fairness mitigator's held-out decisions on the splits of bench/fairlearn/study.py, for the side-by-side with Fairlearn (--fairlearn-study DIR [--variants a,b] [--datasets adult,wvs] [--splits 30]); see bench/fairlearn/README.md.
using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using MLExtensions.Bench;
using MLExtensions.Mlp;
using MLExtensions.Nas;
using MLExtensions.Onnx.Runtime;
using MLExtensions.Onnx.Scoring;

if (args.Contains("--probes"))
{
    Environment.ExitCode = ReliabilityProbes.Run() ? 0 : 1;
    return;
}
if (args.Contains("--repeated-fits"))
{
    RepeatedFitBench.Run(args.SkipWhile(a => a != "--repeated-fits").Skip(1).Take(1).Where(v => int.TryParse(v, out _)).Select(int.Parse).DefaultIfEmpty(1000).First());
    return;
}
if (args.Contains("--fairlearn-study"))
{
    FairlearnStudyBench.Run(args.SkipWhile(a => a != "--fairlearn-study").Skip(1).First(),
        args.SkipWhile(a => a != "--variants").Skip(1).FirstOrDefault(), args.SkipWhile(a => a != "--datasets").Skip(1).FirstOrDefault(),
        args.SkipWhile(a => a != "--splits").Skip(1).Select(int.Parse).DefaultIfEmpty(int.MaxValue).First());
    return;
}
if (args.Contains("--mitigator"))
{
    PidBench.Mitigator(args.SkipWhile(a => a != "--constraint").Skip(1).Take(1).Select(Enum.Parse<MLExtensions.Fairness.FairnessConstraint>).ToArray(), args.Contains("--default-only"));
    return;
}
if (args.Contains("--pid"))
{
    PidBench.Run();
    PidBench.Audit();
    PidBench.Tradeoff();
    return;
}
if (args.Contains("--ponita-nbody"))
{
    PonitaBench.NBody(args.SkipWhile(a => a != "--systems").Skip(1).Select(int.Parse).DefaultIfEmpty(1000).First(),
        args.SkipWhile(a => a != "--epochs").Skip(1).Select(int.Parse).DefaultIfEmpty(30).First(),
        args.SkipWhile(a => a != "--cutoff").Skip(1).Select(v => double.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).DefaultIfEmpty(4.0).First(),
        args.SkipWhile(a => a != "--hidden").Skip(1).Select(int.Parse).DefaultIfEmpty(32).First(),
        args.Contains("--egnn"));
    return;
}
if (args.Contains("--ponita-invariance"))
{
    PonitaBench.Invariance(args.SkipWhile(a => a != "--data").Skip(1).FirstOrDefault());
    return;
}
if (args.Contains("--ponita-recipe"))
{
    PonitaBench.Recipe(args.SkipWhile(a => a != "--data").Skip(1).FirstOrDefault(),
        args.SkipWhile(a => a != "--seeds").Skip(1).Take(1).Select(v => v.Split(',').Select(int.Parse).ToArray()).DefaultIfEmpty([1, 2]).First(),
        args.SkipWhile(a => a != "--epochs").Skip(1).Select(int.Parse).DefaultIfEmpty(30).First(),
        args.SkipWhile(a => a != "--variants").Skip(1).FirstOrDefault());
    return;
}
if (args.Contains("--ponita-file"))
{
    PonitaBench.FileScoring(args.SkipWhile(a => a != "--ponita-file").Skip(1).First());
    return;
}
if (args.Contains("--ponita-selfcontained"))
{
    PonitaSelfContainedBench.Run(args.SkipWhile(a => a != "--atoms").Skip(1).Select(int.Parse).DefaultIfEmpty(2000).First());
    return;
}
if (args.Contains("--ponita-scale"))
{
    var sizes = args.SkipWhile(a => a != "--sizes").Skip(1).Take(1).Select(v => v.Split(',').Select(int.Parse).ToArray()).DefaultIfEmpty([100, 1000, 10000]).First();
    PonitaBench.Scale(sizes, cutoff: 3.0, spacing: 2.15, orientations: 8, hidden: 16, layers: 2);
    return;
}
if (args.Contains("--ponita-memory"))
{
    PonitaBench.Memory(args.SkipWhile(a => a != "--epochs").Skip(1).Select(int.Parse).DefaultIfEmpty(60).First());
    return;
}
if (args.Contains("--ponita"))
{
    PonitaBench.Inference(args.SkipWhile(a => a != "--molecules").Skip(1).Select(int.Parse).DefaultIfEmpty(500).First());
    return;
}
if (args.Contains("--nas-budget"))
{
    NasBench.Budget();
    return;
}
if (args.Contains("--nas-ensemble"))
{
    string? Value(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
    NasEnsembleBench.Run((Value("--seeds") ?? "1,2").Split(',').Select(int.Parse).ToArray(), int.Parse(Value("--size") ?? "5"));
    return;
}
if (args.Contains("--nas-regularization"))
{
    string? Value(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
    double[] Values(string flag, double[] fallback) => Value(flag) is { } v ? v.Split(',').Select(x => double.Parse(x, System.Globalization.CultureInfo.InvariantCulture)).ToArray() : fallback;
    NasBench.Regularization(Value("--seeds") is { } seeds ? seeds.Split(',').Select(int.Parse).ToArray() : [1, 2, 3],
        Values("--dropouts", [0, 0.1, 0.3]), Values("--decays", [0, 1e-4, 1e-3]));
    return;
}
if (args.Contains("--nas-memory"))
{
    NasBench.Memory();
    return;
}
if (args.Contains("--nas-trace"))
{
    string? Value(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
    NasBench.Trace((Value("--seeds") ?? "1,2,3").Split(',').Select(int.Parse).ToArray(),
        args.Contains("--dirichlet") ? ArchitectureSampler.Dirichlet : args.Contains("--softmax") ? ArchitectureSampler.Softmax : ArchitectureSampler.Sparsemax,
        args.Contains("--sampled") ? ArchitectureGradient.SampledPaths : ArchitectureGradient.Relaxed,
        int.Parse(Value("--rows") ?? "500"), int.Parse(Value("--epochs") ?? "40"), int.Parse(Value("--warmup") ?? "10"),
        Value("--alpha-lr") is { } lr ? double.Parse(lr, System.Globalization.CultureInfo.InvariantCulture) : null,
        Value("--alpha-steps") is { } steps ? int.Parse(steps) : null, regularize: !args.Contains("--no-regularization"));
    return;
}
if (args.Contains("--nas"))
{
    NasBench.Run(quick: args.Contains("--quick"), only: args.SkipWhile(a => a != "--set").Skip(1).FirstOrDefault(),
        variants: args.SkipWhile(a => a != "--variants").Skip(1).FirstOrDefault(),
        learningRate: args.SkipWhile(a => a != "--lr").Skip(1).Select(v => double.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).DefaultIfEmpty(1e-3).First(),
        anytime: args.Contains("--anytime"));
    return;
}
if (args.Contains("--kernels"))
{
    KernelBench.Run(tuneAllocator: args.Contains("--mallopt"));
    return;
}
if (args.Contains("--presto-stream-fit"))
{
    var fitArgs = args.SkipWhile(a => a != "--presto-stream-fit").Skip(1).ToArray();
    PrestoStreamBench.Fit(fitArgs[0], fitArgs[1] == "stream", int.Parse(fitArgs[2]));
    return;
}
if (args.Contains("--presto-stream"))
{
    PrestoStreamBench.Run(args.SkipWhile(a => a != "--rows").Skip(1).Select(long.Parse).DefaultIfEmpty(10_000_000).First(),
        args.SkipWhile(a => a != "--lambdas").Skip(1).Select(int.Parse).DefaultIfEmpty(10).First(),
        args.SkipWhile(a => a != "--directory").Skip(1).DefaultIfEmpty(Path.Combine(Path.GetTempPath(), "presto-stream")).First());
    return;
}
if (args.Contains("--presto-sparse"))
{
    int Option(string name, int fallback) => args.SkipWhile(a => a != name).Skip(1).Select(int.Parse).DefaultIfEmpty(fallback).First();
    PrestoSparseBench.Run(Option("--rows", 30_000), Option("--slots", 50_000), Option("--nonzeros", 25),
        args.SkipWhile(a => a != "--min-ratio").Skip(1).Select(v => double.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).DefaultIfEmpty(1e-3).First());
    return;
}
if (args.Contains("--presto-rare"))
{
    PrestoRareBench.Run(args.SkipWhile(a => a != "--splits").Skip(1).Select(int.Parse).DefaultIfEmpty(50).First(),
        args.SkipWhile(a => a != "--soup").Skip(1).FirstOrDefault(), args.SkipWhile(a => a != "--wvs").Skip(1).FirstOrDefault(),
        args.SkipWhile(a => a != "--cases").Skip(1).Select(v => v.Split(',').Select(int.Parse).ToArray()).FirstOrDefault(), args.Contains("--paper-tuning"));
    return;
}
if (args.Contains("--presto-speed"))
{
    PrestoSpeedBench.Run(args.SkipWhile(a => a != "--r-code").Skip(1).FirstOrDefault(), quick: args.Contains("--quick"));
    return;
}
if (args.Contains("--ordinal"))
{
    OrdinalBench.Run(quick: args.Contains("--quick"));
    return;
}
if (args.Contains("--scoring"))
{
    ScoringBench.Run(args.SkipWhile(a => a != "--rows").Skip(1).Select(int.Parse).DefaultIfEmpty(1_000_000).First());
    return;
}
int rows = args.SkipWhile(a => a != "--rows").Skip(1).Select(int.Parse).DefaultIfEmpty(100_000).First();
var ml = new MLContext(seed: 1);
var data = ml.Data.LoadFromEnumerable(BenchData.Rows(rows, seed: 1));
var cached = ml.Data.Cache(data);
Console.WriteLine($"MLExtensions bench: reference MLP 64-64 ReLU, {BenchData.FeatureCount} features, {rows:N0} rows, {Environment.ProcessorCount} cores");

// 1. Thread policy: the same training on 1 thread and on all cores, after a warm-up, alternating twice.
Train(2_000, epochs: 1, threads: null).Model.Dispose();
int policyRows = Math.Min(rows, 20_000);
foreach (var width in new[] { 64, 256, 1024 })
{
    var best = new Dictionary<int, double>();
    for (int round = 0; round < 2; round++)
    {
        foreach (var threads in new[] { 1, Environment.ProcessorCount }.Distinct())
        {
            var (fitted, seconds) = Train(policyRows, epochs: 2, threads, width);
            fitted.Dispose();
            best[threads] = Math.Max(best.GetValueOrDefault(threads), 2 * policyRows / seconds);
        }
    }
    Console.WriteLine($"training width {width}-{width}: " + string.Join(", ", best.Select(p => $"{p.Key} thread(s) {p.Value:N0} rows/s")));
}

// 2. Training throughput with the default policy.
var (model, trainSeconds) = Train(rows, epochs: 3, threads: null);
Console.WriteLine($"training (3 epochs, batch 256): {3.0 * rows / trainSeconds:N0} rows/s ({trainSeconds:F1} s)");

// 3. ML.NET batch scoring through the glue (ApplyOnnxModel + output mappings).
var clock = Stopwatch.StartNew();
double checksum = model.Transform(cached).GetColumn<float>("Score").Sum();
Console.WriteLine($"ML.NET Transform through the glue: {rows / clock.Elapsed.TotalSeconds:N0} rows/s ({clock.Elapsed.TotalMilliseconds / rows * 1000:F1} µs/row)");

// 4. PredictionEngine, one row at a time.
var sample = BenchData.Rows(10_000, seed: 2);
var engine = ml.Model.CreatePredictionEngine<BenchData.Row, Prediction>(model, new PredictionEngineOptions { OwnsTransformer = false });
engine.Predict(sample[0]);
clock.Restart();
foreach (var row in sample) checksum += engine.Predict(row).Score;
Console.WriteLine($"PredictionEngine: {clock.Elapsed.TotalMilliseconds * 1000 / sample.Length:F1} µs/row");

// 5. Raw ONNX Runtime: one row per call, then the whole block in one call.
using (var session = OnnxModelSession.Create(model.GetOnnxModel(), OnnxExecutionDevice.Cpu))
using (var runOptions = new RunOptions())
{
    string[] inputNames = ["Features"], outputNames = [OnnxOutputHeads.RawScore];
    var one = new float[BenchData.FeatureCount];
    clock.Restart();
    foreach (var row in sample)
    {
        row.Features.CopyTo(one, 0);
        using var input = OrtValue.CreateTensorValueFromMemory(one, [1, BenchData.FeatureCount]);
        using var output = session.Session.Run(runOptions, inputNames, [input], outputNames);
        checksum += output[0].GetTensorDataAsSpan<float>()[0];
    }
    Console.WriteLine($"raw ONNX Runtime, one row per call: {clock.Elapsed.TotalMilliseconds * 1000 / sample.Length:F1} µs/row");

    var block = sample.SelectMany(r => r.Features).ToArray();
    using var blockInput = OrtValue.CreateTensorValueFromMemory(block, [sample.Length, BenchData.FeatureCount]);
    session.Session.Run(runOptions, inputNames, [blockInput], outputNames).Dispose();
    clock.Restart();
    const int repeats = 20;
    for (int i = 0; i < repeats; i++)
    {
        using var output = session.Session.Run(runOptions, inputNames, [blockInput], outputNames);
        checksum += output[0].GetTensorDataAsSpan<float>()[0];
    }
    Console.WriteLine($"raw ONNX Runtime, {sample.Length:N0} rows per call: {clock.Elapsed.TotalMilliseconds * 1000 / (repeats * sample.Length):F2} µs/row");
}
Console.WriteLine($"(checksum {checksum:G4})");
model.Dispose();

(MlpModel Model, double Seconds) Train(int n, int epochs, int? threads, int width = 64)
{
    var subset = ml.Data.TakeRows(cached, n);
    var options = new MlpTrainer.Options
    {
        LabelColumnName = "Target", HiddenLayerSizes = [width, width], NumberOfEpochs = epochs, BatchSize = 256,
        NumberOfThreads = threads, Seed = 1,
    };
    var watch = Stopwatch.StartNew();
    var fitted = ml.Nas().Trainers.MlpRegression(options).Fit(subset);
    return (fitted, watch.Elapsed.TotalSeconds);
}

internal sealed class Prediction
{
    public float Score { get; set; }
}
