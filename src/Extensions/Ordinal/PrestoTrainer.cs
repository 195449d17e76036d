using Microsoft.ML;
using MLExtensions.Onnx.Scoring;
using MLExtensions.Training;

namespace MLExtensions.Ordinal;

/// <summary>
/// PRESTO: ordinal regression with a cumulative-logit model whose boundaries may each have their own slopes, shrunk
/// towards proportional odds by a lasso on the differences between neighbouring boundaries. It estimates the
/// probabilities of rare classes at the ends of the scale better than proportional odds (too rigid) or separate
/// logistic regressions (too noisy).
/// </summary>
/// <remarks>
/// <para><b>Input and output columns.</b> Input: the feature column, a known-size vector of <see cref="float"/>; the
/// label, an ordered key (class order = key order; K ≥ 3) or a <see cref="float"/> column of ranks (class order =
/// numeric order); optionally a <see cref="float"/> example-weight column. Output: <c>Score</c>, the K class
/// probabilities (slot names: the classes), and <c>PredictedLabel</c>, the most probable class as a key with the
/// label's values. Optional: a <see cref="float"/> offset column (<see cref="CumulativeLogitOptions.OffsetColumnName"/>),
/// read at scoring too; output columns of the cumulative probabilities and of the linear predictors
/// (<see cref="CumulativeLogitOptions.CumulativeProbabilitiesColumnName"/>, <see cref="CumulativeLogitOptions.LinearPredictorsColumnName"/>).</para>
/// <para><b>Model.</b> <c>P(y ≤ k | x) = σ(α_k + xᵀβ_k)</c>, fitted by minimising
/// <c>−(1/W) Σ w_i log P(y_i | x_i) + λ(‖β_1‖₁ + Σ_{k≥2} ‖β_k − β_{k−1}‖₁)</c> on standardised features (W = Σ w_i;
/// all weights are 1 without a weight column), with unpenalised intercepts. With <see cref="Options.Lambda"/> null, λ is the largest value on a log-spaced path from
/// λ_max that attains the minimum k-fold cross-validated multiclass Brier score (the named <see cref="Options.RareClass"/>'s
/// Brier score when there is one), and the model is refitted on all
/// rows. The solver is a proximal Newton method that keeps every training row's probability positive. With
/// <see cref="Options.Relax"/> the coefficients are <c>γ·β_lasso + (1 − γ)·β_refit</c>, (λ, γ) cross-validated together.</para>
/// </remarks>
public sealed class PrestoTrainer : IEstimator<PrestoModel>
{
    /// <summary>Options of <see cref="PrestoTrainer"/>.</summary>
    public sealed class Options : CumulativeLogitOptions
    {
        /// <summary>
        /// λ on the standardised scale of the objective; null chooses it by cross-validation along the path.
        /// 0 is the unpenalised non-parallel cumulative-logit fit. Default: null.
        /// </summary>
        public double? Lambda { get; set; }

        /// <summary>Values on the λ path, at most 10,000. Default: 50.</summary>
        public int NumberOfLambdas { get; set; } = 50;

        /// <summary>Smallest λ on the path as a fraction of λ_max. Default: 1e-3.</summary>
        public double LambdaMinRatio { get; set; } = 1e-3;

        /// <summary>
        /// Cross-validation folds (stratified by class, seeded), at least 2 and at most the number of training rows (of
        /// positive weight): a fold without rows scores nothing. Default: 5.
        /// </summary>
        public int NumberOfFolds { get; set; } = 5;

        /// <summary>
        /// Penalise β_1 too. True shrinks towards the intercept-only model as λ grows; false shrinks towards
        /// proportional odds (β_1 free). Default: true.
        /// </summary>
        public bool PenalizeFirstBoundary { get; set; } = true;

        /// <summary>
        /// Elastic-net mixing in [0, 1] (glmnet's and ordinalNet's <c>alpha</c>): the penalty on each difference is
        /// α|d| + (1 − α)/2·d². 1 is the lasso (PRESTO's), 0 ridge (no difference is set exactly to zero). Default: 1.
        /// </summary>
        public double Alpha { get; set; } = 1;

        /// <summary>
        /// The λ values to fit, decreasing, positive and at most 10,000 of them (glmnet's and ordinalNet's <c>lambda</c>); overrides
        /// <see cref="NumberOfLambdas"/> and <see cref="LambdaMinRatio"/>. Null for the automatic log-spaced path. Default: null.
        /// </summary>
        public double[]? LambdaSequence { get; set; }

        /// <summary>
        /// Per feature, a factor on its penalty (ordinalNet's <c>penaltyFactors</c>): 0 leaves that feature's
        /// differences unpenalised, 2 penalises them twice as hard. Null for all 1. Default: null.
        /// </summary>
        public double[]? PenaltyFactors { get; set; }

        /// <summary>
        /// A column assigning each row to a cross-validation fold (any text, key, Boolean or numeric values: one fold
        /// per distinct value), for grouped data whose rows must stay together (ordinalNet's <c>foldID</c>); overrides
        /// <see cref="NumberOfFolds"/>. Null for seeded stratified folds. Default: null.
        /// </summary>
        public string? FoldColumnName { get; set; }

        /// <summary>
        /// What cross-validation minimises to choose λ. Default: <see cref="PrestoCrossValidationMetric.Brier"/>, or
        /// <see cref="PrestoCrossValidationMetric.RareClassBrier"/> when <see cref="RareClass"/> is named and this is not set.
        /// </summary>
        /// <remarks>
        /// Reading it gives the metric the trainer will use. Setting it explicitly to anything but
        /// <see cref="PrestoCrossValidationMetric.RareClassBrier"/> while <see cref="RareClass"/> is named is refused (the two
        /// ask for different criteria).
        /// </remarks>
        public PrestoCrossValidationMetric CrossValidationMetric
        {
            get => _crossValidationMetric ?? (RareClass is null ? PrestoCrossValidationMetric.Brier : PrestoCrossValidationMetric.RareClassBrier);
            set => _crossValidationMetric = value;
        }

        private PrestoCrossValidationMetric? _crossValidationMetric;

        /// <summary>
        /// The class whose probability matters most (the rare event), named as in the model's <c>Score</c> slot names and
        /// <c>mlContext.Ordinal().Evaluate</c>'s <c>rareClass</c>: the key value as text for a key label (e.g. "Too Much"),
        /// the rank as text for a <see cref="float"/> label (e.g. "6"). Naming it makes cross-validation choose λ by that
        /// class's held-out Brier score, (1{y = rare} − p_rare)², instead of the all-class Brier score (unless
        /// <see cref="CrossValidationMetric"/> is set explicitly; only <see cref="PrestoCrossValidationMetric.RareClassBrier"/>
        /// agrees with it). The class used is reported in <see cref="PrestoParameters.RareClass"/>. PRESTO's shrinkage
        /// is designed for a rare class at the end of the scale, best the last one: with <see cref="PenalizeFirstBoundary"/>
        /// the first boundary's slopes are shrunk towards zero, so a rare first class has its own boundary pulled towards
        /// the intercept-only model; reverse the class order to make it the last (the paper does so for the soup survey).
        /// A middle class is accepted and scored, but PRESTO has no particular advantage there. Training only: not saved with the model (scoring does not use it). A class that
        /// is not among the label's classes is refused when fitting. Needs λ chosen by cross-validation (not
        /// <see cref="Lambda"/>). Default: null (with <see cref="PrestoCrossValidationMetric.RareClassBrier"/>, the last class).
        /// </summary>
        public string? RareClass { get; set; }

        /// <summary>
        /// Choose the largest λ whose cross-validated score is within one standard error of the best (a sparser,
        /// more stable model), instead of the best itself. Default: false.
        /// </summary>
        public bool UseOneStandardErrorRule { get; set; }

        /// <summary>
        /// Run the likelihood-ratio test of proportional odds (the unpenalised non-parallel fit against the
        /// proportional-odds fit, both on all rows; two extra maximum-likelihood fits) and report it in
        /// <see cref="PrestoParameters.ProportionalOddsTest"/>. Default: true.
        /// </summary>
        public bool TestProportionalOdds { get; set; } = true;

        /// <summary>
        /// The relaxed lasso (glmnet's <c>relax = TRUE</c>): at every λ, also refit without penalty on that λ's pattern
        /// (differences the lasso set to zero stay exactly zero, the others are free; a ridge of 1e-6 on the free
        /// differences keeps the refit finite on separable classes), and cross-validate the mixtures
        /// <c>γ·lasso + (1 − γ)·refit</c> for γ in {1, 0.75, 0.5, 0.25, 0} together with λ, on the same folds and
        /// <see cref="CrossValidationMetric"/> (ties and <see cref="UseOneStandardErrorRule"/> prefer the larger λ, then the
        /// larger γ). γ = 1 is the lasso, so this removes the lasso's shrinkage of the differences it keeps only where the
        /// held-out score says so. The chosen γ is <see cref="PrestoParameters.Gamma"/>. Costs one refit per distinct
        /// pattern on each fold's path. Needs λ chosen by cross-validation (not <see cref="Lambda"/>). Default: false.
        /// </summary>
        public bool Relax { get; set; }

        /// <summary>The most λ values <see cref="NumberOfLambdas"/> and <see cref="LambdaSequence"/> may ask for.</summary>
        internal const int MaximumNumberOfLambdas = 10_000;

        internal override void Validate()
        {
            base.Validate();
            if (!(Alpha >= 0 && Alpha <= 1)) throw new ArgumentOutOfRangeException(nameof(Alpha), Alpha, "The elastic-net mixing Alpha must lie in [0, 1] (1: lasso).");
            if (LambdaSequence is { } sequence)
            {
                if (sequence.Length == 0) throw new ArgumentException("LambdaSequence is empty; give at least one λ or leave it null.", nameof(LambdaSequence));
                if (sequence.Length > MaximumNumberOfLambdas)
                    throw new ArgumentOutOfRangeException(nameof(LambdaSequence), sequence.Length, $"LambdaSequence holds {sequence.Length} values; at most {MaximumNumberOfLambdas} are allowed.");
                for (int i = 0; i < sequence.Length; i++)
                {
                    if (!(sequence[i] > 0) || !double.IsFinite(sequence[i]))
                        throw new ArgumentOutOfRangeException(nameof(LambdaSequence), sequence[i], $"LambdaSequence[{i}] must be positive and finite.");
                    if (i > 0 && !(sequence[i] < sequence[i - 1]))
                        throw new ArgumentException($"LambdaSequence must decrease: element {i} ({sequence[i]}) is not below element {i - 1} ({sequence[i - 1]}).", nameof(LambdaSequence));
                }
            }
            if (PenaltyFactors is { } factors)
                for (int j = 0; j < factors.Length; j++)
                    if (!(factors[j] >= 0) || !double.IsFinite(factors[j]))
                        throw new ArgumentOutOfRangeException(nameof(PenaltyFactors), factors[j], $"PenaltyFactors[{j}] must be finite and ≥ 0.");
            if (Lambda is double lambda && !(lambda >= 0 && double.IsFinite(lambda)))
                throw new ArgumentOutOfRangeException(nameof(Lambda), Lambda,
                    "λ must be non-negative and finite (or null to choose it by cross-validation); for the λ → ∞ limit use mlContext.Ordinal().Trainers.ProportionalOdds.");
            ArgumentOutOfRangeException.ThrowIfLessThan(NumberOfLambdas, 1, nameof(NumberOfLambdas));
            ArgumentOutOfRangeException.ThrowIfGreaterThan(NumberOfLambdas, MaximumNumberOfLambdas, nameof(NumberOfLambdas));
            if (!(LambdaMinRatio > 0 && LambdaMinRatio < 1))
                throw new ArgumentOutOfRangeException(nameof(LambdaMinRatio), LambdaMinRatio, "Must be in (0, 1).");
            ArgumentOutOfRangeException.ThrowIfLessThan(NumberOfFolds, 2, nameof(NumberOfFolds));
            if (FoldColumnName is not null) ArgumentException.ThrowIfNullOrWhiteSpace(FoldColumnName, nameof(FoldColumnName));
            if (RareClass is not null)
            {
                ArgumentException.ThrowIfNullOrWhiteSpace(RareClass, nameof(RareClass));
                if (_crossValidationMetric is { } metric && metric != PrestoCrossValidationMetric.RareClassBrier)
                    throw new ArgumentException(
                        $"RareClass ('{RareClass}') makes cross-validation score λ by that class's Brier score, but CrossValidationMetric is set to {metric}. " +
                        "Leave CrossValidationMetric unset (or set it to RareClassBrier) to tune on the rare class, or leave RareClass null to tune on " +
                        $"{metric}.", nameof(RareClass));
                if (Lambda is not null)
                    throw new ArgumentException(
                        $"RareClass ('{RareClass}') only chooses how λ is cross-validated, but Lambda is fixed ({Lambda}). Leave Lambda null, or leave RareClass null.",
                        nameof(RareClass));
            }
            if (Relax && Lambda is not null)
                throw new ArgumentException(
                    $"Relax chooses γ by cross-validation together with λ, but Lambda is fixed ({Lambda}). Leave Lambda null, or give LambdaSequence = [{Lambda}] " +
                    "to cross-validate γ at that single λ.", nameof(Relax));
        }
    }

    private readonly MLContext _mlContext;
    private readonly Options _options;

    /// <summary>Creates the trainer; most users call <c>mlContext.Ordinal().Trainers.Presto</c> instead.</summary>
    public PrestoTrainer(MLContext mlContext, Options options)
    {
        _mlContext = mlContext ?? throw new ArgumentNullException(nameof(mlContext));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        options.Validate();
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema) => OrdinalSchema.Extend(_mlContext, inputSchema, _options);

    /// <summary>Fits the λ path, chooses λ and returns the model.</summary>
    public PrestoModel Fit(IDataView input) => CumulativeLogitFitter.Fit(_mlContext, input, _options, nameof(PrestoTrainer), "PRESTO", Settings);

    /// <summary>The path settings of these options for a run seeded with <paramref name="seed"/>.</summary>
    internal PathSettings Settings(int seed) => new PathSettings(_options.Lambda, _options.NumberOfLambdas, _options.LambdaMinRatio, _options.NumberOfFolds,
        _options.PenalizeFirstBoundary, ProportionalOddsOnly: false, _options.MaximumNumberOfIterations, _options.Tolerance, seed)
    {
        LambdaSequence = _options.LambdaSequence,
        PenaltyFactors = _options.PenaltyFactors,
        Metric = _options.CrossValidationMetric,
        RareClass = _options.RareClass,
        Alpha = _options.Alpha,
        FoldColumnName = _options.FoldColumnName,
        OneStandardErrorRule = _options.UseOneStandardErrorRule,
        TestProportionalOdds = _options.TestProportionalOdds,
        Relax = _options.Relax,
    };
}

/// <summary>What PRESTO's cross-validation minimises to choose λ (held-out, weighted means).</summary>
public enum PrestoCrossValidationMetric
{
    /// <summary>The multiclass Brier score Σ_k (1{y = k} − p_k)².</summary>
    Brier,

    /// <summary>
    /// The Brier score of the rare class only, (1{y = r} − p_r)²: PRESTO's target. The rare class r is the trainer's
    /// <c>RareClass</c>, or the last class when that is null.
    /// </summary>
    RareClassBrier,

    /// <summary>The negative log-likelihood −log p_y (ordinalNet's "loglik", as a loss).</summary>
    LogLikelihood,

    /// <summary>The share misclassified by the most probable class.</summary>
    Misclassification,
}

/// <summary>
/// The proportional-odds (cumulative-logit, parallel slopes) model: <c>P(y ≤ k | x) = σ(α_k + xᵀβ)</c>, the
/// λ → ∞ limit of PRESTO with β_1 unpenalised, fitted by maximum likelihood. The baseline for PRESTO.
/// </summary>
/// <remarks>
/// <b>Input and output columns.</b> As <see cref="PrestoTrainer"/>. The model's <see cref="PrestoParameters.Weights"/>
/// has identical rows. Sign convention: MASS::polr's <c>logit P(y ≤ k) = ζ_k − xᵀb</c> corresponds to α = ζ, β = −b.
/// </remarks>
public sealed class ProportionalOddsTrainer : IEstimator<PrestoModel>
{
    /// <summary>Options of <see cref="ProportionalOddsTrainer"/>.</summary>
    public sealed class Options : CumulativeLogitOptions;

    private readonly MLContext _mlContext;
    private readonly Options _options;

    /// <summary>Creates the trainer; most users call <c>mlContext.Ordinal().Trainers.ProportionalOdds</c> instead.</summary>
    public ProportionalOddsTrainer(MLContext mlContext, Options options)
    {
        _mlContext = mlContext ?? throw new ArgumentNullException(nameof(mlContext));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        options.Validate();
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema) => OrdinalSchema.Extend(_mlContext, inputSchema, _options);

    /// <summary>Fits the model by maximum likelihood.</summary>
    public PrestoModel Fit(IDataView input) => CumulativeLogitFitter.Fit(_mlContext, input, _options, nameof(ProportionalOddsTrainer), "ProportionalOdds",
        seed => new PathSettings(null, 1, 0.5, 2, PenalizeFirstBoundary: false, ProportionalOddsOnly: true, _options.MaximumNumberOfIterations, _options.Tolerance, seed));
}

/// <summary>The ordinal trainers' output shape: that of a multiclass classifier.</summary>
internal static class OrdinalSchema
{
    public static SchemaShape Extend(MLContext mlContext, SchemaShape input, CumulativeLogitOptions options)
    {
        options.Validate();
        ColumnChecks.CheckFeatures(ColumnChecks.Require(input, options.FeatureColumnName, "feature"));
        var label = ColumnChecks.Require(input, options.LabelColumnName, "label");
        bool ok = label.Kind == SchemaShape.Column.VectorKind.Scalar && (label.IsKey || label.ItemType == Microsoft.ML.Data.NumberDataViewType.Single);
        if (!ok) throw new ArgumentException($"Label column '{label.Name}' must be an ordered key or a Single column of ranks.");
        if (options.ExampleWeightColumnName is { } weight) ColumnChecks.Require(input, weight, "example weight");
        if (options.OffsetColumnName is { } offset)
        {
            var column = ColumnChecks.Require(input, offset, "offset");
            if (column.Kind != SchemaShape.Column.VectorKind.Scalar || column.ItemType != Microsoft.ML.Data.NumberDataViewType.Single)
                throw new ArgumentException($"Offset column '{offset}' must be a scalar Single column.");
        }
        var output = ScoringSchema.Extend(mlContext, input, PredictionKind.MulticlassClassification, label.IsKey ? label : null);
        foreach (var extra in new[] { options.CumulativeProbabilitiesColumnName, options.LinearPredictorsColumnName })
            if (extra is not null) output = ScoringSchema.AddFloatVector(mlContext, output, extra);
        return output;
    }
}
