using MLExtensions.Nas;
using static TorchSharp.torch;

namespace MLExtensions.Tests.Nas;

/// <summary>Checks the supernet tests share.</summary>
internal static class SupernetChecks
{
    /// <summary>
    /// For every architecture of <paramref name="space"/>, the supernet's pass on one-hot weights, entangled (no path)
    /// and sliced (the fast path), against the network <see cref="TangledSupernet.Extract"/> gives: the label, the
    /// largest absolute difference and the largest absolute expected output.
    /// </summary>
    public static IEnumerable<(string Label, double Error, double Scale)> OneHotAgainstExtracted(TangledSupernet supernet, NasSearchSpace space, Tensor x)
    {
        foreach (var architecture in space.Enumerate())
        {
            using var inner = NewDisposeScope();
            var sliced = ArchitectureWeights.OneHot(space, ArchitecturePath.From(space, architecture), CPU);
            using var network = supernet.Extract(architecture);
            var expected = network.forward(x);
            double scale = expected.abs().max().item<float>();
            foreach (var (weights, name) in new[] { (sliced with { Path = null }, "entangled"), (sliced, "sliced") })
                yield return ($"{architecture}, {name}", (supernet.forward(x, weights) - expected).abs().max().item<float>(), scale);
        }
    }
}
