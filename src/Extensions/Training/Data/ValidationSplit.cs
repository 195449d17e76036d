namespace MLExtensions.Training;

/// <summary>
/// A seeded train/validation split by row position that needs no pass over the data and no memory: each row's
/// side is a hash of (seed, position), so streaming trainers can re-read either side in every epoch.
/// </summary>
internal sealed class ValidationSplit
{
    private readonly ulong _seed;
    private readonly ulong _threshold;

    private ValidationSplit(double fraction, int seed)
    {
        Fraction = fraction;
        _seed = (ulong)(uint)seed * 0x9E3779B97F4A7C15UL;
        _threshold = (ulong)(fraction * ulong.MaxValue);
    }

    /// <summary>The expected fraction of rows on the validation side.</summary>
    public double Fraction { get; }

    /// <summary>A split holding out <paramref name="fraction"/> of the rows, or null when the fraction is 0.</summary>
    public static ValidationSplit? Create(double fraction, int seed)
    {
        if (!(fraction >= 0 && fraction < 1)) throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "Must be in [0, 1).");
        return fraction == 0 ? null : new ValidationSplit(fraction, seed);
    }

    /// <summary>True when the row at <paramref name="position"/> is held out.</summary>
    public bool IsValidation(long position) => Mix(_seed + (ulong)position) < _threshold;

    /// <summary>True when the row at <paramref name="position"/> is trained on.</summary>
    public bool IsTraining(long position) => !IsValidation(position);

    // SplitMix64's finaliser: consecutive positions map to independent-looking 64-bit values.
    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
