namespace MLExtensions.Ordinal;

/// <summary>Which code computes the likelihood, gradient and Hessian in the ordinal solvers.</summary>
public enum OrdinalSolverBackend
{
    /// <summary>Managed code for small problems, TorchSharp for large ones (the crossover was measured; see the bench).</summary>
    Auto,

    /// <summary>Plain managed code (one pass over the rows per iteration).</summary>
    Managed,

    /// <summary>TorchSharp tensors in float64, on <see cref="Training.TorchTrainerOptions.Device"/> (GPU when present).</summary>
    TorchSharp,
}
