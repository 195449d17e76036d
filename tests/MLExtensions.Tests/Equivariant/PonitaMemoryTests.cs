using Microsoft.ML;
using MLExtensions.Equivariant;
using MLExtensions.Studies;
using Xunit;

namespace MLExtensions.Tests.Equivariant;

/// <summary>Settings too large for memory fail fast with a message naming what to lower; normal settings are not refused.</summary>
public class PonitaMemoryTests
{
    private readonly MLContext _ml = new(1);
    private readonly List<MoleculeRow> _rows = SyntheticMolecules.Generate(24, 1).ToList();

    [Fact]
    public void Ten_thousand_orientations_are_refused_before_anything_large_is_allocated()
    {
        // The spherical kernels are [O, O, H]: at O = 10,000 one of them is 12 GiB, and the process used to be killed.
        var options = new PonitaTrainer.Options { NumberOfOrientations = 10000, NumberOfEpochs = 1, Seed = 1, ForcesColumnName = "Forces" };
        var data = _ml.Data.LoadFromEnumerable(_rows);
        // How fast the refusal comes is measured by the bench (`--probes`), not here: CI machines are shared.
        var error = Assert.Throws<InsufficientMemoryException>(() => _ml.Equivariant().Trainers.Ponita(options).Fit(data));
        Assert.Matches(@"would need about [\d,]+\.\d GiB", error.Message);
        Assert.Matches(@"more than the [\d,]+\.\d GiB available", error.Message);
        Assert.Contains("orientation pairs", error.Message);
        foreach (var option in new[] { "NumberOfOrientations (10000", "HiddenSize (32)", "NumberOfLayers (3)", "BatchSize (4)", "Cutoff", "MaximumNeighbors" })
            Assert.Contains(option, error.Message);

        var vectors = new PonitaVectorTrainer.Options { NumberOfOrientations = 10000, NumberOfEpochs = 1, Seed = 1, LabelColumnName = "Forces" };
        Assert.Contains("NumberOfOrientations (10000", Assert.Throws<InsufficientMemoryException>(() => _ml.Equivariant().Trainers.PonitaVectors(vectors).Fit(data)).Message);
    }

    [Fact]
    public void The_estimate_counts_the_orientation_pairs_the_batch_and_the_gradients()
    {
        var energy = PonitaMemory.Torch(16, 32, 3, 3, PonitaPass.Energy);
        var step = PonitaMemory.Torch(16, 32, 3, 3, PonitaPass.TrainingWithForces);
        Assert.True(step.PerEdge > 3 * energy.PerEdge && step.PerPoint > 3 * energy.PerPoint && step.Fixed > energy.Fixed);
        // Doubling the orientations quadruples the kernels over orientation pairs.
        Assert.Equal(4, PonitaMemory.Torch(32, 32, 3, 3, PonitaPass.Energy).Fixed / energy.Fixed, 2);
        // Measured peak of a training step on forces, 6 clouds of 200 random points (1,200 points, 19,124 edges) at the
        // defaults O = 16, H = 32, L = 3: 1.79 GB. The estimate stays above it, within a factor of 3.
        double estimate = step.Bytes(19124, 1200);
        Assert.InRange(estimate / 1.79e9, 1, 3);
        // Default settings on small molecules need a few megabytes, far below any budget.
        Assert.True(step.Bytes(4 * 56, 4 * 8) < 64e6);
    }

    [Fact]
    public void Scoring_many_clouds_in_one_call_is_refused_when_together_they_are_too_large()
    {
        var options = new PonitaTrainer.Options { NumberOfOrientations = 4, HiddenSize = 8, NumberOfLayers = 1, NumberOfEpochs = 1, Seed = 1, PredictedForcesColumnName = "PredictedForces" };
        using var model = _ml.Equivariant().Trainers.Ponita(options).Fit(_ml.Data.LoadFromEnumerable(_rows));
        // One dense cloud whose every pair interacts, scored many times over in one call.
        int n = 300;
        var random = new Random(5);
        var positions = Enumerable.Range(0, 3 * n).Select(_ => (float)(random.NextDouble() * 0.5 * model.Description.Cutoff)).ToArray();
        var types = Enumerable.Range(0, n).Select(i => (float)(i % 3)).ToArray();
        Assert.True(float.IsFinite(model.Potential.Evaluate(positions, types).Energy));
        long perCloud = (long)n * (n - 1);
        int count = (int)(1.5 * PonitaMemory.EdgeLimit(PonitaMemory.Scoring(4, 8, 1, withForces: true), 0) / perCloud) + 2;
        var clouds = Enumerable.Repeat((positions, types), count).ToList();
        var error = Assert.Throws<InsufficientMemoryException>(() => model.Potential.Evaluate(clouds));
        Assert.Contains($"scored together in column 'positions'", error.Message);
        Assert.Contains("fewer clouds per call", error.Message);
        Assert.Matches(@"would need about [\d,]+\.\d GiB", error.Message);
    }
}
