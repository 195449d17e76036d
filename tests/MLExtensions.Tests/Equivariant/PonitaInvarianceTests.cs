using MLExtensions.Equivariant;
using MLExtensions.Studies;
using Xunit;
using Xunit.Abstractions;

namespace MLExtensions.Tests.Equivariant;

/// <summary>
/// Rotation and translation invariance of trained PONITA energies (and equivariance of their forces) on the shipped xtb
/// ethanol frames. The study against the grid size behind the default is in the bench (<c>--ponita-invariance</c>).
/// </summary>
public class PonitaInvarianceTests(ITestOutputHelper output)
{
    private static readonly List<MoleculeRow> Ethanol = ExtendedXyz.Read(Path.Combine(AppContext.BaseDirectory, "ethanol-xtb.extxyz.gz"));

    [Fact]
    public void At_default_settings_energies_are_invariant_and_forces_equivariant_to_a_small_fraction_of_the_error()
    {
        // Energies only (no double backward: seconds, not minutes); the model still predicts forces by its reverse pass.
        var defaults = new PonitaTrainer.Options();
        using var model = PonitaInvarianceStudy.Train(Ethanol.Take(100), defaults.NumberOfOrientations, defaults.CanonicalFrame, withForces: false, epochs: 3);
        Assert.True(model.Description.CanonicalFrame);
        Assert.True(model.ExportParity.RelativeError <= 1e-5, model.ExportParity.ToString());
        Assert.True(model.ForcesExportParity!.RelativeError <= 1e-5, model.ForcesExportParity.ToString());
        var (mae, energy, forces) = PonitaInvarianceStudy.Measure(model, Ethanol.Skip(400).Take(40).ToList());
        output.WriteLine($"MAE {mae:G4}, invariance {energy:G4}, equivariance {forces:G4}");
        // This short training leaves the fixed grid's error small against its MAE of 2.5 kcal/mol (measured: 9e-5 kcal/mol
        // and 8e-5 kcal/mol/Å; with the frame 0 and 2e-8); a trained model's is not (0.09 against 0.20, issue #26). The
        // bounds lie between the two designs.
        Assert.True(energy <= 1e-5 * mae, $"mean |E(Rx + t) − E(x)| = {energy:G4} against an energy MAE of {mae:G4}");
        Assert.True(forces <= 1e-6, $"mean |F(Rx + t) − R·F(x)| = {forces:G4} per component");
    }
}
