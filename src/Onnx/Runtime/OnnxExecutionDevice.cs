namespace MLExtensions.Onnx.Runtime;

/// <summary>Where ONNX Runtime executes a model.</summary>
public enum OnnxExecutionDevice
{
    /// <summary>The CPU execution provider.</summary>
    Cpu,

    /// <summary>The CUDA execution provider; fails if CUDA (and its libraries) cannot be loaded.</summary>
    Cuda,

    /// <summary>The CUDA execution provider when it loads, otherwise the CPU provider. Which one ran is reported.</summary>
    CudaWithCpuFallback,
}

/// <summary>The execution provider a session actually runs on, and why it differs from what was asked for.</summary>
/// <param name="Requested">The device that was asked for.</param>
/// <param name="ProviderName">ONNX Runtime's provider name, e.g. <c>CUDAExecutionProvider</c> or <c>CPUExecutionProvider</c>.</param>
/// <param name="GpuDeviceId">The CUDA device ordinal, or null on CPU.</param>
/// <param name="FallbackReason">Why CUDA was not used although it was asked for; null when nothing fell back.</param>
public sealed record OnnxExecutionReport(OnnxExecutionDevice Requested, string ProviderName, int? GpuDeviceId, string? FallbackReason)
{
    /// <summary>True when the CUDA provider runs the model.</summary>
    public bool UsesCuda => GpuDeviceId is not null;

    /// <summary>True when CUDA was asked for but the CPU runs the model.</summary>
    public bool FellBackToCpu => FallbackReason is not null;

    /// <inheritdoc />
    public override string ToString() => FallbackReason is null
        ? ProviderName + (GpuDeviceId is int id ? $" (device {id})" : "")
        : $"{ProviderName} (CUDA was requested but fell back: {FallbackReason})";
}
