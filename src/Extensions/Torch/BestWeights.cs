using TorchSharp;
using static TorchSharp.torch;

namespace MLExtensions.Torch;

/// <summary>
/// A copy of a module's weights at its best validation loss so far, put back at the end of training (early stopping
/// keeps the best epoch, not the last).
/// </summary>
internal sealed class BestWeights(nn.Module module) : IDisposable
{
    private Dictionary<string, Tensor>? _state;

    /// <summary>The best validation loss seen; +∞ before the first.</summary>
    public double Loss { get; private set; } = double.PositiveInfinity;

    /// <summary>Keeps the module's current weights when <paramref name="loss"/> beats the best so far; says whether it did.</summary>
    public bool Offer(double loss)
    {
        if (!(loss < Loss)) return false;
        Loss = loss;
        Release();
        _state = new Dictionary<string, Tensor>();
        foreach (var (name, value) in module.state_dict())
        {
            using var detached = value.detach();
            _state[name] = detached.clone().DetachFromDisposeScope();
        }
        return true;
    }

    /// <summary>Puts the kept weights back into the module (nothing happens when none were kept).</summary>
    public void Restore()
    {
        if (_state is not null) module.load_state_dict(_state);
    }

    public void Dispose() => Release();

    private void Release()
    {
        if (_state is null) return;
        foreach (var tensor in _state.Values) tensor.Dispose();
        _state = null;
    }
}
