namespace MLExtensions.Equivariant;

/// <summary>The energies along a molecular-dynamics run, in <see cref="EnergyUnit"/> (kcal/mol unless the run said otherwise), sampled every <see cref="SampleInterval"/> fs.</summary>
/// <param name="Potential">Potential energy at each sample.</param>
/// <param name="Kinetic">Kinetic energy at each sample.</param>
/// <param name="SampleInterval">Femtoseconds between samples.</param>
/// <param name="Atoms">Atoms in the system.</param>
/// <param name="FinalPositions">Positions (Å) after the last step.</param>
public sealed record MolecularDynamicsRun(double[] Potential, double[] Kinetic, double SampleInterval, int Atoms, float[] FinalPositions)
{
    /// <summary>The unit of <see cref="Potential"/>, <see cref="Kinetic"/> and the drift. Default: kcal/mol.</summary>
    public PonitaEnergyUnit EnergyUnit { get; init; } = PonitaEnergyUnit.KilocaloriePerMole;

    /// <summary>Velocities (Å/fs) after the last step.</summary>
    public double[]? FinalVelocities { get; init; }

    /// <summary>Total energy at each sample.</summary>
    public double[] Total => Potential.Zip(Kinetic, (p, k) => p + k).ToArray();

    /// <summary>
    /// Drift of the total energy: the least-squares slope over the run, per atom and picosecond (<see cref="EnergyUnit"/>/atom/ps).
    /// Zero for an exactly conservative integration; a non-conservative force field pumps energy in or out.
    /// </summary>
    public double DriftPerAtomPerPicosecond
    {
        get
        {
            var total = Total;
            int n = total.Length;
            if (n < 2) return 0;
            double meanT = (n - 1) / 2.0, meanE = total.Average(), sxy = 0, sxx = 0;
            for (int i = 0; i < n; i++)
            {
                sxy += (i - meanT) * (total[i] - meanE);
                sxx += (i - meanT) * (i - meanT);
            }
            return sxy / sxx / SampleInterval * 1000 / Atoms;
        }
    }

    /// <summary>
    /// The mean temperature (K) of the run, from the kinetic energy over 3N − 3 degrees of freedom (the net momentum is
    /// removed, the angular momentum is not).
    /// </summary>
    public double Temperature => 2 * Kinetic.Average() / (Math.Max(1, 3 * Atoms - 3) * EnergyUnit.Boltzmann());
}

/// <summary>
/// Constant-energy (NVE) molecular dynamics with the velocity-Verlet integrator, driven by any energy-and-forces
/// function such as a trained <see cref="PonitaPotential"/>. Units: Å, fs, atomic mass units, and kcal/mol (as MD17)
/// unless an energy unit is given: the potential overload takes the model's own (<see cref="PonitaDescription.EnergyUnit"/>).
/// </summary>
public static class MolecularDynamics
{
    /// <summary>Boltzmann's constant in kcal/mol/K.</summary>
    public const double Boltzmann = 0.0019872043;

    /// <summary>(kcal/mol/Å)/amu in Å/fs².</summary>
    private const double Acceleration = 4.184e-4;

    /// <summary>Mass in amu of an atomic number (H to Xe; standard atomic weights).</summary>
    public static double Mass(int atomicNumber) => atomicNumber switch
    {
        1 => 1.008,
        2 => 4.0026,
        3 => 6.94,
        4 => 9.0122,
        5 => 10.81,
        6 => 12.011,
        7 => 14.007,
        8 => 15.999,
        9 => 18.998,
        10 => 20.180,
        11 => 22.990,
        12 => 24.305,
        13 => 26.982,
        14 => 28.085,
        15 => 30.974,
        16 => 32.06,
        17 => 35.45,
        18 => 39.948,
        35 => 79.904,
        53 => 126.90,
        _ => throw new ArgumentOutOfRangeException(nameof(atomicNumber), atomicNumber, "No standard mass is tabulated here for this element; pass masses yourself."),
    };

    /// <summary>Velocities (Å/fs) drawn from the Maxwell–Boltzmann distribution at <paramref name="temperature"/> K, with the net momentum removed.</summary>
    public static double[] ThermalVelocities(IReadOnlyList<double> masses, double temperature, Random random)
    {
        ArgumentNullException.ThrowIfNull(masses);
        ArgumentNullException.ThrowIfNull(random);
        if (!(temperature >= 0)) throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "The temperature must be non-negative.");
        var v = new double[3 * masses.Count];
        for (int i = 0; i < masses.Count; i++)
        {
            double sigma = Math.Sqrt(Boltzmann * temperature / masses[i] * Acceleration);
            for (int k = 0; k < 3; k++)
                v[3 * i + k] = sigma * Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        }
        double totalMass = masses.Sum();
        for (int k = 0; k < 3; k++)
        {
            double momentum = Enumerable.Range(0, masses.Count).Sum(i => masses[i] * v[3 * i + k]);
            for (int i = 0; i < masses.Count; i++) v[3 * i + k] -= momentum / totalMass;
        }
        return v;
    }

    /// <summary>The most any atom may move in one step (Å) before the run counts as blown up: bonds are 1–2 Å long.</summary>
    public const double MaximumStepDisplacement = 1.0;

    /// <summary>The most the total energy may change in one step, per atom (kcal/mol), before the run counts as blown up: the kinetic energy of some 3,000 K.</summary>
    public const double MaximumStepEnergyChangePerAtom = 10.0;

    /// <summary>
    /// Integrates Newton's equations for <paramref name="steps"/> steps of <paramref name="timeStep"/> fs from the given
    /// positions (Å) and velocities (Å/fs), recording energies every <paramref name="sampleEvery"/> steps.
    /// <paramref name="energyAndForces"/> maps positions (3N) to the potential energy (kcal/mol) and forces (kcal/mol/Å).
    /// </summary>
    /// <remarks>
    /// The inputs are checked first: one positive, finite mass per atom, finite positions and velocities, a positive
    /// and finite time step. A run that blows up (a time step too long for the forces) stops with an
    /// <see cref="InvalidOperationException"/> naming the time step and the step at which it happened: when the energy,
    /// forces or positions stop being finite, an atom moves more than <see cref="MaximumStepDisplacement"/> Å in one
    /// step, or the total energy changes by more than <see cref="MaximumStepEnergyChangePerAtom"/> kcal/mol per atom in
    /// one step.
    /// </remarks>
    public static MolecularDynamicsRun VelocityVerlet(Func<float[], (double Energy, float[] Forces)> energyAndForces, float[] positions, IReadOnlyList<double> masses,
        double[] velocities, double timeStep, int steps, int sampleEvery = 1) =>
        VelocityVerlet(energyAndForces, positions, masses, velocities, timeStep, steps, sampleEvery, PonitaEnergyUnit.KilocaloriePerMole);

    /// <summary>
    /// As <see cref="VelocityVerlet(Func{float[], ValueTuple{double, float[]}}, float[], IReadOnlyList{double}, double[], double, int, int)"/>, with
    /// energies in <paramref name="energyUnit"/> and forces in <paramref name="energyUnit"/>/Å: accelerations, kinetic
    /// energies and the blow-up bound are converted, so the same physics in two units gives the same trajectory.
    /// </summary>
    public static MolecularDynamicsRun VelocityVerlet(Func<float[], (double Energy, float[] Forces)> energyAndForces, float[] positions, IReadOnlyList<double> masses,
        double[] velocities, double timeStep, int steps, int sampleEvery, PonitaEnergyUnit energyUnit)
    {
        if (!Enum.IsDefined(energyUnit)) throw new ArgumentOutOfRangeException(nameof(energyUnit), energyUnit, "Unknown energy unit.");
        double acceleration = energyUnit.AccelerationPerForce();
        ArgumentNullException.ThrowIfNull(energyAndForces);
        ArgumentNullException.ThrowIfNull(positions);
        ArgumentNullException.ThrowIfNull(masses);
        ArgumentNullException.ThrowIfNull(velocities);
        int n = masses.Count;
        MolecularDynamicsChecks.Inputs(positions, masses, velocities, timeStep);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(sampleEvery, 1);

        var x = positions.Select(p => (double)p).ToArray();
        var v = (double[])velocities.Clone();
        var guard = new MolecularDynamicsChecks(timeStep, steps, n) { Unit = energyUnit };
        var (energy, forces) = guard.Evaluated(energyAndForces, positions, 0);
        var potential = new List<double>();
        var kinetic = new List<double>();
        double Kinetic() => Enumerable.Range(0, 3 * n).Sum(k => 0.5 * masses[k / 3] * v[k] * v[k]) / acceleration;
        double kineticNow = Kinetic(), total = energy + kineticNow;
        potential.Add(energy);
        kinetic.Add(kineticNow);
        var current = new float[3 * n];
        for (int step = 1; step <= steps; step++)
        {
            double farthest = 0;
            int mover = 0;
            for (int i = 0; i < n; i++)
            {
                double moved = 0;
                for (int k = 3 * i; k < 3 * i + 3; k++)
                {
                    v[k] += 0.5 * timeStep * forces[k] / masses[i] * acceleration;
                    double dx = timeStep * v[k];
                    x[k] += dx;
                    current[k] = (float)x[k];
                    moved += dx * dx;
                }
                if (!(moved <= farthest)) (farthest, mover) = (moved, i);
            }
            guard.Moved(Math.Sqrt(farthest), mover, current, step);
            (energy, forces) = guard.Evaluated(energyAndForces, current, step);
            for (int k = 0; k < 3 * n; k++) v[k] += 0.5 * timeStep * forces[k] / masses[k / 3] * acceleration;
            kineticNow = Kinetic();
            total = guard.Conserved(total, energy + kineticNow, step);
            if (step % sampleEvery == 0)
            {
                potential.Add(energy);
                kinetic.Add(kineticNow);
            }
        }
        return new MolecularDynamicsRun(potential.ToArray(), kinetic.ToArray(), timeStep * sampleEvery, n, current) { EnergyUnit = energyUnit, FinalVelocities = v };
    }

    /// <summary>
    /// NVE dynamics driven by a trained <paramref name="potential"/>, in the model's energy unit
    /// (<see cref="PonitaDescription.EnergyUnit"/>), with a periodic <paramref name="cell"/> (9 values, lattice vectors as
    /// rows; null for an open cluster). Atoms are not wrapped back into the cell; the periodic graph does not need it.
    /// </summary>
    /// <exception cref="ArgumentException">The model predicts no forces, or a cell is given to a model trained without one.</exception>
    public static MolecularDynamicsRun VelocityVerlet(PonitaPotential potential, float[] positions, float[] types, float[]? cell, IReadOnlyList<double> masses,
        double[] velocities, double timeStep, int steps, int sampleEvery = 1)
    {
        ArgumentNullException.ThrowIfNull(potential);
        ArgumentNullException.ThrowIfNull(types);
        if (!potential.PredictsForces)
            throw new ArgumentException("The model predicts energies only; train it with PredictedForcesColumnName set to run molecular dynamics.", nameof(potential));
        return VelocityVerlet(x =>
        {
            var e = potential.Evaluate(x, types, cell);
            return (e.Energy, e.Forces!);
        }, positions, masses, velocities, timeStep, steps, sampleEvery, potential.Description.EnergyUnit);
    }
}
