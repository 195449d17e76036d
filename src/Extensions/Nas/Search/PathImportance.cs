namespace MLExtensions.Nas;

/// <summary>
/// The path-sampling distribution of single-path supernet training: uniform (SPOS), or PA&amp;DA's importance
/// sampling, <c>p = τ·g/Σg + (1 − τ)·uniform</c> per decision, where g is the running mean gradient norm (per √
/// parameter) of what each choice activates, with a floor so no choice starves.
/// </summary>
internal sealed class PathImportance
{
    private const double Decay = 0.9;
    private readonly double[][] _norms;
    private readonly bool[][] _seen;
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
    }

    /// <summary>Decision indices: 0 depth, 1..D widths, D+1 activation, D+2 residual.</summary>
    private int ActivationDecision => _norms.Length - 2;

    private int ResidualDecision => _norms.Length - 1;

    /// <summary>The sampling distribution of every decision at importance weight <paramref name="tau"/>.</summary>
    public double[][] Distributions(double tau)
    {
        var result = new double[_norms.Length][];
        for (int d = 0; d < _norms.Length; d++)
        {
            int k = _norms[d].Length;
            var p = Enumerable.Repeat(1.0 / k, k).ToArray();
            if (_importance && _seen[d].Any(s => s))
            {
                // Unseen choices count as the average seen one, so they keep being tried.
                double seenMean = _norms[d].Where((_, i) => _seen[d][i]).Average();
                var g = _norms[d].Select((v, i) => _seen[d][i] ? v : seenMean).ToArray();
                double sum = g.Sum();
                if (sum > 0)
                    for (int i = 0; i < k; i++) p[i] = (1 - _floor) * (tau * g[i] / sum + (1 - tau) / k) + _floor / k;
            }
            result[d] = p;
        }
        return result;
    }

    public ArchitecturePath Sample(Random random, double tau)
    {
        var p = Distributions(tau);
        int Draw(double[] q)
        {
            double u = random.NextDouble(), c = 0;
            for (int i = 0; i < q.Length; i++)
                if ((c += q[i]) > u) return i;
            return q.Length - 1;
        }
        var draws = p.Select(Draw).ToArray();
        return new ArchitecturePath(draws[0], draws[1..(1 + _space.MaximumDepth)], draws[ActivationDecision], draws[ResidualDecision]);
    }

    /// <summary>
    /// Records the gradient norms of one step on <paramref name="path"/>: <paramref name="layerSquares"/> and
    /// <paramref name="layerCounts"/> hold, per hidden layer then the output layer, the squared gradient norm and the
    /// number of parameters the path activates there.
    /// </summary>
    public void Observe(ArchitecturePath path, double[] layerSquares, double[] layerCounts)
    {
        if (!_importance) return;
        int depth = _space.SortedDepths[path.Depth];
        double allSquares = layerSquares[^1], allCounts = layerCounts[^1];
        for (int l = 0; l < depth; l++)
        {
            Update(1 + l, path.Widths[l], Math.Sqrt(layerSquares[l] / layerCounts[l]));
            allSquares += layerSquares[l];
            allCounts += layerCounts[l];
        }
        double whole = Math.Sqrt(allSquares / allCounts);
        Update(0, path.Depth, whole);
        Update(ActivationDecision, path.Activation, whole);
        if (depth > 1) Update(ResidualDecision, path.Residual, whole);
    }

    private void Update(int decision, int choice, double norm)
    {
        if (!double.IsFinite(norm)) return;
        _norms[decision][choice] = _seen[decision][choice] ? Decay * _norms[decision][choice] + (1 - Decay) * norm : norm;
        _seen[decision][choice] = true;
    }

    /// <summary>The distributions in the public per-decision form.</summary>
    public IReadOnlyList<DecisionProbabilities> Snapshot(double tau)
    {
        var p = Distributions(tau);
        var widths = _space.SortedWidths.Select(w => w.ToString()).ToArray();
        var list = new List<DecisionProbabilities> { new("depth", _space.SortedDepths.Select(d => d.ToString()).ToArray(), p[0]) };
        for (int l = 0; l < _space.MaximumDepth; l++) list.Add(new($"width {l + 1}", widths, p[1 + l]));
        list.Add(new("activation", _space.Activations.Select(a => a.ToString()).ToArray(), p[ActivationDecision]));
        list.Add(new("residual", _space.ResidualChoices.Select(r => r ? "yes" : "no").ToArray(), p[ResidualDecision]));
        return list;
    }
}
