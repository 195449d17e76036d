using System.Globalization;

namespace MLExtensions.Equivariant;

/// <summary>
/// The checks of <c>MolecularDynamics.VelocityVerlet</c>: its inputs before the run, and after every step
/// whether the run has blown up, with messages that name the time step and the step.
/// </summary>
/// <param name="TimeStep">The run's time step (fs).</param>
/// <param name="Steps">The run's number of steps.</param>
/// <param name="Atoms">Atoms in the system.</param>
internal sealed record MolecularDynamicsChecks(double TimeStep, int Steps, int Atoms)
{
    /// <summary>The unit of the energies the run sees (the energy-jump bound is converted to it).</summary>
    public PonitaEnergyUnit Unit { get; init; } = PonitaEnergyUnit.KilocaloriePerMole;

    /// <summary>Checks the masses (one per atom, positive and finite), the positions and velocities (3 finite values per atom) and the time step.</summary>
    public static void Inputs(float[] positions, IReadOnlyList<double> masses, double[] velocities, double timeStep)
    {
        int n = masses.Count;
        if (n == 0) throw new ArgumentException("There are no masses, so no atoms to move.", nameof(masses));
        if (positions.Length != 3 * n)
            throw new ArgumentException($"Positions hold {positions.Length} values, but there are {n} masses: x, y, z are needed for every atom.", nameof(positions));
        if (velocities.Length != 3 * n)
            throw new ArgumentException($"Velocities hold {velocities.Length} values, but there are {n} masses: x, y, z are needed for every atom.", nameof(velocities));
        for (int i = 0; i < n; i++)
            if (!(masses[i] > 0) || !double.IsFinite(masses[i]))
                throw new ArgumentOutOfRangeException(nameof(masses), masses[i], $"The mass of atom {i} is {Number(masses[i])}; masses must be positive and finite (atomic mass units).");
        for (int k = 0; k < 3 * n; k++)
        {
            if (!float.IsFinite(positions[k]))
                throw new ArgumentException($"Coordinate {k % 3} of atom {k / 3} is {Number(positions[k])}; positions must be finite (Å).", nameof(positions));
            if (!double.IsFinite(velocities[k]))
                throw new ArgumentException($"Velocity component {k % 3} of atom {k / 3} is {Number(velocities[k])}; velocities must be finite (Å/fs).", nameof(velocities));
        }
        if (!(timeStep > 0) || !double.IsFinite(timeStep))
            throw new ArgumentOutOfRangeException(nameof(timeStep), timeStep, "The time step must be positive and finite (femtoseconds; 0.1–1 fs for molecules with hydrogen).");
    }

    /// <summary>The energy and forces at <paramref name="positions"/>, checked: finite, one force per coordinate.</summary>
    public (double Energy, float[] Forces) Evaluated(Func<float[], (double Energy, float[] Forces)> energyAndForces, float[] positions, int step)
    {
        var (energy, forces) = energyAndForces(positions);
        string where = step == 0 ? "at the initial positions" : $"at step {step}";
        if (forces is null || forces.Length != 3 * Atoms)
            throw new InvalidOperationException($"The energy function returned {(forces is null ? "no forces" : $"{forces.Length} force values")} {where}; it must return x, y, z for each of the {Atoms} atoms.");
        int bad = Array.FindIndex(forces, f => !float.IsFinite(f));
        if (step == 0 && (!double.IsFinite(energy) || bad >= 0))
            throw new InvalidOperationException($"The energy function returned {(bad >= 0 ? $"force component {bad % 3} of atom {bad / 3} = {Number(forces[bad])}" : $"the energy {Number(energy)}")} at the initial positions.");
        if (!double.IsFinite(energy)) throw BlewUp(step, $"the potential energy became {Number(energy)}");
        if (bad >= 0) throw BlewUp(step, $"the force on atom {bad / 3} became {Number(forces[bad])}");
        return (energy, forces);
    }

    /// <summary>Refuses a step whose largest displacement (atom <paramref name="atom"/>, <paramref name="distance"/> Å) is not finite or too long, or whose positions are not finite.</summary>
    public void Moved(double distance, int atom, float[] positions, int step)
    {
        if (!(distance <= MolecularDynamics.MaximumStepDisplacement))
            throw BlewUp(step, $"atom {atom} moved {Number(distance)} Å in one step (more than {Number(MolecularDynamics.MaximumStepDisplacement)} Å)");
        int bad = Array.FindIndex(positions, p => !float.IsFinite(p));
        if (bad >= 0) throw BlewUp(step, $"coordinate {bad % 3} of atom {bad / 3} became {Number(positions[bad])}");
    }

    /// <summary>Refuses a step that changed the total energy by more than the bound; returns the new total.</summary>
    public double Conserved(double before, double after, int step)
    {
        double perAtom = PonitaEnergyUnits.Convert(MolecularDynamics.MaximumStepEnergyChangePerAtom, PonitaEnergyUnit.KilocaloriePerMole, Unit);
        double bound = perAtom * Atoms;
        if (!(Math.Abs(after - before) <= bound))
            throw BlewUp(step, $"the total energy jumped from {Number(before)} to {Number(after)} {Unit.Symbol()} in one step (more than {Number(bound)}, {Number(perAtom)} per atom)");
        return after;
    }

    private InvalidOperationException BlewUp(int step, string what) => new(
        $"The molecular-dynamics run blew up at step {step} of {Steps}: {what}. The time step (timeStep = {Number(TimeStep)} fs) is too long for these forces and masses; " +
        "use a shorter one (0.1–1 fs for molecules with hydrogen, up to about 2 fs for heavy atoms only).");

    private static string Number(double value) => value.ToString("G4", CultureInfo.InvariantCulture);
}
