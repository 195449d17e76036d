using MLExtensions.Studies;
using Xunit;

namespace MLExtensions.Tests.Studies;

public class MoleculeSimulationTests
{
    [Fact]
    public void Forces_are_minus_the_gradient_and_the_energy_is_rotation_invariant()
    {
        var molecule = MoleculeSimulation.Generate(1, seed: 3, minAtoms: 5, maxAtoms: 5).Single();
        var x = molecule.Positions.Select(v => (double)v).ToArray();
        var (energy, forces) = MoleculeSimulation.EnergyAndForces(x, molecule.Types);
        const double step = 1e-6;
        for (int c = 0; c < x.Length; c++)
        {
            var plus = (double[])x.Clone();
            var minus = (double[])x.Clone();
            plus[c] += step;
            minus[c] -= step;
            double numeric = -(MoleculeSimulation.EnergyAndForces(plus, molecule.Types).Energy - MoleculeSimulation.EnergyAndForces(minus, molecule.Types).Energy) / (2 * step);
            Assert.Equal(numeric, forces[c], 6);
        }
        Assert.Contains(forces, f => Math.Abs(f) > 1e-3);

        // Rotation about z by 1 rad and a translation: same energy, rotated forces.
        double cos = Math.Cos(1), sin = Math.Sin(1);
        var moved = new double[x.Length];
        for (int i = 0; i < x.Length / 3; i++)
        {
            moved[3 * i] = cos * x[3 * i] - sin * x[3 * i + 1] + 0.7;
            moved[3 * i + 1] = sin * x[3 * i] + cos * x[3 * i + 1] - 1.1;
            moved[3 * i + 2] = x[3 * i + 2] + 2;
        }
        var (movedEnergy, movedForces) = MoleculeSimulation.EnergyAndForces(moved, molecule.Types);
        Assert.Equal(energy, movedEnergy, 9);
        for (int i = 0; i < x.Length / 3; i++)
        {
            Assert.Equal(cos * forces[3 * i] - sin * forces[3 * i + 1], movedForces[3 * i], 8);
            Assert.Equal(forces[3 * i + 2], movedForces[3 * i + 2], 8);
        }
    }

    [Fact]
    public void Molecules_vary_in_size_type_and_energy_and_keep_atoms_apart()
    {
        var molecules = MoleculeSimulation.Generate(50, seed: 4).ToList();
        Assert.True(molecules.Select(m => m.Types.Length).Distinct().Count() > 3);
        Assert.All(molecules, m => Assert.Equal(3 * m.Types.Length, m.Positions.Length));
        Assert.True(molecules.Select(m => Math.Round(m.Energy, 3)).Distinct().Count() > 40);
        foreach (var m in molecules)
            for (int i = 0; i < m.Types.Length; i++)
                for (int j = i + 1; j < m.Types.Length; j++)
                {
                    double d2 = Enumerable.Range(0, 3).Sum(d => Math.Pow(m.Positions[3 * i + d] - m.Positions[3 * j + d], 2));
                    Assert.True(d2 >= 0.63);
                }
    }
}
