using MLExtensions.Training;
using TorchSharp;

namespace MLExtensions.Torch;

/// <summary>Maps <see cref="ComputeDevice"/> to a TorchSharp device.</summary>
internal static class TorchDevices
{
    /// <summary>True when the loaded libtorch has CUDA support and sees a GPU.</summary>
    public static bool CudaAvailable => torch.cuda.is_available();

    /// <summary>The TorchSharp device for <paramref name="device"/>.</summary>
    /// <exception cref="InvalidOperationException">CUDA was asked for but is not available.</exception>
    public static torch.Device Resolve(ComputeDevice device) => device switch
    {
        ComputeDevice.Cpu => torch.CPU,
        ComputeDevice.Auto => CudaAvailable ? torch.CUDA : torch.CPU,
        ComputeDevice.Cuda when CudaAvailable => torch.CUDA,
        ComputeDevice.Cuda => throw new InvalidOperationException(
            "ComputeDevice.Cuda was requested, but the loaded libtorch has no CUDA support or no GPU is visible. " +
            "Build with -p:TorchBackend=cuda on a machine with CUDA (see README), or use ComputeDevice.Auto or Cpu."),
        _ => throw new ArgumentOutOfRangeException(nameof(device), device, null),
    };
}
