using Microsoft.ML.OnnxRuntime;
using MLExtensions.Onnx.Lifetimes;

namespace MLExtensions.Onnx.Runtime;

/// <summary>
/// An ONNX Runtime session on an explicitly chosen device that reports the execution provider it ended up with.
/// </summary>
/// <remarks>
/// ONNX Runtime does not say when a CUDA session silently runs on the CPU; this class registers the CUDA
/// provider itself, so that a failure to load CUDA (missing <c>libcublasLt.so.13</c>, no driver, no GPU)
/// is either raised (<see cref="OnnxExecutionDevice.Cuda"/>) or recorded in <see cref="Execution"/>
/// (<see cref="OnnxExecutionDevice.CudaWithCpuFallback"/>). After <see cref="Dispose"/>, <see cref="Session"/> throws
/// <see cref="ObjectDisposedException"/>; this library's own calls run inside a lease, so disposing while one of them
/// scores waits for it.
/// </remarks>
internal sealed class OnnxModelSession : IDisposable
{
    private const string CpuProvider = "CPUExecutionProvider";
    private const string CudaProvider = "CUDAExecutionProvider";

    private readonly InferenceSession _session;
    private readonly Lifetime _lifetime;

    private OnnxModelSession(InferenceSession session, OnnxExecutionReport execution)
    {
        _session = session;
        _lifetime = new Lifetime(this);
        Execution = execution;
    }

    /// <summary>The underlying ONNX Runtime session.</summary>
    /// <exception cref="ObjectDisposedException">This session has been disposed.</exception>
    public InferenceSession Session
    {
        get
        {
            _lifetime.ThrowIfClosed();
            return _session;
        }
    }

    /// <summary>The provider that runs this session.</summary>
    public OnnxExecutionReport Execution { get; }

    /// <summary>Creates a session for <paramref name="model"/> on <paramref name="device"/>.</summary>
    /// <param name="model">The serialised ONNX model.</param>
    /// <param name="device">The execution device.</param>
    /// <param name="gpuDeviceId">The CUDA device ordinal (ignored on CPU).</param>
    /// <param name="intraOpThreads">ONNX Runtime's intra-op thread count; null keeps its default.</param>
    /// <exception cref="InvalidOperationException"><see cref="OnnxExecutionDevice.Cuda"/> was asked for and CUDA could not be used.</exception>
    public static OnnxModelSession Create(byte[] model, OnnxExecutionDevice device = OnnxExecutionDevice.Cpu,
        int gpuDeviceId = 0, int? intraOpThreads = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var options = NewOptions(intraOpThreads);
        var execution = new OnnxExecutionReport(device, CpuProvider, null, null);
        if (device != OnnxExecutionDevice.Cpu)
        {
            var reason = TryAppendCuda(options, gpuDeviceId);
            if (reason is null)
            {
                execution = execution with { ProviderName = CudaProvider, GpuDeviceId = gpuDeviceId };
            }
            else if (device == OnnxExecutionDevice.Cuda)
            {
                throw new InvalidOperationException(
                    $"ONNX Runtime could not use CUDA device {gpuDeviceId}: {reason} " +
                    "Install the CUDA 13 and cuDNN 9 libraries, or use OnnxExecutionDevice.CudaWithCpuFallback or Cpu.");
            }
            else
            {
                execution = execution with { FallbackReason = reason };
            }
        }
        return new OnnxModelSession(new InferenceSession(model, options), execution);
    }

    /// <summary>
    /// Tells which provider a session for <paramref name="device"/> would get on this machine, without a model.
    /// </summary>
    public static OnnxExecutionReport Probe(OnnxExecutionDevice device, int gpuDeviceId = 0)
    {
        if (device == OnnxExecutionDevice.Cpu) return new OnnxExecutionReport(device, CpuProvider, null, null);
        using var options = NewOptions(null);
        var reason = TryAppendCuda(options, gpuDeviceId);
        return reason is null
            ? new OnnxExecutionReport(device, CudaProvider, gpuDeviceId, null)
            : new OnnxExecutionReport(device, CpuProvider, null, reason);
    }

    /// <summary>Begins a use of the session that <see cref="Dispose"/> waits for (hold it while reading the results too).</summary>
    internal Lifetime.Lease Enter() => _lifetime.Enter();

    /// <inheritdoc />
    public void Dispose()
    {
        if (_lifetime.Close()) _session.Dispose();
    }

    private static SessionOptions NewOptions(int? intraOpThreads)
    {
        var options = new SessionOptions();
        if (intraOpThreads is int threads) options.IntraOpNumThreads = threads;
        return options;
    }

    private static string? TryAppendCuda(SessionOptions options, int gpuDeviceId)
    {
        if (!OrtEnv.Instance().GetAvailableProviders().Contains(CudaProvider))
            return "this ONNX Runtime build has no CUDA execution provider.";
        try
        {
            options.AppendExecutionProvider_CUDA(gpuDeviceId);
            return null;
        }
        catch (Exception e) when (e is OnnxRuntimeException or DllNotFoundException or EntryPointNotFoundException)
        {
            return e.Message.Trim() + " (the CUDA provider needs the CUDA 13 and cuDNN 9 libraries, e.g. libcublasLt.so.13, on the library path; ONNX Runtime's log names the missing one)";
        }
    }
}
