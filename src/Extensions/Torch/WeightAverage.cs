using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLExtensions.Torch;

/// <summary>
/// An exponential moving average of a model's parameters (Polyak averaging), updated after every optimiser step:
/// a ← d·a + (1 − d)·p with d = min(<c>decay</c>, (1 + t)/(10 + t)) at step t, so the first steps are not held
/// back by the initial weights. Averaged weights usually evaluate better than the last step's.
/// </summary>
internal sealed class WeightAverage : IDisposable
{
    private readonly Parameter[] _parameters;
    private readonly Tensor[] _averages;
    private readonly double _decay;
    private long _steps;

    public WeightAverage(IEnumerable<Parameter> parameters, double decay)
    {
        if (!(decay is >= 0 and < 1)) throw new ArgumentOutOfRangeException(nameof(decay), decay, "The averaging decay must lie in [0, 1).");
        _parameters = parameters.ToArray();
        _decay = decay;
        using (no_grad()) _averages = _parameters.Select(p => p.detach().clone().DetachFromDisposeScope()).ToArray();
    }

    /// <summary>Folds the parameters' current values into the average.</summary>
    public void Update()
    {
        _steps++;
        double d = Math.Min(_decay, (1.0 + _steps) / (10.0 + _steps));
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var keep = d.ToScalar();
        using var take = (1 - d).ToScalar();
        for (int i = 0; i < _parameters.Length; i++) _averages[i].mul_(keep).add_(_parameters[i], take);
    }

    /// <summary>Puts the averaged weights into the model until the result is disposed, which restores the trained ones.</summary>
    public IDisposable Swap()
    {
        var saved = Exchange(null);
        return new Restore(() => Exchange(saved));
    }

    /// <summary>Puts the averaged weights into the model for good.</summary>
    public void CopyToModel()
    {
        using var noGrad = no_grad();
        for (int i = 0; i < _parameters.Length; i++) _parameters[i].copy_(_averages[i]);
    }

    private Tensor[]? Exchange(Tensor[]? restore)
    {
        using var noGrad = no_grad();
        if (restore is not null)
        {
            for (int i = 0; i < _parameters.Length; i++)
            {
                _parameters[i].copy_(restore[i]);
                restore[i].Dispose();
            }
            return null;
        }
        var saved = _parameters.Select(p => p.detach().clone().DetachFromDisposeScope()).ToArray();
        for (int i = 0; i < _parameters.Length; i++) _parameters[i].copy_(_averages[i]);
        return saved;
    }

    public void Dispose()
    {
        foreach (var a in _averages) a.Dispose();
    }

    private sealed class Restore(Action restore) : IDisposable
    {
        private Action? _restore = restore;

        public void Dispose()
        {
            _restore?.Invoke();
            _restore = null;
        }
    }
}
