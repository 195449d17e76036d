using TorchSharp;
using static TorchSharp.torch;

namespace MLExtensions.Mlp;

/// <summary>The pieces of an MLP's forward pass that the network and the NAS supernet's sliced paths share.</summary>
internal static class MlpLayers
{
    /// <summary><paramref name="activation"/> applied element-wise.</summary>
    public static Tensor Activate(Tensor z, MlpActivation activation) => activation switch
    {
        MlpActivation.Relu => nn.functional.relu(z),
        MlpActivation.Gelu => nn.functional.gelu(z),
        MlpActivation.Tanh => z.tanh(),
        _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation."),
    };

    /// <summary>A residual connection's input at the new width: its first columns, or zero-padded (see <see cref="MlpArchitecture.Residual"/>).</summary>
    public static Tensor Shortcut(Tensor h, long width)
    {
        long current = h.shape[1];
        if (current == width) return h;
        return current > width ? h[.., ..(int)width] : nn.functional.pad(h, [0, width - current]);
    }
}
