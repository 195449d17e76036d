using MLExtensions.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace MLExtensions.Nas;

/// <summary>
/// One-shot supernet training one path per step, uniform (SPOS) or importance-sampled in paths and rows (PA&amp;DA),
/// then ranking of candidate architectures by their validation loss with inherited weights.
/// </summary>
internal static class SinglePathSearch
{
    public static SearchOutcome Run(SearchContext context, bool importance)
    {
        var (space, supernet, data, options, run) = (context.Space, context.Supernet, context.Data, context.Options, context.Run);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var optimizer = new AdamOptimizer(supernet.parameters(), options.LearningRate, skipUnused: true);
        var paths = new PathImportance(space, importance, options.ImportanceFloor);
        var rowImportance = Enumerable.Repeat(1.0, data.Train.Rows).ToArray();
        var history = new List<ArchitectureSnapshot>();
        int epochs = 0;
        bool stopped = false;
        for (int epoch = 1; epoch <= options.SearchEpochs && !stopped; epoch++)
        {
            supernet.train();
            // PA&DA's importance weight τ rises from 0 to 1 over the search.
            double tau = importance && options.SearchEpochs > 1 ? (epoch - 1) / (double)(options.SearchEpochs - 1) : 0;
            var (order, rowWeights) = importance ? DrawRows(rowImportance, tau, options.ImportanceFloor, run.Random) : (context.Permutation(data.Train.Rows), null);
            double lossSum = 0;
            int batches = 0, start = 0;
            foreach (var rows in context.Batches(order))
            {
                using var step = NewDisposeScope();
                var index = context.Indices(rows);
                int count = rows.Length;
                var path = paths.Sample(run.Random, tau);
                var weights = ArchitectureWeights.OneHot(space, path, run.Device);
                optimizer.ZeroGrad();
                var output = supernet.forward(data.Train.Features.index_select(0, index), weights);
                var batchWeights = rowWeights is null ? null : tensor(rowWeights.AsSpan(start, count).ToArray(), device: run.Device);
                var loss = data.Loss(data.Train, output, index, batchWeights);
                loss.backward();
                if (importance)
                {
                    ObservePath(paths, path, supernet, space);
                    using var noGrad = no_grad();
                    var norms = MlpLoss.OutputGradientNorm(data.Kind, output.detach(), data.Train.Labels.index_select(0, index), data.LabelScale)
                        .cpu().to_type(ScalarType.Float64).data<double>().ToArray();
                    for (int i = 0; i < count; i++) rowImportance[order[start + i]] = norms[i];
                }
                optimizer.Step();
                lossSum += loss.item<float>();
                batches++;
                start += count;
                if (context.SearchTimeIsUp)
                {
                    stopped = true;
                    break;
                }
            }
            epochs = epoch;
            history.Add(new ArchitectureSnapshot(epoch, paths.Snapshot(tau)));
            run.ReportEpoch(epoch, options.SearchEpochs, batches > 0 ? lossSum / batches : 0, null);
        }
        var searchTime = clock.Elapsed;

        clock.Restart();
        var ranked = context.Rank(Candidates(space, options.CandidatesToRank, run.Random));
        var top = ranked.Take(Math.Max(options.TopK, 1)).Select(r => new RankedArchitecture(r.Architecture, r.Loss, null)).ToList();
        return new SearchOutcome(ranked[0].Architecture, top, history, epochs, stopped, searchTime, clock.Elapsed);
    }

    /// <summary>
    /// N row indices drawn with replacement from <c>τ·g/Σg + (1 − τ)/N</c> (with a floor share of uniform, so no row
    /// starves and no weight exceeds 1/floor), and importance weights 1/(N·p) so the loss stays an unbiased estimate
    /// of the plain mean.
    /// </summary>
    private static (int[] Order, float[] Weights) DrawRows(double[] importance, double tau, double floor, Random random)
    {
        int n = importance.Length;
        double sum = importance.Where(double.IsFinite).Sum();
        var p = importance.Select(g => (1 - floor) * ((sum > 0 && double.IsFinite(g) ? tau * g / sum : 0) + (1 - tau) / n) + floor / n).ToArray();
        var cumulative = new double[n];
        double c = 0;
        for (int i = 0; i < n; i++) cumulative[i] = c += p[i];
        var order = new int[n];
        var weights = new float[n];
        for (int k = 0; k < n; k++)
        {
            int i = Array.BinarySearch(cumulative, random.NextDouble() * c);
            if (i < 0) i = ~i;
            i = Math.Min(i, n - 1);
            order[k] = i;
            weights[k] = (float)(1 / (n * p[i]));
        }
        return (order, weights);
    }

    /// <summary>Per-layer squared gradient norms and active parameter counts of the step just taken on <paramref name="path"/>.</summary>
    private static void ObservePath(PathImportance paths, ArchitecturePath path, TangledSupernet supernet, NasSearchSpace space)
    {
        using var scope = NewDisposeScope();
        var layers = supernet.HiddenLayers;
        var widths = space.SortedWidths;
        int depth = space.SortedDepths[path.Depth];
        var squares = new double[layers.Count + 1];
        var counts = new double[layers.Count + 1];
        int previous = supernet.Inputs;
        for (int l = 0; l < depth; l++)
        {
            int width = widths[path.Widths[l]];
            squares[l] = GradientSquares(layers[l]);
            counts[l] = (double)width * previous + width;
            previous = width;
        }
        squares[^1] = GradientSquares(supernet.Head);
        counts[^1] = (double)supernet.Outputs * previous + supernet.Outputs;
        paths.Observe(path, squares, counts);
    }

    private static double GradientSquares(TorchSharp.Modules.Linear layer)
    {
        double sum = 0;
        foreach (var p in layer.parameters())
            if (p.grad is { } g) sum += HeldScalars.Squared(g).sum().item<float>();
        return sum;
    }

    /// <summary>
    /// The architectures to rank: all of them when there are at most <paramref name="count"/>, else that many distinct
    /// ones drawn uniformly per decision; shuffled, so a ranking cut short by the budget is not biased to shallow nets.
    /// </summary>
    public static List<MlpArchitecture> Candidates(NasSearchSpace space, int count, Random random)
    {
        var candidates = space.Count <= count ? space.Enumerate().ToList() : SampleDistinct(space, count, random);
        random.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(candidates));
        return candidates;
    }

    private static List<MlpArchitecture> SampleDistinct(NasSearchSpace space, int count, Random random)
    {
        var uniform = new PathImportance(space, false, 0);
        var chosen = new HashSet<MlpArchitecture>();
        for (int attempt = 0; chosen.Count < count && attempt < count * 20; attempt++) chosen.Add(uniform.Sample(random, 0).ToArchitecture(space));
        return chosen.ToList();
    }
}
