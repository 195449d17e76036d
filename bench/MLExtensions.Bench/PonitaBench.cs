using System.Diagnostics;
using MLExtensions.Equivariant;
using static TorchSharp.torch;

namespace MLExtensions.Bench;

/// <summary>PONITA's vector head on the charged N-body task against linear extrapolation.</summary>
public static class PonitaBench
{
    public static void NBody(int trainSystems, int epochs)
    {
        random.manual_seed(1);
        var train = ChargedParticles.Generate(trainSystems, seed: 1).ToList();
        var test = ChargedParticles.Generate(500, seed: 2).ToList();
        using var network = new PonitaNetwork(2, hidden: 32, layers: 3, orientations: 16, cutoff: 100.0);
        using var testBatch = ParticleBatch.From(test);
        double linear = ParticleFitting.MeanSquaredError(Plus(testBatch.Positions, testBatch.Velocities), testBatch.Targets);
        var clock = Stopwatch.StartNew();
        var history = ParticleFitting.Fit(network, train, epochs, batchSize: 50, learningRate: 5e-4, new Random(1));
        double seconds = clock.Elapsed.TotalSeconds;
        network.eval();
        double mse;
        using (no_grad()) mse = ParticleFitting.MeanSquaredError(ParticleFitting.Predict(network, testBatch), testBatch.Targets);
        Console.WriteLine($"N-body (5 charged particles, Δt = 1): {trainSystems} training systems, {epochs} epochs in {seconds:F0} s " +
                          $"({seconds / epochs:F2} s/epoch): test MSE {mse:F4} vs linear extrapolation {linear:F4}; training loss {history[0]:F4} -> {history[^1]:F4}");
    }

    private static Tensor Plus(Tensor a, Tensor b) => MLExtensions.Torch.HeldScalars.Plus(a, b);
}
