using MLExtensions.Numerics;

namespace MLExtensions.Equivariant;

/// <summary>
/// The part of the energy that composition explains: reference energies per type (per unit of each feature) fitted
/// by least squares, and the unit the network trains in: the force RMS when there are forces, else the spread of
/// what the reference energies leave.
/// </summary>
/// <remarks>
/// Molecular energies carry large per-atom offsets (thousands of eV for atomisation-free totals); removing them and
/// scaling the rest to unit spread gives the network targets of order one whatever the data's units.
/// </remarks>
internal sealed record EnergyBaseline(float[] ReferenceEnergies, double Scale)
{
    public static EnergyBaseline Fit(IReadOnlyList<PointCloud> clouds, int featureCount)
    {
        int f = featureCount;
        var normal = new double[f, f];
        var rhs = new double[f];
        var counts = new double[f];
        foreach (var cloud in clouds)
        {
            Array.Clear(counts);
            for (int i = 0; i < cloud.Count; i++)
                for (int k = 0; k < f; k++) counts[k] += cloud.Features[i * f + k];
            for (int a = 0; a < f; a++)
            {
                rhs[a] += counts[a] * cloud.Energy;
                for (int b = 0; b < f; b++) normal[a, b] += counts[a] * counts[b];
            }
        }
        // Types that always occur together (or never) leave the normal equations singular: take the minimum-norm solution.
        var reference = SymmetricMatrix.Solve(normal, rhs).Select(e => (float)e).ToArray();

        double squares = 0, forceSquares = 0;
        long forceValues = 0;
        foreach (var cloud in clouds)
        {
            double residual = cloud.Energy - Composition(cloud, reference, f);
            squares += residual * residual;
            if (cloud.Forces is { } forces)
            {
                foreach (var v in forces) forceSquares += (double)v * v;
                forceValues += forces.Length;
            }
        }
        // With forces, their RMS is the unit (as in the reference implementation): energies and forces then train at
        // comparable sizes, whatever the molecule's energy spread.
        double scale = Math.Sqrt(squares / clouds.Count);
        // Near-equilibrium data can have tiny forces next to a real energy spread: keep normalised energies within ±10.
        if (forceValues > 0 && forceSquares > 0) return new EnergyBaseline(reference, Math.Max(Math.Sqrt(forceSquares / forceValues), scale / 10));
        double energySize = Math.Sqrt(clouds.Average(c => c.Energy * c.Energy));
        // When composition explains the energies to rounding, their spread is noise: fall back to the energies' size.
        if (!(scale > 1e-6 * energySize)) scale = energySize > 0 ? energySize : 1.0;
        return new EnergyBaseline(reference, scale);
    }

    /// <summary>The cloud with energy (E − reference)/scale and forces/scale.</summary>
    public PointCloud Normalise(PointCloud cloud)
    {
        // In double until the end: the baseline is removed from the label before anything is rounded to float.
        double energy = (cloud.Energy - Composition(cloud, ReferenceEnergies, ReferenceEnergies.Length)) / Scale;
        return cloud with { Energy = energy, Forces = cloud.Forces?.Select(v => (float)(v / Scale)).ToArray(), Stress = cloud.Stress?.Select(v => (float)(v / Scale)).ToArray() };
    }

    private static double Composition(PointCloud cloud, float[] reference, int f)
    {
        double sum = 0;
        for (int i = 0; i < cloud.Count; i++)
            for (int k = 0; k < f; k++) sum += cloud.Features[i * f + k] * reference[k];
        return sum;
    }
}
