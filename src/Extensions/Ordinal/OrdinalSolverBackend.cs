namespace MLExtensions.Ordinal;

/// <summary>Which code computes the likelihood, gradient and Hessian in the ordinal solvers.</summary>
public enum OrdinalSolverBackend
{
    /// <summary>
    /// TorchSharp when training on CUDA, managed code on the CPU: measured on a 2-core host, the managed kernel was
    /// 2–12× faster than TorchSharp's CPU tensors from n = 1,000 to n = 100,000 rows (bench <c>--kernels</c>).
    /// </summary>
    Auto,

    /// <summary>Plain managed code (one pass over the rows per iteration).</summary>
    Managed,

    /// <summary>TorchSharp tensors in float64, on <see cref="Training.TrainingOptionsBase.Device"/> (GPU when present).</summary>
    TorchSharp,
}
