using static TorchSharp.torch;

namespace MLExtensions.Equivariant;

/// <summary>Errors of a PONITA model on the held-out rows after one epoch, in the label's units.</summary>
/// <param name="Epoch">The epoch (1-based).</param>
/// <param name="EnergyMeanAbsoluteError">Mean absolute energy error per point cloud.</param>
/// <param name="ForceMeanAbsoluteError">Mean absolute error per force component (NaN when trained without forces).</param>
/// <param name="NormalisedLoss">The training loss on the held-out rows (the same units as the training loss).</param>
public sealed record PonitaValidation(int Epoch, double EnergyMeanAbsoluteError, double ForceMeanAbsoluteError, double NormalisedLoss)
{
    /// <summary>Measures <paramref name="network"/> on normalised samples; <paramref name="scale"/> brings errors back to the label's units.</summary>
    internal static PonitaValidation Measure(int epoch, PonitaNetwork network, IReadOnlyList<GraphSample> samples, int featureCount, int batchSize,
        double scale, bool withForces, double forceWeight, Device device)
    {
        var (energies, forces) = PonitaFitting.Predict(network, samples, featureCount, batchSize, device);
        double energyAbsolute = 0, energySquares = 0, forceAbsolute = 0, forceSquares = 0;
        long components = 0;
        for (int i = 0; i < samples.Count; i++)
        {
            double error = energies[i] - samples[i].Cloud.Energy;
            energyAbsolute += Math.Abs(error);
            energySquares += error * error;
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
        return new PonitaValidation(epoch, scale * energyAbsolute / samples.Count, forceMae, loss);
    }
}
