using Microsoft.ML;
using MLExtensions.Equivariant;
using MLExtensions.Studies;
using Xunit;

namespace MLExtensions.Tests.Equivariant;

public class MolecularDynamicsTests
{
    [Fact]
    public void The_exported_conservative_forces_keep_the_total_energy_far_better_than_a_non_conservative_perturbation()
    {
        var ml = new MLContext(1);
        using var model = ml.Equivariant().Trainers.Ponita(new PonitaTrainer.Options
        {
            ForcesColumnName = "Forces", PredictedForcesColumnName = "PredictedForces",
            NumberOfOrientations = 8, HiddenSize = 16, NumberOfLayers = 2, NumberOfEpochs = 3, Seed = 2,
        }).Fit(ml.Data.LoadFromEnumerable(SyntheticMolecules.Generate(60, 1).ToList()));
        var molecule = SyntheticMolecules.Generate(1, 7, minAtoms: 6, maxAtoms: 6).Single();
        var types = molecule.AtomTypes.Select(t => (float)t).ToArray();
        double[] masses = molecule.AtomTypes.Select(t => new[] { 12.0, 14.0, 16.0 }[t]).ToArray();
        var velocities = MolecularDynamics.ThermalVelocities(masses, 300, new Random(3));

        (double, float[]) Model(float[] x)
        {
            var result = model.Potential.Evaluate(x, types);
            return (result.Energy, result.Forces!);
        }
        // A torque about the z axis through the origin: curl-free it is not, so it pumps energy in.
        float strength = 0.2f * molecule.Forces.Select(Math.Abs).Max();
        (double, float[]) Perturbed(float[] x)
        {
            var (energy, forces) = Model(x);
            var pushed = (float[])forces.Clone();
            for (int i = 0; i < x.Length / 3; i++)
            {
                pushed[3 * i] -= strength * x[3 * i + 1];
                pushed[3 * i + 1] += strength * x[3 * i];
            }
            return (energy, pushed);
        }

        var conservative = MolecularDynamics.VelocityVerlet(Model, molecule.Positions, masses, velocities, timeStep: 0.5, steps: 400, sampleEvery: 10);
        var driven = MolecularDynamics.VelocityVerlet(Perturbed, molecule.Positions, masses, velocities, timeStep: 0.5, steps: 400, sampleEvery: 10);
        Assert.All(conservative.Total, e => Assert.True(double.IsFinite(e)));
        Assert.True(conservative.Kinetic.Max() > 0.1, "the molecule must move");
        Assert.True(Math.Abs(conservative.DriftPerAtomPerPicosecond) < 0.05 * Math.Abs(driven.DriftPerAtomPerPicosecond),
            $"drift {conservative.DriftPerAtomPerPicosecond:G3} vs {driven.DriftPerAtomPerPicosecond:G3} kcal/mol/atom/ps");
        double spread = conservative.Total.Max() - conservative.Total.Min();
        Assert.True(spread < 0.05 * (conservative.Kinetic.Max() - conservative.Kinetic.Min()), $"total energy varies by {spread:G3}");
    }

    [Fact]
    public void Thermal_velocities_have_no_net_momentum_and_the_asked_temperature()
    {
        var masses = Enumerable.Range(0, 300).Select(i => i % 2 == 0 ? 1.008 : 12.011).ToArray();
        var v = MolecularDynamics.ThermalVelocities(masses, 500, new Random(1));
        for (int k = 0; k < 3; k++) Assert.True(Math.Abs(Enumerable.Range(0, 300).Sum(i => masses[i] * v[3 * i + k])) < 1e-9);
        double kinetic = Enumerable.Range(0, 900).Sum(k => 0.5 * masses[k / 3] * v[k] * v[k]) / 4.184e-4;
        double temperature = 2 * kinetic / (900 * MolecularDynamics.Boltzmann);
        Assert.InRange(temperature, 450, 550);
        Assert.Throws<ArgumentException>(() => MolecularDynamics.VelocityVerlet(_ => (0, new float[3]), [0, 0, 0], [1.0, 1.0], new double[6], 1, 1));
    }

    /// <summary>Two atoms on a spring of rest length 1 Å along x (a harmonic bond, k in kcal/mol/Å²).</summary>
    private static (double, float[]) Spring(float[] x, double k = 500)
    {
        double dx = x[3] - x[0], dy = x[4] - x[1], dz = x[5] - x[2], r = Math.Sqrt(dx * dx + dy * dy + dz * dz);
        double pull = -k * (r - 1) / r;
        return (0.5 * k * (r - 1) * (r - 1), [(float)(-pull * dx), (float)(-pull * dy), (float)(-pull * dz), (float)(pull * dx), (float)(pull * dy), (float)(pull * dz)]);
    }

    private static readonly float[] Bond = [0, 0, 0, 1.05f, 0, 0];
    private static readonly double[] Masses = [12.0, 16.0];
    private static readonly double[] Still = new double[6];

    [Fact]
    public void A_sane_time_step_keeps_the_energy_of_a_spring()
    {
        var run = MolecularDynamics.VelocityVerlet(x => Spring(x), Bond, Masses, Still, timeStep: 0.5, steps: 200);
        Assert.True(run.Total.Max() - run.Total.Min() < 0.01 * run.Potential[0]);
    }

    [Fact]
    public void Masses_positions_velocities_and_the_time_step_are_checked_naming_the_atom()
    {
        (double, float[]) Energy(float[] x) => Spring(x);
        Assert.Contains("atom 1", Assert.Throws<ArgumentOutOfRangeException>(() => MolecularDynamics.VelocityVerlet(Energy, Bond, [12.0, -1.0], Still, 0.5, 1)).Message);
        Assert.Equal("masses", Assert.Throws<ArgumentOutOfRangeException>(() => MolecularDynamics.VelocityVerlet(Energy, Bond, [0.0, 16.0], Still, 0.5, 1)).ParamName);
        Assert.Equal("masses", Assert.Throws<ArgumentOutOfRangeException>(() => MolecularDynamics.VelocityVerlet(Energy, Bond, [12.0, double.NaN], Still, 0.5, 1)).ParamName);
        Assert.Contains("3 values, but there are 2 masses", Assert.Throws<ArgumentException>(() => MolecularDynamics.VelocityVerlet(Energy, [0, 0, 0], Masses, Still, 0.5, 1)).Message);
        var nan = Assert.Throws<ArgumentException>(() => MolecularDynamics.VelocityVerlet(Energy, [0, 0, 0, float.NaN, 0, 0], Masses, Still, 0.5, 1));
        Assert.Equal("positions", nan.ParamName);
        Assert.Contains("atom 1", nan.Message);
        Assert.Equal("velocities", Assert.Throws<ArgumentException>(() => MolecularDynamics.VelocityVerlet(Energy, Bond, Masses, [0, 0, 0, 0, double.PositiveInfinity, 0], 0.5, 1)).ParamName);
        foreach (double step in new[] { 0, -1, double.NaN, double.PositiveInfinity })
            Assert.Equal("timeStep", Assert.Throws<ArgumentOutOfRangeException>(() => MolecularDynamics.VelocityVerlet(Energy, Bond, Masses, Still, step, 1)).ParamName);
        Assert.Contains("initial positions", Assert.Throws<InvalidOperationException>(() => MolecularDynamics.VelocityVerlet(_ => (double.NaN, new float[6]), Bond, Masses, Still, 0.5, 1)).Message);
        Assert.Contains("x, y, z for each of the 2 atoms", Assert.Throws<InvalidOperationException>(() => MolecularDynamics.VelocityVerlet(_ => (0, new float[3]), Bond, Masses, Still, 0.5, 1)).Message);
    }

    [Fact]
    public void A_time_step_far_too_long_stops_the_run_naming_the_time_step_and_the_step()
    {
        var velocities = MolecularDynamics.ThermalVelocities(Masses, 300, new Random(1));
        var error = Assert.Throws<InvalidOperationException>(() => MolecularDynamics.VelocityVerlet(x => Spring(x), Bond, Masses, velocities, timeStep: 1e6, steps: 10));
        Assert.Contains("blew up at step 1 of 10", error.Message);
        Assert.Contains("timeStep = 1E+06 fs", error.Message);

        // Too long for a stiff bond, though each step moves little: the energy explodes over a few steps.
        var stiff = Assert.Throws<InvalidOperationException>(() => MolecularDynamics.VelocityVerlet(x => Spring(x, 5e3), Bond, Masses, Still, timeStep: 5, steps: 100));
        Assert.Contains("timeStep = 5 fs", stiff.Message);
        Assert.Matches(@"blew up at step \d+ of 100: the total energy jumped from [\d.]+ to [\d.E+]+ kcal/mol in one step", stiff.Message);

        // A potential that fails mid-run is caught at the step where it did.
        int calls = 0;
        var failing = Assert.Throws<InvalidOperationException>(() => MolecularDynamics.VelocityVerlet(x => ++calls == 4 ? (double.NaN, new float[6]) : Spring(x), Bond, Masses, Still, 0.5, 10));
        Assert.Contains("step 3 of 10: the potential energy became NaN", failing.Message);
    }
}

