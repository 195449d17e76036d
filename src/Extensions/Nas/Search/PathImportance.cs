namespace MLExtensions.Nas;

/// <summary>
/// The path-sampling distribution of single-path supernet training: uniform (SPOS), or PA&amp;DA's importance
/// sampling. As in the reference, a choice's importance is the gradient norm of the weights it owns (weight plus
/// bias norm of its width slice), smoothed by a running mean of factor ½ over the steps of one epoch and reset at the
/// next; once per epoch each decision's distribution becomes <c>p = τ·g/Σg + (1 − τ)·uniform</c> with τ rising as
/// epoch/epochs. Decisions whose choices own no weights of their own (depth, activation, residual: every choice runs
/// the same shared layers) stay uniform, as the reference's parameter-free operations keep only the uniform share.
/// </summary>
internal sealed class PathImportance
{
    private readonly double[][] _norms;
    private readonly bool[][] _seen;
    private readonly double[][] _distributions;
    private readonly bool _importance;
    private readonly double _floor;
    private readonly NasSearchSpace _space;

    public PathImportance(NasSearchSpace space, bool importance, double floor)
    {
        _space = space;
        _importance = importance;
        _floor = floor;
        int[] sizes = [space.Depths.Length, .. Enumerable.Repeat(space.Widths.Length, space.MaximumDepth), space.Activations.Length, space.ResidualChoices.Length];
        _norms = sizes.Select(n => new double[n]).ToArray();
        _seen = sizes.Select(n => new bool[n]).ToArray();
        _distributions = sizes.Select(n => Enumerable.Repeat(1.0 / n, n).ToArray()).ToArray();
    }

    /// <summary>Decision indices: 0 depth, 1..D widths, D+1 activation, D+2 residual.</summary>
    private int ActivationDecision => _norms.Length - 2;

    private int ResidualDecision => _norms.Length - 1;

    /// <summary>The current sampling distribution of every decision (fixed within an epoch).</summary>
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
        return new ArchitecturePath(draws[0], draws[1..(1 + _space.MaximumDepth)], draws[ActivationDecision], draws[ResidualDecision]);
    }

    /// <summary>
    /// Records one step on <paramref name="path"/>: <paramref name="widthNorms"/>[l] is the weight plus bias gradient
    /// norm of hidden layer l's slice (layers the path uses).
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

    /// <summary>Sets next epoch's distributions from this epoch's importance at weight <paramref name="tau"/>, and resets it.</summary>
    public void EndEpoch(double tau)
    {
        if (!_importance) return;
        for (int d = 1; d <= _space.MaximumDepth; d++)
        {
            var g = _norms[d];
            int k = g.Length;
            double sum = g.Sum();
            for (int i = 0; i < k; i++)
            {
                double p = sum > 0 ? tau * g[i] / sum + (1 - tau) / k : 1.0 / k;
                _distributions[d][i] = (1 - _floor) * p + _floor / k;
            }
            Array.Clear(g);
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
        list.Add(new("activation", _space.Activations.Select(a => a.ToString()).ToArray(), p[ActivationDecision]));
        list.Add(new("residual", _space.ResidualChoices.Select(r => r ? "yes" : "no").ToArray(), p[ResidualDecision]));
        return list;
    }
}
