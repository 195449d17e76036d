namespace MLExtensions.Studies;

/// <summary>One N-body example: charges, positions and velocities at t = 0, and positions at t = Δt.</summary>
/// <param name="Charges">The charge of every particle, ±1 (N values).</param>
/// <param name="Positions">x, y, z of every particle at t = 0 (3N values).</param>
/// <param name="Velocities">The velocity of every particle at t = 0 (3N values).</param>
/// <param name="Target">The positions at t = Δt (3N values).</param>
public sealed record ChargedSystem(float[] Charges, float[] Positions, float[] Velocities, float[] Target);

/// <summary>
/// The charged-particle N-body task of EGNN (after the NRI "charged" simulation): five particles with charges ±1 under
/// pairwise Coulomb forces q_i q_j (x_i − x_j)/‖x_i − x_j‖³ (softened, capped), integrated with small leapfrog steps;
/// the task is to predict the positions after Δt = 1.0 from positions, velocities and charges. The targets rotate and
/// translate with the inputs: an equivariant vector output.
/// </summary>
public static class ChargedParticles
{
    private const double StepSize = 0.001;
    private const double MaximumForce = 100;
    private const double DefaultSoftening = 1e-2;

    /// <summary>
    /// <paramref name="count"/> systems of <paramref name="particles"/> particles with positions and velocities
    /// N(0, 0.5²) per coordinate, softened forces, and the positions after <paramref name="horizon"/> as the target;
    /// reproducible from <paramref name="seed"/>. <see cref="GenerateEgnnProtocol"/> follows the EGNN paper instead.
    /// </summary>
    public static IEnumerable<ChargedSystem> Generate(int count, int seed, int particles = 5, double horizon = 1.0)
    {
        var random = new Random(seed);
        for (int s = 0; s < count; s++)
        {
            var charges = Enumerable.Range(0, particles).Select(_ => random.Next(2) == 0 ? -1.0 : 1.0).ToArray();
            var x = Enumerable.Range(0, 3 * particles).Select(_ => Gaussian(random) * 0.5).ToArray();
            var v = Enumerable.Range(0, 3 * particles).Select(_ => Gaussian(random) * 0.5).ToArray();
            var target = Simulate(charges, x, v, horizon);
            yield return new ChargedSystem(charges.Select(c => (float)c).ToArray(), x.Select(p => (float)p).ToArray(),
                v.Select(p => (float)p).ToArray(), target.Select(p => (float)p).ToArray());
        }
    }

    /// <summary>Positions after <paramref name="horizon"/> (leapfrog, kick–drift–kick); the inputs are not changed.</summary>
    public static double[] Simulate(double[] charges, double[] positions, double[] velocities, double horizon, double softening = DefaultSoftening) =>
        Evolve(charges, positions, velocities, horizon, softening).Positions;

    /// <summary>Positions and velocities after <paramref name="horizon"/>.</summary>
    public static (double[] Positions, double[] Velocities) Evolve(double[] charges, double[] positions, double[] velocities, double horizon, double softening)
    {
        var x = (double[])positions.Clone();
        var v = (double[])velocities.Clone();
        int steps = (int)Math.Round(horizon / StepSize);
        var a = Accelerations(charges, x, softening);
        for (int step = 0; step < steps; step++)
        {
            for (int k = 0; k < x.Length; k++) v[k] += 0.5 * StepSize * a[k];
            for (int k = 0; k < x.Length; k++) x[k] += StepSize * v[k];
            a = Accelerations(charges, x, softening);
            for (int k = 0; k < x.Length; k++) v[k] += 0.5 * StepSize * a[k];
        }
        return (x, v);
    }

    /// <summary>
    /// The EGNN protocol (Satorras et al., 2021, after NRI): charges ±1, initial positions N(0, 1) per coordinate,
    /// initial velocities of speed 0.5 in random directions, no softening; the inputs are the state after a burn-in
    /// of 3.0 time units (frame 30 of 100-step frames) and the target the positions 1.0 later (frame 40). Differences:
    /// no box walls (NRI's box of size 5 is rarely reached), the force is capped by size, not per component (so the
    /// data stay exactly equivariant), and the integrator is kick–drift–kick leapfrog.
    /// </summary>
    public static IEnumerable<ChargedSystem> GenerateEgnnProtocol(int count, int seed, int particles = 5)
    {
        var random = new Random(seed);
        for (int s = 0; s < count; s++)
        {
            var charges = Enumerable.Range(0, particles).Select(_ => random.Next(2) == 0 ? -1.0 : 1.0).ToArray();
            var x0 = Enumerable.Range(0, 3 * particles).Select(_ => Gaussian(random)).ToArray();
            var v0 = Enumerable.Range(0, 3 * particles).Select(_ => Gaussian(random)).ToArray();
            for (int i = 0; i < particles; i++)
            {
                double speed = Math.Sqrt(v0[3 * i] * v0[3 * i] + v0[3 * i + 1] * v0[3 * i + 1] + v0[3 * i + 2] * v0[3 * i + 2]);
                for (int d = 0; d < 3; d++) v0[3 * i + d] *= 0.5 / speed;
            }
            var (x, v) = Evolve(charges, x0, v0, 3.0, softening: 0);
            var target = Simulate(charges, x, v, 1.0, softening: 0);
            yield return new ChargedSystem(charges.Select(c => (float)c).ToArray(), x.Select(p => (float)p).ToArray(),
                v.Select(p => (float)p).ToArray(), target.Select(p => (float)p).ToArray());
        }
    }

    /// <summary>Coulomb accelerations (unit masses): like charges repel, opposite ones attract; each capped in size.</summary>
    public static double[] Accelerations(double[] charges, double[] x, double softening = DefaultSoftening)
    {
        int n = charges.Length;
        var a = new double[3 * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                if (i == j) continue;
                double dx = x[3 * i] - x[3 * j], dy = x[3 * i + 1] - x[3 * j + 1], dz = x[3 * i + 2] - x[3 * j + 2];
                double r2 = Math.Max(dx * dx + dy * dy + dz * dz + softening, 1e-12);
                double scale = charges[i] * charges[j] / (r2 * Math.Sqrt(r2));
                a[3 * i] += scale * dx;
                a[3 * i + 1] += scale * dy;
                a[3 * i + 2] += scale * dz;
            }
        for (int i = 0; i < n; i++)
        {
            double size = Math.Sqrt(a[3 * i] * a[3 * i] + a[3 * i + 1] * a[3 * i + 1] + a[3 * i + 2] * a[3 * i + 2]);
            if (size > MaximumForce)
                for (int d = 0; d < 3; d++) a[3 * i + d] *= MaximumForce / size;
        }
        return a;
    }

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
