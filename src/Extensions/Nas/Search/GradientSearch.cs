using MLExtensions.Mlp;
using MLExtensions.Torch;
using MLExtensions.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MLExtensions.Nas;

/// <summary>
/// TangleNAS: after a warm-up of uniform single-path weight steps (every sub-network trained at full scale, so that a
/// budget that ends inside it ranks them fairly), each epoch makes <c>ArchitectureStepsPerEpoch</c> α steps (at most one
/// per weight step, see <see cref="ArchitectureSchedule"/>) on batches of
/// the validation split, spread over its weight steps (Adam with betas (0.5, 0.999); DrNAS's Dirichlet regulariser
/// added when asked), and weight steps on batches of the training split with α held fixed, the gradient norm clipped,
/// weight decay and dropout, as the reference's DARTS-style loop does. α's gradient is the paper's relaxed one or the
/// expected loss of sampled sub-networks (<see cref="ArchitectureGradient"/>). The result is the argmax of every decision.
/// </summary>
internal static class GradientSearch
{
    public static SearchOutcome Run(SearchContext context)
    {
        var (space, supernet, data, options, run) = (context.Space, context.Supernet, context.Data, context.Options, context.Run);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var alpha = new ArchitectureParameters(space, run.Device);
        var weightParameters = supernet.TrainableParameters;
        using var weightOptimizer = new AdamOptimizer(weightParameters, options.LearningRate, weightDecay: options.SupernetWeightDecay);
        // DrNAS's "kl" regulariser replaces the weight decay on α; its default "l2" is that weight decay.
        bool klPenalty = options.Sampler == ArchitectureSampler.Dirichlet && options.DirichletRegularizer == DirichletRegularizer.KullbackLeibler;
        int stepsPerEpoch = (data.Train.Rows + options.BatchSize - 1) / options.BatchSize;
        var (alphaSteps, alphaLearningRate) = ArchitectureSchedule(options, stepsPerEpoch);
        using var alphaOptimizer = new AdamOptimizer(alpha.All, alphaLearningRate, beta1: 0.5, beta2: 0.999,
            weightDecay: klPenalty ? 0 : options.ArchitectureWeightDecay);
        using var penaltyScale = options.DirichletRegularizerScale.ToScalar();
        bool sampled = options.ArchitectureGradient == ArchitectureGradient.SampledPaths;
        var uniform = new PathImportance(space, importance: false, floor: 1);
        var validation = data.Validation!;
        var history = new List<ArchitectureSnapshot>();
        int[] validationOrder = [];
        int validationCursor = 0, architectureSteps = 0, weightStep = 0;
        bool searchArchitecture = false;
        var everything = weightParameters.Select(p => (ParameterSlice?)new ParameterSlice(p.shape)).ToArray();
        supernet.Dropout = options.SupernetDropout;

        void ArchitectureStep()
        {
            var validationIndex = NextValidationBatch(validationOrder, ref validationCursor, options.BatchSize, run.Device);
            var features = validation.Features.index_select(0, validationIndex);
            supernet.eval();
            alphaOptimizer.ZeroGrad();
            Tensor architectureLoss = sampled
                ? SampledPathsSurrogate(context, alpha, features, validationIndex)
                : data.Loss(validation, supernet.forward(features, alpha.Weights(options.Sampler, null)), validationIndex);
            if (klPenalty) architectureLoss = architectureLoss.add(alpha.KullbackLeiblerPenalty(options.DirichletAnchor), penaltyScale);
            architectureLoss.backward();
            alphaOptimizer.Step();
            supernet.train();
            architectureSteps++;
        }

        var loop = EpochLoop.Run(run, supernet, context.SearchPlan, new EpochSteps<long[]>
        {
            Batches = epoch =>
            {
                searchArchitecture = epoch > options.WarmupEpochs;
                validationOrder = context.Permutation(validation.Rows);
                validationCursor = 0;
                weightStep = 0;
                return context.Batches(context.Permutation(data.Train.Rows));
            },
            Step = rows =>
            {
                if (searchArchitecture)
                {
                    // The epoch's α steps, as evenly as its weight steps allow.
                    long due = (long)(weightStep + 1) * alphaSteps / stepsPerEpoch - (long)weightStep * alphaSteps / stepsPerEpoch;
                    for (long i = 0; i < due; i++) ArchitectureStep();
                }
                weightStep++;

                var index = context.Indices(rows);
                weightOptimizer.ZeroGrad();
                // Warm-up: uniform single paths. Then one path drawn from α (sampled gradient) or the mixed weights (relaxed).
                ArchitecturePath? path = !searchArchitecture ? uniform.Sample(run.Random)
                    : sampled ? Sample(alpha.Probabilities(options.Sampler), space, run.Random) : null;
                ArchitectureWeights weights;
                if (path is not null) weights = ArchitectureWeights.OneHot(space, path, run.Device);
                else using (no_grad()) weights = alpha.Weights(options.Sampler, null).Detach();
                var loss = data.Loss(data.Train, supernet.forward(data.Train.Features.index_select(0, index), weights), index);
                loss.backward();
                context.ClipGradients(weightParameters);
                // The warm-up's single paths take masked steps, so the mixed steps are masked steps over every entry.
                weightOptimizer.Step(path is not null ? supernet.PathSlices(path) : everything);
                return new StepLoss(loss);
            },
            EndEpoch = epoch => history.Add(new ArchitectureSnapshot(epoch, alpha.Probabilities(options.Sampler))),
        });
        supernet.Dropout = 0;
        int epochs = loop.Epochs;
        bool stopped = loop.StoppedByDeadline;
        var searchTime = clock.Elapsed;

        clock.Restart();
        var probabilities = alpha.Probabilities(options.Sampler);
        if (architectureSteps == 0)
        {
            // The budget ended the search inside the warm-up: α never moved, and its argmax would just be the first
            // choice of every decision. Rank candidates with inherited weights instead, as single-path search does: the
            // warm-up trained uniform single paths, so no width is favoured by how it was trained.
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
        if (options.PickBySupernetLoss)
        {
            // The candidates α made likely, judged by their loss with inherited weights: the argmax only if none beats it.
            ranked = ranked.OrderBy(r => r.SupernetValidationLoss).ToList();
            chosen = ranked[0].Architecture;
        }
        return new SearchOutcome(chosen, ranked, history, epochs, stopped, searchTime, clock.Elapsed) { CandidatesRanked = 1 + scoredOthers.Count };
    }

    /// <summary>
    /// α's steps per epoch and learning rate: <c>ArchitectureStepsPerEpoch</c> steps at <c>ArchitectureLearningRate</c>,
    /// but no more steps than the epoch has weight steps, at a learning rate raised in proportion. Adam moves α by about
    /// its learning rate per step, so α still moves as far per epoch; on a few hundred rows (four to six weight steps an
    /// epoch) sixteen α steps had tripled the search's cost (Boston: 4.7 → 2.2 trainings of the largest network, the same
    /// picks on every seed; <c>bench --nas</c>).
    /// </summary>
    internal static (int Steps, double LearningRate) ArchitectureSchedule(NasTrainer.Options options, int weightStepsPerEpoch)
    {
        int steps = Math.Max(1, Math.Min(options.ArchitectureStepsPerEpoch, weightStepsPerEpoch));
        return (steps, options.ArchitectureLearningRate * options.ArchitectureStepsPerEpoch / steps);
    }

    /// <summary>
    /// The sampled-paths surrogate on one batch of α rows: Σ over decisions and choices of p_c·loss_c, where loss_c is
    /// the loss of one path drawn from α's distribution with that decision set to c (the same draw for every choice of
    /// a decision; a layer's width and the activation are judged on a path deep enough to use them, residual on one of depth ≥ 2). Its
    /// gradient in α is that of the expected loss of the factorised distribution, with every sub-network at full scale.
    /// </summary>
    private static Tensor SampledPathsSurrogate(SearchContext context, ArchitectureParameters alpha, Tensor features, Tensor index)
    {
        var (space, supernet, data, options, run) = (context.Space, context.Supernet, context.Data, context.Options, context.Run);
        var depths = space.SortedDepths;
        int widthChoices = space.Widths.Length;
        var depthLoss = new float[space.Depths.Length];
        var widthLoss = new float[space.MaximumDepth * widthChoices];
        int activationChoices = space.Activations.Length;
        var activationLoss = new float[space.ActivationDecisions * activationChoices];
        var residualLoss = new float[space.ResidualChoices.Length];
        var basePath = Sample(alpha.Probabilities(options.Sampler), space, run.Random);
        using (no_grad())
        {
            float Loss(ArchitecturePath path) =>
                data.Loss(data.Validation!, supernet.forward(features, ArchitectureWeights.OneHot(space, path, run.Device)), index).item<float>();
            ArchitecturePath AtLeast(int depth) =>
                depths[basePath.Depth] >= depth ? basePath : basePath with { Depth = Array.FindIndex(depths, d => d >= depth) };
            if (depthLoss.Length > 1)
                for (int c = 0; c < depthLoss.Length; c++) depthLoss[c] = Loss(basePath with { Depth = c });
            if (widthChoices > 1)
                for (int l = 0; l < space.MaximumDepth; l++)
                {
                    var deepEnough = AtLeast(l + 1);
                    for (int c = 0; c < widthChoices; c++)
                    {
                        var widths = deepEnough.Widths.ToArray();
                        widths[l] = c;
                        widthLoss[l * widthChoices + c] = Loss(deepEnough with { Widths = widths });
                    }
                }
            // The activation is judged on a path with a hidden layer (the linear model has none).
            if (activationChoices > 1 && space.MaximumDepth > 0)
                for (int l = 0; l < space.ActivationDecisions; l++)
                    for (int c = 0; c < activationChoices; c++) activationLoss[l * activationChoices + c] = Loss(AtLeast(l + 1).WithActivation(l, c));
            if (residualLoss.Length > 1 && space.MaximumDepth > 1)
                for (int c = 0; c < residualLoss.Length; c++) residualLoss[c] = Loss(AtLeast(2) with { Residual = c });
        }
        var weights = alpha.Weights(options.Sampler, null);
        var device = run.Device;
        return weights.Depth.mul(tensor(depthLoss, device: device)).sum()
            .add(weights.Width.mul(tensor(widthLoss, [space.MaximumDepth, widthChoices], device: device)).sum())
            .add(weights.Activation.mul(tensor(activationLoss, [space.ActivationDecisions, activationChoices], device: device)).sum())
            .add(weights.Residual.mul(tensor(residualLoss, device: device)).sum());
    }

    /// <summary>One path drawn from the per-decision distributions <paramref name="decisions"/> (depth, widths, activation, residual).</summary>
    private static ArchitecturePath Sample(IReadOnlyList<DecisionProbabilities> decisions, NasSearchSpace space, Random random)
    {
        int Draw(IReadOnlyList<double> p)
        {
            double u = random.NextDouble(), c = 0;
            for (int i = 0; i < p.Count; i++)
                if ((c += p[i]) > u) return i;
            return p.Count - 1;
        }
        int depth = Draw(decisions[0].Probabilities);
        var widths = Enumerable.Range(0, space.MaximumDepth).Select(l => Draw(decisions[1 + l].Probabilities)).ToArray();
        var activations = Enumerable.Range(0, space.ActivationDecisions).Select(l => Draw(decisions[PathProbabilities.ActivationDecision(space, l)].Probabilities)).ToArray();
        return new ArchitecturePath(depth, widths, activations, Draw(decisions[^1].Probabilities));
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
        var activations = Enumerable.Range(0, sizes.Count).Select(architecture.ActivationOf).ToArray();
        if (space.ActivationPerLayer)
            for (int l = 0; l < sizes.Count; l++)
                foreach (var a in space.Activations.Where(a => a != activations[l]))
                    yield return MlpArchitecture.WithLayerActivations(sizes, activations.Select((b, i) => i == l ? a : b).ToArray(), architecture.Residual);
        else if (sizes.Count > 0)
            foreach (var a in space.Activations.Where(a => a != architecture.Activation)) yield return architecture with { Activation = a };
        if (space.SearchResidual && sizes.Count > 1) yield return architecture with { Residual = !architecture.Residual };
        // Layers added below the last one repeat its width and activation; from the linear model, the middle width and first activation.
        int added = sizes.Count > 0 ? sizes[^1] : space.SortedWidths[space.Widths.Length / 2];
        var addedActivation = sizes.Count > 0 ? activations[^1] : space.Activations[0];
        foreach (int d in space.SortedDepths.Where(d => d != sizes.Count))
            yield return d == 0 ? space.Linear : MlpArchitecture.WithLayerActivations(
                Enumerable.Range(0, d).Select(i => i < sizes.Count ? sizes[i] : added).ToArray(),
                Enumerable.Range(0, d).Select(i => i < sizes.Count ? activations[i] : addedActivation).ToArray(), architecture.Residual && d > 1);
    }
}
