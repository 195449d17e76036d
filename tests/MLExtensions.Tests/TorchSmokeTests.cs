using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace MLExtensions.Tests;

public class TorchSmokeTests
{
    [Fact]
    public void TorchSharp_loads_creates_a_tensor_and_takes_an_optimizer_step()
    {
        using var scope = NewDisposeScope();
        var w = new TorchSharp.Modules.Parameter(torch.zeros(3));
        var target = torch.tensor(new float[] { 1, -2, 3 });
        var optimizer = torch.optim.SGD(new[] { w }, 0.5);
        var loss = (w - target).pow(2).sum();
        loss.backward();
        optimizer.step();
        // One SGD step on ||w - t||^2 from 0 with lr 0.5 lands exactly on t.
        Assert.Equal(new float[] { 1, -2, 3 }, w.detach().data<float>().ToArray());
    }
}
