using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLExtensions.Torch;

/// <summary>
/// Adam (Kingma &amp; Ba) with optional L2 weight decay, written with scalars that stay reachable for the whole
/// update (see <see cref="HeldScalars"/>); TorchSharp's own <c>optim.Adam</c> converts its coefficients on the fly.
/// </summary>
internal sealed class AdamOptimizer : IDisposable
{
    private readonly Parameter[] _parameters;
    private readonly Tensor[] _firstMoments;
    private readonly Tensor[] _secondMoments;
    private readonly double _beta1, _beta2;
    private readonly Scalar _beta1Scalar, _beta2Scalar, _oneMinusBeta1, _oneMinusBeta2, _epsilon, _weightDecay;
    private readonly bool _decay;
    private readonly bool _skipUnused;
    private readonly long[] _steps;

    /// <param name="parameters">The parameters to update.</param>
    /// <param name="learningRate">Step size.</param>
    /// <param name="beta1">Decay of the first moment.</param>
    /// <param name="beta2">Decay of the second moment.</param>
    /// <param name="epsilon">Added to the denominator.</param>
    /// <param name="weightDecay">L2 penalty added to the gradient.</param>
    /// <param name="skipUnused">
    /// Leave parameters whose gradient is all zero untouched (no momentum step, no step count): single-path
    /// supernet training must not move the layers its sampled path did not use.
    /// </param>
    public AdamOptimizer(IEnumerable<Parameter> parameters, double learningRate, double beta1 = 0.9, double beta2 = 0.999,
        double epsilon = 1e-8, double weightDecay = 0, bool skipUnused = false)
    {
        _parameters = parameters.ToArray();
        _steps = new long[_parameters.Length];
        _skipUnused = skipUnused;
        using (no_grad())
        {
            _firstMoments = _parameters.Select(p => zeros_like(p)).ToArray();
            _secondMoments = _parameters.Select(p => zeros_like(p)).ToArray();
        }
        (LearningRate, _beta1, _beta2) = (learningRate, beta1, beta2);
        _beta1Scalar = beta1.ToScalar();
        _beta2Scalar = beta2.ToScalar();
        _oneMinusBeta1 = (1 - beta1).ToScalar();
        _oneMinusBeta2 = (1 - beta2).ToScalar();
        _epsilon = epsilon.ToScalar();
        _weightDecay = weightDecay.ToScalar();
        _decay = weightDecay != 0;
    }

    /// <summary>The step size of the next updates (a schedule may change it between steps).</summary>
    public double LearningRate { get; set; }

    /// <summary>Zeroes the gradients of the parameters.</summary>
    public void ZeroGrad()
    {
        foreach (var p in _parameters) p.grad?.zero_();
    }

    /// <summary>One update of every parameter that has a gradient.</summary>
    public void Step()
    {
        using var noGrad = no_grad();
        for (int i = 0; i < _parameters.Length; i++)
        {
            var p = _parameters[i];
            if (p.grad is not { } gradient) continue;
            using var scope = NewDisposeScope();
            if (_skipUnused && !gradient.any().item<bool>()) continue;
            long step = ++_steps[i];
            double correction1 = 1 - Math.Pow(_beta1, step), correction2 = 1 - Math.Pow(_beta2, step);
            using var stepSize = (-LearningRate / correction1).ToScalar();
            using var rootCorrection2 = Math.Sqrt(correction2).ToScalar();
            var g = _decay ? gradient.add(p, _weightDecay) : gradient;
            _firstMoments[i].mul_(_beta1Scalar).add_(g, _oneMinusBeta1);
            _secondMoments[i].mul_(_beta2Scalar).addcmul_(g, g, _oneMinusBeta2);
            var denominator = _secondMoments[i].sqrt().div_(rootCorrection2).add_(_epsilon, HeldScalars.One);
            p.addcdiv_(_firstMoments[i], denominator, stepSize);
        }
    }

    public void Dispose()
    {
        foreach (var t in _firstMoments.Concat(_secondMoments)) t.Dispose();
        foreach (var s in new[] { _beta1Scalar, _beta2Scalar, _oneMinusBeta1, _oneMinusBeta2, _epsilon, _weightDecay }) s.Dispose();
    }
}
