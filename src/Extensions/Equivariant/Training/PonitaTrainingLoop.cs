using MLExtensions.Torch;
using MLExtensions.Training;
using TorchSharp;
using static MLExtensions.Torch.HeldScalars;
using static TorchSharp.torch;

namespace MLExtensions.Equivariant;

/// <summary>A training cloud with its radius-graph edges (computed once: rotations and translations keep them).</summary>
internal sealed record GraphSample(PointCloud Cloud, EdgeList Edges)
{
    public static GraphSample Of(PointCloud cloud, double cutoff, int? maximumNeighbors, bool selfLoops = false) =>
        new(cloud, EdgeList.Of(cloud.Positions, cutoff, maximumNeighbors, selfLoops, cloud.Cell));
}

/// <summary>
/// Clouds concatenated into one <see cref="PointGraph"/>, with their energies [B], per-point targets [P, 3] (forces,
/// or target vectors) and per-point input vectors [P, 3] (e.g. velocities) when the clouds have them.
/// </summary>
internal sealed record MoleculeBatch(PointGraph Graph, Tensor Energies, Tensor? Forces, Tensor? InputVectors = null) : IDisposable
{
    /// <summary>
    /// Stress labels as virials per atom, σ·V/N [B, 3, 3], with a mask [B, 1, 1] (0 for clouds without a label) and
    /// the atom counts N [B, 1, 1]; null when the batch trains no stress.
    /// </summary>
    public (Tensor PerAtom, Tensor Mask, Tensor Atoms)? Virials { get; init; }

    /// <summary>
    /// The batch of <paramref name="samples"/>; with <paramref name="rotations"/>, each cloud (and its forces) turned by
    /// its own uniformly random rotation (data augmentation: the targets rotate with the points).
    /// </summary>
    public static MoleculeBatch From(IReadOnlyList<GraphSample> samples, int featureCount, bool withForces, Random? rotations = null, Device? device = null, bool withStress = false)
    {
        var turns = samples.Select(_ => rotations is null ? null : Rotations.Random(rotations)).ToList();
        var clouds = samples.Select((s, i) => turns[i] is { } r ? Rotated(s.Cloud, r) : s.Cloud).ToList();
        var graph = PointGraph.From(clouds.Select((c, i) => (c.Positions, c.Features, turns[i] is { } r ? samples[i].Edges.Rotated(r) : samples[i].Edges)).ToList(), featureCount, device);
        var energies = tensor(clouds.Select(c => (float)c.Energy).ToArray(), device: device);
        var forces = withForces ? tensor(clouds.SelectMany(c => c.Forces!).ToArray(), [graph.PointCount, 3], device: device) : null;
        var inputs = clouds.All(c => c.InputVectors is not null) ? tensor(clouds.SelectMany(c => c.InputVectors!).ToArray(), [graph.PointCount, 3], device: device) : null;
        return new MoleculeBatch(graph, energies, forces, inputs) { Virials = withStress ? StressTargets(clouds, device) : null };
    }

    private static (Tensor, Tensor, Tensor) StressTargets(List<PointCloud> clouds, Device? device)
    {
        var perAtom = new float[9 * clouds.Count];
        var mask = new float[clouds.Count];
        for (int b = 0; b < clouds.Count; b++)
        {
            if (clouds[b].Stress is not { } stress) continue;
            double volumePerAtom = PeriodicRadiusGraph.Volume(clouds[b].Cell!) / clouds[b].Count;
            for (int k = 0; k < 9; k++) perAtom[9 * b + k] = (float)(stress[k] * volumePerAtom);
            mask[b] = 1;
        }
        return (tensor(perAtom, [clouds.Count, 3, 3], device: device), tensor(mask, [clouds.Count, 1, 1], device: device),
            tensor(clouds.Select(c => (float)c.Count).ToArray(), [clouds.Count, 1, 1], device: device));
    }

    private static PointCloud Rotated(PointCloud cloud, double[,] rotation) => cloud with
    {
        Positions = Rotations.Apply(rotation, cloud.Positions),
        Forces = cloud.Forces is { } f ? Rotations.Apply(rotation, f) : null,
        InputVectors = cloud.InputVectors is { } v ? Rotations.Apply(rotation, v) : null,
        Cell = cloud.Cell is { Length: > 0 } cell ? Rotations.Apply(rotation, cell) : cloud.Cell,
        Stress = cloud.Stress is { } stress ? Rotations.ApplyToTensor(rotation, stress) : null,
    };

    public void Dispose()
    {
        Graph.Dispose();
        Energies.Dispose();
        Forces?.Dispose();
        InputVectors?.Dispose();
        if (Virials is var (perAtom, mask, atoms))
        {
            perAtom.Dispose();
            mask.Dispose();
            atoms.Dispose();
        }
    }
}

/// <summary>How <see cref="PonitaTrainingLoop.Train"/> steps: epochs, batch size, learning-rate schedule and weight averaging.</summary>
/// <param name="Epochs">Passes over the data.</param>
/// <param name="BatchSize">Items per optimiser step.</param>
/// <param name="LearningRate">Adam's peak learning rate.</param>
/// <param name="CosineDecay">Fall from the peak to zero along a half cosine.</param>
/// <param name="WarmupSteps">Steps of linear rise from zero to the peak.</param>
/// <param name="AverageDecay">Keep an exponential moving average of the weights with this decay, and end with it.</param>
/// <param name="GradientClipNorm">Clip the gradient's global norm at this value before every step.</param>
internal sealed record TrainingSchedule(int Epochs, int BatchSize, double LearningRate, bool CosineDecay = false, int WarmupSteps = 0, double? AverageDecay = null,
    double? GradientClipNorm = null)
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
internal static class PonitaTrainingLoop
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
    /// Energies [B], forces [P, 3] and virials ∂E/∂ε [B, 3, 3] (symmetrised; the stress times the volume) under a
    /// homogeneous strain ε of each cloud: its points and its edges' lattice shifts move as x → (I + ε)·x, so every
    /// edge vector strains as r → (I + ε)·r and ∂E/∂ε = Σ_e (∂E/∂r_e) r_eᵀ, what the ONNX graph sums per edge, made
    /// symmetric by <see cref="PonitaNetwork.Virial"/> (which accounts for the turn of a lattice frame).
    /// </summary>
    public static (Tensor Energy, Tensor Forces, Tensor Virial) EnergyForcesAndVirial(PonitaNetwork network, PointGraph graph, bool training)
    {
        var positions = graph.Positions.detach().requires_grad_();
        var strain = zeros([graph.GraphCount, 3, 3], dtype: positions.dtype, device: positions.device).requires_grad_();
        var strained = Plus(positions, einsum("pab,pb->pa", strain.index_select(0, graph.Graph), positions));
        var shifts = graph.Shifts is { } s
            ? Plus(s, einsum("eab,eb->ea", strain.index_select(0, graph.Graph.index_select(0, graph.Receivers)), s))
            : null;
        var energy = network.Energy(graph with { Positions = strained, Shifts = shifts });
        var gradients = autograd.grad([energy.sum()], [positions, strain], retain_graph: training, create_graph: training);
        return (energy, gradients[0].neg(), network.Virial(gradients[1], graph));
    }

    /// <summary>
    /// The loss of one batch: mean over clouds of the squared energy error per point times <see cref="EnergyReferencePoints"/>, plus <paramref name="forceWeight"/> × mean squared error per
    /// force component, or the energy error alone without target forces; with stress labels, plus
    /// <paramref name="stressWeight"/> × mean squared error per stress component, each as a virial per atom (σ·V/N).
    /// With <paramref name="whole"/>, <paramref name="batch"/> is a piece of a larger batch and each sum is divided by
    /// the whole batch's count instead of the piece's, so that the pieces' losses add up to the batch's.
    /// </summary>
    public static Tensor Loss(PonitaNetwork network, MoleculeBatch batch, Scalar forceWeight, Scalar? stressWeight = null, BatchCounts? whole = null)
    {
        Tensor energy, forces, virial = null!;
        if (batch.Virials is not null) (energy, forces, virial) = EnergyForcesAndVirial(network, batch.Graph, training: true);
        else (energy, forces) = batch.Forces is not null ? EnergyAndForces(network, batch.Graph, training: true) : (network.Energy(batch.Graph), null!);
        var energyError = Minus(energy, batch.Energies);
        var counts = PointCounts(batch.Graph, energy);
        using var reference = EnergyReferencePoints.ToScalar();
        var loss = MeanOver(energyError.mul(energyError).div(counts.mul(counts)).mul(reference), whole?.Clouds);
        if (batch.Forces is { } target)
        {
            var forceError = Minus(forces, target);
            loss = Plus(loss, MeanOver(forceError.mul(forceError), 3 * whole?.Points).mul(forceWeight));
        }
        if (batch.Virials is not var (perAtom, mask, atoms) || stressWeight is null) return loss;
        var stressError = Minus(virial.div(atoms), perAtom).mul(mask);
        using var components = 9.0.ToScalar();
        var stressLoss = whole is { } w
            ? Squared(stressError).sum().div(Math.Max(1, 9 * w.StressLabels))
            : Squared(stressError).sum().div(mask.sum().mul(components).clamp_min(One));
        return Plus(loss, stressLoss.mul(stressWeight));
    }

    /// <summary>
    /// The energy term is the squared error per point, as NequIP and MACE weigh it, times this many points. A cloud's
    /// energy error grows with its size (√N for independent per-point errors, N for a bias) while the force term is a
    /// mean per component: the whole cloud's squared error made a 216-atom silicon cell's forces never train, and the
    /// squared error divided by N (the weighting before this one) left its energy and force errors 1.9× and 1.8× what
    /// they are per point (10 epochs). At 21 points (aspirin, the MD17 molecule the recipe was compared on against the
    /// official code) the two weightings are the same.
    /// </summary>
    internal const double EnergyReferencePoints = 21;

    /// <summary>A cloud's squared energy error as the loss weighs it (see <see cref="EnergyReferencePoints"/>).</summary>
    internal static double EnergyLossTerm(double error, int points) => EnergyReferencePoints * error * error / ((double)Math.Max(1, points) * Math.Max(1, points));

    /// <summary>Points per cloud [B], in the dtype and on the device of <paramref name="like"/> ([B]).</summary>
    private static Tensor PointCounts(PointGraph graph, Tensor like) =>
        zeros_like(like).index_add(0, graph.Graph, ones(graph.PointCount, dtype: like.dtype, device: like.device), One);

    /// <summary>The mean of <paramref name="values"/>, or their sum over <paramref name="count"/> when one is given.</summary>
    private static Tensor MeanOver(Tensor values, long? count) => count is long n ? values.sum().div(n) : values.mean();

    /// <summary>
    /// Trains <paramref name="network"/> on shuffled mini-batches of <paramref name="items"/> with Adam, through the
    /// shared <see cref="EpochLoop"/>: the learning rate follows <paramref name="schedule"/>, <paramref name="batchLoss"/>
    /// makes a batch's tensors inside the step's dispose scope, <paramref name="validate"/> (with the averaged weights
    /// in the network when the schedule averages) gives the validation loss after each epoch, and a non-finite training
    /// loss stops training with <paramref name="divergence"/>'s message. The network ends with the averaged weights when
    /// there are any, or with <paramref name="keepBest"/> and a validation, those of the epoch with the lowest validation loss.
    /// </summary>
    public static EpochLoopResult Train<T>(TrainingRun run, PonitaNetwork network, IReadOnlyList<T> items, TrainingSchedule schedule,
        Func<IReadOnlyList<T>, Tensor> batchLoss, Func<int, double?>? validate, Func<int, double, string> divergence, bool keepBest = false,
        BatchPieces<T>? pieces = null)
    {
        using var optimizer = new AdamOptimizer(network.parameters(), schedule.LearningRate);
        var order = Enumerable.Range(0, items.Count).ToArray();
        int totalSteps = (int)Math.Min(int.MaxValue, (long)schedule.Epochs * ((items.Count + (long)schedule.BatchSize - 1) / schedule.BatchSize)), step = 0;
        // Keeping the best epoch is the early-stopping machinery with a patience that never runs out.
        var plan = new EpochPlan(schedule.Epochs)
        {
            AverageDecay = schedule.AverageDecay, Divergence = divergence, EarlyStoppingPatience = keepBest && validate is not null ? int.MaxValue : null,
        };
        return EpochLoop.Run(run, network, plan, new EpochSteps<IReadOnlyList<T>>
        {
            Batches = _ =>
            {
                run.Random.Shuffle(order);
                return order.Chunk(schedule.BatchSize).Select(chunk => (IReadOnlyList<T>)chunk.Select(i => items[i]).ToList());
            },
            Step = batch =>
            {
                optimizer.LearningRate = schedule.LearningRateAt(step++, totalSteps);
                optimizer.ZeroGrad();
                Tensor loss;
                if (pieces?.Split(batch) is { Count: > 1 } parts) loss = BackwardInPieces(parts, batch, pieces.Share);
                else
                {
                    loss = batchLoss(batch);
                    loss.backward();
                }
                if (schedule.GradientClipNorm is double clip) nn.utils.clip_grad_norm_(network.parameters(), clip);
                optimizer.Step();
                return new StepLoss(loss);
            },
            Validate = validate,
        });
    }

    /// <summary>
    /// Accumulates the gradient of a batch piece by piece, each piece's graph freed before the next is built, and
    /// returns the batch's loss (the sum of the pieces' shares).
    /// </summary>
    private static Tensor BackwardInPieces<T>(IReadOnlyList<IReadOnlyList<T>> parts, IReadOnlyList<T> batch, Func<IReadOnlyList<T>, IReadOnlyList<T>, Tensor> share)
    {
        Tensor? total = null;
        foreach (var part in parts)
        {
            using var scope = NewDisposeScope();
            var loss = share(part, batch);
            loss.backward();
            var value = loss.detach();
            total = (total is null ? value : Plus(total, value)).MoveToOuterDisposeScope();
        }
        return total!;
    }

    /// <summary>
    /// Values per piece of a training batch, edges × orientations × channels (16 MiB per float tensor over the edges):
    /// beyond it a batch is computed in pieces. Tensors over larger batches outgrow the caches and, above glibc's 32 MiB
    /// mmap threshold, are mapped and zeroed afresh at every step: on 216-atom silicon cells (7,300 edges each at the
    /// default 16 orientations and 32 channels) one cell at a time trained at 0.6 s per cell against 1.0 s in fours.
    /// </summary>
    public const long PieceValues = 1L << 22;

    /// <summary>
    /// <paramref name="batch"/> cut into consecutive pieces of at most <see cref="PieceValues"/> edge values (a cloud
    /// larger than that alone makes a piece of its own): one piece, the batch itself, when it all fits.
    /// </summary>
    public static IReadOnlyList<IReadOnlyList<GraphSample>> Pieces(IReadOnlyList<GraphSample> batch, long valuesPerEdge)
    {
        var pieces = new List<IReadOnlyList<GraphSample>>();
        var current = new List<GraphSample>();
        long values = 0;
        foreach (var sample in batch)
        {
            long size = sample.Edges.Count * valuesPerEdge;
            if (current.Count > 0 && values + size > PieceValues)
            {
                pieces.Add(current);
                (current, values) = ([], 0);
            }
            current.Add(sample);
            values += size;
        }
        if (pieces.Count == 0) return [batch];
        pieces.Add(current);
        return pieces;
    }

    /// <summary>
    /// Energies and forces (3N per cloud) of <paramref name="samples"/> in evaluation mode, in batches; with
    /// <paramref name="withStress"/>, stresses too (9 per cloud, row-major; NaN for a cloud without a volume).
    /// </summary>
    public static Predictions Predict(PonitaNetwork network, IReadOnlyList<GraphSample> samples, int featureCount, int batchSize, Device? device = null,
        bool withStress = false)
    {
        var energies = new List<float>();
        var forces = new List<float[]>();
        var stresses = withStress ? new List<float[]>() : null;
        for (int start = 0; start < samples.Count; start += batchSize)
        {
            using var scope = NewDisposeScope();
            var chunk = samples.Skip(start).Take(batchSize).ToList();
            using var batch = MoleculeBatch.From(chunk, featureCount, withForces: false, device: device);
            Tensor energy, force, virial = null!;
            if (withStress) (energy, force, virial) = EnergyForcesAndVirial(network, batch.Graph, training: false);
            else (energy, force) = EnergyAndForces(network, batch.Graph, training: false);
            energies.AddRange(energy.cpu().data<float>().ToArray());
            var all = force.cpu().data<float>().ToArray();
            int offset = 0;
            foreach (var s in chunk)
            {
                forces.Add(all[offset..(offset + s.Cloud.Positions.Length)]);
                offset += s.Cloud.Positions.Length;
            }
            if (stresses is null) continue;
            var virials = virial.cpu().data<float>().ToArray();
            for (int b = 0; b < chunk.Count; b++) stresses.Add(Stress(virials.AsSpan(9 * b, 9), chunk[b].Cloud.Cell));
        }
        return new Predictions(energies.ToArray(), forces.ToArray(), stresses?.ToArray());
    }

    /// <summary>A virial ∂E/∂ε divided by the cell's volume: the stress, or NaN without a cell periodic in all directions.</summary>
    internal static float[] Stress(ReadOnlySpan<float> virial, float[]? cell)
    {
        float volume = PeriodicRadiusGraph.StressVolume(cell);
        var stress = new float[9];
        for (int k = 0; k < 9; k++) stress[k] = virial[k] / volume;
        return stress;
    }
}

/// <summary>How <see cref="PonitaTrainingLoop.Train"/> computes a batch too large for one graph.</summary>
/// <param name="Split">The batch's pieces (one piece: the batch is computed whole, by the ordinary loss).</param>
/// <param name="Share">A piece's share of the batch's loss (the piece, then the whole batch).</param>
internal sealed record BatchPieces<T>(Func<IReadOnlyList<T>, IReadOnlyList<IReadOnlyList<T>>> Split, Func<IReadOnlyList<T>, IReadOnlyList<T>, Tensor> Share);

/// <summary>What a whole batch counts, for the shares of its pieces' losses: clouds, points, and clouds with a stress label.</summary>
internal sealed record BatchCounts(long Clouds, long Points, long StressLabels)
{
    public static BatchCounts Of(IReadOnlyList<GraphSample> batch) =>
        new(batch.Count, batch.Sum(s => (long)s.Cloud.Count), batch.Count(s => s.Cloud.Stress is not null));
}

/// <summary>What <see cref="PonitaTrainingLoop.Predict"/> gives: energies [B], forces (3N per cloud) and, when asked, stresses (9 per cloud).</summary>
internal sealed record Predictions(float[] Energies, float[][] Forces, float[][]? Stresses);
