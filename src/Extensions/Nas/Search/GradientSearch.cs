using MLExtensions.Mlp;
using MLExtensions.Torch;
using MLExtensions.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MLExtensions.Nas;

/// <summary>
/// TangleNAS: on the weight-entangled supernet, every step first moves α on a batch of the validation split (Adam
/// with betas (0.5, 0.999); DrNAS's Dirichlet regulariser added when asked), then the weights on a batch of the
/// training split with α held fixed and the gradient norm clipped, as the reference's DARTS-style loop does; the
/// first epochs are a warm-up of weight steps only. The result is the argmax of every decision.
/// </summary>
internal static class GradientSearch
{
    public static SearchOutcome Run(SearchContext context)
    {
        var (space, supernet, data, options, run) = (context.Space, context.Supernet, context.Data, context.Options, context.Run);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var alpha = new ArchitectureParameters(space, run.Device);
        var weightParameters = supernet.TrainableParameters;
        using var weightOptimizer = new AdamOptimizer(weightParameters, options.LearningRate);
        // DrNAS's "kl" regulariser replaces the weight decay on α; its default "l2" is that weight decay.
        bool klPenalty = options.Sampler == ArchitectureSampler.Dirichlet && options.DirichletRegularizer == DirichletRegularizer.KullbackLeibler;
        using var alphaOptimizer = new AdamOptimizer(alpha.All, options.ArchitectureLearningRate, beta1: 0.5, beta2: 0.999,
            weightDecay: klPenalty ? 0 : options.ArchitectureWeightDecay);
        using var penaltyScale = options.DirichletRegularizerScale.ToScalar();
        var validation = data.Validation!;
        var history = new List<ArchitectureSnapshot>();
        int[] validationOrder = [];
        int validationCursor = 0, architectureSteps = 0;
        bool searchArchitecture = false;
        var loop = EpochLoop.Run(run, supernet, context.SearchPlan, new EpochSteps<long[]>
        {
            Batches = epoch =>
            {
                searchArchitecture = epoch > options.WarmupEpochs;
                validationOrder = context.Permutation(validation.Rows);
                validationCursor = 0;
                return context.Batches(context.Permutation(data.Train.Rows));
            },
            Step = rows =>
            {
                if (searchArchitecture)
                {
                    alphaOptimizer.ZeroGrad();
                    var validationIndex = NextValidationBatch(validationOrder, ref validationCursor, options.BatchSize, run.Device);
                    var validationLoss = data.Loss(validation,
                        supernet.forward(validation.Features.index_select(0, validationIndex), alpha.Weights(options.Sampler, null)), validationIndex);
                    if (klPenalty) validationLoss = validationLoss.add(alpha.KullbackLeiblerPenalty(options.DirichletAnchor), penaltyScale);
                    validationLoss.backward();
                    alphaOptimizer.Step();
                    architectureSteps++;
                }

                var index = context.Indices(rows);
                weightOptimizer.ZeroGrad();
                ArchitectureWeights fixedWeights;
                using (no_grad()) fixedWeights = alpha.Weights(options.Sampler, null).Detach();
                var loss = data.Loss(data.Train, supernet.forward(data.Train.Features.index_select(0, index), fixedWeights), index);
                loss.backward();
                context.ClipGradients(weightParameters);
                weightOptimizer.Step();
                return new StepLoss(loss);
            },
            EndEpoch = epoch => history.Add(new ArchitectureSnapshot(epoch, alpha.Probabilities(options.Sampler))),
        });
        int epochs = loop.Epochs;
        bool stopped = loop.StoppedByDeadline;
        var searchTime = clock.Elapsed;

        clock.Restart();
        var probabilities = alpha.Probabilities(options.Sampler);
        if (architectureSteps == 0)
        {
            // The budget ended the search inside the warm-up: α never moved, and its argmax would just be the first
            // choice of every decision. Rank candidates with inherited weights instead, as single-path search does.
            run.Warning("the time budget ended the search before any architecture step; ranking candidates by supernet loss instead");
            var byLoss = SinglePathSearch.RankSpace(context);
            return new SearchOutcome(byLoss[0].Architecture,
                byLoss.Take(context.CandidatesToKeep).Select(r => new RankedArchitecture(r.Architecture, r.Loss, null)).ToList(), history, epochs, stopped, searchTime, clock.Elapsed)
            { CandidatesRanked = byLoss.Count };
        }
        var chosen = PathProbabilities.Argmax(probabilities, space).ToArchitecture(space);
        // Candidates: the argmax's one-choice neighbours and the most probable architectures. The joint probability
        // alone would favour shallow networks (fewer factors), so they are ordered by supernet validation loss.
        var probable = space.Count <= 50_000
            ? space.Enumerate().OrderByDescending(a => PathProbabilities.Of(probabilities, space, a)).Take((int)Math.Min(int.MaxValue, 4L * context.CandidatesToKeep))
            : [];
        var others = Neighbours(chosen, space).Skip(1).Concat(probable).Distinct().Where(a => !a.Equals(chosen)).ToList();
        var ranked = new List<RankedArchitecture> { new(chosen, context.Score(chosen), PathProbabilities.Of(probabilities, space, chosen)) };
        var scoredOthers = context.Rank(others);
        ranked.AddRange(scoredOthers.Take(context.CandidatesToKeep - 1)
            .Select(r => new RankedArchitecture(r.Architecture, r.Loss, PathProbabilities.Of(probabilities, space, r.Architecture))));
        return new SearchOutcome(chosen, ranked, history, epochs, stopped, searchTime, clock.Elapsed) { CandidatesRanked = 1 + scoredOthers.Count };
    }

    private static Tensor NextValidationBatch(int[] order, ref int cursor, int batchSize, Device device)
    {
        if (cursor >= order.Length) cursor = 0;
        int count = Math.Min(batchSize, order.Length - cursor);
        var index = tensor(order.AsSpan(cursor, count).ToArray().Select(i => (long)i).ToArray(), device: device);
        cursor += count;
        return index;
    }

    /// <summary><paramref name="architecture"/> and every architecture one choice away from it.</summary>
    private static IEnumerable<MlpArchitecture> Neighbours(MlpArchitecture architecture, NasSearchSpace space)
    {
        yield return architecture;
        var sizes = architecture.HiddenLayerSizes;
        for (int l = 0; l < sizes.Count; l++)
            foreach (int w in space.SortedWidths.Where(w => w != sizes[l]))
                yield return architecture with { HiddenLayerSizes = sizes.Select((s, i) => i == l ? w : s).ToArray() };
        foreach (var a in space.Activations.Where(a => a != architecture.Activation)) yield return architecture with { Activation = a };
        if (space.SearchResidual && sizes.Count > 1) yield return architecture with { Residual = !architecture.Residual };
        foreach (int d in space.SortedDepths.Where(d => d != sizes.Count))
            yield return architecture with
            {
                HiddenLayerSizes = Enumerable.Range(0, d).Select(i => i < sizes.Count ? sizes[i] : sizes[^1]).ToArray(),
                Residual = architecture.Residual && d > 1,
            };
    }
}
