namespace MLExtensions.Equivariant;

/// <summary>
/// The part of the energy that composition explains: reference energies per type (per unit of each feature) fitted
/// by least squares, and the spread of what is left, the unit the network trains in.
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
        double trace = 0;
        for (int a = 0; a < f; a++) trace += normal[a, a];
        // A small ridge keeps types that always occur together (or never) solvable.
        double ridge = 1e-9 * trace / f + 1e-12;
        for (int a = 0; a < f; a++) normal[a, a] += ridge;
        var reference = Solve(normal, rhs);

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
        double scale = Math.Sqrt(squares / clouds.Count);
        if (!(scale > 1e-12)) scale = forceValues > 0 && forceSquares > 0 ? Math.Sqrt(forceSquares / forceValues) : 1.0;
        return new EnergyBaseline(reference.Select(e => (float)e).ToArray(), scale);
    }

    /// <summary>The cloud with energy (E − reference)/scale and forces/scale.</summary>
    public PointCloud Normalise(PointCloud cloud)
    {
        var reference = ReferenceEnergies.Select(e => (double)e).ToArray();
        float energy = (float)((cloud.Energy - Composition(cloud, reference, ReferenceEnergies.Length)) / Scale);
        return cloud with { Energy = energy, Forces = cloud.Forces?.Select(v => (float)(v / Scale)).ToArray() };
    }

    private static double Composition(PointCloud cloud, double[] reference, int f)
    {
        double sum = 0;
        for (int i = 0; i < cloud.Count; i++)
            for (int k = 0; k < f; k++) sum += cloud.Features[i * f + k] * reference[k];
        return sum;
    }

    /// <summary>Gaussian elimination with partial pivoting (the system is small: one row per type).</summary>
    private static double[] Solve(double[,] a, double[] b)
    {
        int n = b.Length;
        var m = (double[,])a.Clone();
        var x = (double[])b.Clone();
        for (int col = 0; col < n; col++)
        {
            int pivot = col;
            for (int r = col + 1; r < n; r++) if (Math.Abs(m[r, col]) > Math.Abs(m[pivot, col])) pivot = r;
            for (int c = 0; c < n; c++) (m[col, c], m[pivot, c]) = (m[pivot, c], m[col, c]);
            (x[col], x[pivot]) = (x[pivot], x[col]);
            for (int r = col + 1; r < n; r++)
            {
                double factor = m[r, col] / m[col, col];
                for (int c = col; c < n; c++) m[r, c] -= factor * m[col, c];
                x[r] -= factor * x[col];
            }
        }
        for (int r = n - 1; r >= 0; r--)
        {
            double sum = x[r];
            for (int c = r + 1; c < n; c++) sum -= m[r, c] * x[c];
            x[r] = sum / m[r, r];
        }
        return x;
    }
}
