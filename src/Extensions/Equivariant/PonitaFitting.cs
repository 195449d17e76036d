using MLExtensions.Torch;
using TorchSharp;
using static MLExtensions.Torch.HeldScalars;
using static TorchSharp.torch;

namespace MLExtensions.Equivariant;

/// <summary>Point clouds padded to one dense, masked batch.</summary>
internal sealed record MoleculeBatch(Tensor Positions, Tensor Types, Tensor Mask, Tensor Energies, Tensor? Forces) : IDisposable
{
    /// <summary>Pads <paramref name="clouds"/> to the largest point count; features are N·<paramref name="featureCount"/> per cloud.</summary>
    public static MoleculeBatch From(IReadOnlyList<PointCloud> clouds, int featureCount, bool withForces, Device? device = null)
    {
        int b = clouds.Count, n = clouds.Max(m => m.Count);
        var positions = new float[b * n * 3];
        var types = new float[b * n * featureCount];
        var mask = new float[b * n];
        var forces = new float[b * n * 3];
        for (int m = 0; m < b; m++)
        {
            var cloud = clouds[m];
            Array.Copy(cloud.Positions, 0, positions, m * n * 3, cloud.Positions.Length);
            Array.Copy(cloud.Features, 0, types, m * n * featureCount, cloud.Features.Length);
            if (cloud.Forces is { } f) Array.Copy(f, 0, forces, m * n * 3, f.Length);
            Array.Fill(mask, 1f, m * n, cloud.Count);
        }
        return new MoleculeBatch(tensor(positions, [b, n, 3], device: device), tensor(types, [b, n, featureCount], device: device), tensor(mask, [b, n], device: device),
            tensor(clouds.Select(m => m.Energy).ToArray(), device: device), withForces ? tensor(forces, [b, n, 3], device: device) : null);
    }

    public void Dispose()
    {
        Positions.Dispose();
        Types.Dispose();
        Mask.Dispose();
        Energies.Dispose();
        Forces?.Dispose();
    }
}

/// <summary>
/// The training loop of PONITA: Adam on mean squared energy error plus, with forces, a weighted mean squared error of
/// the conservative forces −∂E/∂x (differentiated twice through the network).
/// </summary>
internal static class PonitaFitting
{
    /// <summary>Energy and forces (−∂E/∂x, kept in the graph when <paramref name="training"/>) of a batch.</summary>
    public static (Tensor Energy, Tensor Forces) EnergyAndForces(PonitaNetwork network, MoleculeBatch batch, bool training)
    {
        var positions = batch.Positions.detach().requires_grad_();
        var energy = network.forward(positions, batch.Types, batch.Mask);
        var gradient = autograd.grad([energy.sum()], [positions], retain_graph: training, create_graph: training)[0];
        return (energy, gradient.neg());
    }

    /// <summary>
    /// The loss of one batch: mean squared energy error plus <paramref name="forceWeight"/> × mean squared error per
    /// force component (over real points only), or the energy error alone without target forces.
    /// </summary>
    public static Tensor Loss(PonitaNetwork network, MoleculeBatch batch, Scalar forceWeight)
    {
        var withForces = batch.Forces is not null;
        var (energy, forces) = withForces ? EnergyAndForces(network, batch, training: true) : (network.forward(batch.Positions, batch.Types, batch.Mask), null);
        var energyError = Minus(energy, batch.Energies);
        var loss = energyError.mul(energyError).mean();
        if (batch.Forces is not { } target) return loss;
        var forceError = Minus(forces!, target).mul(batch.Mask.unsqueeze(-1));
        var perComponent = forceError.mul(forceError).sum().div(batch.Mask.sum().clamp_min(Tiny)).div(Three);
        return Plus(loss, perComponent.mul(forceWeight));
    }

    /// <summary>
    /// The shared epoch loop: shuffled mini-batches, Adam, each step in its own dispose scope (the batch tensors
    /// <paramref name="batchLoss"/> makes die with it). With <paramref name="cosineDecay"/> the learning rate falls
    /// from <paramref name="learningRate"/> to zero along a half cosine. <paramref name="afterEpoch"/> receives the
    /// epoch (1-based) and its mean loss; <paramref name="cancellationToken"/> is checked before every step. Returns
    /// the mean loss of each epoch.
    /// </summary>
    public static List<double> Train<T>(PonitaNetwork network, IReadOnlyList<T> items, int epochs, int batchSize, double learningRate, Random random,
        Func<IReadOnlyList<T>, Tensor> batchLoss, bool cosineDecay = false, Action<int, double>? afterEpoch = null, CancellationToken cancellationToken = default)
    {
        using var optimizer = new AdamOptimizer(network.parameters(), learningRate);
        var history = new List<double>();
        var order = Enumerable.Range(0, items.Count).ToArray();
        int stepsPerEpoch = (items.Count + batchSize - 1) / batchSize, step = 0;
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            random.Shuffle(order);
            double total = 0;
            int batches = 0;
            for (int start = 0; start < order.Length; start += batchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (cosineDecay) optimizer.LearningRate = learningRate * 0.5 * (1 + Math.Cos(Math.PI * step / (epochs * stepsPerEpoch)));
                step++;
                using var scope = NewDisposeScope();
                optimizer.ZeroGrad();
                var loss = batchLoss(order.Skip(start).Take(batchSize).Select(i => items[i]).ToList());
                loss.backward();
                optimizer.Step();
                total += loss.item<float>();
                batches++;
            }
            history.Add(total / Math.Max(batches, 1));
            afterEpoch?.Invoke(epoch + 1, history[^1]);
        }
        return history;
    }
}

/// <summary>N-body systems padded to dense batches: positions, velocities, charge types (one-hot −/+), targets.</summary>
internal sealed record ParticleBatch(Tensor Positions, Tensor Velocities, Tensor Types, Tensor Mask, Tensor Targets) : IDisposable
{
    public static ParticleBatch From(IReadOnlyList<ChargedSystem> systems)
    {
        int b = systems.Count, n = systems[0].Charges.Length;
        var types = new float[b * n * 2];
        for (int s = 0; s < b; s++)
            for (int i = 0; i < n; i++) types[(s * n + i) * 2 + (systems[s].Charges[i] > 0 ? 1 : 0)] = 1f;
        return new ParticleBatch(tensor(systems.SelectMany(s => s.Positions).ToArray(), [b, n, 3]), tensor(systems.SelectMany(s => s.Velocities).ToArray(), [b, n, 3]),
            tensor(types, [b, n, 2]), ones(b, n), tensor(systems.SelectMany(s => s.Target).ToArray(), [b, n, 3]));
    }

    public void Dispose()
    {
        Positions.Dispose();
        Velocities.Dispose();
        Types.Dispose();
        Mask.Dispose();
        Targets.Dispose();
    }
}

/// <summary>Training of the vector head on N-body systems: predicted positions x + v + Δ(x, v, q), mean squared error.</summary>
internal static class ParticleFitting
{
    /// <summary>Predicted positions after Δt: linear extrapolation corrected by the network's equivariant vectors.</summary>
    public static Tensor Predict(PonitaNetwork network, ParticleBatch batch) =>
        Plus(Plus(batch.Positions, batch.Velocities), network.Vectors(batch.Positions, batch.Types, batch.Mask, batch.Velocities, network.Grid));

    public static double MeanSquaredError(Tensor predicted, Tensor target)
    {
        using var scope = NewDisposeScope();
        var error = Minus(predicted, target);
        return error.mul(error).mean().item<float>();
    }

    public static List<double> Fit(PonitaNetwork network, IReadOnlyList<ChargedSystem> systems, int epochs, int batchSize, double learningRate, Random random,
        bool cosineDecay = false) =>
        PonitaFitting.Train(network, systems, epochs, batchSize, learningRate, random, chosen =>
        {
            var batch = ParticleBatch.From(chosen);
            var error = Minus(Predict(network, batch), batch.Targets);
            return error.mul(error).mean();
        }, cosineDecay);
}
