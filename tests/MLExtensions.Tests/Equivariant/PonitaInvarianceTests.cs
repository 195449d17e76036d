using Microsoft.ML;
using MLExtensions.Equivariant;
using Xunit;
using Xunit.Abstractions;

namespace MLExtensions.Tests.Equivariant;

/// <summary>Rotation and translation invariance of trained PONITA energies (and equivariance of their forces) on the shipped xtb ethanol frames.</summary>
public class PonitaInvarianceTests(ITestOutputHelper output)
{
    private static readonly List<MoleculeRow> Ethanol = ExtendedXyz.Read(Path.Combine(AppContext.BaseDirectory, "ethanol-xtb.extxyz.gz"));

    /// <summary>A short training (with forces: on 160 frames; energies only: 100); the model is scored on 40 others.</summary>
    private static PonitaModel Train(int orientations, bool canonicalFrame, bool withForces, int epochs)
    {
        var ml = new MLContext(1);
        var options = new PonitaTrainer.Options
        {
            ForcesColumnName = withForces ? "Forces" : null,
            PredictedForcesColumnName = "PredictedForces",
            NumberOfOrientations = orientations,
            HiddenSize = 16,
            NumberOfLayers = 2,
            NumberOfEpochs = epochs,
            BatchSize = 8,
            LearningRate = 5e-3,
            Seed = 3,
            CanonicalFrame = canonicalFrame,
        };
        return ml.Equivariant().Trainers.Ponita(options).Fit(ml.Data.LoadFromEnumerable(Ethanol.Take(withForces ? 160 : 100).ToList()));
    }

    /// <summary>
    /// The test energy MAE, the mean |E(Rx + t) − E(x)| and the mean |F(Rx + t) − R·F(x)| (per component) over
    /// <paramref name="poses"/> random rotations and translations of each test frame, scored by ONNX Runtime.
    /// </summary>
    private static (double Mae, double Energy, double Forces) Measure(PonitaModel model, int poses = 4)
    {
        using var potential = PonitaPotential.FromModel(model);
        var test = Ethanol.Skip(400).Take(40).ToList();
        var types = test.Select(r => r.AtomTypes.Select(t => (float)t).ToArray()).ToList();
        var plain = potential.Evaluate(test.Select((r, i) => (r.Positions, types[i])).ToList());
        double mae = test.Select((r, i) => Math.Abs(plain[i].Energy - r.Label)).Average();
        var random = new Random(11);
        double energy = 0, forces = 0;
        int components = 0;
        for (int k = 0; k < poses; k++)
        {
            var rotations = test.Select(_ => Rotations.Random(random)).ToList();
            var moved = test.Select((r, i) =>
            {
                var turned = Rotations.Apply(rotations[i], r.Positions);
                var shift = new[] { random.NextDouble() * 10 - 5, random.NextDouble() * 10 - 5, random.NextDouble() * 10 - 5 };
                for (int p = 0; p < turned.Length; p++) turned[p] += (float)shift[p % 3];
                return (turned, types[i]);
            }).ToList();
            var scored = potential.Evaluate(moved);
            for (int i = 0; i < test.Count; i++)
            {
                energy += Math.Abs(scored[i].Energy - plain[i].Energy);
                var expected = Rotations.Apply(rotations[i], plain[i].Forces!);
                for (int c = 0; c < expected.Length; c++) forces += Math.Abs(scored[i].Forces![c] - expected[c]);
                components += expected.Length;
            }
        }
        return (mae, energy / (poses * test.Count), forces / components);
    }

    [Fact]
    public void At_default_settings_energies_are_invariant_and_forces_equivariant_to_a_small_fraction_of_the_error()
    {
        // Energies only (no double backward: seconds, not minutes); the model still predicts forces by its reverse pass.
        var defaults = new PonitaTrainer.Options();
        using var model = Train(defaults.NumberOfOrientations, defaults.CanonicalFrame, withForces: false, epochs: 3);
        Assert.True(model.Description.CanonicalFrame);
        Assert.True(model.ExportParity.RelativeError <= 1e-5, model.ExportParity.ToString());
        Assert.True(model.ForcesExportParity!.RelativeError <= 1e-5, model.ForcesExportParity.ToString());
        var (mae, energy, forces) = Measure(model);
        output.WriteLine($"MAE {mae:G4}, invariance {energy:G4}, equivariance {forces:G4}");
        // This short training leaves the fixed grid's error small against its MAE of 2.5 kcal/mol (measured: 9e-5 kcal/mol
        // and 8e-5 kcal/mol/Å; with the frame 0 and 2e-8); a trained model's is not (0.09 against 0.20, issue #26). The
        // bounds lie between the two designs.
        Assert.True(energy <= 1e-5 * mae, $"mean |E(Rx + t) − E(x)| = {energy:G4} against an energy MAE of {mae:G4}");
        Assert.True(forces <= 1e-6, $"mean |F(Rx + t) − R·F(x)| = {forces:G4} per component");
    }

    /// <summary>The measurement behind the default: invariance error against the grid size, with and without the frame.</summary>
    [Fact(Skip = "Study: remove the Skip to run it by hand (10 minutes on 2 cores); its figures are in the README.")]
    public void Invariance_error_against_the_number_of_orientations()
    {
        foreach (int orientations in new[] { 4, 8, 16, 32 })
            foreach (bool frame in new[] { false, true })
            {
                var watch = System.Diagnostics.Stopwatch.StartNew();
                using var model = Train(orientations, frame, withForces: true, epochs: 4);
                var (mae, energy, forces) = Measure(model);
                output.WriteLine($"O={orientations} frame={frame}: MAE {mae:G4}, invariance {energy:G4} ({100 * energy / mae:F2} % of MAE), force equivariance {forces:G4}, {watch.Elapsed.TotalSeconds:F0} s");
            }
    }
}
