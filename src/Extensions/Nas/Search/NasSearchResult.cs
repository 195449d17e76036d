using MLExtensions.Mlp;
using System.Text.Json;
using System.Text.Json.Serialization;
using MLExtensions.Onnx;

namespace MLExtensions.Nas;

/// <summary>How the supernet is trained and the architecture chosen.</summary>
public enum NasStrategy
{
    /// <summary>
    /// TangleNAS: gradient search over a weight-entangled supernet. Weight steps on the training split alternate with
    /// steps of the architecture parameters α on the validation split (after a warm-up); the architecture is the
    /// argmax of every decision.
    /// </summary>
    TangleNas,

    /// <summary>SPOS: the supernet is trained one uniformly sampled path per step; candidates are ranked by their validation loss with inherited weights.</summary>
    Spos,

    /// <summary>
    /// PA&amp;DA: as SPOS, but paths are drawn in proportion to the per-entry gradients of their width choices and rows
    /// in proportion to their loss-gradient norms (importance sampling, mixed with uniform as training goes on, never
    /// below <c>ImportanceFloor</c>; see <c>NasTrainer.Options.ImportanceUpdateSteps</c> and <c>ImportanceReweighting</c>).
    /// </summary>
    PaDa,
}

/// <summary>An architecture with its standing in the search.</summary>
/// <param name="Architecture">The architecture.</param>
/// <param name="SupernetValidationLoss">
/// Its loss with the supernet's (inherited) weights on the ranking split: rows the search trained neither weights nor
/// α on (gradient search that picks by α alone has no ranking split and reports the loss on the α rows).
/// </param>
/// <param name="Probability">Its probability under the final architecture distribution (gradient search), else null.</param>
public sealed record RankedArchitecture(MlpArchitecture Architecture, double SupernetValidationLoss, double? Probability)
{
    /// <summary>
    /// Its ranking-split loss after a short fine-tune from the inherited weights (<c>FineTuneEpochs</c>), when it
    /// was among the candidates re-ranked that way; else null.
    /// </summary>
    public double? FineTunedLoss { get; init; }

    /// <summary>
    /// In <see cref="NasSearchResult.EnsembleMembers"/>: its weight in the ensemble (times greedy selection picked it,
    /// over all picks; 0 when retrained but never picked). Else null.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? EnsembleWeight { get; init; }

    /// <summary>
    /// In <see cref="NasSearchResult.EnsembleMembers"/>: its loss, retrained, on the ensemble's selection rows (mean
    /// squared error in the label's units, or log-loss). Else null.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? SelectionLoss { get; init; }
}

/// <summary>A regularisation setting the search's pick was retrained with (<see cref="NasTrainer.Options.Dropouts"/>, <see cref="NasTrainer.Options.WeightDecays"/>).</summary>
/// <param name="Dropout">Dropout probability on hidden units in training.</param>
/// <param name="WeightDecay">Adam's L2 penalty.</param>
public sealed record NasRegularization(double Dropout, double WeightDecay)
{
    /// <summary>The retrained network's best early-stopping validation loss with this setting (null until trained).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? ValidationLoss { get; init; }

    /// <inheritdoc />
    public override string ToString() => $"dropout {Dropout:G3}, weight decay {WeightDecay:G3}";
}

/// <summary>The architecture distribution (or path-sampling distribution) after one search epoch.</summary>
/// <param name="Epoch">The epoch, from 1.</param>
/// <param name="Decisions">Each decision's probabilities.</param>
public sealed record ArchitectureSnapshot(int Epoch, IReadOnlyList<DecisionProbabilities> Decisions);

/// <summary>Wall-clock time of the search's phases.</summary>
/// <param name="Search">Supernet training (and α updates).</param>
/// <param name="Ranking">Scoring candidate architectures with inherited weights.</param>
/// <param name="Retraining">Training the chosen architecture (or the ensemble's members) from scratch, and choosing the ensemble's weights.</param>
public sealed record NasPhaseTimes(TimeSpan Search, TimeSpan Ranking, TimeSpan Retraining);

/// <summary>
/// What an architecture search found and how: the chosen architecture, the best candidates with their supernet
/// scores, the architecture (or sampling) distribution after every epoch, and the time per phase. Kept as JSON in
/// the ONNX model's metadata (<see cref="MetadataKey"/>), so it survives <c>Save</c>/<c>Load</c>
/// (<see cref="FromSavedModel"/>), all but the times: the same seed and data give the same ONNX bytes.
/// </summary>
public sealed record NasSearchResult
{
    /// <summary>ONNX metadata key under which the result is stored.</summary>
    public const string MetadataKey = "mlextensions.nas.search";

    /// <summary>The strategy used.</summary>
    public required NasStrategy Strategy { get; init; }

    /// <summary>The sampler of gradient search (null for single-path strategies).</summary>
    public ArchitectureSampler? Sampler { get; init; }

    /// <summary>The search space, described.</summary>
    public required string SearchSpace { get; init; }

    /// <summary>The chosen architecture, then retrained from scratch.</summary>
    public required MlpArchitecture Architecture { get; init; }

    /// <summary>
    /// The best candidates: for gradient search the chosen (argmax) architecture first, then the best of its
    /// neighbours and of the most probable architectures by supernet validation loss; for single-path strategies the
    /// best candidates by supernet validation loss (the first is the chosen one).
    /// </summary>
    public required IReadOnlyList<RankedArchitecture> TopArchitectures { get; init; }

    /// <summary>The architecture distribution after every search epoch.</summary>
    public required IReadOnlyList<ArchitectureSnapshot> History { get; init; }

    /// <summary>Search epochs completed.</summary>
    public required int SearchEpochs { get; init; }

    /// <summary>Whether the time budget cut the search short.</summary>
    public required bool StoppedByTimeBudget { get; init; }

    /// <summary>
    /// How many architectures were scored with inherited weights: the whole space when it was affordable
    /// (<see cref="NasTrainer.Options.RankingBudget"/>), else those the evolutionary search visited (single-path
    /// strategies), or the argmax, its neighbours and the most probable architectures (gradient search); fewer when the
    /// time budget cut the ranking short.
    /// </summary>
    public int CandidatesRanked { get; init; }

    /// <summary>How many architectures the space holds (<see cref="NasSearchSpace.Count"/>): the coverage is <see cref="CandidatesRanked"/> of these.</summary>
    public long ArchitecturesInSpace { get; init; }

    /// <summary>
    /// Time per phase, for a search run in this process; null for a result read back from a model
    /// (<see cref="FromSavedModel"/>), whose metadata holds no wall-clock times so that two fits with the same seed and
    /// data give the same ONNX bytes.
    /// </summary>
    public NasPhaseTimes? Times { get; init; }

    /// <summary>
    /// With <see cref="NasTrainer.Options.EnsembleSize"/> above 1: the retrained members, best-ranked first (each one of
    /// <see cref="TopArchitectures"/>), with their <see cref="RankedArchitecture.EnsembleWeight"/> (summing to 1) and
    /// <see cref="RankedArchitecture.SelectionLoss"/>; those of weight 0 are not in the model. Null for a single network.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<RankedArchitecture>? EnsembleMembers { get; init; }

    /// <summary>The ensemble's loss on its selection rows (as <see cref="RankedArchitecture.SelectionLoss"/>); null for a single network.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? EnsembleSelectionLoss { get; init; }

    /// <summary>
    /// With several <see cref="NasTrainer.Options.Dropouts"/> × <see cref="NasTrainer.Options.WeightDecays"/>: each
    /// combination the pick was retrained with and its validation loss; the one kept (the lowest) is
    /// <see cref="Regularization"/>. Null with a single combination.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<NasRegularization>? RegularizationTrials { get; init; }

    /// <summary>The regularisation the model (every ensemble member) was retrained with; null with a single combination.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public NasRegularization? Regularization { get; init; }

    /// <summary>How many of the <see cref="NasTrainer.Options.EnsembleSize"/> members the time budget left no time to retrain.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public int EnsembleMembersSkipped { get; init; }

    private static readonly JsonSerializerOptions Json = new()
    {
        Converters = { new JsonStringEnumConverter() },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>The result as JSON (<see cref="Times"/> included when there are any).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads a result written by <see cref="ToJson"/>.</summary>
    public static NasSearchResult FromJson(string json) =>
        JsonSerializer.Deserialize<NasSearchResult>(json, Json) ?? throw new InvalidDataException("The search result JSON is empty.");

    /// <summary>
    /// The search result stored in a model saved with <c>mlContext.Model.Save</c> (null when it holds none), without
    /// <see cref="Times"/>.
    /// </summary>
    public static NasSearchResult? FromSavedModel(string path)
    {
        foreach (var info in OnnxModelInfo.ReadFromSavedModel(path))
            if (info.Metadata.TryGetValue(MetadataKey, out var json)) return FromJson(json);
        return null;
    }
}
