using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using MLExtensions.Equivariant;
using MLExtensions.Onnx.Runtime;
using MLExtensions.Onnx.Scoring;
using MLExtensions.Studies;
using static TorchSharp.torch;

namespace MLExtensions.Bench;

/// <summary>PONITA benchmarks: the vector estimator on the charged N-body task, inference speed, scaling with system size, memory.</summary>
public static class PonitaBench
{
    public static void NBody(int trainSystems, int epochs, double cutoff, int hidden, bool egnnProtocol)
    {
        var ml = new MLContext(1);
        IEnumerable<ChargedSystem> Systems(int count, int seed) => egnnProtocol ? ChargedParticles.GenerateEgnnProtocol(count, seed) : ChargedParticles.Generate(count, seed);
        static ParticleRow Row(ChargedSystem s) => new()
        {
            Positions = s.Positions, AtomTypes = s.Charges.Select(q => q > 0 ? 1 : 0).ToArray(), Velocities = s.Velocities,
            Label = s.Target.Select((x, k) => x - s.Positions[k]).ToArray(),
        };
        var train = ml.Data.LoadFromEnumerable(Systems(trainSystems, 1).Select(Row).ToList());
        var test = Systems(500, 2).Select(Row).ToList();
        double linear = test.Average(r => r.Label.Select((d, k) => Math.Pow(d - r.Velocities[k], 2)).Average());
        var losses = new List<double>();
        var clock = Stopwatch.StartNew();
        using var model = ml.Equivariant().Trainers.PonitaVectors(new PonitaVectorTrainer.Options
        {
            InputVectorsColumnName = "Velocities", HiddenSize = hidden, NumberOfLayers = 3, NumberOfOrientations = 16, Cutoff = cutoff,
            NumberOfEpochs = epochs, BatchSize = 50, LearningRate = 1e-3, Seed = 1, Progress = new Reporter(p => losses.Add(p.TrainingLoss)),
        }).Fit(train);
        double seconds = clock.Elapsed.TotalSeconds;
        var predicted = model.Transform(ml.Data.LoadFromEnumerable(test)).GetColumn<float[]>("PredictedVectors").ToArray();
        double mse = test.Select((r, i) => r.Label.Select((d, k) => Math.Pow(d - predicted[i][k], 2)).Average()).Average();
        Console.WriteLine($"N-body (5 charged particles, Δt = 1, {(egnnProtocol ? "EGNN protocol" : "our generator")}), mlContext.Equivariant().Trainers.PonitaVectors: {trainSystems} training systems, " +
                          $"cutoff {cutoff}, kernel scale {model.KernelScale:G3}, hidden {hidden}, {epochs} epochs in {seconds:F0} s ({seconds / epochs:F2} s/epoch): " +
                          $"test MSE {mse:F4} vs linear extrapolation {linear:F4}; training loss {losses[0]:F4} -> {losses[^1]:F4}; export {model.ExportParity}");
    }

    private sealed class ParticleRow
    {
        [Microsoft.ML.Data.VectorType] public float[] Positions { get; set; } = [];
        [Microsoft.ML.Data.VectorType] public int[] AtomTypes { get; set; } = [];
        [Microsoft.ML.Data.VectorType] public float[] Velocities { get; set; } = [];
        [Microsoft.ML.Data.VectorType] public float[] Label { get; set; } = [];
    }

    /// <summary>
    /// Molecules per second at inference, energy alone and energy with forces: TorchSharp eager (one molecule per call
    /// and batches of 64), ONNX Runtime on the scoring graph (one molecule per call, as ML.NET runs it, and 64
    /// concatenated molecules per call), and the whole model: <c>Transform</c> in blocks and the per-row chain (row checks
    /// and radius graphs included), with and without the canonical frame. Training
    /// time per epoch of the public trainer.
    /// </summary>
    public static void Inference(int molecules)
    {
        var ml = new MLContext(1);
        var rows = SyntheticMolecules.Generate(molecules, seed: 2).ToList();
        const double cutoff = 3.0;
        var samples = rows.Select(r => GraphSample.Of(new PointCloud(r.Positions, PointCloudData.OneHot(r.AtomTypes.Select(t => (float)t).ToArray(), 3), r.Label, r.Forces), cutoff, null)).ToList();
        random.manual_seed(1);
        using var network = new PonitaNetwork(3, hidden: 32, layers: 3, orientations: 16, cutoff);
        network.eval();
        Console.WriteLine($"PONITA inference on {molecules} generated molecules of 3..8 atoms (hidden 32, 3 layers, 16 orientations), 2-core CPU:");

        foreach (int perCall in new[] { 1, 64 })
        {
            Measure($"TorchSharp eager, {perCall} molecule(s)/call, energy", () =>
            {
                foreach (var chunk in samples.Chunk(perCall))
                {
                    using var scope = NewDisposeScope();
                    using var noGrad = no_grad();
                    using var batch = MoleculeBatch.From(chunk, 3, false);
                    network.Energy(batch.Graph).data<float>().ToArray();
                }
            });
            Measure($"TorchSharp eager, {perCall} molecule(s)/call, energy + forces (autograd)", () => PonitaTrainingLoop.Predict(network, samples, 3, perCall));
        }

        var set = new PointCloudSet(samples.Select(s => s.Cloud).ToList(), 3, true, null);
        foreach (var (forcesName, frame) in new[] { ((string?)null, false), (null, true), ("forces", false), ("forces", true) })
        {
            network.CanonicalFrame = frame;
            using var session = OnnxModelSession.Create(PonitaOnnxExporter.ExportForScoring(network, typesAreIndices: true, forcesName));
            string[] outputs = forcesName is null ? [OnnxOutputHeads.RawScore] : [OnnxOutputHeads.RawScore, forcesName];
            foreach (int perCall in new[] { 1, 64 })
                Measure($"ONNX Runtime, {perCall} molecule(s)/call, {(forcesName is null ? "energy" : "energy + forces (graph reverse pass)")}, {(frame ? "canonical frame" : "fixed grid")}", () =>
                {
                    using var options = new RunOptions();
                    foreach (var chunk in samples.Chunk(perCall))
                    {
                        var inputs = PonitaExportCheck.Inputs(chunk, set);
                        var values = inputs.Select(i => i.ToOrtValue()).ToArray();
                        using var results = session.Session.Run(options, inputs.Select(i => i.Name).ToArray(), values, outputs);
                        foreach (var v in values) v.Dispose();
                    }
                });
        }

        var train = ml.Data.LoadFromEnumerable(SyntheticMolecules.Generate(500, seed: 1).ToList());
        var data = ml.Data.LoadFromEnumerable(rows);
        foreach (var (withForces, threads) in new[] { (false, (int?)null), (true, 1), (true, (int?)null) })
        {
            var clock = Stopwatch.StartNew();
            using var model = ml.Equivariant().Trainers.Ponita(new PonitaTrainer.Options
            {
                NumberOfEpochs = 2, Seed = 1, Cutoff = 3.0, NumberOfThreads = threads,
                ForcesColumnName = withForces ? "Forces" : null, PredictedForcesColumnName = withForces ? "PredictedForces" : null,
            }).Fit(train);
            Console.WriteLine($"  public trainer, 500 molecules, {(withForces ? "energy + force loss" : "energy loss")}, {threads?.ToString() ?? "default"} thread(s): " +
                              $"{clock.Elapsed.TotalSeconds / 2:F2} s/epoch (incl. export and checks)");
            string what = withForces ? "energy + forces" : "energy";
            Measure($"model.Transform (blocks of concatenated clouds, one ONNX Runtime call each), {what}", () => model.Transform(data).GetColumn<float>("Score").Count());
            Measure($"model.TransformPerRow (saved ML.NET chain, one call per row), {what}", () => model.TransformPerRow(data).GetColumn<float>("Score").Count());
        }

        void Measure(string name, Action run)
        {
            run(); // warm-up
            var clock = Stopwatch.StartNew();
            run();
            Console.WriteLine($"  {name}: {molecules / clock.Elapsed.TotalSeconds:F0} molecules/s");
        }
    }

    /// <summary>
    /// One energy + forces evaluation of a single large system at fixed density (a jittered cubic lattice of
    /// <paramref name="spacing"/>, two atom types): radius-graph time, ONNX Runtime time and TorchSharp autograd time,
    /// and the peak growth of the working set during each, for every size in <paramref name="sizes"/>. Linear scaling
    /// shows as constant time and memory per atom.
    /// </summary>
    public static void Scale(int[] sizes, double cutoff, double spacing, int orientations, int hidden, int layers)
    {
        random.manual_seed(1);
        using var network = new PonitaNetwork(2, hidden, layers, orientations, cutoff);
        network.eval();
        var onnx = PonitaOnnxExporter.ExportForScoring(network, typesAreIndices: true, "forces");
        using var session = OnnxModelSession.Create(onnx);
        Console.WriteLine($"PONITA energy + forces of one system at fixed density (lattice spacing {spacing}, cutoff {cutoff}, {orientations} orientations, hidden {hidden}, {layers} layers), 2-core CPU:");
        Console.WriteLine("| atoms | edges | radius graph | ONNX Runtime | per atom | peak memory | TorchSharp autograd | peak memory |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        foreach (int n in sizes)
        {
            var (positions, types) = Lattice(n, spacing, new Random(n));
            var clock = Stopwatch.StartNew();
            var edges = EdgeList.Of(positions, cutoff, null);
            double graphSeconds = clock.Elapsed.TotalSeconds;
            var sample = new GraphSample(new PointCloud(positions, PointCloudData.OneHot(types, 2), 0f, null), edges);
            var set = new PointCloudSet([sample.Cloud], 2, true, null);
            var inputs = PonitaExportCheck.Inputs([sample], set);
            var values = inputs.Select(i => i.ToOrtValue()).ToArray();
            var (onnxSeconds, onnxBytes) = Peak(() =>
            {
                using var options = new RunOptions();
                using var results = session.Session.Run(options, inputs.Select(i => i.Name).ToArray(), values, [OnnxOutputHeads.RawScore, "forces"]);
            });
            foreach (var v in values) v.Dispose();
            var (torchSeconds, torchBytes) = Peak(() => PonitaTrainingLoop.Predict(network, [sample], 2, 1));
            Console.WriteLine($"| {n:N0} | {edges.Count:N0} | {graphSeconds * 1e3:F0} ms | {onnxSeconds:F3} s | {onnxSeconds / n * 1e6:F0} µs | {onnxBytes / 1048576.0:F0} MB | {torchSeconds:F3} s | {torchBytes / 1048576.0:F0} MB |");
        }
    }

    /// <summary>n points on a jittered cubic lattice (about the cube root of n per side) with random types 0/1.</summary>
    internal static (float[] Positions, float[] Types) Lattice(int n, double spacing, Random random)
    {
        int side = (int)Math.Ceiling(Math.Cbrt(n));
        var positions = new float[3 * n];
        for (int i = 0; i < n; i++)
        {
            int x = i % side, y = i / side % side, z = i / (side * side);
            positions[3 * i] = (float)(spacing * (x + 0.3 * (random.NextDouble() - 0.5)));
            positions[3 * i + 1] = (float)(spacing * (y + 0.3 * (random.NextDouble() - 0.5)));
            positions[3 * i + 2] = (float)(spacing * (z + 0.3 * (random.NextDouble() - 0.5)));
        }
        return (positions, Enumerable.Range(0, n).Select(_ => (float)random.Next(2)).ToArray());
    }

    /// <summary>
    /// The largest growth of the working set during a first run (sampled every 2 ms; it includes ONNX Runtime's arena
    /// growing to the evaluation's size), then the best of three timed runs. The timed runs are not sampled: on two
    /// cores the sampling thread preempts ONNX Runtime's spinning workers and tripled the time of 10,000 atoms.
    /// </summary>
    internal static (double Seconds, long Bytes) Peak(Action run)
    {
        GC.Collect();
        long before = Process.GetCurrentProcess().WorkingSet64, peak = before;
        using (var stop = new CancellationTokenSource())
        {
            var sampler = Task.Run(() =>
            {
                while (!stop.IsCancellationRequested)
                {
                    using var process = Process.GetCurrentProcess();
                    peak = Math.Max(peak, process.WorkingSet64);
                    Thread.Sleep(2);
                }
            });
            run();
            stop.Cancel();
            sampler.Wait();
        }
        double seconds = double.MaxValue;
        for (int repeat = 0; repeat < 3; repeat++)
        {
            var timer = Stopwatch.StartNew();
            run();
            seconds = Math.Min(seconds, timer.Elapsed.TotalSeconds);
        }
        return (seconds, peak - before);
    }

    /// <summary>
    /// The invariance study behind the canonical frame's default (<see cref="PonitaInvarianceStudy.Run"/>) on the ethanol
    /// frames of <paramref name="path"/>, by default the ones samples/Equivariant ships.
    /// </summary>
    public static void Invariance(string? path)
    {
        path ??= ShippedEthanol() ?? throw new FileNotFoundException("samples/Equivariant/data/ethanol-xtb.extxyz.gz not found above the bench; pass --data PATH.");
        Console.WriteLine($"Invariance error against the orientation grid ({Path.GetFileName(path)}; 160 frames trained 4 epochs with forces, hidden 16, 2 layers; 40 test frames × 4 poses; ONNX Runtime):");
        PonitaInvarianceStudy.Run(ExtendedXyz.Read(path), line => Console.WriteLine("  " + line));
    }

    /// <summary>
    /// The reference recipe, measured: gradient-norm clipping at 0.5 (today's default) and self-loops (off by default), alone
    /// and together, against neither, on the shipped ethanol frames: 500 training frames, the
    /// last 100 as test, per seed. Test energy and force MAE and training time.
    /// </summary>
    public static void Recipe(string? path, int[] seeds, int epochs, string? only = null)
    {
        path ??= ShippedEthanol() ?? throw new FileNotFoundException("samples/Equivariant/data/ethanol-xtb.extxyz.gz not found above the bench; pass --data PATH.");
        var frames = ExtendedXyz.Read(path);
        var ml = new MLContext(1);
        var train = ml.Data.LoadFromEnumerable(frames.Take(500).ToList());
        var testRows = frames.Skip(frames.Count - 100).ToList();
        var test = ml.Data.LoadFromEnumerable(testRows);
        Console.WriteLine($"PONITA recipe, {Path.GetFileName(path)}: 500 training frames, 100 test frames, default options with forces, {epochs} epochs:");
        (string Name, double Clip, bool Self)[] variants = [("no clipping", 0, false), ("clip 0.5", 0.5, false), ("self-loops", 0, true), ("clip 0.5 + self-loops", 0.5, true)];
        if (only is not null) variants = variants.Where(v => only.Split(',').Contains(v.Name)).ToArray();
        var totals = variants.Select(_ => (Energy: 0.0, Forces: 0.0)).ToArray();
        foreach (int seed in seeds)
            for (int v = 0; v < variants.Length; v++)
            {
                var options = new PonitaTrainer.Options
                {
                    ForcesColumnName = "Forces", PredictedForcesColumnName = "PredictedForces", NumberOfEpochs = epochs, Seed = seed,
                    GradientClipNorm = variants[v].Clip, SelfInteraction = variants[v].Self,
                };
                var clock = Stopwatch.StartNew();
                using var model = ml.Equivariant().Trainers.Ponita(options).Fit(train);
                double seconds = clock.Elapsed.TotalSeconds;
                var scored = model.Transform(test);
                double energy = scored.GetColumn<float>("Score").Select((e, i) => Math.Abs(e - testRows[i].Label)).Average();
                double forces = scored.GetColumn<float[]>("PredictedForces").SelectMany((f, i) => f.Select((x, k) => Math.Abs(x - testRows[i].Forces[k]))).Average();
                totals[v] = (totals[v].Energy + energy / seeds.Length, totals[v].Forces + forces / seeds.Length);
                Console.WriteLine($"  seed {seed}, {variants[v].Name}: energy MAE {energy:F3}, force MAE {forces:F3}, {seconds:F0} s");
            }
        for (int v = 0; v < variants.Length; v++)
            Console.WriteLine($"mean over seeds, {variants[v].Name}: energy MAE {totals[v].Energy:F3}, force MAE {totals[v].Forces:F3}");
    }

    private static string? ShippedEthanol()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "samples", "Equivariant", "data", "ethanol-xtb.extxyz.gz");
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>
    /// Scoring throughput on frames of an extended-XYZ file (e.g. 21-atom aspirin from bench/xtb): a model trained for one
    /// epoch on 200 frames (the cost of scoring does not depend on the weights), <c>Transform</c> in blocks against the
    /// per-row chain, energy and forces.
    /// </summary>
    public static void FileScoring(string path)
    {
        var ml = new MLContext(1);
        var frames = ExtendedXyz.Read(path);
        using var model = ml.Equivariant().Trainers.Ponita(new PonitaTrainer.Options
        {
            NumberOfEpochs = 1, Seed = 1, ForcesColumnName = "Forces", PredictedForcesColumnName = "PredictedForces",
        }).Fit(ml.Data.LoadFromEnumerable(frames.Take(200).ToList()));
        var data = ml.Data.LoadFromEnumerable(frames);
        Console.WriteLine($"Scoring {frames.Count} frames of {frames[0].AtomTypes.Length} atoms ({Path.GetFileName(path)}), energy + forces, default model, cutoff {model.Description.Cutoff:F2}:");
        foreach (var (name, transform) in new (string, Func<IDataView>)[] { ("model.Transform (blocks)", () => model.Transform(data)), ("model.TransformPerRow", () => model.TransformPerRow(data)) })
        {
            transform().GetColumn<float[]>("PredictedForces").Count();
            var clock = Stopwatch.StartNew();
            int count = transform().GetColumn<float[]>("PredictedForces").Count();
            Console.WriteLine($"  {name}: {count / clock.Elapsed.TotalSeconds:F0} molecules/s");
        }
    }

    /// <summary>Working set while the public trainer runs <paramref name="epochs"/> epochs with forces (it must stay flat).</summary>
    public static void Memory(int epochs)
    {
        var ml = new MLContext(1);
        var train = ml.Data.LoadFromEnumerable(SyntheticMolecules.Generate(300, seed: 1).ToList());
        var samples = new List<(int Epoch, double Megabytes)>();
        int every = Math.Max(1, epochs / 6);
        ml.Equivariant().Trainers.Ponita(new PonitaTrainer.Options
        {
            NumberOfEpochs = epochs, Seed = 1, ForcesColumnName = "Forces",
            Progress = new Reporter(p =>
            {
                if (p.Epoch % every == 0) samples.Add((p.Epoch, Process.GetCurrentProcess().WorkingSet64 / 1048576.0));
            }),
        }).Fit(train).Dispose();
        Console.WriteLine($"Working set during {epochs} PONITA epochs (300 molecules, energy + forces): " +
                          string.Join(", ", samples.Select(s => $"epoch {s.Epoch}: {s.Megabytes:F0} MB")));
    }

}
