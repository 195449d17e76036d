using MLExtensions.Mlp;
using MLExtensions.Torch;
using MLExtensions.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MLExtensions.Nas;

/// <summary>
/// One-shot supernet training, one path per step: uniform (SPOS) or importance-sampled in paths and rows (PA&amp;DA,
/// <see cref="PathImportance"/>, <see cref="RowImportance"/>), optionally with the sandwich rule; then ranking of
/// candidate architectures by their ranking-split loss with inherited weights. Every step is truly single-path: the
/// optimiser changes only the entries the step's sub-networks use (<see cref="TangledSupernet.PathSlices"/>), moments
/// and step counts included.
/// </summary>
internal static class SinglePathSearch
{
    public static SearchOutcome Run(SearchContext context, bool importance)
    {
        var (space, supernet, data, options, run) = (context.Space, context.Supernet, context.Data, context.Options, context.Run);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var parameters = supernet.TrainableParameters;
        using var optimizer = new AdamOptimizer(parameters, options.LearningRate);
        var paths = new PathImportance(space, importance, options.ImportanceFloor);
        var rows = new RowImportance(data.Train.Rows, importance, options.ImportanceFloor);
        var history = new List<ArchitectureSnapshot>();
        // Every epoch has N rows (a permutation, or N importance draws), hence the same number of steps.
        var cadence = new ImportanceCadence((data.Train.Rows + options.BatchSize - 1) / options.BatchSize, options.SearchEpochs, options.ImportanceUpdateSteps);
        long step = 0;
        int[] order = [];
        float[]? drawWeights = null;
        int start = 0;
        var loop = EpochLoop.Run(run, supernet, context.SearchPlan, new EpochSteps<long[]>
        {
            Batches = _ =>
            {
                (order, drawWeights) = rows.NextEpoch(run.Random);
                if (!options.ImportanceReweighting) drawWeights = null;
                start = 0;
                return context.Batches(order);
            },
            Step = batch =>
            {
                var index = context.Indices(batch);
                int count = batch.Length;
                var path = paths.Sample(run.Random);
                var features = data.Train.Features.index_select(0, index);
                var importanceWeights = drawWeights is null ? null : tensor(drawWeights.AsSpan(start, count).ToArray(), device: run.Device);
                optimizer.ZeroGrad();
                var output = supernet.forward(features, ArchitectureWeights.OneHot(space, path, run.Device));
                var loss = data.Loss(data.Train, output, index, importanceWeights);
                if (importance && options.ImportanceReweighting)
                {
                    // Paths drawn by importance, weighted back to the uniform draw: the expected step is SPOS's.
                    using var pathWeight = paths.UniformRatio(path).ToScalar();
                    loss = loss.mul(pathWeight);
                }
                loss.backward();
                var slices = supernet.PathSlices(path);
                // With the sandwich rule the extremes' gradients would mix into the sampled slices: read them first.
                double[]? sampledNorms = importance && options.SandwichRule ? SliceGradientNorms(supernet, space, path, options.PerEntrySliceGradients) : null;
                if (options.SandwichRule)
                    foreach (var extreme in Extremes(space, path))
                    {
                        data.Loss(data.Train, supernet.forward(features, ArchitectureWeights.OneHot(space, extreme, run.Device)), index, importanceWeights).backward();
                        slices = slices.Zip(supernet.PathSlices(extreme), ParameterSlice.Union).ToArray();
                    }
                context.ClipGradients(parameters);
                optimizer.Step(slices);
                if (importance)
                {
                    // As the reference, importance is read after clipping and the step, from the sampled path's slices (before the
                    // extremes' backward passes with the sandwich rule, which the reference does not have).
                    paths.Observe(path, sampledNorms ?? SliceGradientNorms(supernet, space, path, options.PerEntrySliceGradients));
                    using var noGrad = no_grad();
                    var norms = MlpLoss.OutputGradientNorm(data.Kind, output.detach(), data.Train.Labels.index_select(0, index), data.LabelScale)
                        .cpu().to_type(ScalarType.Float64).data<double>().ToArray();
                    rows.Observe(order.AsSpan(start, count), norms);
                    if (cadence.IsUpdate(++step, out double tau)) paths.Update(tau);
                }
                start += count;
                return new StepLoss(loss);
            },
            EndEpoch = epoch =>
            {
                // PA&DA's importance weight τ = epoch/epochs (from 0), set at the end of each epoch for the next epoch's
                // rows (drawn at its start); paths follow the cadence of the steps.
                double tau = (epoch - 1) / (double)options.SearchEpochs;
                rows.EndEpoch(tau);
                history.Add(new ArchitectureSnapshot(epoch, paths.Snapshot()));
            },
        });
        int epochs = loop.Epochs;
        bool stopped = loop.StoppedByDeadline;
        var searchTime = clock.Elapsed;

        clock.Restart();
        var ranked = RankSpace(context);
        var top = ranked.Take(context.CandidatesToKeep)
            .Select(r => new RankedArchitecture(r.Architecture, r.Loss, null)).ToList();
        return new SearchOutcome(ranked[0].Architecture, top, history, epochs, stopped, searchTime, clock.Elapsed) { CandidatesRanked = ranked.Count };
    }

    /// <summary>The sandwich rule's largest and smallest sub-networks (with the sampled path's activation and residual choice).</summary>
    private static IEnumerable<ArchitecturePath> Extremes(NasSearchSpace space, ArchitecturePath sampled)
    {
        int deepest = space.Depths.Length - 1, widest = space.Widths.Length - 1;
        yield return sampled with { Depth = deepest, Widths = Enumerable.Repeat(widest, space.MaximumDepth).ToArray() };
        yield return sampled with { Depth = 0, Widths = new int[space.MaximumDepth] };
    }

    /// <summary>
    /// Per hidden layer the path uses: the root-mean-square entry of the gradient of the path's weight and bias slices
    /// (PA&amp;DA's per-operation importance, per entry: the reference's plain norm grows with the slice's size).
    /// </summary>
    private static double[] SliceGradientNorms(TangledSupernet supernet, NasSearchSpace space, ArchitecturePath path, bool perEntry)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        int depth = space.SortedDepths[path.Depth];
        var slices = supernet.PathSlices(path);
        var parameters = supernet.TrainableParameters;
        var norms = new double[depth];
        for (int l = 0; l < depth; l++)
        {
            double squares = 0;
            long entries = 0;
            for (int k = 2 * l; k <= 2 * l + 1; k++)
                if (parameters[k].grad is { } g && slices[k] is { } slice)
                {
                    var block = slice.Of(g);
                    double norm = block.norm().item<float>();
                    squares += norm * norm;
                    entries += block.numel();
                }
            norms[l] = !perEntry ? RawNorm(supernet, slices, l) : entries > 0 ? Math.Sqrt(squares / entries) : 0;
        }
        return norms;
    }

    /// <summary>The reference's importance of hidden layer <paramref name="layer"/>: its weight slice's gradient norm plus its bias slice's.</summary>
    private static double RawNorm(TangledSupernet supernet, ParameterSlice?[] slices, int layer)
    {
        var parameters = supernet.TrainableParameters;
        double norm = 0;
        for (int k = 2 * layer; k <= 2 * layer + 1; k++)
            if (parameters[k].grad is { } g && slices[k] is { } slice) norm += slice.Of(g).norm().item<float>();
        return norm;
    }

    /// <summary>
    /// How many candidates the final ranking affords: <c>RankingBudget</c> candidate-rows over the ranking split's rows
    /// (each candidate costs one forward pass over them), at least <c>CandidatesToRank</c>, at most 1,000,000.
    /// </summary>
    public static int AffordableCandidates(NasTrainer.Options options, int rankingRows) =>
        (int)Math.Min(NasTrainer.Options.MaximumCandidatesToRank, Math.Max(options.CandidatesToRank, options.RankingBudget / Math.Max(rankingRows, 1)));

    /// <summary>
    /// Ranks the space by ranking-split loss with inherited weights, best first: every architecture when the space
    /// holds no more than <see cref="AffordableCandidates"/> (in shuffled order, so a ranking cut short by the deadline
    /// is not biased to shallow nets), else that many found by <see cref="EvolutionarySearch"/>. Stops at the ranking deadline.
    /// </summary>
    public static List<(MlpArchitecture Architecture, double Loss)> RankSpace(SearchContext context)
    {
        var (space, options, run) = (context.Space, context.Options, context.Run);
        int affordable = AffordableCandidates(options, context.Data.Ranking.Rows);
        if (space.Count <= affordable)
        {
            var all = space.Enumerate().ToList();
            run.Random.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(all));
            return context.Rank(all);
        }
        run.Info($"ranking {affordable} of {space.Count} architectures by evolutionary search");
        var scored = EvolutionarySearch.Run(space, affordable, context.Score, () =>
        {
            run.CancellationToken.ThrowIfCancellationRequested();
            return context.RankingTimeIsUp;
        }, run.Random);
        return scored.OrderBy(s => s.Loss).ToList();
    }
}
