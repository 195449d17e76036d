using MLExtensions.Mlp;
using MLExtensions.Training;
using static TorchSharp.torch;

namespace MLExtensions.Nas;

/// <summary>Everything one search strategy works with.</summary>
internal sealed record SearchContext(NasSearchSpace Space, TangledSupernet Supernet, SearchData Data, NasTrainer.Options Options, TrainingRun Run,
    TimeSpan? SearchDeadline, TimeSpan? RankingDeadline)
{
    public bool RankingTimeIsUp => Run.IsPast(RankingDeadline);

    /// <summary>
    /// The search's epochs, ended inside an epoch by the search deadline, or after <see cref="NasTrainer.Options.SearchEpochLimit"/>
    /// (the strategy then ranks what it has).
    /// </summary>
    public EpochPlan SearchPlan => new(Math.Min(Options.SearchEpochs, Options.SearchEpochLimit ?? int.MaxValue)) { Deadline = SearchDeadline, DeadlineWithinEpoch = true };

    /// <summary>Mini-batches of row indices over <paramref name="order"/> (made tensors by <see cref="Indices"/> inside each step's dispose scope).</summary>
    public IEnumerable<long[]> Batches(int[] order)
    {
        for (int start = 0; start < order.Length; start += Options.BatchSize)
        {
            Run.CancellationToken.ThrowIfCancellationRequested();
            int count = Math.Min(Options.BatchSize, order.Length - start);
            yield return order.AsSpan(start, count).ToArray().Select(i => (long)i).ToArray();
        }
    }

    /// <summary>Row indices as a tensor on the training device.</summary>
    public Tensor Indices(long[] rows) => tensor(rows, device: Run.Device);

    /// <summary>A fresh random permutation of 0..n−1.</summary>
    public int[] Permutation(int n)
    {
        var order = Enumerable.Range(0, n).ToArray();
        Run.Random.Shuffle(order);
        return order;
    }

    /// <summary>How many ranked candidates a strategy hands back: the top K, or more when that many are fine-tuned.</summary>
    public int CandidatesToKeep => Math.Max(Options.TopK, Options.FineTuneEpochs > 0 ? Options.CandidatesToFineTune : 1);

    /// <summary>Scales the gradients of <paramref name="parameters"/> to a total norm of at most <c>GradientClipNorm</c> (none when 0).</summary>
    public void ClipGradients(IEnumerable<TorchSharp.Modules.Parameter> parameters)
    {
        if (Options.GradientClipNorm > 0) TorchSharp.torch.nn.utils.clip_grad_norm_(parameters, Options.GradientClipNorm);
    }

    /// <summary>The loss of one architecture on the ranking split, with inherited weights (+∞ when it diverged).</summary>
    public double Score(MlpArchitecture architecture)
    {
        using var scope = NewDisposeScope();
        var weights = ArchitectureWeights.OneHot(Space, ArchitecturePath.From(Space, architecture), Run.Device);
        Supernet.eval();
        double loss = Data.MeanLoss(Data.Ranking, x => Supernet.forward(x, weights));
        return double.IsFinite(loss) ? loss : double.PositiveInfinity;
    }

    /// <summary>Scores <paramref name="candidates"/> until the ranking deadline; best (lowest loss) first.</summary>
    public List<(MlpArchitecture Architecture, double Loss)> Rank(IEnumerable<MlpArchitecture> candidates)
    {
        var scored = new List<(MlpArchitecture, double)>();
        foreach (var candidate in candidates)
        {
            Run.CancellationToken.ThrowIfCancellationRequested();
            scored.Add((candidate, Score(candidate)));
            if (RankingTimeIsUp) break;
        }
        return scored.OrderBy(s => s.Item2).ToList();
    }

    /// <summary>
    /// Re-ranks the first <c>CandidatesToFineTune</c> of <paramref name="ranked"/> by their ranking-split loss after
    /// <c>FineTuneEpochs</c> epochs of training from the inherited weights (each a copy; the supernet is untouched):
    /// inherited weights are shared by every path and rank sub-networks only roughly, a few epochs of their own
    /// separate those the supernet under-trained. The rest keep their order behind them. Stops at the ranking deadline.
    /// </summary>
    public List<RankedArchitecture> FineTune(IReadOnlyList<RankedArchitecture> ranked)
    {
        if (Options.FineTuneEpochs == 0 || ranked.Count == 0) return ranked.ToList();
        var tuned = new List<RankedArchitecture>();
        foreach (var candidate in ranked.Take(Options.CandidatesToFineTune))
        {
            if (tuned.Count > 0 && RankingTimeIsUp) break;
            tuned.Add(candidate with { FineTunedLoss = FineTunedLoss(candidate.Architecture) });
        }
        return tuned.OrderBy(c => c.FineTunedLoss).Concat(ranked.Skip(tuned.Count)).ToList();
    }

    private double FineTunedLoss(MlpArchitecture architecture)
    {
        using var network = Supernet.Extract(architecture);
        var parameters = network.parameters().ToArray();
        using var optimizer = new MLExtensions.Torch.AdamOptimizer(parameters, Options.LearningRate);
        // The ranking deadline is checked before every epoch: a candidate reached after it keeps its inherited weights.
        var plan = new EpochPlan(RankingTimeIsUp ? 0 : Options.FineTuneEpochs) { Deadline = RankingDeadline, Report = false };
        EpochLoop.Run(Run, network, plan, new EpochSteps<long[]>
        {
            Batches = _ => Batches(Permutation(Data.Train.Rows)),
            Step = rows =>
            {
                var index = Indices(rows);
                optimizer.ZeroGrad();
                var loss = Data.Loss(Data.Train, network.forward(Data.Train.Features.index_select(0, index)), index);
                loss.backward();
                ClipGradients(parameters);
                optimizer.Step();
                return new StepLoss(loss);
            },
        });
        network.eval();
        double loss = Data.MeanLoss(Data.Ranking, network.forward);
        return double.IsFinite(loss) ? loss : double.PositiveInfinity;
    }
}

/// <summary>What a strategy hands back to <see cref="NasTrainer"/>.</summary>
internal sealed record SearchOutcome(MlpArchitecture Architecture, IReadOnlyList<RankedArchitecture> Top, IReadOnlyList<ArchitectureSnapshot> History,
    int Epochs, bool StoppedByTimeBudget, TimeSpan SearchTime, TimeSpan RankingTime)
{
    /// <summary>How many architectures were scored with inherited weights.</summary>
    public int CandidatesRanked { get; init; }
}
