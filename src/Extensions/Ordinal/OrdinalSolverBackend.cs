namespace MLExtensions.Ordinal;

/// <summary>Which code computes the likelihood, gradient and Hessian in the ordinal solvers.</summary>
public enum OrdinalSolverBackend
{
    /// <summary>
    /// TorchSharp when training on CUDA, managed code on the CPU, where the managed kernel is the faster (bench
    /// <c>--kernels</c>; the README has the figures).
    /// </summary>
    Auto,

    /// <summary>Plain managed code (one pass over the rows per iteration).</summary>
    Managed,

    /// <summary>TorchSharp tensors in float64, on <see cref="Training.TrainingOptionsBase.Device"/> (GPU when present).</summary>
    TorchSharp,
}
