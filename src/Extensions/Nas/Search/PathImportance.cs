namespace MLExtensions.Nas;

/// <summary>
/// The path-sampling distribution of single-path supernet training: uniform (SPOS), or PA&amp;DA's importance
/// sampling. As in the reference, a choice's importance is the gradient of the weights it owns, smoothed by a running
/// mean of factor ½ over the steps since the last update, and each update sets every width decision's distribution to
/// <c>p = (1 − f)·[τ·g/Σg + (1 − τ)/k] + f/k</c> (k choices, τ rising from 0 to 1 over the search, f the floor
/// <see cref="NasTrainer.Options.ImportanceFloor"/>). Three departures from the reference keep it from collapsing on
/// small data, where an update sees only a few steps:
/// <list type="bullet">
/// <item>the gradient is measured per entry, as the slice's root-mean-square entry (norm / √entries): a raw slice norm
/// grows with the slice's size, which ranks wide slices first whatever their use;</item>
/// <item>a choice not drawn since the last update keeps its previous estimate (the reference scores it 0, so with
/// few steps per update most widths would be pushed to the uniform share alone, and then drawn still less);</item>
/// <item>every choice keeps at least f/k (the reference's only floor is the (1 − τ)/k share, 1/(E·k) in its last epoch).</item>
/// </list>
/// Decisions whose choices own no weights of their own (depth, activation, residual: every choice runs the same
/// shared layers) stay uniform, as the reference's parameter-free operations keep only the uniform share. When to
/// update is <see cref="ImportanceCadence"/>'s call.
/// </summary>
internal sealed class PathImportance
{
    private readonly double[][] _norms;
    private readonly bool[][] _seen;
    private readonly double[][] _estimates;
    private readonly double[][] _distributions;
    private readonly bool _importance;
    private readonly double _floor;
    private readonly NasSearchSpace _space;

    public PathImportance(NasSearchSpace space, bool importance, double floor)
    {
        _space = space;
        _importance = importance;
        _floor = floor;
        int[] sizes = [space.Depths.Length, .. Enumerable.Repeat(space.Widths.Length, space.MaximumDepth), .. Enumerable.Repeat(space.Activations.Length, space.ActivationDecisions),
            space.ResidualChoices.Length];
        _norms = sizes.Select(n => new double[n]).ToArray();
        _seen = sizes.Select(n => new bool[n]).ToArray();
        _estimates = sizes.Select(n => new double[n]).ToArray();
        _distributions = sizes.Select(n => Enumerable.Repeat(1.0 / n, n).ToArray()).ToArray();
    }

    /// <summary>Decision indices: 0 depth, 1..D widths, then the activations (one, or one per layer), then residual.</summary>
    private int ResidualDecision => _norms.Length - 1;

    /// <summary>The current sampling distribution of every decision (fixed between updates).</summary>
    public IReadOnlyList<double[]> Distributions => _distributions;

    public ArchitecturePath Sample(Random random)
    {
        int Draw(double[] q)
        {
            double u = random.NextDouble(), c = 0;
            for (int i = 0; i < q.Length; i++)
                if ((c += q[i]) > u) return i;
            return q.Length - 1;
        }
        var draws = _distributions.Select(Draw).ToArray();
        return new ArchitecturePath(draws[0], draws[1..(1 + _space.MaximumDepth)], draws[(1 + _space.MaximumDepth)..ResidualDecision], draws[ResidualDecision]);
    }

    /// <summary>
    /// The importance weight of <paramref name="path"/>: its probability under uniform sampling over its probability
    /// under the current distributions, over the decisions the path uses (the width of each of its layers; the others
    /// are uniform). Scaling a step's loss by it makes the expected step that of uniform path sampling (SPOS's
    /// objective); with the floor f each factor is at most 1/f, so it needs no clipping of its own.
    /// </summary>
    public double UniformRatio(ArchitecturePath path)
    {
        int depth = _space.SortedDepths[path.Depth];
        double ratio = 1;
        for (int l = 0; l < depth; l++)
        {
            var q = _distributions[1 + l];
            ratio *= 1.0 / (q.Length * q[path.Widths[l]]);
        }
        return ratio;
    }

    /// <summary>
    /// Records one step on <paramref name="path"/>: <paramref name="widthNorms"/>[l] is hidden layer l's per-entry
    /// gradient (root-mean-square entry of its weight and bias slices; layers the path uses).
    /// </summary>
    public void Observe(ArchitecturePath path, IReadOnlyList<double> widthNorms)
    {
        if (!_importance) return;
        for (int l = 0; l < widthNorms.Count; l++)
        {
            double norm = widthNorms[l];
            if (!double.IsFinite(norm) || norm == 0) continue;
            int decision = 1 + l, choice = path.Widths[l];
            _norms[decision][choice] = _seen[decision][choice] ? (_norms[decision][choice] + norm) / 2 : norm;
            _seen[decision][choice] = true;
        }
    }

    /// <summary>
    /// Sets the distributions from the importance observed since the last update (choices not drawn since keep their
    /// previous estimate) at weight <paramref name="tau"/>, and starts a new running mean.
    /// </summary>
    public void Update(double tau)
    {
        if (!_importance) return;
        for (int d = 1; d <= _space.MaximumDepth; d++)
        {
            var g = _estimates[d];
            int k = g.Length;
            for (int i = 0; i < k; i++)
                if (_seen[d][i]) g[i] = _norms[d][i];
            double sum = g.Sum();
            for (int i = 0; i < k; i++)
            {
                double p = sum > 0 ? tau * g[i] / sum + (1 - tau) / k : 1.0 / k;
                _distributions[d][i] = (1 - _floor) * p + _floor / k;
            }
            Array.Clear(_norms[d]);
            Array.Clear(_seen[d]);
        }
    }

    /// <summary>The distributions in the public per-decision form.</summary>
    public IReadOnlyList<DecisionProbabilities> Snapshot()
    {
        var p = _distributions.Select(d => d.ToArray()).ToArray();
        var widths = _space.SortedWidths.Select(w => w.ToString()).ToArray();
        var list = new List<DecisionProbabilities> { new("depth", _space.SortedDepths.Select(d => d.ToString()).ToArray(), p[0]) };
        for (int l = 0; l < _space.MaximumDepth; l++) list.Add(new($"width {l + 1}", widths, p[1 + l]));
        var activations = _space.Activations.Select(a => a.ToString()).ToArray();
        for (int l = 0; l < _space.ActivationDecisions; l++)
            list.Add(new(_space.ActivationPerLayer ? $"activation {l + 1}" : "activation", activations, p[PathProbabilities.ActivationDecision(_space, l)]));
        list.Add(new("residual", _space.ResidualChoices.Select(r => r ? "yes" : "no").ToArray(), p[ResidualDecision]));
        return list;
    }
}

/// <summary>
/// When PA&amp;DA's path distribution is updated: every P = max(S, M) steps, S the steps of an epoch and M
/// <see cref="NasTrainer.Options.ImportanceUpdateSteps"/>. With epochs of at least M steps that is the end of every
/// epoch, as the reference; with shorter epochs (small data) the observations of several epochs are pooled until M
/// steps have passed, so that an update rests on enough drawn paths. The importance weight of the update after global
/// step t (from 1) is <c>τ = (t − P)/(E·S)</c>, E the search's epochs: the reference's (e − 1)/E at the end of epoch e
/// when P = S.
/// </summary>
internal sealed class ImportanceCadence
{
    private readonly int _totalSteps;

    public ImportanceCadence(int stepsPerEpoch, int epochs, int minimumSteps)
    {
        Period = Math.Max(Math.Max(stepsPerEpoch, minimumSteps), 1);
        _totalSteps = Math.Max(stepsPerEpoch, 1) * epochs;
    }

    /// <summary>Steps between updates.</summary>
    public int Period { get; }

    /// <summary>
    /// Whether the distribution is updated after global step <paramref name="step"/> (from 1), and the update's τ.
    /// </summary>
    public bool IsUpdate(long step, out double tau)
    {
        tau = Math.Clamp((step - Period) / (double)_totalSteps, 0, 1);
        return step % Period == 0;
    }
}
