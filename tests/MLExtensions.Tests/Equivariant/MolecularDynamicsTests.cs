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
}
