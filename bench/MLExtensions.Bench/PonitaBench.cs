using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using MLExtensions.Equivariant;
using MLExtensions.Onnx.Runtime;
using MLExtensions.Onnx.Scoring;
using static TorchSharp.torch;

namespace MLExtensions.Bench;

/// <summary>PONITA's vector head on the charged N-body task against linear extrapolation.</summary>
public static class PonitaBench
{
    public static void NBody(int trainSystems, int epochs, double cutoff, int hidden, bool egnnProtocol)
    {
        random.manual_seed(1);
        var train = (egnnProtocol ? ChargedParticles.GenerateEgnnProtocol(trainSystems, seed: 1) : ChargedParticles.Generate(trainSystems, seed: 1)).ToList();
        var test = (egnnProtocol ? ChargedParticles.GenerateEgnnProtocol(500, seed: 2) : ChargedParticles.Generate(500, seed: 2)).ToList();
        using var network = new PonitaNetwork(2, hidden, layers: 3, orientations: 16, cutoff);
        using var testBatch = ParticleBatch.From(test);
        double linear = ParticleFitting.MeanSquaredError(Plus(testBatch.Positions, testBatch.Velocities), testBatch.Targets);
        var clock = Stopwatch.StartNew();
        var history = ParticleFitting.Fit(network, train, epochs, batchSize: 50, learningRate: 1e-3, new Random(1), cosineDecay: true);
        double seconds = clock.Elapsed.TotalSeconds;
        network.eval();
        double mse;
        using (no_grad()) mse = ParticleFitting.MeanSquaredError(ParticleFitting.Predict(network, testBatch), testBatch.Targets);
        Console.WriteLine($"N-body (5 charged particles, Δt = 1, {(egnnProtocol ? "EGNN protocol" : "our generator")}): {trainSystems} training systems, cutoff {cutoff}, hidden {hidden}, {epochs} epochs in {seconds:F0} s " +
                          $"({seconds / epochs:F2} s/epoch): test MSE {mse:F4} vs linear extrapolation {linear:F4}; training loss {history[0]:F4} -> {history[^1]:F4}");
    }

    /// <summary>
    /// Molecules per second at inference, energy alone and energy with forces: TorchSharp eager (one molecule per call
    /// and padded batches of 64), ONNX Runtime on the scoring graph (one molecule per call, as ML.NET runs it), and the
    /// whole ML.NET chain (row checks included). Training time per epoch of the public trainer.
    /// </summary>
    public static void Inference(int molecules)
    {
        var ml = new MLContext(1);
        var rows = SyntheticMolecules.Generate(molecules, seed: 2).ToList();
        var clouds = rows.Select(r => new PointCloud(r.Positions, PointCloudData.OneHot(r.AtomTypes.Select(t => (float)t).ToArray(), 3), r.Label, r.Forces)).ToList();
        random.manual_seed(1);
        using var network = new PonitaNetwork(3, hidden: 32, layers: 3, orientations: 16, cutoff: 3.0);
        network.eval();
        Console.WriteLine($"PONITA inference on {molecules} generated molecules of 3..8 atoms (hidden 32, 3 layers, 16 orientations), 2-core CPU:");

        Measure("TorchSharp eager, 1 molecule/call, energy", () =>
        {
            foreach (var c in clouds)
            {
                using var scope = NewDisposeScope();
                using var noGrad = no_grad();
                using var batch = MoleculeBatch.From([c], 3, false);
                network.forward(batch.Positions, batch.Types, batch.Mask).item<float>();
            }
        });
        Measure("TorchSharp eager, 64 molecules/call (padded), energy", () =>
        {
            foreach (var chunk in clouds.Chunk(64))
            {
                using var scope = NewDisposeScope();
                using var noGrad = no_grad();
                using var batch = MoleculeBatch.From(chunk, 3, false);
                network.forward(batch.Positions, batch.Types, batch.Mask).data<float>().ToArray();
            }
        });
        Measure("TorchSharp eager, 1 molecule/call, energy + forces (autograd)", () =>
        {
            foreach (var c in clouds)
            {
                using var scope = NewDisposeScope();
                using var batch = MoleculeBatch.From([c], 3, false);
                var (energy, forces) = PonitaFitting.EnergyAndForces(network, batch, training: false);
                energy.item<float>();
                forces.data<float>().ToArray();
            }
        });

        foreach (var forcesName in new[] { null, "forces" })
        {
            using var session = OnnxModelSession.Create(PonitaOnnxExporter.ExportForScoring(network, "points", "kinds", typesAreIndices: true, forcesName));
            string[] outputs = forcesName is null ? [ScoringHeads.RawScore] : [ScoringHeads.RawScore, forcesName];
            Measure($"ONNX Runtime, 1 molecule/call, {(forcesName is null ? "energy" : "energy + forces (graph reverse pass)")}", () =>
            {
                using var options = new RunOptions();
                foreach (var r in rows)
                {
                    using var points = OrtValue.CreateTensorValueFromMemory(r.Positions, [1, r.AtomTypes.Length, 3]);
                    using var kinds = OrtValue.CreateTensorValueFromMemory(r.AtomTypes.Select(t => (float)t).ToArray(), [1, r.AtomTypes.Length]);
                    using var results = session.Session.Run(options, ["points", "kinds"], [points, kinds], outputs);
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
            Measure($"ML.NET chain (row checks + ONNX Runtime), {(withForces ? "energy + forces" : "energy")}", () => model.Transform(data).GetColumn<float>("Score").Count());
        }

        void Measure(string name, Action run)
        {
            run(); // warm-up
            var clock = Stopwatch.StartNew();
            run();
            Console.WriteLine($"  {name}: {molecules / clock.Elapsed.TotalSeconds:F0} molecules/s");
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

    private static Tensor Plus(Tensor a, Tensor b) => MLExtensions.Torch.HeldScalars.Plus(a, b);
}
