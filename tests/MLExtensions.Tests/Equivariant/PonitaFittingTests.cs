using MLExtensions.Equivariant;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace MLExtensions.Tests.Equivariant;

public class PonitaFittingTests
{
    private static MoleculeBatch Batch(IReadOnlyList<SimulatedMolecule> molecules, bool withForces) =>
        MoleculeBatch.From(molecules.Select(m => m.ToPointCloud(MoleculeSimulation.TypeCount)).ToList(), MoleculeSimulation.TypeCount, withForces);

    [Fact]
    public void Training_on_energies_and_forces_learns_the_potential_and_stays_invariant_under_rotation()
    {
        random.manual_seed(1);
        var train = MoleculeSimulation.Generate(160, seed: 1, minAtoms: 3, maxAtoms: 6).ToList();
        var test = MoleculeSimulation.Generate(40, seed: 2, minAtoms: 3, maxAtoms: 6).ToList();
        using var network = new PonitaNetwork(MoleculeSimulation.TypeCount, hidden: 16, layers: 2, orientations: 8, cutoff: 3.0);
        double EnergyMae(IReadOnlyList<SimulatedMolecule> set)
        {
            using var scope = NewDisposeScope();
            using var batch = Batch(set, false);
            using var noGrad = no_grad();
            return (network.forward(batch.Positions, batch.Types, batch.Mask) - batch.Energies).abs().mean().item<float>();
        }
        double before = EnergyMae(test);
        using var forceWeight = 0.1.ToScalar();
        var history = PonitaFitting.Train(network, train, epochs: 12, batchSize: 16, learningRate: 3e-3, new Random(1),
            chosen => PonitaFitting.Loss(network, Batch(chosen, withForces: true), forceWeight));
        network.eval();
        double after = EnergyMae(test);
        Assert.True(history[^1] < 0.5 * history[0], $"loss {history[0]} -> {history[^1]}");
        Assert.True(after < 0.6 * before, $"test energy MAE {before} -> {after}");
        Assert.All(history, h => Assert.True(double.IsFinite(h)));

        // Rotated test molecules, with the grid rotated too: the same predictions.
        using var scope = NewDisposeScope();
        using var batch = Batch(test, false);
        double c = Math.Cos(0.7), s = Math.Sin(0.7);
        var rotation = tensor(new float[] { (float)c, (float)-s, 0, (float)s, (float)c, 0, 0, 0, 1 }, [3, 3]);
        using var noGrad = no_grad();
        var plain = network.Energy(batch.Positions, batch.Types, batch.Mask, network.Grid);
        var rotated = network.Energy(batch.Positions.matmul(rotation.t()), batch.Types, batch.Mask, network.Grid.matmul(rotation.t()));
        Assert.True((plain - rotated).abs().max().item<float>() <= 1e-4 * Math.Max(1, plain.abs().max().item<float>()));
    }
}
