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
/// hold on new rows.
/// </summary>
/// <remarks>
/// <para><b>Input and output columns.</b> Reads the sensitive and client columns (text, or keys with text values),
/// a <see cref="bool"/> label (fitting only), the model's score (<see cref="float"/>: a probability, margin or
/// log-odds, any finite value, higher meaning more likely positive) or its
/// <see cref="bool"/> predicted label, and optionally a row-key column (text or number) or the feature vector for
/// the randomisation. Adds the <see cref="bool"/> column <see cref="Options.OutputColumnName"/>; all other columns
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
        /// <summary>The sensitive attribute Z. Default: "Sensitive".</summary>
        public string SensitiveColumnName { get; set; } = "Sensitive";

        /// <summary>The client (or any grouping) S. Default: "Client".</summary>
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
        /// strongest shrinkage within one standard error of the best held-out accuracy whose held-out disparities stay
        /// within the budgets (scores only; a binary prediction is not shrunk). Default: null.
        /// </summary>
        public double? ShrinkageRows { get; set; }

        /// <summary>The mitigated <see cref="bool"/> decision. Default: "FairPredictedLabel".</summary>
        public string OutputColumnName { get; set; } = "FairPredictedLabel";

        /// <summary>
        /// A stable per-row id (text or number) for the randomisation; null to hash the features. Rows that share an id
        /// (or, without one, their features) share their draw, so give an id when many rows are identical. Default: null.
        /// </summary>
        public string? RowKeyColumnName { get; set; }

        /// <summary>
        /// The feature vector hashed for the randomisation when there is no row key; when the data has no such
        /// column, a probability's rows are hashed by cell and value. Default: "Features".
        /// </summary>
        public string FeatureColumnName { get; set; } = MLExtensions.Training.DefaultColumnNames.Features;

        /// <summary>Seed of the row hash. Default: 1.</summary>
        public int Seed { get; set; } = 1;

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
            (nameof(SensitiveColumnName), SensitiveColumnName), (nameof(ClientColumnName), ClientColumnName), (nameof(LabelColumnName), LabelColumnName),
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
        foreach (var (name, role) in new[] { (_options.SensitiveColumnName, "sensitive"), (_options.ClientColumnName, "client"), (InputColumn, "score") })
            ColumnChecks.Require(inputSchema, name, role);
        return ScoringChain(KeyKindOf(inputSchema), "x => \"\"").GetOutputSchema(inputSchema);
    }

    private string InputColumn => _options.ScoreColumnName ?? _options.PredictedLabelColumnName;

    /// <summary>Reads the data once, solves the trade-off for the model's family and returns the fitted decision rule.</summary>
    public FairnessMitigatorModel Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        _options.Validate();
        var rows = MitigationData.Read(input, _options);
        CheckFolds(rows.Count, "the data has");
        var fitted = MitigationSolver.Solve(rows, _options, binned: false);
        var keyKind = KeyKindOf(input.Schema);
        if (keyKind == KeyKind.None) MitigationSolver.CheckKeylessRandomisation(rows, fitted.Rules, InputColumn);
        return Build(rows, fitted, keyKind, input, binned: false);
    }

    /// <summary>
    /// Counts scored rows into score histograms on agreed bin edges: what one party of a federated fit sends
    /// (<see cref="FairnessScoreHistograms.ToJson"/> or <see cref="FairnessScoreHistograms.ToCsv"/>), never its rows.
    /// The coordinator merges the parties' tables and fits with <see cref="Fit(FairnessScoreHistograms, DataViewSchema?)"/>.
    /// </summary>
    /// <remarks>
    /// Reads the client, sensitive, label and score columns the options name, with the same checks as
    /// <see cref="Fit(IDataView)"/> (text clients and groups, a <see cref="bool"/> label, a finite <see cref="float"/>
    /// score; errors name the column and row); a party's rows may be few, or of one label. Histograms need a score:
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
        var histograms = new FairnessScoreHistograms(binEdges);
        MitigationData.Scan(input, _options, r => histograms.Add(r.Client, r.Group, r.Label, r.Score), fitting: false);
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
    /// <see cref="FairnessMitigator"/>): the client and sensitive text columns and the <see cref="float"/> score, the row
    /// key or the features for the randomisation, and adds the <see cref="bool"/> <see cref="Options.OutputColumnName"/>.</para>
    /// <para>The scoring chain is built for <paramref name="inputSchema"/>, the schema of the data it will score (a
    /// party's <c>data.Schema</c>); null builds one from the options: client and sensitive as text, the score as
    /// <see cref="float"/>, the row key (when <see cref="Options.RowKeyColumnName"/> names one) as text, and no feature
    /// column. Give the schema for a numeric row key, or to hash the features. Without a row key or features, rows are
    /// hashed by cell and score, so rows with the same score share their draw; histograms cannot show such ties (a
    /// fit on rows refuses them), so give a row key.</para>
    /// </remarks>
    /// <param name="histograms">The merged histograms of all parties (at least two sensitive groups, both labels).</param>
    /// <param name="inputSchema">The schema of the data the model will score; null to build it from the options.</param>
    /// <exception cref="ArgumentException">An option or a column of the schema is wrong (the message names it), or <see cref="Options.ScoreColumnName"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="Options.CrossFitFolds"/> exceeds the rows counted.</exception>
    /// <exception cref="InvalidDataException">The histograms hold no rows, a single label or a single sensitive group.</exception>
    public FairnessMitigatorModel Fit(FairnessScoreHistograms histograms, DataViewSchema? inputSchema = null)
    {
        ArgumentNullException.ThrowIfNull(histograms);
        _options.Validate();
        RequireScore("fit from score histograms");
        var rows = histograms.ToRows();
        if (rows.Count == 0) throw new InvalidDataException("The score histograms hold no rows to fit the fairness mitigator on.");
        if (rows.All(r => r.Label == rows[0].Label))
            throw new InvalidDataException($"Every row the score histograms count has the label {(rows[0].Label ? histograms.PositiveLabel : histograms.NegativeLabel)}: the mitigator needs both classes.");
        CheckFolds(histograms.Rows, "the histograms count");
        var schema = inputSchema ?? ScoringSchema();
        CheckScoringSchema(schema);
        var keyKind = KeyKindOf(schema);
        var fitted = MitigationSolver.Solve(rows, _options, binned: true);
        return Build(rows, fitted, keyKind, new EmptyDataView(schema), binned: true);
    }

    private FairnessMitigatorModel Build(List<MitigationRow> rows, MitigationSolver.Fitted fitted, KeyKind keyKind, IDataView chainInput, bool binned)
    {
        var contract = new MitigationContract(_options.ClientColumnName, _options.SensitiveColumnName, InputColumn, _options.Seed, _options.PoolUnknownCells,
            fitted.Pooled, fitted.Rules);
        var chain = ScoringChain(keyKind, contract.Expression()).Fit(chainInput);
        var estimate = _options.CrossFitFolds >= 2 ? MitigationCrossFit.Estimate(rows, _options, fitted.Shrinkage, _options.CrossFitFolds, binned) : MitigationEstimate.Unavailable(0);
        return new FairnessMitigatorModel(chain, fitted.Solution, fitted.Rules, fitted.Pooled, estimate, fitted.Shrinkage);
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
        if (_options.SensitiveColumnName != _options.ClientColumnName) builder.AddColumn(_options.SensitiveColumnName, TextDataViewType.Instance);
        builder.AddColumn(_options.ScoreColumnName!, NumberDataViewType.Single);
        if (_options.RowKeyColumnName is { } key) builder.AddColumn(key, TextDataViewType.Instance);
        return builder.ToSchema();
    }

    private void CheckScoringSchema(DataViewSchema schema)
    {
        foreach (var (name, option, role) in new[] { (_options.ClientColumnName, nameof(Options.ClientColumnName), "client"), (_options.SensitiveColumnName, nameof(Options.SensitiveColumnName), "sensitive") })
            if (ColumnChecks.Require(schema, name, role).Type is not TextDataViewType)
                throw new ArgumentException($"The {role} column '{name}' of the scoring schema is {schema[name].Type}; the fairness mitigator reads clients and groups as text.", option);
        var score = ColumnChecks.Require(schema, _options.ScoreColumnName!, "score");
        if (score.Type != NumberDataViewType.Single)
            throw new ArgumentException($"The score column '{score.Name}' of the scoring schema is {score.Type}; the mitigator scores a Single.", nameof(Options.ScoreColumnName));
    }

    private enum KeyKind { None, Text, Number, Features }

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
    private IEstimator<ITransformer> ScoringChain(KeyKind key, string contractExpression)
    {
        var t = _mlContext.Transforms;
        var o = _options;
        IEstimator<ITransformer> chain = t.CopyColumns(MitigationColumns.Client, o.ClientColumnName)
            .Append(t.CopyColumns(MitigationColumns.Group, o.SensitiveColumnName))
            .Append(o.ScoreColumnName is { } score
                ? (IEstimator<ITransformer>)t.CopyColumns(MitigationColumns.Score, score)
                : t.Conversion.ConvertType(MitigationColumns.Score, o.PredictedLabelColumnName, DataKind.Single))
            .Append(t.Expression(MitigationColumns.Contract, contractExpression, MitigationColumns.Score));
        string[] temporaries = [MitigationColumns.Client, MitigationColumns.Group, MitigationColumns.Score, MitigationColumns.Contract, MitigationColumns.Decision];
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
