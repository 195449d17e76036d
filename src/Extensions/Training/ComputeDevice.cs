namespace MLExtensions.Training;

/// <summary>Where TorchSharp trains a model.</summary>
public enum ComputeDevice
{
    /// <summary>CUDA when the loaded libtorch has it and a GPU is present, otherwise the CPU.</summary>
    Auto,

    /// <summary>The CPU.</summary>
    Cpu,

    /// <summary>CUDA device 0; fails when the loaded libtorch has no CUDA support (see README: the CUDA build switch).</summary>
    Cuda,
}
