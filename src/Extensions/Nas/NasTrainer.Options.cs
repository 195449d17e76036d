using MLExtensions.Mlp;
using MLExtensions.Training;

namespace MLExtensions.Nas;

public sealed partial class NasTrainer
{
    /// <summary>Options of <see cref="NasTrainer"/>.</summary>
    public sealed class Options : TorchTrainerOptions
    {
        /// <summary>Defaults the catalog methods share with the options.</summary>
        internal static class Defaults
        {
            public const NasStrategy Strategy = NasStrategy.Spos;
        }

        /// <summary>
        /// How to search. Default: <see cref="NasStrategy.Spos"/>, whose picks were the most reliable in the ranking
        /// benchmark (<c>bench --nas</c>; the figures are in the README).
        /// </summary>
        public NasStrategy Strategy { get; set; } = Defaults.Strategy;

        /// <summary>Wall-clock budget of the whole fit; null for none. Default: null.</summary>
        public TimeSpan? TimeBudget { get; set; }

        /// <summary>Candidate numbers of hidden layers, 0 (the linear model: features straight to the output layer) to 16. Default: 0, 1, 2, 3, 4.</summary>
        public int[] Depths { get; set; } = [0, 1, 2, 3, 4];

        /// <summary>Candidate hidden widths (every one a slice of the widest weight). Default: 16, 32, 64, 128, 256.</summary>
        public int[] Widths { get; set; } = [16, 32, 64, 128, 256];

        /// <summary>Candidate activations. Default: ReLU, GELU, tanh.</summary>
        public MlpActivation[] Activations { get; set; } = [MlpActivation.Relu, MlpActivation.Gelu, MlpActivation.Tanh];

        /// <summary>
        /// Whether each hidden layer chooses its own activation (else one for the network). Per layer the default space
        /// holds 108,466 architectures instead of 4,666, more than <see cref="RankingBudget"/> ranks whole at ~1,000 ranking
        /// rows, so single-path strategies rank an evolutionary sample of it. Default: false.
        /// </summary>
        public bool ActivationPerLayer { get; set; }

        /// <summary>Whether residual connections are a choice. Default: true.</summary>
        public bool SearchResidual { get; set; } = true;

        /// <summary>
        /// Gradient search: softmax (DARTS), sparsemax or Dirichlet (DrNAS) architecture weights. Default:
        /// <see cref="ArchitectureSampler.Sparsemax"/>, the entangled-DARTS reference's, which ranked and picked better than
        /// softmax in <c>bench --nas</c> with the relaxed gradient (figures in the README).
        /// </summary>
        public ArchitectureSampler Sampler { get; set; } = ArchitectureSampler.Sparsemax;

        /// <summary>Gradient search with <see cref="ArchitectureSampler.Dirichlet"/>: DrNAS's regulariser. Default: <see cref="DirichletRegularizer.L2"/> (DrNAS's default).</summary>
        public DirichletRegularizer DirichletRegularizer { get; set; } = DirichletRegularizer.L2;

        /// <summary>Weight of the <see cref="DirichletRegularizer.KullbackLeibler"/> term in the architecture loss. Default: 1e-3 (DrNAS's).</summary>
        public double DirichletRegularizerScale { get; set; } = 1e-3;

        /// <summary>Concentration of the symmetric Dirichlet anchor of the KL regulariser. Default: 1 (uniform, DrNAS's).</summary>
        public double DirichletAnchor { get; set; } = 1;

        /// <summary>Largest total gradient norm of a weight step (gradients are scaled down above it); 0 for no clipping. Default: 5 (DARTS's).</summary>
        public double GradientClipNorm { get; set; } = 5;

        /// <summary>
        /// Single-path strategies: each step trains the largest and the smallest sub-network besides the sampled path
        /// (the sandwich rule), so the extremes of the space are never under-trained. Default: false.
        /// </summary>
        public bool SandwichRule { get; set; }

        /// <summary>
        /// PA&amp;DA: weight each drawn row's loss by 1/(N·p) and each step's loss by its path's
        /// uniform-over-importance probability ratio (over the width decisions the path uses), so that the expected loss
        /// of a step is SPOS's: the plain mean loss over rows and uniformly drawn paths. The reference draws by importance
        /// without re-weighting (a deliberately biased objective that dwells on hard rows and important widths); this
        /// option adds the correction. The weights are exact, not clipped (<see cref="ImportanceFloor"/> bounds them:
        /// each path factor ≤ 1/floor, each row weight ≤ 1/floor); what stays biased is the step, not the loss, when
        /// <see cref="GradientClipNorm"/> scales a large gradient down, and Adam's per-entry normalisation. Default: false (as the reference).
        /// </summary>
        public bool ImportanceReweighting { get; set; }

        /// <summary>Passes over the search-training rows. Default: 30.</summary>
        public int SearchEpochs { get; set; } = 30;

        /// <summary>
        /// Ends the search after this many epochs as a time budget would (the schedule stays that of
        /// <see cref="SearchEpochs"/>: warm-up, PA&amp;DA's τ), so the any-time benchmark reads the pick at a fraction of
        /// the search deterministically. Null: all of them.
        /// </summary>
        internal int? SearchEpochLimit { get; set; }

        /// <summary>Gradient search: epochs of weight steps only before α starts moving. Default: 10.</summary>
        public int WarmupEpochs { get; set; } = 10;

        /// <summary>Rows per step, in search and retraining. Default: 128.</summary>
        public int BatchSize { get; set; } = 128;

        /// <summary>Adam's learning rate for network weights. Default: 1e-3.</summary>
        public double LearningRate { get; set; } = 1e-3;

        /// <summary>
        /// Gradient search: Adam's learning rate for α. Default: 6e-3 (3e-4, the image-NAS value, barely moves α on
        /// tabular data; with <see cref="ArchitectureStepsPerEpoch"/> it sets how far α moves per epoch).
        /// </summary>
        public double ArchitectureLearningRate { get; set; } = 6e-3;

        /// <summary>Gradient search: weight decay on α. Default: 1e-3.</summary>
        public double ArchitectureWeightDecay { get; set; } = 1e-3;

        /// <summary>
        /// Gradient search: how far α moves per epoch after the warm-up, in steps of <see cref="ArchitectureLearningRate"/>,
        /// each on a batch of the α rows, spread evenly over the epoch's weight steps (one α step per training batch, at
        /// the same rate, left α at noise level on a few hundred rows: about four steps an epoch). An epoch with fewer
        /// weight steps makes one α step per weight step at a rate raised in proportion, so α moves as far at less cost.
        /// Default: 8 (16 steps at half the rate picked the same networks on every seed of bench --nas at 1.2–1.6× the
        /// search's cost).
        /// </summary>
        public int ArchitectureStepsPerEpoch { get; set; } = 8;

        /// <summary>
        /// Gradient search: how α's gradient is taken. Default: <see cref="Nas.ArchitectureGradient.Relaxed"/>, the
        /// paper's. <see cref="Nas.ArchitectureGradient.SampledPaths"/> ranks the space better by inherited weights but
        /// picks worse: the weight steps follow α's draws, so the first favoured depth keeps its lead (<c>bench --nas</c>;
        /// figures in the README).
        /// </summary>
        public ArchitectureGradient ArchitectureGradient { get; set; } = ArchitectureGradient.Relaxed;

        /// <summary>
        /// Gradient search: L2 weight decay on the supernet's weights (added to their gradient; the warm-up's too), so
        /// that an overfitted supernet does not reward shrinking wide units. Default: 1e-4.
        /// </summary>
        public double SupernetWeightDecay { get; set; } = 1e-4;

        /// <summary>
        /// Gradient search: dropout probability on the supernet's hidden units during weight steps (none in α steps and
        /// ranking). Default: 0.1.
        /// </summary>
        public double SupernetDropout { get; set; } = 0.1;

        /// <summary>
        /// Gradient search: pick, among the candidates α makes likely (the argmax, its one-choice neighbours and the most
        /// probable architectures), the one with the lowest loss with inherited weights, instead of the argmax of every
        /// decision (the paper's discretisation). Default: false.
        /// </summary>
        public bool PickBySupernetLoss { get; set; }

        /// <summary>
        /// Gradient search: fraction of the rows that move α (weights never train on them; single-path strategies
        /// train weights on them). Default: 0.3.
        /// </summary>
        public double SearchValidationFraction { get; set; } = 0.3;

        /// <summary>
        /// Fraction of the rows held out to rank candidates (single-path strategies, and gradient search when
        /// <see cref="FineTuneEpochs"/> re-ranks); the search trains neither weights nor α on them. Gradient search that
        /// picks by α alone needs none and reports its candidates' losses on the α rows. Default: 0.2.
        /// </summary>
        public double RankingFraction { get; set; } = 0.2;

        /// <summary>
        /// Epochs of training from inherited weights before the best <see cref="CandidatesToFineTune"/> candidates are
        /// ranked again on the ranking split; 0 to rank by inherited weights alone. Default: 0.
        /// </summary>
        public int FineTuneEpochs { get; set; }

        /// <summary>How many of the best candidates <see cref="FineTuneEpochs"/> re-ranks. Default: 5.</summary>
        public int CandidatesToFineTune { get; set; } = 5;

        /// <summary>The most <see cref="CandidatesToRank"/> a space larger than it may ask for (drawn before ranking starts).</summary>
        internal const int MaximumCandidatesToRank = 1_000_000;

        /// <summary>
        /// Single-path strategies: fewest candidates scored with inherited weights when <see cref="RankingBudget"/>
        /// affords fewer (int.MaxValue ranks every architecture of a small space); at most 1,000,000 on a larger space.
        /// Default: 300.
        /// </summary>
        public int CandidatesToRank { get; set; } = 300;

        /// <summary>
        /// Single-path strategies: candidate-rows the final ranking may spend, a candidate costing one forward pass over
        /// the ranking split's rows. When the space times those rows fits (or the space holds no more than
        /// <see cref="CandidatesToRank"/>) every architecture is ranked; otherwise SPOS's evolutionary search (population
        /// 50, 10 parents, mutation and crossover) scores as many distinct architectures as the budget affords (at
        /// least <see cref="CandidatesToRank"/>). <see cref="NasSearchResult.CandidatesRanked"/> reports the coverage.
        /// The default ranks the default space of 4,666 whole up to about 1,000 ranking rows (5,000 rows at the default
        /// <see cref="RankingFraction"/>). Default: 5,000,000.
        /// </summary>
        public long RankingBudget { get; set; } = 5_000_000;

        /// <summary>Architectures listed in <see cref="NasSearchResult.TopArchitectures"/>. Default: 5.</summary>
        public int TopK { get; set; } = 5;

        /// <summary>
        /// PA&amp;DA: share f of the uniform distribution always mixed into path and row sampling, on top of the
        /// reference's (1 − τ) share (which shrinks to 1/<see cref="SearchEpochs"/>): each of a decision's k choices is
        /// drawn with probability at least f/k, each of N rows with at least f/N, so no width starves and importance
        /// weights stay ≤ 1/f. 0 is the reference, whose distributions collapse onto one width on small data. Default: 0.25.
        /// </summary>
        public double ImportanceFloor { get; set; } = 0.25;

        /// <summary>
        /// PA&amp;DA: fewest training steps between updates of the path distribution. Epochs of at least this many steps
        /// update at their end (as the reference); shorter epochs (small data) pool their observations until this many
        /// steps have passed, so an update rests on enough drawn paths. Default: 16.
        /// </summary>
        public int ImportanceUpdateSteps { get; set; } = 16;

        /// <summary>
        /// PA&amp;DA: measure a width slice's gradient per entry (root-mean-square) rather than as the reference's plain
        /// norm, which grows with the slice's size. Internal, for the benchmark's comparison. Default: true.
        /// </summary>
        internal bool PerEntrySliceGradients { get; set; } = true;

        /// <summary>Most epochs when retraining the chosen architecture from scratch. Default: 100.</summary>
        public int RetrainEpochs { get; set; } = 100;

        /// <summary>
        /// Fraction of rows held out for early stopping of the retraining, drawn by a hash seeded independently of the
        /// ranking split's (so they are not a subset of the rows the pick was ranked on). Default: 0.1.
        /// </summary>
        public double RetrainValidationFraction { get; set; } = 0.1;

        /// <summary>Retraining epochs without validation improvement before it stops. Default: 10.</summary>
        public int EarlyStoppingPatience { get; set; } = 10;

        /// <summary>
        /// Dropout probabilities on hidden units (in training; <see cref="MlpTrainer.Options.Dropout"/>) the retrained
        /// network may use, each in [0, 1). Regularisation is not judged in the supernet: ranking by inherited weights
        /// evaluates what a network computes, and dropout and decay change only how it trains. So with more than one
        /// combination of these and <see cref="WeightDecays"/>, the pick is retrained once per combination and the one with
        /// the lowest early-stopping validation loss is kept (tuned by validation, as AutoGluon and Auto-PyTorch tune
        /// them); the trials are in <see cref="NasSearchResult.RegularizationTrials"/>. Default: [0].
        /// </summary>
        public double[] Dropouts { get; set; } = [0];

        /// <summary>
        /// L2 penalties (Adam weight decay; <see cref="MlpTrainer.Options.WeightDecay"/>) the retrained network may use,
        /// each finite and ≥ 0, chosen with <see cref="Dropouts"/> by validation. Default: [0].
        /// </summary>
        public double[] WeightDecays { get; set; } = [0];

        /// <summary>Every combination of <see cref="Dropouts"/> and <see cref="WeightDecays"/>, dropout-major.</summary>
        internal IReadOnlyList<NasRegularization> RegularizationChoices =>
            Dropouts.Distinct().SelectMany(d => WeightDecays.Distinct().Select(w => new NasRegularization(d, w))).ToList();

        /// <summary>
        /// How many of the best distinct candidates (<see cref="NasSearchResult.TopArchitectures"/>, so at most
        /// <see cref="TopK"/>) to retrain and combine. Above 1, each is retrained from scratch (seeded from the run's seed,
        /// early-stopped on the same rows), none of them on the <see cref="EnsembleSelectionFraction"/> rows; on those rows
        /// greedy ensemble selection with replacement (Caruana et al. 2004, as AutoGluon and Auto-PyTorch do: 50 rounds
        /// starting from the best single member, keeping the best prefix) weighs them by how often it picks them, by the
        /// task's loss (squared error, log-loss); the members of positive weight are exported as one ONNX graph that
        /// scores the weighted mean of their scores (regression), probabilities (binary, with <c>Score</c> the logit of
        /// the mean probability) or class probabilities (multiclass). Members are retrained in rank order while the
        /// <see cref="TimeBudget"/> lasts; those it leaves no time for are skipped and counted in
        /// <see cref="NasSearchResult.EnsembleMembersSkipped"/>. The members and weights are in
        /// <see cref="NasSearchResult.EnsembleMembers"/>. Default: 1, one retrained network as before (the same model,
        /// bit for bit).
        /// </summary>
        public int EnsembleSize { get; set; } = 1;

        /// <summary>
        /// With <see cref="EnsembleSize"/> above 1: fraction of the rows (a seeded hash independent of the search's and
        /// retraining's splits) held out of every member's training and early stopping, on which the ensemble's weights
        /// are chosen. The members train on the rest, less <see cref="RetrainValidationFraction"/> of it. Default: 0.1.
        /// </summary>
        public double EnsembleSelectionFraction { get; set; } = 0.1;

        /// <summary>The search space these settings describe.</summary>
        public NasSearchSpace SearchSpace => new() { Depths = Depths, Widths = Widths, Activations = Activations, ActivationPerLayer = ActivationPerLayer, SearchResidual = SearchResidual };

        private void CheckRegularization()
        {
            if (Dropouts is not { Length: > 0 }) throw new ArgumentException("Give at least one dropout probability (e.g. [0]).", nameof(Dropouts));
            if (WeightDecays is not { Length: > 0 }) throw new ArgumentException("Give at least one weight decay (e.g. [0]).", nameof(WeightDecays));
            foreach (var p in Dropouts)
                if (!(p >= 0 && p < 1)) throw new ArgumentOutOfRangeException(nameof(Dropouts), p, "Each dropout probability must be in [0, 1).");
            foreach (var w in WeightDecays)
                if (!(w >= 0) || !double.IsFinite(w)) throw new ArgumentOutOfRangeException(nameof(WeightDecays), w, "Each weight decay must be finite and ≥ 0.");
            if (RegularizationChoices.Count > 1 && !(RetrainValidationFraction > 0))
                throw new ArgumentOutOfRangeException(nameof(RetrainValidationFraction), RetrainValidationFraction,
                    $"{RegularizationChoices.Count} combinations of Dropouts and WeightDecays are chosen between by the retraining's validation loss: " +
                    "give RetrainValidationFraction above 0, or one dropout and one weight decay.");
        }

        internal override void Validate()
        {
            base.Validate();
            SearchSpace.Validate();
            if (TimeBudget is TimeSpan t && t <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(TimeBudget), t, "The time budget must be positive.");
            ArgumentOutOfRangeException.ThrowIfLessThan(SearchEpochs, 1, nameof(SearchEpochs));
            CheckRegularization();
            ArgumentOutOfRangeException.ThrowIfNegative(WarmupEpochs, nameof(WarmupEpochs));
            if (Strategy == NasStrategy.TangleNas && WarmupEpochs >= SearchEpochs)
                throw new ArgumentOutOfRangeException(nameof(WarmupEpochs), WarmupEpochs,
                    $"Gradient search needs epochs after the warm-up to move α: make WarmupEpochs smaller than SearchEpochs ({SearchEpochs}).");
            ArgumentOutOfRangeException.ThrowIfLessThan(BatchSize, 1, nameof(BatchSize));
            foreach (var (value, name) in new[] { (LearningRate, nameof(LearningRate)), (ArchitectureLearningRate, nameof(ArchitectureLearningRate)) })
                if (!(value > 0) || !double.IsFinite(value)) throw new ArgumentOutOfRangeException(name, value, "Learning rates must be positive and finite.");
            if (!(ArchitectureWeightDecay >= 0) || !double.IsFinite(ArchitectureWeightDecay))
                throw new ArgumentOutOfRangeException(nameof(ArchitectureWeightDecay), ArchitectureWeightDecay, "Must be finite and ≥ 0.");
            ArgumentOutOfRangeException.ThrowIfLessThan(ArchitectureStepsPerEpoch, 1, nameof(ArchitectureStepsPerEpoch));
            if (!Enum.IsDefined(ArchitectureGradient))
                throw new ArgumentOutOfRangeException(nameof(ArchitectureGradient), ArchitectureGradient, "Not an ArchitectureGradient.");
            if (!(SupernetWeightDecay >= 0) || !double.IsFinite(SupernetWeightDecay))
                throw new ArgumentOutOfRangeException(nameof(SupernetWeightDecay), SupernetWeightDecay, "Must be finite and ≥ 0.");
            if (!(SupernetDropout >= 0 && SupernetDropout < 1))
                throw new ArgumentOutOfRangeException(nameof(SupernetDropout), SupernetDropout, "A dropout probability in [0, 1).");
            if (!(RankingFraction > 0 && RankingFraction < 1))
                throw new ArgumentOutOfRangeException(nameof(RankingFraction), RankingFraction, "The search ranks candidates on held-out rows: a fraction in (0, 1).");
            if (!(SearchValidationFraction > 0 && SearchValidationFraction + RankingFraction < 1))
                throw new ArgumentOutOfRangeException(nameof(SearchValidationFraction), SearchValidationFraction,
                    $"Gradient search moves α on held-out rows: a fraction in (0, 1) that leaves training rows besides RankingFraction ({RankingFraction}).");
            if (!(GradientClipNorm >= 0 && double.IsFinite(GradientClipNorm)))
                throw new ArgumentOutOfRangeException(nameof(GradientClipNorm), GradientClipNorm, "Must be ≥ 0 (0: no clipping).");
            if (!(DirichletRegularizerScale >= 0 && double.IsFinite(DirichletRegularizerScale)))
                throw new ArgumentOutOfRangeException(nameof(DirichletRegularizerScale), DirichletRegularizerScale, "Must be ≥ 0.");
            if (!(DirichletAnchor > 0 && double.IsFinite(DirichletAnchor)))
                throw new ArgumentOutOfRangeException(nameof(DirichletAnchor), DirichletAnchor, "The anchor concentration must be positive.");
            ArgumentOutOfRangeException.ThrowIfNegative(FineTuneEpochs, nameof(FineTuneEpochs));
            ArgumentOutOfRangeException.ThrowIfLessThan(CandidatesToFineTune, 1, nameof(CandidatesToFineTune));
            if (!(RetrainValidationFraction >= 0 && RetrainValidationFraction < 1))
                throw new ArgumentOutOfRangeException(nameof(RetrainValidationFraction), RetrainValidationFraction, "Must be in [0, 1).");
            if (!(ImportanceFloor >= 0 && ImportanceFloor <= 1))
                throw new ArgumentOutOfRangeException(nameof(ImportanceFloor), ImportanceFloor, "Must be in [0, 1] (0: the reference's sampling without a floor; 1: uniform).");
            ArgumentOutOfRangeException.ThrowIfLessThan(ImportanceUpdateSteps, 1, nameof(ImportanceUpdateSteps));
            ArgumentOutOfRangeException.ThrowIfLessThan(CandidatesToRank, 1, nameof(CandidatesToRank));
            if (RankingBudget < 0)
                throw new ArgumentOutOfRangeException(nameof(RankingBudget), RankingBudget, "Must be ≥ 0 candidate-rows (0: rank CandidatesToRank candidates only).");
            if (CandidatesToRank > MaximumCandidatesToRank && SearchSpace.Count > MaximumCandidatesToRank)
                throw new ArgumentOutOfRangeException(nameof(CandidatesToRank), CandidatesToRank,
                    $"CandidatesToRank asks for more than {MaximumCandidatesToRank} of a space of {SearchSpace.Count} architectures, which would not finish; " +
                    $"give at most {MaximumCandidatesToRank}, or a smaller space (Depths, Widths, Activations).");
            ArgumentOutOfRangeException.ThrowIfLessThan(TopK, 1, nameof(TopK));
            ArgumentOutOfRangeException.ThrowIfLessThan(RetrainEpochs, 1, nameof(RetrainEpochs));
            ArgumentOutOfRangeException.ThrowIfLessThan(EarlyStoppingPatience, 1, nameof(EarlyStoppingPatience));
            ArgumentOutOfRangeException.ThrowIfLessThan(EnsembleSize, 1, nameof(EnsembleSize));
            if (EnsembleSize > TopK)
                throw new ArgumentOutOfRangeException(nameof(EnsembleSize), EnsembleSize,
                    $"The ensemble's members are the best of TopArchitectures: EnsembleSize must be at most TopK ({TopK}); raise TopK.");
            if (!(EnsembleSelectionFraction > 0 && EnsembleSelectionFraction < 1))
                throw new ArgumentOutOfRangeException(nameof(EnsembleSelectionFraction), EnsembleSelectionFraction,
                    "The ensemble is weighted on held-out rows: a fraction in (0, 1).");
        }
    }
}
