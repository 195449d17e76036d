namespace MLExtensions.Equivariant;

/// <summary>
/// Atomic units (CODATA 2018), for engines that speak them (the i-PI socket protocol: lengths in bohr, energies in
/// hartree). The one place their conversion factors live.
/// </summary>
internal static class AtomicUnits
{
    /// <summary>One bohr in ångström.</summary>
    public const double BohrInAngstrom = 0.529177210903;

    /// <summary>One hartree in kcal/mol (thermochemical calorie, 4.184 J), as <see cref="PonitaEnergyUnits"/> converts.</summary>
    public const double HartreeInKilocaloriesPerMole = HartreeInKilojoulesPerMole / 4.184;

    /// <summary>One hartree in electronvolt.</summary>
    public const double HartreeInElectronVolts = 27.211386245988;

    /// <summary>One hartree in kJ/mol.</summary>
    public const double HartreeInKilojoulesPerMole = 2625.4996394799;
}
