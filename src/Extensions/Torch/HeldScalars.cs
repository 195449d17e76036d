using TorchSharp;
using static TorchSharp.torch;

namespace MLExtensions.Torch;

/// <summary>
/// Scalars held for the life of the process, and tensor arithmetic that uses them instead of TorchSharp's implicit
/// conversions.
/// </summary>
/// <remarks>
/// TorchSharp 0.107 turns numbers into native <see cref="Scalar"/> objects on the fly (also for the hidden
/// <c>alpha = 1</c> of <c>a + b</c> and <c>a − b</c>) and passes only their handle to native code. If another
/// thread triggers a garbage collection during that native call, the temporary's finalizer can free the native
/// scalar while libtorch still reads it: a rare crash ("Expected false to be true … toDouble") that shows up under
/// allocation pressure from other threads (ML.NET's cache filler, parallel tests, a busy web server). Training loops
/// therefore do their arithmetic with scalars that stay reachable.
/// </remarks>
internal static class HeldScalars
{
    public static readonly Scalar One = 1.0.ToScalar();

    public static readonly Scalar MinusOne = (-1.0).ToScalar();

    public static readonly Scalar Tiny = 1e-12.ToScalar();

    public static readonly Scalar Zero = 0.0.ToScalar();

    public static readonly Scalar Three = 3.0.ToScalar();

    public static readonly Scalar NegativeInfinity = double.NegativeInfinity.ToScalar();

    public static readonly Scalar PositiveInfinity = double.PositiveInfinity.ToScalar();

    /// <summary>1 as an integer, for integer tensors (a floating-point scalar would promote them).</summary>
    public static readonly Scalar IntegerOne = 1L.ToScalar();

    /// <summary>a + b.</summary>
    public static Tensor Plus(Tensor a, Tensor b) => a.add(b, One);

    /// <summary>a − b.</summary>
    public static Tensor Minus(Tensor a, Tensor b) => a.add(b, MinusOne);

    /// <summary>t², as t·t: TorchSharp's <c>square()</c> is <c>pow(2)</c> with an on-the-fly scalar.</summary>
    public static Tensor Squared(Tensor t) => t.mul(t);

    /// <summary>a + 1.</summary>
    public static Tensor PlusOne(Tensor a) => a.add(One, One);

    /// <summary>1 − a.</summary>
    public static Tensor OneMinus(Tensor a) => a.neg().add(One, One);
}
