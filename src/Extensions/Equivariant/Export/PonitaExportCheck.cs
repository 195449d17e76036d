using MLExtensions.Onnx.Scoring;
using MLExtensions.Torch;
using MLExtensions.Training;
using static TorchSharp.torch;

namespace MLExtensions.Equivariant;

/// <summary>
/// Compares a trained network's scoring export with TorchSharp on fresh inputs: three training point clouds under a
/// random rotation and jitter, scored as one concatenated graph, energy against the forward pass and forces against
/// autograd.
/// </summary>
internal static class PonitaExportCheck
{
    public const string Forces = "forces", Stress = "stress", AtomEnergies = "atom energies";

    /// <summary>
    /// The energy check (first) and, with a forces output, the forces check; with a stress output, the stress check (of
    /// the periodic clouds); with an atom energies output, that check.
    /// </summary>
    /// <remarks>
    /// A force (or stress) is a sum of pair terms that cancel almost exactly in a near-equilibrium crystal, so float32
    /// rounding of the terms can reach 1e-5 of a small result on both sides: an early model's forces of 2e-3 eV/Å in
    /// 64-atom silicon differed by 2e-8. Both checks therefore also allow <see cref="OnnxParity.Tolerance"/> times the
    /// labels' root-mean-square force (stress), the scale the outputs are meant to resolve.
    /// </remarks>
    public static ExportCheck[] Run(PonitaNetwork network, byte[] onnx, PointCloudSet set, string? forcesOutput, int? maximumNeighbors, bool selfLoops, int seed,
        bool periodic = false, string? stressOutput = null, string? atomEnergiesOutput = null)
    {
        var random = new Random(seed ^ 0x0417a);
        var clouds = new[] { set.Clouds[0], set.Clouds.MaxBy(c => c.Count)!, set.Clouds[random.Next(set.Clouds.Count)] }
            .Select(c => Jittered(c, network.Cutoff, random)).ToList();
        var samples = clouds.Select(c => GraphSample.Of(c, network.Cutoff, maximumNeighbors, selfLoops)).ToList();
        bool framed = periodic && network.CanonicalFrame;
        var inputs = Inputs(samples, set, periodic, stressOutput is not null, framed);
        float[] expected = [];
        var total = OnnxParity.Compare(_ =>
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            using var batch = MoleculeBatch.From(samples, set.FeatureCount, withForces: false);
            return expected = network.Energy(batch.Graph).data<float>().ToArray();
        }, onnx, inputs, OnnxOutputHeads.RawScore);
        // Molecular energies carry large per-type offsets (−7,000 kcal/mol for ethanol): measure the error against the
        // part the network learned, the energy less its composition term, not against the total.
        var reference = network.Ends.Reference.weight!.detach().cpu().data<float>().ToArray();
        double learned = expected.Select((e, b) => Math.Abs(e - Composition(samples[b].Cloud, reference, set.FeatureCount))).Max();
        // A float32 total resolves only to its last bits (0.002 at −25,000), whatever the learned part: allow 8 of them.
        float largest = expected.Max(MathF.Abs);
        double rounding = 8.0 * (MathF.BitIncrement(largest) - largest);
        var energy = new ExportCheck("energy", new ParityReport(total.MaxAbsoluteError, learned, total.Elements), rounding);
        var checks = new List<ExportCheck> { energy };
        if (forcesOutput is not null)
            checks.Add(new ExportCheck(Forces, OnnxParity.Compare(_ => PonitaTrainingLoop.Predict(network, samples, set.FeatureCount, samples.Count).Forces.SelectMany(f => f).ToArray(),
                onnx, inputs, forcesOutput), OnnxParity.Tolerance * RootMeanSquare(set.Clouds, c => c.Forces)));
        // Open clouds have NaN stresses on both sides: a parity check needs clouds with volume.
        if (stressOutput is not null && samples.Where(s => float.IsFinite(PeriodicRadiusGraph.StressVolume(s.Cloud.Cell))).ToList() is { Count: > 0 } cells)
            checks.Add(new ExportCheck(Stress, OnnxParity.Compare(_ => PonitaTrainingLoop.Predict(network, cells, set.FeatureCount, cells.Count, withStress: true).Stresses!.SelectMany(v => v).ToArray(),
                onnx, Inputs(cells, set, periodic, volumes: true, framed), stressOutput), OnnxParity.Tolerance * RootMeanSquare(set.Clouds, c => c.Stress)));
        if (atomEnergiesOutput is not null) checks.Add(AtomEnergiesCheck(network, onnx, samples, set, inputs, atomEnergiesOutput));
        return [.. checks];
    }

    /// <summary>As the energy: the error is measured against the learned part of each atom's energy, with slack for the rounding of the largest.</summary>
    private static ExportCheck AtomEnergiesCheck(PonitaNetwork network, byte[] onnx, List<GraphSample> samples, PointCloudSet set, List<ParityInput> inputs, string output)
    {
        float[] expected = [], composition = [];
        var report = OnnxParity.Compare(_ =>
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            using var batch = MoleculeBatch.From(samples, set.FeatureCount, withForces: false);
            composition = network.Ends.Reference.forward(batch.Graph.Features).squeeze(-1).data<float>().ToArray();
            return expected = network.AtomEnergies(batch.Graph).data<float>().ToArray();
        }, onnx, inputs, output);
        double learned = expected.Select((e, i) => Math.Abs(e - composition[i])).Max();
        float largest = expected.Max(MathF.Abs);
        return new ExportCheck(AtomEnergies, report with { MaxReference = learned }, 8.0 * (MathF.BitIncrement(largest) - largest));
    }

    /// <summary>The root mean square of the labels <paramref name="values"/> gives (0 when no cloud has any).</summary>
    private static double RootMeanSquare(IReadOnlyList<PointCloud> clouds, Func<PointCloud, float[]?> values)
    {
        double sum = 0;
        long count = 0;
        foreach (var cloud in clouds)
            if (values(cloud) is { } labels)
                foreach (float v in labels)
                    if (float.IsFinite(v)) { sum += (double)v * v; count++; }
        return count == 0 ? 0 : Math.Sqrt(sum / count);
    }

    private static double Composition(PointCloud cloud, float[] reference, int featureCount)
    {
        double sum = 0;
        for (int i = 0; i < cloud.Features.Length; i++) sum += cloud.Features[i] * reference[i % featureCount];
        return sum;
    }

    /// <summary>
    /// The ONNX model's inputs for clouds concatenated into one graph (types back as indices when the model reads
    /// indices); with <paramref name="cells"/>, the clouds' cells (a periodic model that reads crystals in lattice frames).
    /// </summary>
    internal static List<ParityInput> Inputs(IReadOnlyList<GraphSample> samples, PointCloudSet set, bool periodic = false, bool volumes = false, bool cells = false) => ConcatenatedClouds.Of(samples.Select(s =>
    {
        var c = s.Cloud;
        var kinds = set.TypesAreIndices
            ? Enumerable.Range(0, c.Count).Select(i => (float)Array.IndexOf(c.Features, 1f, i * set.FeatureCount, set.FeatureCount) - i * set.FeatureCount).ToArray()
            : c.Features;
        return (c.Positions, kinds, s.Edges);
    }).ToList()).ToModelInputs(set.TypesAreIndices ? null : set.FeatureCount, periodic,
        volumes ? samples.Select(s => PeriodicRadiusGraph.StressVolume(s.Cloud.Cell)).ToArray() : null, cells);

    /// <summary>The cloud (and its cell) rotated at random and jittered (by 0.1 % of the cutoff).</summary>
    private static PointCloud Jittered(PointCloud cloud, double cutoff, Random random)
    {
        var rotation = Rotations.Random(random);
        var positions = Rotations.Apply(rotation, cloud.Positions);
        if (cloud.Cell is { } cell) cloud = cloud with { Cell = Rotations.Apply(rotation, cell) };
        double jitter = 2e-3 * cutoff;
        for (int i = 0; i < positions.Length; i++) positions[i] += (float)(jitter * (random.NextDouble() - 0.5));
        return cloud with { Positions = positions };
    }
}
