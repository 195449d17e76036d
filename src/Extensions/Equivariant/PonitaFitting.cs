using MLExtensions.Torch;
using TorchSharp;
using static MLExtensions.Torch.HeldScalars;
using static TorchSharp.torch;

namespace MLExtensions.Equivariant;

/// <summary>A training cloud with its radius-graph edges (computed once: rotations and translations keep them).</summary>
internal sealed record GraphSample(PointCloud Cloud, EdgeList Edges)
{
    public static GraphSample Of(PointCloud cloud, double cutoff, int? maximumNeighbors, bool selfLoops = false) =>
        new(cloud, EdgeList.Of(cloud.Positions, cutoff, maximumNeighbors, selfLoops));
}

/// <summary>
/// Clouds concatenated into one <see cref="PointGraph"/>, with their energies [B], per-point targets [P, 3] (forces,
/// or target vectors) and per-point input vectors [P, 3] (e.g. velocities) when the clouds have them.
/// </summary>
internal sealed record MoleculeBatch(PointGraph Graph, Tensor Energies, Tensor? Forces, Tensor? InputVectors = null) : IDisposable
{
    /// <summary>
    /// The batch of <paramref name="samples"/>; with <paramref name="rotations"/>, each cloud (and its forces) turned by
    /// its own uniformly random rotation (data augmentation: the targets rotate with the points).
    /// </summary>
    public static MoleculeBatch From(IReadOnlyList<GraphSample> samples, int featureCount, bool withForces, Random? rotations = null, Device? device = null)
    {
        var clouds = samples.Select(s => rotations is null ? s.Cloud : Rotated(s.Cloud, Rotations.Random(rotations))).ToList();
        var graph = PointGraph.From(clouds.Select((c, i) => (c.Positions, c.Features, samples[i].Edges)).ToList(), featureCount, device);
        var energies = tensor(clouds.Select(c => c.Energy).ToArray(), device: device);
        var forces = withForces ? tensor(clouds.SelectMany(c => c.Forces!).ToArray(), [graph.PointCount, 3], device: device) : null;
        var inputs = clouds.All(c => c.InputVectors is not null) ? tensor(clouds.SelectMany(c => c.InputVectors!).ToArray(), [graph.PointCount, 3], device: device) : null;
        return new MoleculeBatch(graph, energies, forces, inputs);
    }

    private static PointCloud Rotated(PointCloud cloud, double[,] rotation) => cloud with
    {
        Positions = Rotations.Apply(rotation, cloud.Positions),
        Forces = cloud.Forces is { } f ? Rotations.Apply(rotation, f) : null,
        InputVectors = cloud.InputVectors is { } v ? Rotations.Apply(rotation, v) : null,
    };

    public void Dispose()
    {
        Graph.Dispose();
        Energies.Dispose();
        Forces?.Dispose();
        InputVectors?.Dispose();
    }
}

/// <summary>How <see cref="PonitaFitting.Train"/> steps: epochs, batch size, learning-rate schedule and weight averaging.</summary>
/// <param name="Epochs">Passes over the data.</param>
/// <param name="BatchSize">Items per optimiser step.</param>
/// <param name="LearningRate">Adam's peak learning rate.</param>
/// <param name="CosineDecay">Fall from the peak to zero along a half cosine.</param>
/// <param name="WarmupSteps">Steps of linear rise from zero to the peak.</param>
/// <param name="AverageDecay">Keep an exponential moving average of the weights with this decay, and end with it.</param>
internal sealed record TrainingSchedule(int Epochs, int BatchSize, double LearningRate, bool CosineDecay = false, int WarmupSteps = 0, double? AverageDecay = null)
{
    /// <summary>The learning rate at <paramref name="step"/> of <paramref name="totalSteps"/>.</summary>
    public double LearningRateAt(int step, int totalSteps)
    {
        double rate = LearningRate;
        if (WarmupSteps > 0 && step < WarmupSteps) rate *= (step + 1.0) / (WarmupSteps + 1.0);
        if (CosineDecay) rate *= 0.5 * (1 + Math.Cos(Math.PI * step / Math.Max(1, totalSteps)));
        return rate;
    }
}

/// <summary>
/// The training loop of PONITA: Adam on mean squared energy error plus, with forces, a weighted mean squared error of
/// the conservative forces −∂E/∂x (differentiated twice through the network).
/// </summary>
internal static class PonitaFitting
{
    /// <summary>Energies [B] and forces [P, 3] (−∂E/∂x, kept in the graph when <paramref name="training"/>).</summary>
    public static (Tensor Energy, Tensor Forces) EnergyAndForces(PonitaNetwork network, PointGraph graph, bool training)
    {
        var positions = graph.Positions.detach().requires_grad_();
        var energy = network.Energy(graph.WithPositions(positions));
        var gradient = autograd.grad([energy.sum()], [positions], retain_graph: training, create_graph: training)[0];
        return (energy, gradient.neg());
    }

    /// <summary>
    /// The loss of one batch: mean squared energy error plus <paramref name="forceWeight"/> × mean squared error per
    /// force component, or the energy error alone without target forces.
    /// </summary>
    public static Tensor Loss(PonitaNetwork network, MoleculeBatch batch, Scalar forceWeight)
    {
        var (energy, forces) = batch.Forces is not null ? EnergyAndForces(network, batch.Graph, training: true) : (network.Energy(batch.Graph), null);
        var energyError = Minus(energy, batch.Energies);
        var loss = energyError.mul(energyError).mean();
        if (batch.Forces is not { } target) return loss;
        var forceError = Minus(forces!, target);
        return Plus(loss, forceError.mul(forceError).mean().mul(forceWeight));
    }

    /// <summary>
    /// The shared epoch loop: shuffled mini-batches, Adam, each step in its own dispose scope (the batch tensors
    /// <paramref name="batchLoss"/> makes die with it), the learning rate of <paramref name="schedule"/>.
    /// <paramref name="afterEpoch"/> receives the epoch (1-based) and its mean loss, with the averaged weights in the
    /// network when the schedule averages; <paramref name="cancellationToken"/> is checked before every step. The
    /// network ends with the averaged weights when there are any. Returns the mean loss of each epoch.
    /// </summary>
    public static List<double> Train<T>(PonitaNetwork network, IReadOnlyList<T> items, TrainingSchedule schedule, Random random,
        Func<IReadOnlyList<T>, Tensor> batchLoss, Action<int, double>? afterEpoch = null, CancellationToken cancellationToken = default)
    {
        using var optimizer = new AdamOptimizer(network.parameters(), schedule.LearningRate);
        using var average = schedule.AverageDecay is double decay ? new WeightAverage(network.parameters(), decay) : null;
        var history = new List<double>();
        var order = Enumerable.Range(0, items.Count).ToArray();
        int stepsPerEpoch = (items.Count + schedule.BatchSize - 1) / schedule.BatchSize, step = 0;
        for (int epoch = 0; epoch < schedule.Epochs; epoch++)
        {
            random.Shuffle(order);
            double total = 0;
            int batches = 0;
            for (int start = 0; start < order.Length; start += schedule.BatchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                optimizer.LearningRate = schedule.LearningRateAt(step++, schedule.Epochs * stepsPerEpoch);
                using (var scope = NewDisposeScope())
                {
                    optimizer.ZeroGrad();
                    var loss = batchLoss(order.Skip(start).Take(schedule.BatchSize).Select(i => items[i]).ToList());
                    loss.backward();
                    optimizer.Step();
                    total += loss.item<float>();
                }
                average?.Update();
                batches++;
            }
            history.Add(total / Math.Max(batches, 1));
            using (average?.Swap()) afterEpoch?.Invoke(epoch + 1, history[^1]);
        }
        average?.CopyToModel();
        return history;
    }

    /// <summary>Energies and forces (3N per cloud) of <paramref name="samples"/> in evaluation mode, in batches.</summary>
    public static (float[] Energies, float[][] Forces) Predict(PonitaNetwork network, IReadOnlyList<GraphSample> samples, int featureCount, int batchSize, Device? device = null)
    {
        var energies = new List<float>();
        var forces = new List<float[]>();
        for (int start = 0; start < samples.Count; start += batchSize)
        {
            using var scope = NewDisposeScope();
            var chunk = samples.Skip(start).Take(batchSize).ToList();
            using var batch = MoleculeBatch.From(chunk, featureCount, withForces: false, device: device);
            var (energy, force) = EnergyAndForces(network, batch.Graph, training: false);
            energies.AddRange(energy.cpu().data<float>().ToArray());
            var all = force.cpu().data<float>().ToArray();
            int offset = 0;
            foreach (var s in chunk)
            {
                forces.Add(all[offset..(offset + s.Cloud.Positions.Length)]);
                offset += s.Cloud.Positions.Length;
            }
        }
        return (energies.ToArray(), forces.ToArray());
    }
}
