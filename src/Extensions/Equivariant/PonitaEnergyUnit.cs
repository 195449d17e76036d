namespace MLExtensions.Equivariant;

/// <summary>
/// The unit of a PONITA model's energies (labels, predictions, reference energies); forces are in this unit per Å.
/// Lengths are always Å. Recorded in the model (<see cref="PonitaDescription.EnergyUnit"/>) so that molecular dynamics
/// converts forces to accelerations correctly.
/// </summary>
public enum PonitaEnergyUnit
{
    /// <summary>kcal/mol (thermochemical calorie, 4.184 kJ/mol), as MD17; the default, and the unit of models saved before units were recorded.</summary>
    KilocaloriePerMole = 0,

    /// <summary>Electronvolts (per atom or system, not per mole), as ASE and most DFT data sets.</summary>
    ElectronVolt = 1,

    /// <summary>Hartree (atomic units of energy).</summary>
    Hartree = 2,

    /// <summary>kJ/mol.</summary>
    KilojoulePerMole = 3,
}

/// <summary>Conversions between <see cref="PonitaEnergyUnit"/>s (CODATA 2018 constants).</summary>
internal static class PonitaEnergyUnits
{
    /// <summary>The molar gas constant R in kJ/mol/K (Boltzmann's constant per mole).</summary>
    private const double GasConstant = 8.314462618e-3;

    /// <summary>One <paramref name="unit"/> in kJ/mol (per mole of systems for eV and Hartree).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="unit"/> is not a defined unit.</exception>
    public static double InKilojoulesPerMole(this PonitaEnergyUnit unit) => unit switch
    {
        PonitaEnergyUnit.KilocaloriePerMole => 4.184,
        PonitaEnergyUnit.ElectronVolt => 96.48533212331002,
        PonitaEnergyUnit.Hartree => 2625.4996394798254,
        PonitaEnergyUnit.KilojoulePerMole => 1.0,
        _ => throw new ArgumentOutOfRangeException(nameof(unit), unit, "Unknown energy unit: use KilocaloriePerMole, ElectronVolt, Hartree or KilojoulePerMole."),
    };

    /// <summary><paramref name="value"/> in <paramref name="from"/> expressed in <paramref name="to"/>.</summary>
    public static double Convert(double value, PonitaEnergyUnit from, PonitaEnergyUnit to) =>
        from == to ? value : value * from.InKilojoulesPerMole() / to.InKilojoulesPerMole();

    /// <summary>Boltzmann's constant in <paramref name="unit"/> per kelvin (e.g. 8.617e-5 eV/K).</summary>
    public static double Boltzmann(this PonitaEnergyUnit unit) => GasConstant / unit.InKilojoulesPerMole();

    /// <summary>
    /// The acceleration in Å/fs² of a force of 1 <paramref name="unit"/>/Å on a mass of 1 amu
    /// (4.184e-4 for kcal/mol, 9.6485e-3 for eV).
    /// </summary>
    public static double AccelerationPerForce(this PonitaEnergyUnit unit) => unit switch
    {
        // 1 kJ/mol/Å/amu = 10³ J/mol / (10⁻¹⁰ m · 10⁻³ kg/mol) = 10¹⁶ m/s² = 10⁻⁴ Å/fs².
        PonitaEnergyUnit.KilocaloriePerMole => 4.184e-4,
        PonitaEnergyUnit.ElectronVolt => 96.48533212331002e-4,
        PonitaEnergyUnit.Hartree => 2625.4996394798254e-4,
        PonitaEnergyUnit.KilojoulePerMole => 1e-4,
        _ => throw new ArgumentOutOfRangeException(nameof(unit), unit, "Unknown energy unit: use KilocaloriePerMole, ElectronVolt, Hartree or KilojoulePerMole."),
    };

    /// <summary>The unit's short name (kcal/mol, eV, Ha, kJ/mol).</summary>
    public static string Symbol(this PonitaEnergyUnit unit) => unit switch
    {
        PonitaEnergyUnit.KilocaloriePerMole => "kcal/mol",
        PonitaEnergyUnit.ElectronVolt => "eV",
        PonitaEnergyUnit.Hartree => "Ha",
        PonitaEnergyUnit.KilojoulePerMole => "kJ/mol",
        _ => unit.ToString(),
    };
}
