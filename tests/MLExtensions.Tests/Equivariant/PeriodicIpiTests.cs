using Microsoft.ML;
using MLExtensions.Equivariant;
using Xunit;

namespace MLExtensions.Tests.Equivariant;

/// <summary>An MD engine driving a periodic model in eV through the i-PI socket: the engine's cell reaches the model, energies come back in hartree.</summary>
public class PeriodicIpiTests
{
    private const double ElectronVoltsPerHartree = 27.211386245988;

    [Fact]
    public async Task A_periodic_model_in_electronvolts_gets_the_engines_cell_and_answers_in_hartree_with_its_virial()
    {
        var ml = new MLContext(1);
        using var model = ml.Equivariant().Trainers.Ponita(new PonitaTrainer.Options
        {
            ForcesColumnName = "Forces", PredictedForcesColumnName = "PredictedForces", CellColumnName = "Cell", PredictedStressColumnName = "PredictedStress", EnergyUnit = PonitaEnergyUnit.ElectronVolt, Cutoff = PairCrystals.Range, KernelScale = 1.5,
            NumberOfOrientations = 6, HiddenSize = 8, NumberOfLayers = 2, NumberOfEpochs = 1, BatchSize = 4, Seed = 3,
        }).Fit(ml.Data.LoadFromEnumerable(PairCrystals.Rows(8, 1)));
        var potential = model.Potential;
        var crystal = PairCrystals.Rows(1, 7)[0];
        float[] types = crystal.AtomTypes.Select(t => (float)t).ToArray();
        var periodic = potential.Evaluate(crystal.Positions, types, crystal.Cell);
        var cluster = potential.Evaluate(crystal.Positions, types, null);
        Assert.NotEqual(periodic.Energy, cluster.Energy, 3); // the cell matters, so the test can tell whether it arrived

        using var server = FakeIpiServer.Tcp();
        var serving = Task.Run(() => potential.ServeIpi(server.Address, types));
        await Task.WhenAny(serving, Task.Delay(2000));
        if (serving.IsFaulted) throw serving.Exception!;
        server.Accept();
        Assert.Equal("NEEDINIT", server.Status());
        server.Init(0, [0]);
        Assert.Equal("READY", server.Status());
        server.PosData(crystal.Cell.Select(v => (double)v).ToArray(), crystal.Positions.Select(v => (double)v).ToArray());
        Assert.Equal("HAVEDATA", server.Status());
        var answer = server.GetForce();
        // The fake server reads hartree as kcal/mol; back to hartree, then to the model's eV.
        double energy = answer.Energy / FakeIpiServer.Hartree * ElectronVoltsPerHartree;
        Assert.Equal(periodic.Energy, energy, 1e-5 * Math.Max(1, Math.Abs(periodic.Energy)));
        for (int k = 0; k < answer.Forces.Length; k++)
            Assert.Equal(periodic.Forces![k], answer.Forces[k] / FakeIpiServer.Hartree * ElectronVoltsPerHartree, 1e-5 * Math.Max(1, periodic.Forces.Max(Math.Abs)));
        // i-PI's virial is −V·stress (ASE's SocketIOCalculator reads stress = −virial / V), in hartree.
        double volume = PeriodicRadiusGraph.Volume(crystal.Cell);
        double largest = periodic.Stress!.Max(Math.Abs) * volume;
        Assert.True(largest > 1e-3, $"virial too small to test: {largest}");
        for (int k = 0; k < 9; k++)
            Assert.Equal(-periodic.Stress![k] * volume, answer.Virial[k] / FakeIpiServer.Hartree * ElectronVoltsPerHartree, 1e-5 * largest);
        server.Send("EXIT");
        Assert.Equal(1, await serving.WaitAsync(TimeSpan.FromSeconds(60)));
    }
}
