using MLExtensions.Equivariant;
using MLExtensions.Torch;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace MLExtensions.Tests.Equivariant;

/// <summary>A training batch too large for one graph is computed in pieces whose losses and gradients add up to the batch's.</summary>
public class BatchPiecesTests
{
    private const int Types = 2;
    private const double Cutoff = 3.0;

    /// <summary>Periodic cells with energies, forces and (on some) stress labels, of different sizes.</summary>
    private static List<GraphSample> Cells()
    {
        var random = new Random(11);
        return Enumerable.Range(0, 5).Select(i =>
        {
            var cell = PeriodicCells.Triclinic(random, 4.5 + i % 2);
            int atoms = 4 + 2 * i;
            var x = PeriodicCells.Atoms(random, cell, atoms, spacing: 1.0);
            var kinds = Enumerable.Range(0, atoms).Select(a => (float)(a % Types)).ToArray();
            var forces = Enumerable.Range(0, 3 * atoms).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
            float[]? stress = i % 2 == 0 ? null : Enumerable.Range(0, 9).Select(_ => (float)(0.01 * (random.NextDouble() - 0.5))).ToArray();
            var cloud = new PointCloud(x, PointCloudData.OneHot(kinds, Types), random.NextDouble() - 0.5, forces, null, cell) { Stress = stress };
            return GraphSample.Of(cloud, Cutoff, null);
        }).ToList();
    }

    private static (double Loss, float[] Gradient) LossAndGradient(PonitaNetwork network, IReadOnlyList<GraphSample> batch, IReadOnlyList<IReadOnlyList<GraphSample>> pieces)
    {
        using var scope = NewDisposeScope();
        using var forceWeight = 3.0.ToScalar();
        using var stressWeight = 10.0.ToScalar();
        foreach (var p in network.parameters()) p.grad?.zero_();
        double total = 0;
        foreach (var piece in pieces)
        {
            var whole = pieces.Count == 1 ? null : BatchCounts.Of(batch);
            var loss = PonitaTrainingLoop.Loss(network, MoleculeBatch.From(piece, Types, withForces: true, withStress: true), forceWeight, stressWeight, whole);
            loss.backward();
            total += loss.item<float>();
        }
        var gradient = network.parameters().Where(p => p.grad is not null).SelectMany(p => p.grad!.flatten().data<float>().ToArray()).ToArray();
        return (total, gradient);
    }

    [Fact]
    public void The_validation_loss_weighs_cells_of_every_size_as_the_training_loss_does()
    {
        // Cells of 4 to 12 atoms, some with stress: the per-atom energy term, the forces and the stress must be
        // weighed the same way in both, or the best-validation epoch would be chosen on another objective.
        var batch = Cells();
        random.manual_seed(6);
        using var network = new PonitaNetwork(Types, hidden: 8, layers: 2, orientations: 4, cutoff: Cutoff, kernelScale: 1.5);
        network.eval();
        var (training, _) = LossAndGradient(network, batch, [batch]);
        var validation = PonitaValidation.Measure(1, network, batch, Types, batch.Count, scale: 1, withForces: true, forceWeight: 3, CPU, stressWeight: 10);
        Assert.True(Math.Abs(validation.NormalisedLoss - training) <= 1e-5 * training, $"validation {validation.NormalisedLoss} vs training {training}");
        // The energy term is per atom: the same energy error weighs less in a larger cell.
        Assert.Equal(0.25 / 21, PonitaTrainingLoop.EnergyLossTerm(0.5, 21), 12);
        Assert.Equal(0.25 * 21 / (216.0 * 216), PonitaTrainingLoop.EnergyLossTerm(0.5, 216), 12);
    }

    [Fact]
    public void Pieces_add_up_to_the_whole_batch_loss_and_gradient()
    {
        var batch = Cells();
        random.manual_seed(5);
        using var network = new PonitaNetwork(Types, hidden: 8, layers: 2, orientations: 4, cutoff: Cutoff, kernelScale: 1.5);
        long perEdge = 4 * 8;
        // A limit of twice the largest cloud's edges: several pieces, each of whole clouds, in the batch's order.
        long limit = PonitaTrainingLoop.PieceValues;
        long valuesPerEdge = limit / (2 * batch.Max(s => s.Edges.Count));
        var pieces = PonitaTrainingLoop.Pieces(batch, valuesPerEdge);
        Assert.InRange(pieces.Count, 2, batch.Count);
        Assert.Equal(batch, pieces.SelectMany(p => p));
        Assert.All(pieces, p => Assert.True(p.Count == 1 || p.Sum(s => s.Edges.Count) * valuesPerEdge <= limit));
        // A batch that fits is one piece: the batch itself, computed by the ordinary loss.
        Assert.Same(batch, Assert.Single(PonitaTrainingLoop.Pieces(batch, perEdge)));

        var (wholeLoss, wholeGradient) = LossAndGradient(network, batch, [batch]);
        var (pieceLoss, pieceGradient) = LossAndGradient(network, batch, pieces);
        Assert.Equal(wholeLoss, pieceLoss, wholeLoss * 1e-5);
        double largest = wholeGradient.Max(MathF.Abs);
        Assert.True(largest > 0);
        double difference = wholeGradient.Zip(pieceGradient, (a, b) => (double)Math.Abs(a - b)).Max();
        Assert.True(difference <= 1e-5 * largest, $"gradients differ by {difference:E2} (largest component {largest:E2})");
    }
}
