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
public sealed partial class FairnessMitigator : IEstimator<FairnessMitigatorModel>
{
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
