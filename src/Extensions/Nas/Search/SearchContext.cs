using MLExtensions.Training;
using static TorchSharp.torch;

namespace MLExtensions.Nas;

/// <summary>Everything one search strategy works with.</summary>
internal sealed record SearchContext(NasSearchSpace Space, TangledSupernet Supernet, SearchData Data, NasTrainer.Options Options, TrainingRun Run,
    TimeSpan? SearchDeadline, TimeSpan? RankingDeadline)
{
    public bool SearchTimeIsUp => SearchDeadline is TimeSpan d && Run.Elapsed > d;

    public bool RankingTimeIsUp => RankingDeadline is TimeSpan d && Run.Elapsed > d;

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

    /// <summary>The supernet's validation loss of one architecture, with inherited weights (+∞ when it diverged).</summary>
    public double Score(MlpArchitecture architecture)
    {
        using var scope = NewDisposeScope();
        var weights = ArchitectureWeights.OneHot(Space, ArchitecturePath.From(Space, architecture), Run.Device);
        Supernet.eval();
        double loss = Data.ValidationLoss(x => Supernet.forward(x, weights));
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
}

/// <summary>What a strategy hands back to <see cref="NasTrainer"/>.</summary>
internal sealed record SearchOutcome(MlpArchitecture Architecture, IReadOnlyList<RankedArchitecture> Top, IReadOnlyList<ArchitectureSnapshot> History,
    int Epochs, bool StoppedByTimeBudget, TimeSpan SearchTime, TimeSpan RankingTime);
