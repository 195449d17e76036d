using static TorchSharp.torch;

namespace MLExtensions.Equivariant;

/// <summary>Errors of a PONITA model on the held-out rows after one epoch, in the label's units.</summary>
/// <param name="Epoch">The epoch (1-based).</param>
/// <param name="EnergyMeanAbsoluteError">Mean absolute energy error per point cloud.</param>
/// <param name="ForceMeanAbsoluteError">Mean absolute error per force component (NaN when trained without forces).</param>
/// <param name="NormalisedLoss">The training loss on the held-out rows (the same units as the training loss).</param>
public sealed record PonitaValidation(int Epoch, double EnergyMeanAbsoluteError, double ForceMeanAbsoluteError, double NormalisedLoss)
{
    /// <summary>Mean absolute error per stress component over the held-out rows with a stress label (energy unit/Å³); NaN when trained without stress.</summary>
    public double StressMeanAbsoluteError { get; init; } = double.NaN;

    /// <summary>Measures <paramref name="network"/> on normalised samples; <paramref name="scale"/> brings errors back to the label's units.</summary>
    internal static PonitaValidation Measure(int epoch, PonitaNetwork network, IReadOnlyList<GraphSample> samples, int featureCount, int batchSize,
        double scale, bool withForces, double forceWeight, Device device, double? stressWeight = null)
    {
        var (energies, forces, stresses) = PonitaTrainingLoop.Predict(network, samples, featureCount, batchSize, device, withStress: stressWeight is not null);
        double energyAbsolute = 0, energySquares = 0, forceAbsolute = 0, forceSquares = 0;
        long components = 0;
        for (int i = 0; i < samples.Count; i++)
        {
            double error = energies[i] - samples[i].Cloud.Energy;
            energyAbsolute += Math.Abs(error);
            energySquares += PonitaTrainingLoop.EnergyLossTerm(error, samples[i].Cloud.Count);
            if (!withForces) continue;
            var target = samples[i].Cloud.Forces!;
            for (int k = 0; k < target.Length; k++)
            {
                double e = forces[i][k] - target[k];
                forceAbsolute += Math.Abs(e);
                forceSquares += e * e;
            }
            components += target.Length;
        }
        double forceMae = withForces ? scale * forceAbsolute / Math.Max(1, components) : double.NaN;
        double loss = energySquares / samples.Count + (withForces ? forceWeight * forceSquares / Math.Max(1, components) : 0);
        if (stresses is null) return new PonitaValidation(epoch, scale * energyAbsolute / samples.Count, forceMae, loss);
        // As the training loss weighs them: per component, as virials per atom (σ·V/N).
        double stressAbsolute = 0, virialSquares = 0;
        int labelled = 0;
        for (int i = 0; i < samples.Count; i++)
        {
            if (samples[i].Cloud.Stress is not { } target) continue;
            double volumePerAtom = PeriodicRadiusGraph.Volume(samples[i].Cloud.Cell!) / samples[i].Cloud.Count;
            for (int k = 0; k < 9; k++)
            {
                double e = stresses[i][k] - target[k];
                stressAbsolute += Math.Abs(e);
                virialSquares += e * e * volumePerAtom * volumePerAtom;
            }
            labelled++;
        }
        return new PonitaValidation(epoch, scale * energyAbsolute / samples.Count, forceMae, loss + stressWeight!.Value * virialSquares / Math.Max(1, 9 * labelled))
        {
            StressMeanAbsoluteError = labelled == 0 ? double.NaN : scale * stressAbsolute / (9 * labelled),
        };
    }
}
