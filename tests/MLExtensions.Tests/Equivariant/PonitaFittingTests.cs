using MLExtensions.Equivariant;
using MLExtensions.Studies;
using MLExtensions.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace MLExtensions.Tests.Equivariant;

public class PonitaFittingTests
{
    private const double Cutoff = 3.0;

    private static List<GraphSample> Samples(IReadOnlyList<SimulatedMolecule> molecules) =>
        molecules.Select(m => GraphSample.Of(ToPointCloud(m), Cutoff, null)).ToList();

    /// <summary>The molecule as a training point cloud with one-hot types.</summary>
    private static PointCloud ToPointCloud(SimulatedMolecule m) =>
        new(m.Positions, PointCloudData.OneHot(m.Types.Select(t => (float)t).ToArray(), MoleculeSimulation.TypeCount), (float)m.Energy, m.Forces);

    [Fact]
    public void Training_on_energies_and_forces_learns_the_potential_and_stays_invariant_under_rotation()
    {
        random.manual_seed(1);
        var train = Samples(MoleculeSimulation.Generate(160, seed: 1, minAtoms: 3, maxAtoms: 6).ToList());
        var test = Samples(MoleculeSimulation.Generate(40, seed: 2, minAtoms: 3, maxAtoms: 6).ToList());
        using var network = new PonitaNetwork(MoleculeSimulation.TypeCount, hidden: 16, layers: 2, orientations: 8, cutoff: Cutoff);
        double EnergyMae(IReadOnlyList<GraphSample> set)
        {
            using var scope = NewDisposeScope();
            using var batch = MoleculeBatch.From(set, MoleculeSimulation.TypeCount, withForces: false);
            using var noGrad = no_grad();
            return (network.Energy(batch.Graph) - batch.Energies).abs().mean().item<float>();
        }
        double before = EnergyMae(test);
        using var forceWeight = 0.1.ToScalar();
        var rotations = new Random(2);
        using var run = TrainingRun.Start(new Microsoft.ML.MLContext(1), "test", new PonitaTrainer.Options { Seed = 1 }, widestLayer: 16);
        var history = PonitaTrainingLoop.Train(run, network, train, new TrainingSchedule(12, 16, 3e-3),
            chosen => PonitaTrainingLoop.Loss(network, MoleculeBatch.From(chosen, MoleculeSimulation.TypeCount, withForces: true, rotations), forceWeight),
            validate: null, divergence: (epoch, loss) => $"diverged in epoch {epoch}").History.Select(h => h.TrainingLoss).ToList();
        network.eval();
        double after = EnergyMae(test);
        Assert.True(history[^1] < 0.5 * history[0], $"loss {history[0]} -> {history[^1]}");
        Assert.True(after < 0.6 * before, $"test energy MAE {before} -> {after}");
        Assert.All(history, h => Assert.True(double.IsFinite(h)));

        // Rotated test molecules, with the grid rotated too: the same predictions.
        using var scope = NewDisposeScope();
        using var batch = MoleculeBatch.From(test, MoleculeSimulation.TypeCount, withForces: false);
        double c = Math.Cos(0.7), s = Math.Sin(0.7);
        var rotation = tensor(new float[] { (float)c, (float)-s, 0, (float)s, (float)c, 0, 0, 0, 1 }, [3, 3]);
        using var noGrad = no_grad();
        var plain = network.Energy(batch.Graph, network.Grid);
        var rotated = network.Energy(batch.Graph.WithPositions(batch.Graph.Positions.matmul(rotation.t())), network.Grid.matmul(rotation.t()));
        Assert.True((plain - rotated).abs().max().item<float>() <= 1e-4 * Math.Max(1, plain.abs().max().item<float>()));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Training_ends_with_the_weights_of_the_best_validation_epoch_when_asked(bool keepBest)
    {
        var train = Samples(MoleculeSimulation.Generate(24, seed: 5, minAtoms: 3, maxAtoms: 5).ToList());
        using var network = new PonitaNetwork(MoleculeSimulation.TypeCount, hidden: 8, layers: 1, orientations: 4, cutoff: Cutoff);
        using var forceWeight = 0.1.ToScalar();
        using var run = TrainingRun.Start(new Microsoft.ML.MLContext(1), "test", new PonitaTrainer.Options { Seed = 1 }, widestLayer: 8);
        // A made-up validation curve whose best is the second of four epochs; the weights each epoch validated are kept to compare.
        double[] curve = [3, 1, 2, 4];
        var validated = new List<float[]>();
        float[] Weights() => network.parameters().SelectMany(p => p.detach().cpu().data<float>().ToArray()).ToArray();
        PonitaTrainingLoop.Train(run, network, train, new TrainingSchedule(4, 8, 3e-3, AverageDecay: 0.9),
            chosen => PonitaTrainingLoop.Loss(network, MoleculeBatch.From(chosen, MoleculeSimulation.TypeCount, withForces: true), forceWeight),
            epoch => { validated.Add(Weights()); return curve[epoch - 1]; }, (epoch, loss) => $"diverged in epoch {epoch}", keepBest);
        Assert.Equal(4, validated.Count);
        Assert.Equal(keepBest ? validated[1] : validated[3], Weights());
        Assert.NotEqual(validated[1], validated[3]);
    }

    [Fact]
    public void Augmented_batches_rotate_positions_and_forces_together_and_keep_the_edges()
    {
        var sample = Samples(MoleculeSimulation.Generate(1, seed: 3, minAtoms: 5, maxAtoms: 5).ToList())[0];
        using var plain = MoleculeBatch.From([sample], MoleculeSimulation.TypeCount, withForces: true);
        using var turned = MoleculeBatch.From([sample], MoleculeSimulation.TypeCount, withForces: true, new Random(4));
        // Pairwise distances and force–bond projections are rotation invariant; positions are not.
        Tensor Gram(Tensor a, Tensor b) => a.matmul(b.t());
        Assert.True((Gram(plain.Graph.Positions, plain.Graph.Positions) - Gram(turned.Graph.Positions, turned.Graph.Positions)).abs().max().item<float>() < 1e-4);
        Assert.True((Gram(plain.Graph.Positions, plain.Forces!) - Gram(turned.Graph.Positions, turned.Forces!)).abs().max().item<float>() < 1e-3);
        Assert.True((plain.Graph.Positions - turned.Graph.Positions).abs().max().item<float>() > 1e-2);
        Assert.Equal(plain.Graph.Senders.data<long>().ToArray(), turned.Graph.Senders.data<long>().ToArray());
    }

    [Fact]
    public void The_schedule_warms_up_then_decays_and_the_weight_average_lags_the_weights()
    {
        var schedule = new TrainingSchedule(10, 4, 1.0, CosineDecay: true, WarmupSteps: 4);
        Assert.True(schedule.LearningRateAt(0, 100) < schedule.LearningRateAt(3, 100));
        Assert.True(schedule.LearningRateAt(3, 100) > schedule.LearningRateAt(60, 100));
        Assert.True(schedule.LearningRateAt(99, 100) < 0.01);

        using var layer = nn.Linear(2, 1);
        using var average = new MLExtensions.Torch.WeightAverage(layer.parameters(), 0.9);
        float start = layer.weight![0, 0].item<float>();
        using (no_grad())
            for (int step = 0; step < 30; step++)
            {
                layer.weight!.add_(1.0);
                average.Update();
            }
        float current = layer.weight![0, 0].item<float>();
        using (average.Swap())
        {
            float averaged = layer.weight![0, 0].item<float>();
            // Steps of +1 under a decay near 0.75 leave the average about d/(1 − d) ≈ 3 behind.
            Assert.InRange(averaged, current - 6, current - 1.5);
        }
        Assert.Equal(current, layer.weight![0, 0].item<float>());
    }
}
