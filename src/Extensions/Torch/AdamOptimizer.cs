using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLExtensions.Torch;

/// <summary>
/// The leading block of a parameter: the first <see cref="Lengths"/>[d] entries along each dimension d (a view, so
/// in-place updates reach the parameter).
/// </summary>
/// <param name="Lengths">Entries kept per dimension.</param>
internal sealed record ParameterSlice(long[] Lengths)
{
    /// <summary>The block of <paramref name="tensor"/>, as a view.</summary>
    public Tensor Of(Tensor tensor)
    {
        var view = tensor;
        for (int d = 0; d < Lengths.Length; d++)
            if (Lengths[d] != tensor.shape[d]) view = view.narrow(d, 0, Lengths[d]);
        return view;
    }

    /// <summary>The block holding both <paramref name="a"/> and <paramref name="b"/>: the larger, when one holds the other.</summary>
    /// <exception cref="ArgumentException">Neither block holds the other (their union is no block).</exception>
    public static ParameterSlice? Union(ParameterSlice? a, ParameterSlice? b)
    {
        if (a is null || b is null) return a ?? b;
        bool aHoldsB = a.Lengths.Zip(b.Lengths).All(p => p.First >= p.Second), bHoldsA = b.Lengths.Zip(a.Lengths).All(p => p.First >= p.Second);
        if (aHoldsB) return a;
        if (bHoldsA) return b;
        throw new ArgumentException($"Blocks [{string.Join(", ", a.Lengths)}] and [{string.Join(", ", b.Lengths)}] do not nest; their union is no block.");
    }

    /// <summary>The block as a boolean mask of <paramref name="shape"/> (for tests and diagnostics).</summary>
    public Tensor Mask(long[] shape)
    {
        var mask = zeros(shape, dtype: ScalarType.Bool);
        Of(mask).fill_(true);
        return mask;
    }
}

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
    private readonly Scalar _logBeta1, _logBeta2, _beta1Scalar, _beta2Scalar, _oneMinusBeta1, _oneMinusBeta2, _epsilon, _weightDecay;
    private readonly bool _decay;
    private readonly long[] _steps;
    private Tensor[]? _elementSteps;

    /// <param name="parameters">The parameters to update.</param>
    /// <param name="learningRate">Step size.</param>
    /// <param name="beta1">Decay of the first moment.</param>
    /// <param name="beta2">Decay of the second moment.</param>
    /// <param name="epsilon">Added to the denominator.</param>
    /// <param name="weightDecay">L2 penalty added to the gradient.</param>
    public AdamOptimizer(IEnumerable<Parameter> parameters, double learningRate, double beta1 = 0.9, double beta2 = 0.999,
        double epsilon = 1e-8, double weightDecay = 0)
    {
        _parameters = parameters.ToArray();
        _steps = new long[_parameters.Length];
        using (no_grad())
        {
            _firstMoments = _parameters.Select(p => zeros_like(p).DetachFromDisposeScope()).ToArray();
            _secondMoments = _parameters.Select(p => zeros_like(p).DetachFromDisposeScope()).ToArray();
        }
        (LearningRate, _beta1, _beta2) = (learningRate, beta1, beta2);
        _logBeta1 = Math.Log(beta1).ToScalar();
        _logBeta2 = Math.Log(beta2).ToScalar();
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

    /// <summary>Parameter <paramref name="index"/>'s moments and (after a masked step) per-entry step counts, for inspection.</summary>
    internal (Tensor First, Tensor Second, Tensor? Steps) State(int index) => (_firstMoments[index], _secondMoments[index], _elementSteps?[index]);

    /// <summary>Zeroes the gradients of the parameters.</summary>
    public void ZeroGrad()
    {
        foreach (var p in _parameters) p.grad?.zero_();
    }

    /// <summary>One update of every parameter that has a gradient.</summary>
    public void Step()
    {
        if (_elementSteps is not null)
            throw new InvalidOperationException("This optimiser takes masked steps (per-entry step counts); mixing in whole steps would break Adam's bias correction.");
        using var noGrad = no_grad();
        for (int i = 0; i < _parameters.Length; i++)
        {
            var p = _parameters[i];
            if (p.grad is not { } gradient) continue;
            using var scope = NewDisposeScope();
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

    /// <summary>
    /// One update of only the leading block <paramref name="slices"/>[i] of each parameter (null: the parameter is left
    /// alone): the other entries keep their value, both moments and their step count bit for bit, so single-path
    /// supernet training moves exactly the sampled sub-network. Each entry counts its own steps for Adam's bias
    /// correction, as if it were a parameter of its own.
    /// </summary>
    public void Step(IReadOnlyList<ParameterSlice?> slices)
    {
        if (slices.Count != _parameters.Length)
            throw new ArgumentException($"{slices.Count} slices for {_parameters.Length} parameters.", nameof(slices));
        if (_steps.Any(n => n > 0))
            throw new InvalidOperationException("This optimiser takes whole steps (one step count per parameter); mixing in masked steps would break Adam's bias correction.");
        using var noGrad = no_grad();
        // Created on first use, possibly inside a caller's dispose scope: the state must outlive it.
        _elementSteps ??= _parameters.Select(p => zeros_like(p).DetachFromDisposeScope()).ToArray();
        using var rate = LearningRate.ToScalar();
        for (int i = 0; i < _parameters.Length; i++)
        {
            if (slices[i] is not { } slice || _parameters[i].grad is not { } gradient) continue;
            using var scope = NewDisposeScope();
            var p = slice.Of(_parameters[i]);
            var g = slice.Of(gradient);
            if (_decay) g = g.add(p, _weightDecay);
            var steps = slice.Of(_elementSteps[i]).add_(HeldScalars.One, HeldScalars.One);   // add_(x) alone makes its alpha on the fly
            var m = slice.Of(_firstMoments[i]).mul_(_beta1Scalar).add_(g, _oneMinusBeta1);
            var v = slice.Of(_secondMoments[i]).mul_(_beta2Scalar).addcmul_(g, g, _oneMinusBeta2);
            // 1 − β^t per entry.
            var correction1 = HeldScalars.OneMinus(steps.mul(_logBeta1).exp_());
            var correction2 = HeldScalars.OneMinus(steps.mul(_logBeta2).exp_());
            var denominator = v.div(correction2).sqrt_().add_(_epsilon, HeldScalars.One);
            p.sub_(m.div(correction1).div_(denominator).mul_(rate));
        }
    }

    public void Dispose()
    {
        foreach (var t in _firstMoments.Concat(_secondMoments).Concat(_elementSteps ?? [])) t.Dispose();
        foreach (var s in new[] { _logBeta1, _logBeta2, _beta1Scalar, _beta2Scalar, _oneMinusBeta1, _oneMinusBeta2, _epsilon, _weightDecay }) s.Dispose();
    }
}
