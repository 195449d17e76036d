using Microsoft.ML;
using MLExtensions.Fairness.Tradeoff;
using MLExtensions.Training;

namespace MLExtensions.Fairness;

public sealed partial class FairnessMitigator
{
    /// <summary>Options of <see cref="FairnessMitigator"/>.</summary>
    public sealed class Options
    {
        /// <summary>
        /// The sensitive attribute Z (text, <see cref="bool"/>, a number, or a key with values). Default: "Sensitive".
        /// Not read when <see cref="SensitiveColumnNames"/> is set.
        /// </summary>
        public string SensitiveColumnName { get; set; } = DefaultSensitiveColumnName;

        private const string DefaultSensitiveColumnName = "Sensitive";

        /// <summary>
        /// Several sensitive columns whose intersection is the attribute Z, as in <c>Audit(string[] …)</c>: a row's group
        /// is its values joined with <c>" &amp; "</c> in the order given (<c>"Female &amp; Black"</c>), each value in the
        /// audit's one spelling (no surrounding white space; <c>True</c>/<c>False</c> for any casing of those words). The
        /// fitted model joins the same columns the same way when it scores, and <see cref="ScoreHistograms"/> records them
        /// (<see cref="FairnessScoreHistograms.SensitiveColumnNames"/>). A value that is empty, or that would make the
        /// group's name ambiguous (one holding <c>" &amp; "</c>, starting with <c>"&amp; "</c> or ending with
        /// <c>" &amp;"</c>), is an error naming the column and row. Null (the default) reads the single
        /// <see cref="SensitiveColumnName"/>, whose values are taken exactly as they are. When set,
        /// <see cref="SensitiveColumnName"/> must be left at its default or be one of these names.
        /// </summary>
        public string[]? SensitiveColumnNames { get; set; }

        /// <summary>The sensitive columns read: <see cref="SensitiveColumnNames"/>, else <see cref="SensitiveColumnName"/> alone.</summary>
        internal string[] SensitiveColumns => SensitiveColumnNames ?? [SensitiveColumnName];

        /// <summary>The sensitive columns as messages and the fitted contract name them ("Sex &amp; Race").</summary>
        internal string SensitiveDescription => string.Join(FairnessCounts.IntersectionSeparator, SensitiveColumns);

        /// <summary>
        /// The client (or any grouping) S (text, <see cref="bool"/>, a number, or a key with values). Default: "Client".
        /// </summary>
        public string ClientColumnName { get; set; } = "Client";

        /// <summary>The <see cref="bool"/> label (read when fitting). Default: "Label".</summary>
        public string LabelColumnName { get; set; } = DefaultColumnNames.Label;

        /// <summary>The model's score (probability, margin or log-odds; any finite value); null to derive the rule from <see cref="PredictedLabelColumnName"/>. Default: "Probability".</summary>
        public string? ScoreColumnName { get; set; } = "Probability";

        /// <summary>The model's <see cref="bool"/> prediction, used when <see cref="ScoreColumnName"/> is null. Default: "PredictedLabel".</summary>
        public string PredictedLabelColumnName { get; set; } = "PredictedLabel";

        /// <summary>
        /// The disparity the budgets bound: demographic parity (I(Z;Ŷ), I(Z;Ŷ|S)), equalized odds (I(Z;Ŷ|Y),
        /// I(Z;Ŷ|Y,S)) or equal opportunity (I(Z;Ŷ|Y=1), I(Z;Ŷ|Y=1,S)). Default: <see cref="FairnessConstraint.DemographicParity"/>.
        /// </summary>
        public FairnessConstraint Constraint { get; set; } = FairnessConstraint.DemographicParity;

        /// <summary>ε_g: the allowed global disparity (I(Z;Ŷ) under demographic parity), bits, ≥ 0 (∞ for none). Default: 0.002.</summary>
        public double GlobalBudget { get; set; } = 0.002;

        /// <summary>ε_l: the allowed local disparity (I(Z;Ŷ|S) under demographic parity), bits, ≥ 0 (∞ for none). Default: 0.002.</summary>
        public double LocalBudget { get; set; } = 0.002;

        /// <summary>
        /// How many rows' worth of its sensitive group's pooled rows (all clients) each cell's score table is blended
        /// with before its ROC hull is taken: a cell of n rows keeps n/(n + ShrinkageRows) of its own evidence. Cells of
        /// a few rows otherwise get thresholds fitted to noise, which cost accuracy and fairness on new rows. Only the
        /// labels are shrunk (toward the group's Platt calibration of the score); a cell's rates stay its own. +∞ trusts
        /// the calibration alone. Null chooses among 0, 10, 30, 100, 300, 1,000 and +∞ by 5-fold cross-validation: the
        /// strongest shrinkage within one standard error of the best held-out accuracy (scores only; a binary
        /// prediction is not shrunk). Under equalized odds and equal opportunity, whose rates are conditioned on the
        /// labels shrinkage moves, a candidate is also out when its held-out disparities exceed the budgets (or the
        /// unshrunk rules' own) by more than two paired standard errors. Default: null.
        /// </summary>
        public double? ShrinkageRows { get; set; }

        /// <summary>The mitigated <see cref="bool"/> decision. Default: "FairPredictedLabel".</summary>
        public string OutputColumnName { get; set; } = "FairPredictedLabel";

        /// <summary>
        /// A stable per-row id (text or number) for the randomisation; null to hash the features. 64-bit integer ids
        /// (<see cref="long"/>, <see cref="ulong"/>) are hashed exactly, so ids that differ only above 2^53 draw
        /// independently; other numbers are hashed as <see cref="double"/>. Rows that share an id share their draw
        /// (and so their decision), as the same row scored twice should. Default: null.
        /// </summary>
        public string? RowKeyColumnName { get; set; }

        /// <summary>
        /// The feature vector hashed for the randomisation when there is no row key; when the data has no such
        /// column, a probability's rows are hashed by cell and value. Default: "Features".
        /// </summary>
        /// <remarks>
        /// A row's draw is then a function of its feature values (and <see cref="Seed"/>) alone: deterministic, so
        /// the same row gets the same decision in any batch, order or process. Rows with identical features are the
        /// same input to any such rule and share their draw, so they all get the same branch of their cell's randomised
        /// rule: the cell's rate is right on average over seeds but moves in blocks on the rows at hand. <c>Fit</c>
        /// therefore refuses data where more than 5 % of the rows a cell's rule randomises (and at least two) have
        /// identical features, naming the cell, and asks for <see cref="RowKeyColumnName"/>: a row id tells duplicates
        /// apart and keeps deployment deterministic. A fit from histograms cannot see duplicates; give it a row key.
        /// </remarks>
        public string FeatureColumnName { get; set; } = DefaultColumnNames.Features;

        /// <summary>
        /// Seed of the row hash (the randomised rules' draws) and of the cross-validation and cross-fitting folds; the
        /// fitted model keeps it. Default: null, which draws one from the <c>MLContext</c> (as ML.NET's components do),
        /// so <c>new MLContext(seed)</c> gives the same rules and decisions every time.
        /// </summary>
        public int? Seed { get; set; }

        /// <summary>The seed of this fit: <see cref="Seed"/> once <see cref="WithSeed"/> has resolved it.</summary>
        internal int RowSeed => Seed ?? throw new InvalidOperationException("The mitigator's seed was not resolved against its MLContext; this is a bug.");

        /// <summary>A copy of these options whose <see cref="Seed"/> is set: the one given, else one drawn from <paramref name="mlContext"/>.</summary>
        internal Options WithSeed(MLContext mlContext)
        {
            var copy = (Options)MemberwiseClone();
            copy.Seed = Seeds.Resolve(mlContext, Seed, nameof(FairnessMitigator));
            return copy;
        }

        /// <summary>
        /// Cells (client, group) not seen when fitting: false refuses them with an error naming the value; true gives
        /// them the pooled rule (one ROC-hull rule over all rows at the mitigated overall positive rate). Default: false.
        /// </summary>
        public bool PoolUnknownCells { get; set; }

        /// <summary>
        /// Folds of the cross-fitted estimate of accuracy and disparities on new rows
        /// (<see cref="FairnessMitigatorModel.CrossFitted"/>); 0 to skip it. At most the number of rows fitted on
        /// (checked by <c>Fit</c>: a fold without rows holds nothing out). Default: 5.
        /// </summary>
        public int CrossFitFolds { get; set; } = 5;

        /// <summary>Settings of the trade-off solver.</summary>
        public TradeoffOptions? Solver { get; set; }

        /// <summary>
        /// Checks the options; every message names the option and its value. Called when the estimator is built and
        /// again when it fits or promises a schema, so a setting changed after construction is checked as well.
        /// </summary>
        internal void Validate()
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(SensitiveColumnName, nameof(SensitiveColumnName));
            if (SensitiveColumnNames is { } several)
            {
                if (several.Length == 0) throw new ArgumentException("SensitiveColumnNames is empty; name at least one sensitive column, or set it to null to read SensitiveColumnName.", nameof(SensitiveColumnNames));
                for (int i = 0; i < several.Length; i++)
                {
                    if (string.IsNullOrWhiteSpace(several[i]))
                        throw new ArgumentException($"SensitiveColumnNames[{i}] is {(several[i] is null ? "null" : "blank")}; name each sensitive column.", nameof(SensitiveColumnNames));
                    if (Array.IndexOf(several, several[i], 0, i) is var earlier and >= 0)
                        throw new ArgumentException($"SensitiveColumnNames names the column '{several[i]}' twice (at {earlier} and {i}); name each column once.", nameof(SensitiveColumnNames));
                }
                if (SensitiveColumnName != DefaultSensitiveColumnName && Array.IndexOf(several, SensitiveColumnName) < 0)
                    throw new ArgumentException($"SensitiveColumnName is '{SensitiveColumnName}' and SensitiveColumnNames is [{string.Join(", ", several)}]: the mitigator reads " +
                                                "SensitiveColumnNames when it is set. Name every sensitive column in SensitiveColumnNames and leave SensitiveColumnName at its default.",
                        nameof(SensitiveColumnNames));
            }
            ArgumentException.ThrowIfNullOrWhiteSpace(ClientColumnName, nameof(ClientColumnName));
            ArgumentException.ThrowIfNullOrWhiteSpace(LabelColumnName, nameof(LabelColumnName));
            if (ScoreColumnName is null) ArgumentException.ThrowIfNullOrWhiteSpace(PredictedLabelColumnName, nameof(PredictedLabelColumnName));
            else ArgumentException.ThrowIfNullOrWhiteSpace(ScoreColumnName, nameof(ScoreColumnName));
            if (RowKeyColumnName is not null) ArgumentException.ThrowIfNullOrWhiteSpace(RowKeyColumnName, nameof(RowKeyColumnName));
            ColumnChecks.CheckOutputName(nameof(OutputColumnName), OutputColumnName, InputColumns, "FairPredictedLabel");
            foreach (var (value, name) in new[] { (GlobalBudget, nameof(GlobalBudget)), (LocalBudget, nameof(LocalBudget)) })
                if (!(value >= 0)) throw new ArgumentOutOfRangeException(name, value, $"{name} is a mutual information in bits: give a value ≥ 0 (or +∞ for no constraint).");
            if (!Enum.IsDefined(Constraint))
                throw new ArgumentOutOfRangeException(nameof(Constraint), Constraint, "Give DemographicParity, EqualizedOdds or EqualOpportunity.");
            if (ShrinkageRows is { } shrinkage && !(shrinkage >= 0))
                throw new ArgumentOutOfRangeException(nameof(ShrinkageRows), shrinkage, "ShrinkageRows is a number of rows: give a value ≥ 0 (+∞ for the calibration alone), or null to choose it by cross-validation.");
            if (CrossFitFolds is < 0 or 1) throw new ArgumentOutOfRangeException(nameof(CrossFitFolds), CrossFitFolds, "Give 0 (no estimate) or at least 2 folds.");
            Solver?.Validate();
        }

        /// <summary>The options that name the columns the mitigator reads, with their values.</summary>
        private IEnumerable<(string Option, string? Column)> InputColumns =>
        [
            .. SensitiveColumns.Select(name => (SensitiveColumnNames is null ? nameof(SensitiveColumnName) : nameof(SensitiveColumnNames), (string?)name)),
            (nameof(ClientColumnName), ClientColumnName), (nameof(LabelColumnName), LabelColumnName),
            ScoreColumnName is null ? (nameof(PredictedLabelColumnName), PredictedLabelColumnName) : (nameof(ScoreColumnName), ScoreColumnName),
            RowKeyColumnName is null ? (nameof(FeatureColumnName), FeatureColumnName) : (nameof(RowKeyColumnName), RowKeyColumnName),
        ];
    }
}
