using MLExtensions.Onnx.Scoring;
using MLExtensions.Torch;
using static TorchSharp.torch;

namespace MLExtensions.Equivariant;

/// <summary>
/// Compares a trained network's scoring export with TorchSharp on fresh inputs: training point clouds under a random
/// rotation and jitter, energy against the forward pass and forces against autograd.
/// </summary>
internal static class PonitaExportCheck
{
    private const double Tolerance = 1e-4;

    public static (ParityReport Energy, ParityReport? Forces) Run(PonitaNetwork network, byte[] onnx, PointCloudSet set, string? forcesOutput, int seed)
    {
        var random = new Random(seed ^ 0x0417a);
        var clouds = new[] { set.Clouds[0], set.Clouds.MaxBy(c => c.Count)!, set.Clouds[random.Next(set.Clouds.Count)] };
        ParityReport? energy = null, forces = null;
        foreach (var cloud in clouds)
        {
            var inputs = Inputs(cloud, set, network.Cutoff, random);
            var e = OnnxParity.Compare(given =>
            {
                using var scope = NewDisposeScope();
                using var noGrad = no_grad();
                return network.forward(Positions(given), OneHot(cloud, set), ones(1, cloud.Count)).data<float>().ToArray();
            }, onnx, inputs, ScoringHeads.RawScore);
            energy = Worse(energy, e);
            if (forcesOutput is null) continue;
            var f = OnnxParity.Compare(given =>
            {
                using var scope = NewDisposeScope();
                var x = Positions(given).requires_grad_();
                network.forward(x, OneHot(cloud, set), ones(1, cloud.Count)).sum().backward();
                return x.grad!.neg().data<float>().ToArray();
            }, onnx, inputs, forcesOutput);
            forces = Worse(forces, f);
        }
        foreach (var report in new[] { energy, forces })
            if (report is not null && !(report.RelativeError <= Tolerance))
                throw new InvalidOperationException($"The ONNX export disagrees with the trained network: {report}. Please report this as a bug.");
        return (energy!, forces);
    }

    private static Tensor Positions(IReadOnlyList<ParityInput> given) => tensor(given[0].Values, given[0].Shape);

    private static Tensor OneHot(PointCloud cloud, PointCloudSet set) => tensor(cloud.Features, [1, cloud.Count, set.FeatureCount]);

    /// <summary>The cloud rotated at random and jittered (by 0.1 % of the cutoff), as the ONNX model's inputs (types back as indices when the model reads indices).</summary>
    private static List<ParityInput> Inputs(PointCloud cloud, PointCloudSet set, double cutoff, Random random)
    {
        var rotation = Rotations.Random(random);
        double jitter = 2e-3 * cutoff;
        var positions = new float[cloud.Positions.Length];
        for (int i = 0; i < cloud.Count; i++)
            for (int r = 0; r < 3; r++)
            {
                double sum = 0;
                for (int c = 0; c < 3; c++) sum += rotation[r, c] * cloud.Positions[3 * i + c];
                positions[3 * i + r] = (float)(sum + jitter * (random.NextDouble() - 0.5));
            }
        var kinds = set.TypesAreIndices
            ? new ParityInput(PonitaColumns.Kinds, Enumerable.Range(0, cloud.Count).Select(i => (float)Array.IndexOf(cloud.Features, 1f, i * set.FeatureCount, set.FeatureCount) - i * set.FeatureCount).ToArray(), [1, cloud.Count])
            : new ParityInput(PonitaColumns.Kinds, cloud.Features, [1, cloud.Count, set.FeatureCount]);
        return [new ParityInput(PonitaColumns.Points, positions, [1, cloud.Count, 3]), kinds];
    }

    private static ParityReport Worse(ParityReport? a, ParityReport b) => a is null || b.RelativeError > a.RelativeError ? b : a;
}
