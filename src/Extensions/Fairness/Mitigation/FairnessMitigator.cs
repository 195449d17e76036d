using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Fairness.Tradeoff;
using MLExtensions.Training;

namespace MLExtensions.Fairness;

/// <summary>
/// Post-processing for fairness: finds the most accurate decision rule derived from a model's output whose global
/// and local disparities stay within budgets (<see cref="AccuracyFairnessTradeoff"/>; demographic parity, equalized
/// odds or equal opportunity), and applies it. From a score the rule is a threshold per (client, group) cell, "score ≥ t"
/// or, where a cell's score runs backwards, "score &lt; t", randomised between up to three thresholds (the ROC hull of
/// each cell, Hardt et al. 2016); from a binary prediction it keeps, flips or randomises the prediction per cell.
/// Small cells are shrunk toward their group's pooled rows (<see cref="Options.ShrinkageRows"/>) so that the rules
/// hold on new rows; under a budget each threshold sits in the gap between a cell's scores where new rows keep the
/// rate it had on the fitting rows (without one, at the group's calibrated ½ point).
/// </summary>
/// <remarks>
/// <para><b>Input and output columns.</b> Reads the client column and the sensitive column, or several whose
/// intersection is the group (<see cref="Options.SensitiveColumnNames"/>): text, <see cref="bool"/>, a number, or a
/// key with values (as <c>MapValueToKey</c> makes; a key is read as its value, a <see cref="bool"/> as
/// <c>True</c>/<c>False</c>, a number as ML.NET's <c>ConvertType</c> writes it as text, and NaN is a missing value).
/// Fitting reads them through the first steps of the saved chain, so the cells are named at fitting as the model
/// names them when it scores. It also reads a <see cref="bool"/> label (fitting only), the model's score (<see cref="float"/>: a probability, margin or
/// log-odds, any finite value, higher meaning more likely positive) or its
/// <see cref="bool"/> predicted label, and optionally a row-key column (text or number; 64-bit integers exactly) or
/// the feature vector for the randomisation (see <see cref="Options.FeatureColumnName"/> on identical rows). Adds the <see cref="bool"/> column <see cref="Options.OutputColumnName"/>; all other columns
/// pass through.</para>
/// <para>The randomisation is reproducible: a row's draw is a hash of the seed and the row (its key, else its
/// features, else its cell and probability), never a shared random stream, so scoring the same row twice, in any
/// order or batch, gives the same decision. The fitted <see cref="FairnessMitigatorModel"/> is a chain of ML.NET's
/// own saveable transformers: it saves and loads with the rest of a pipeline.</para>
/// <para><b>Without moving rows.</b> Each party counts its scored rows into <see cref="FairnessScoreHistograms"/>
/// (<see cref="ScoreHistograms"/>, or a warehouse's group-by read with <see cref="FairnessScoreHistograms.FromCsv"/>);
/// a coordinator merges them and fits with <see cref="Fit(FairnessScoreHistograms, DataViewSchema?)"/>. The model is
/// the same kind as one fitted on rows, with thresholds at the bins' edges.</para>
/// </remarks>
public sealed class FairnessMitigator : IEstimator<FairnessMitigatorModel>
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
        public string LabelColumnName { get; set; } = MLExtensions.Training.DefaultColumnNames.Label;

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
        public string FeatureColumnName { get; set; } = MLExtensions.Training.DefaultColumnNames.Features;

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
            copy.Seed = MLExtensions.Training.Seeds.Resolve(mlContext, Seed, nameof(FairnessMitigator));
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

    private readonly MLContext _mlContext;
    private readonly Options _options;

    /// <summary>Creates the estimator; most users call <c>mlContext.Fairness().Mitigate</c>.</summary>
    public FairnessMitigator(MLContext mlContext, Options options)
    {
        _mlContext = mlContext ?? throw new ArgumentNullException(nameof(mlContext));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        options.Validate();
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        _options.Validate();
        foreach (var (name, role) in _options.SensitiveColumns.Select(n => (n, "sensitive")).Append((_options.ClientColumnName, "client")).Append((InputColumn, "score")))
            ColumnChecks.Require(inputSchema, name, role);
        return ScoringChain((name, role) => CellColumn.Of(ColumnChecks.Require(inputSchema, name, role)), KeyKindOf(inputSchema), "x => \"\"").GetOutputSchema(inputSchema);
    }

    private string InputColumn => _options.ScoreColumnName ?? _options.PredictedLabelColumnName;

    /// <summary>Reads the data once, solves the trade-off for the model's family and returns the fitted decision rule.</summary>
    /// <exception cref="ArgumentException">An option is wrong, or a column is missing or of a type the mitigator cannot read (the message names it).</exception>
    /// <exception cref="InvalidDataException">
    /// A row holds a missing or unreadable value (the message names the column and row), the data has no rows, one
    /// label or one group, or rows that would share one randomised draw: tied scores without a row key or features, or
    /// identical features without a row key (see <see cref="Options.FeatureColumnName"/>).
    /// </exception>
    public FairnessMitigatorModel Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        _options.Validate();
        var keyKind = KeyKindOf(input.Schema);
        var o = _options.WithSeed(_mlContext);
        var rows = MitigationData.Read(_mlContext, input, o, keyKind == KeyKind.Features ? o.FeatureColumnName : null, out var draws);
        CheckFolds(rows.Count, "the data has");
        var fitted = MitigationSolver.Solve(rows, o, binned: false);
        if (keyKind == KeyKind.None) MitigationSolver.CheckKeylessRandomisation(rows, fitted.Rules, InputColumn);
        if (keyKind == KeyKind.Features) MitigationDraws.CheckSharedFeatureDraws(rows, draws!, fitted.Rules, _options.FeatureColumnName);
        return Build(rows, fitted, keyKind, input, o.RowSeed);
    }

    /// <summary>
    /// Counts scored rows into score histograms on agreed bin edges: what one party of a federated fit sends
    /// (<see cref="FairnessScoreHistograms.ToJson"/> or <see cref="FairnessScoreHistograms.ToCsv"/>), never its rows.
    /// The coordinator merges the parties' tables and fits with <see cref="Fit(FairnessScoreHistograms, DataViewSchema?)"/>.
    /// </summary>
    /// <remarks>
    /// Reads the client, sensitive, label and score columns the options name, with the same checks as
    /// <see cref="Fit(IDataView)"/> (clients and groups of any type it reads, a <see cref="bool"/> label, a finite
    /// <see cref="float"/> score; errors name the column and row); a party's rows may be few, or of one label. The
    /// table states the sensitive columns (<see cref="FairnessScoreHistograms.SensitiveColumnNames"/>), so tables
    /// counted on other columns do not merge with it. Histograms need a score:
    /// <see cref="Options.ScoreColumnName"/> may not be null.
    /// </remarks>
    /// <param name="input">The party's scored rows.</param>
    /// <param name="binEdges">The agreed edges; null for <see cref="FairnessScoreHistograms.DefaultBinEdges"/> (1,000 equal bins on [0, 1], for probabilities). Scores outside them are counted in the end bins.</param>
    /// <exception cref="ArgumentException">An option or column is wrong (the message names it), or the edges are invalid.</exception>
    /// <exception cref="InvalidDataException">A row has an empty client or group or a score that is not finite (the message names the row and column).</exception>
    public FairnessScoreHistograms ScoreHistograms(IDataView input, IReadOnlyList<double>? binEdges = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        _options.Validate();
        RequireScore("count score histograms");
        var histograms = new FairnessScoreHistograms(binEdges) { SensitiveColumnNames = _options.SensitiveColumns };
        MitigationData.Scan(_mlContext, input, _options, r => histograms.Add(r.Client, r.Group, r.Label, r.Score), fitting: false);
        return histograms;
    }

    /// <summary>
    /// Fits the mitigator from score histograms, merged from the parties' (<see cref="FairnessScoreHistograms.Merge"/>),
    /// without any row: each bin is its rows with the bin's lower edge for a score. The rules and the promise are
    /// exactly those <see cref="Fit(IDataView)"/> gives on the pooled rows with their scores moved to their bins' lower
    /// edges; for cross-validating the shrinkage and the cross-fitted estimate each bin's count is divided among the
    /// folds at random (seeded by <see cref="Options.Seed"/>), as its rows would be.
    /// </summary>
    /// <remarks>
    /// <para><b>Input and output columns.</b> The fitted model reads and writes what a model fitted on rows does (see
    /// <see cref="FairnessMitigator"/>): the client and sensitive columns and the <see cref="float"/> score, the row
    /// key or the features for the randomisation, and adds the <see cref="bool"/> <see cref="Options.OutputColumnName"/>.</para>
    /// <para>The scoring chain is built for <paramref name="inputSchema"/>, the schema of the data it will score (a
    /// party's <c>data.Schema</c>); null builds one from the options: client and sensitive as text, the score as
    /// <see cref="float"/>, the row key (when <see cref="Options.RowKeyColumnName"/> names one) as text, and no feature
    /// column. Give the schema for a numeric row key, key-typed or other non-text cell columns, or to hash the features. Without a row key or features, rows are
    /// hashed by cell and score, so rows with the same score share their draw; histograms cannot show such ties (a
    /// fit on rows refuses them), so give a row key.</para>
    /// </remarks>
    /// <param name="histograms">The merged histograms of all parties (at least two sensitive groups, both labels).</param>
    /// <param name="inputSchema">The schema of the data the model will score; null to build it from the options.</param>
    /// <exception cref="ArgumentException">
    /// An option or a column of the schema is wrong (the message names it), <see cref="Options.ScoreColumnName"/> is
    /// null, or the histograms state other sensitive columns than the options name.
    /// </exception>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="Options.CrossFitFolds"/> exceeds the rows counted.</exception>
    /// <exception cref="InvalidDataException">The histograms hold no rows, a single label or a single sensitive group.</exception>
    public FairnessMitigatorModel Fit(FairnessScoreHistograms histograms, DataViewSchema? inputSchema = null)
    {
        ArgumentNullException.ThrowIfNull(histograms);
        _options.Validate();
        RequireScore("fit from score histograms");
        if (histograms.SensitiveColumnNames is { } stated && !stated.SequenceEqual(_options.SensitiveColumns, StringComparer.Ordinal))
            throw new ArgumentException($"The score histograms were counted on the sensitive column{(stated.Count == 1 ? "" : "s")} {string.Join(", ", stated.Select(n => $"'{n}'"))}, " +
                                        $"but the options name {string.Join(", ", _options.SensitiveColumns.Select(n => $"'{n}'"))}: the model would score other groups than it was fitted on. " +
                                        "Set SensitiveColumnName or SensitiveColumnNames as the parties counted (same columns, same order).", nameof(histograms));
        var rows = histograms.ToRows();
        if (rows.Count == 0) throw new InvalidDataException("The score histograms hold no rows to fit the fairness mitigator on.");
        if (rows.All(r => r.Label == rows[0].Label))
            throw new InvalidDataException($"Every row the score histograms count has the label {(rows[0].Label ? histograms.PositiveLabel : histograms.NegativeLabel)}: the mitigator needs both classes.");
        CheckFolds(histograms.Rows, "the histograms count");
        var schema = inputSchema ?? ScoringSchema();
        CheckScoringSchema(schema);
        var keyKind = KeyKindOf(schema);
        var o = _options.WithSeed(_mlContext);
        var fitted = MitigationSolver.Solve(rows, o, binned: true);
        return Build(rows, fitted, keyKind, new EmptyDataView(schema), o.RowSeed);
    }

    private FairnessMitigatorModel Build(List<MitigationRow> rows, MitigationSolver.Fitted fitted, KeyKind keyKind, IDataView chainInput, int seed)
    {
        var contract = new MitigationContract(_options.ClientColumnName, _options.SensitiveDescription, InputColumn, seed, _options.PoolUnknownCells,
            fitted.Pooled, fitted.Rules);
        var chain = ScoringChain((name, role) => CellColumn.Of(ColumnChecks.Require(chainInput.Schema, name, role)), keyKind, contract.Expression()).Fit(chainInput);
        return new FairnessMitigatorModel(chain, fitted.Solution, fitted.Rules, fitted.Pooled, fitted.Estimate, fitted.Shrinkage,
            CellRocCurve.Of(fitted.Rules, fitted.Hulls));
    }

    private void CheckFolds(long rows, string what)
    {
        if (_options.CrossFitFolds > rows)
            throw new ArgumentOutOfRangeException(nameof(Options.CrossFitFolds), _options.CrossFitFolds,
                $"CrossFitFolds is {_options.CrossFitFolds} but {what} {rows} rows, so some folds would hold out nothing. " +
                $"Give at most {rows} folds (5 is usual), or 0 to skip the cross-fitted estimate.");
    }

    private void RequireScore(string what)
    {
        if (_options.ScoreColumnName is null)
            throw new ArgumentException($"ScoreColumnName is null, but to {what} the mitigator needs the model's score: histograms bin a score. " +
                                        "Name the score column (a probability, margin or log-odds).", nameof(Options.ScoreColumnName));
    }

    /// <summary>The columns a fit from histograms scores when no schema is given: text cell, Single score, text row key.</summary>
    private DataViewSchema ScoringSchema()
    {
        var builder = new DataViewSchema.Builder();
        builder.AddColumn(_options.ClientColumnName, TextDataViewType.Instance);
        foreach (var sensitive in _options.SensitiveColumns)
            if (sensitive != _options.ClientColumnName) builder.AddColumn(sensitive, TextDataViewType.Instance);
        builder.AddColumn(_options.ScoreColumnName!, NumberDataViewType.Single);
        if (_options.RowKeyColumnName is { } key) builder.AddColumn(key, TextDataViewType.Instance);
        return builder.ToSchema();
    }

    private void CheckScoringSchema(DataViewSchema schema)
    {
        // The cell columns: any type the chain reads (text, Boolean, number, key with values); others are refused by name.
        MitigationCells.Steps(_mlContext, _options, (name, role) => CellColumn.Of(ColumnChecks.Require(schema, name, role)));
        var score = ColumnChecks.Require(schema, _options.ScoreColumnName!, "score");
        if (score.Type != NumberDataViewType.Single)
            throw new ArgumentException($"The score column '{score.Name}' of the scoring schema is {score.Type}; the mitigator scores a Single.", nameof(Options.ScoreColumnName));
    }

    private enum KeyKind { None, Text, Number, Int64, UInt64, Features }

    private KeyKind KeyKindOf(DataViewSchema schema) => ChooseKey(
        name => Describe(ColumnChecks.Require(schema, name, "row key").Type),
        name => schema.GetColumnOrNull(name) is { } column ? Describe(column.Type) : null);

    /// <summary>The same choice from an estimator's input shape, so the promised schema is the fitted one.</summary>
    private KeyKind KeyKindOf(SchemaShape schema) => ChooseKey(
        name => Describe(ColumnChecks.Require(schema, name, "row key")),
        name => schema.FirstOrDefault(c => c.Name == name) is { Name: not null } column ? Describe(column) : null);

    private static (DataViewType Item, bool Vector) Describe(DataViewType type) => type is VectorDataViewType v ? (v.ItemType, true) : (type, false);

    private static (DataViewType Item, bool Vector) Describe(SchemaShape.Column column) => (column.ItemType, column.Kind != SchemaShape.Column.VectorKind.Scalar);

    /// <summary>
    /// What identifies a row for its draw: the row key (text or number) when named, else the feature vector when the
    /// data has one, else (probabilities only) its cell and score.
    /// </summary>
    private KeyKind ChooseKey(Func<string, (DataViewType Item, bool Vector)> requireKey, Func<string, (DataViewType Item, bool Vector)?> findFeatures)
    {
        if (_options.RowKeyColumnName is { } key)
            return requireKey(key) switch
            {
                (TextDataViewType, false) => KeyKind.Text,
                (NumberDataViewType n, false) when n == NumberDataViewType.Int64 => KeyKind.Int64,
                (NumberDataViewType n, false) when n == NumberDataViewType.UInt64 => KeyKind.UInt64,
                (NumberDataViewType, false) => KeyKind.Number,
                var (item, vector) => throw new ArgumentOutOfRangeException(nameof(Options.RowKeyColumnName), key,
                    $"The row key column '{key}' holds {(vector ? "vectors of " : "")}{item}; give a text or numeric column."),
            };
        if (findFeatures(_options.FeatureColumnName) is var (featureItem, featureVector))
            return featureVector && featureItem == NumberDataViewType.Single ? KeyKind.Features
                : throw new ArgumentOutOfRangeException(nameof(Options.FeatureColumnName), _options.FeatureColumnName,
                    $"The feature column '{_options.FeatureColumnName}' is not a Single vector, which the row hash reads. Name a row key (RowKeyColumnName) or another FeatureColumnName.");
        if (_options.ScoreColumnName is null)
            throw new ArgumentOutOfRangeException(nameof(Options.FeatureColumnName), _options.FeatureColumnName,
                $"Rows need an identity for the randomisation of a binary prediction: the data has no feature column '{_options.FeatureColumnName}'; set RowKeyColumnName (a stable id) or FeatureColumnName.");
        return KeyKind.None;
    }

    /// <summary>The saveable chain: copies into the mapping's columns, the contract, the decision, and clean-up.</summary>
    private IEstimator<ITransformer> ScoringChain(Func<string, string, CellColumn> describe, KeyKind key, string contractExpression)
    {
        var t = _mlContext.Transforms;
        var o = _options;
        var (cellSteps, cellTemporaries) = MitigationCells.Steps(_mlContext, o, describe);
        IEstimator<ITransformer> chain = cellSteps[0];
        foreach (var step in cellSteps.Skip(1)) chain = chain.Append(step);
        chain = chain
            .Append(o.ScoreColumnName is { } score
                ? (IEstimator<ITransformer>)t.CopyColumns(MitigationColumns.Score, score)
                : t.Conversion.ConvertType(MitigationColumns.Score, o.PredictedLabelColumnName, DataKind.Single))
            .Append(t.Expression(MitigationColumns.Contract, contractExpression, MitigationColumns.Score));
        string[] temporaries = [.. cellTemporaries, MitigationColumns.Score, MitigationColumns.Contract, MitigationColumns.Decision];
        switch (key)
        {
            case KeyKind.Text:
                chain = chain.Append(t.CopyColumns(MitigationColumns.Key, o.RowKeyColumnName!))
                    .Append(t.CustomMapping(new FairnessMitigationTextKeyMapping().GetMapping(), FairnessMitigationTextKeyMapping.ContractName));
                break;
            case KeyKind.Number:
                chain = chain.Append(t.Conversion.ConvertType(MitigationColumns.Key, o.RowKeyColumnName!, DataKind.Double))
                    .Append(t.CustomMapping(new FairnessMitigationNumberKeyMapping().GetMapping(), FairnessMitigationNumberKeyMapping.ContractName));
                break;
            case KeyKind.Int64:
                chain = chain.Append(t.CopyColumns(MitigationColumns.Key, o.RowKeyColumnName!))
                    .Append(t.CustomMapping(new FairnessMitigationInt64KeyMapping().GetMapping(), FairnessMitigationInt64KeyMapping.ContractName));
                break;
            case KeyKind.UInt64:
                chain = chain.Append(t.CopyColumns(MitigationColumns.Key, o.RowKeyColumnName!))
                    .Append(t.CustomMapping(new FairnessMitigationUInt64KeyMapping().GetMapping(), FairnessMitigationUInt64KeyMapping.ContractName));
                break;
            case KeyKind.Features:
                chain = chain.Append(t.CopyColumns(MitigationColumns.Key, o.FeatureColumnName))
                    .Append(t.CustomMapping(new FairnessMitigationFeatureKeyMapping().GetMapping(), FairnessMitigationFeatureKeyMapping.ContractName));
                break;
            default:
                chain = chain.Append(t.CustomMapping(new FairnessMitigationMapping().GetMapping(), FairnessMitigationMapping.ContractName));
                break;
        }
        if (key != KeyKind.None) temporaries = [.. temporaries, MitigationColumns.Key];
        return chain.Append(t.CopyColumns(o.OutputColumnName, MitigationColumns.Decision)).Append(t.DropColumns(temporaries));
    }
}
