using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Fairness.Information;
using MLExtensions.Training;

namespace MLExtensions.Fairness;

/// <summary>
/// Audits predictions for disparity with respect to one sensitive attribute or the intersection of several, globally
/// and within clients (or any grouping): <c>Fit</c> reads the data once into a <see cref="FairnessCounts"/> table and
/// returns a <see cref="FairnessAuditTransformer"/> with the <see cref="FairnessReport"/>.
/// </summary>
/// <remarks>
/// <para><b>Input and output columns.</b> Reads the sensitive, prediction, client and (optional) label columns. The
/// sensitive and client columns may be text, <see cref="bool"/>, a key or a number (integers as they are); the prediction may be
/// <see cref="bool"/>, a key, text, or a <see cref="float"/> score with a threshold. The label, if any, must take
/// the prediction's values: for a Boolean or score prediction it may be <see cref="bool"/> or numeric (positive when
/// &gt; 0, ML.NET's convention); otherwise the same categories as the prediction. Writes nothing: the fitted transformer passes rows through unchanged, so the
/// audit can sit anywhere in a pipeline. Missing values (empty or blank text, key 0, NaN) are errors naming column and row.</para>
/// <para><b>Several sensitive columns.</b> The sensitive attribute Z is then their intersection: a row's group is its
/// values joined with <c>" &amp; "</c> in the order the columns are named (<c>"Female &amp; Black"</c>), as in the
/// metric frame, and the count table records the columns (<see cref="FairnessCounts.SensitiveColumnNames"/>). A value
/// that would make such a name ambiguous (one holding <c>" &amp; "</c>, starting with <c>"&amp; "</c> or ending with <c>" &amp;"</c>) is an
/// error naming the column and row.</para>
/// <para>Values are counted in the one spelling of <see cref="FairnessCounts"/>: text without surrounding white space,
/// Booleans (and any casing of the text <c>true</c>/<c>false</c>) as <c>True</c>/<c>False</c>, numbers in invariant
/// culture; case is otherwise kept.</para>
/// </remarks>
public sealed class FairnessAuditEstimator : IEstimator<FairnessAuditTransformer>
{
    private readonly string[] _sensitive;
    private readonly string _prediction;
    private readonly string _client;
    private readonly string? _label;
    private readonly float? _threshold;
    private readonly PidOptions? _options;
    private readonly string? _positivePrediction;
    private readonly int _bootstrapSamples;
    private readonly int _seed;

    internal FairnessAuditEstimator(string[] sensitive, string prediction, string client, string? label, float? threshold, PidOptions? options,
        int bootstrapSamples, int seed, string? positivePrediction = null)
    {
        if (positivePrediction is not null) ArgumentException.ThrowIfNullOrWhiteSpace(positivePrediction);
        options?.Validate();
        _positivePrediction = positivePrediction is null ? null : ValueReader.Canonical(positivePrediction);
        ArgumentOutOfRangeException.ThrowIfNegative(bootstrapSamples);
        (_bootstrapSamples, _seed) = (bootstrapSamples, seed);
        _sensitive = SensitiveNames(sensitive);
        ArgumentException.ThrowIfNullOrWhiteSpace(prediction);
        ArgumentException.ThrowIfNullOrWhiteSpace(client);
        if (threshold is float t && !float.IsFinite(t)) throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "The threshold must be finite.");
        (_prediction, _client, _label, _threshold, _options) = (prediction, client, label, threshold, options);
    }

    /// <summary>Checks the sensitive column names: at least one, none blank, none twice.</summary>
    private static string[] SensitiveNames(string[] names)
    {
        const string parameter = "sensitiveColumnNames";
        ArgumentNullException.ThrowIfNull(names, parameter);
        if (names.Length == 0) throw new ArgumentException("Name at least one sensitive column.", parameter);
        for (int i = 0; i < names.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(names[i]))
                throw new ArgumentException($"Sensitive column name {i} of {names.Length} is {(names[i] is null ? "null" : "blank")}; name each sensitive column.", parameter);
            if (Array.IndexOf(names, names[i], 0, i) is var earlier and >= 0)
                throw new ArgumentException($"The sensitive column '{names[i]}' is named twice (names {earlier} and {i}); name each column once.", parameter);
        }
        return (string[])names.Clone();
    }

    /// <summary>Counts the data's rows and builds the report.</summary>
    public FairnessAuditTransformer Fit(IDataView input) => new(FairnessReportBuilder.Build(Count(input), _options, _bootstrapSamples, _seed));

    /// <summary>Counts the data's rows without building a report: what each party of a federated audit shares.</summary>
    /// <remarks>The table states the sensitive columns (<see cref="FairnessCounts.SensitiveColumnNames"/>), so tables counted on other columns do not merge with it.</remarks>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing (the message names it and lists those present).</exception>
    /// <exception cref="ArgumentException">A column's type cannot be audited, or a score prediction has no threshold (the message names the column).</exception>
    /// <exception cref="InvalidDataException">No rows, a missing value, or values of several sensitive columns that would name their group ambiguously (column and row named).</exception>
    public FairnessCounts Count(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var sensitive = _sensitive.Select(name => ColumnChecks.Require(input.Schema, name, "sensitive")).ToArray();
        var prediction = ColumnChecks.Require(input.Schema, _prediction, "prediction");
        var client = ColumnChecks.Require(input.Schema, _client, "client");
        var label = _label is null ? (DataViewSchema.Column?)null : ColumnChecks.Require(input.Schema, _label, "label");
        foreach (var column in sensitive) CheckType(column.Name, column.Type, "sensitive");
        CheckType(prediction.Name, prediction.Type, "prediction");
        CheckType(client.Name, client.Type, "client");
        if (label is { } checkedLabel) CheckType(checkedLabel.Name, checkedLabel.Type, "label");
        if (prediction.Type == NumberDataViewType.Single && _threshold is null)
            throw new ArgumentException($"Prediction column '{prediction.Name}' is a score; give a threshold (predicted positive when score ≥ threshold).");

        bool binaryPrediction = prediction.Type is BooleanDataViewType || prediction.Type == NumberDataViewType.Single;
        var counts = new FairnessCounts { SensitiveColumnNames = _sensitive };
        if (binaryPrediction) counts.PositivePrediction = "True";
        if (_positivePrediction is not null)
        {
            if (binaryPrediction && _positivePrediction != "True")
                throw new ArgumentException($"Prediction column '{prediction.Name}' is {prediction.Type}: its positive value is True; do not name another.");
            counts.PositivePrediction = _positivePrediction;
        }
        var columns = new List<DataViewSchema.Column>(sensitive) { prediction, client };
        if (label is { } l) columns.Add(l);
        using var cursor = input.GetRowCursor(columns.DistinctBy(c => c.Index));
        var readSensitive = sensitive.Length == 1 ? ValueReader.For(cursor, sensitive[0], null) : IntersectionReader.ForIntersection(cursor, sensitive);
        var readPrediction = ValueReader.For(cursor, prediction, _threshold);
        var readClient = ValueReader.For(cursor, client, null);
        var readLabel = label is { } lc ? ValueReader.ForLabel(cursor, lc, binaryPrediction) : null;
        // The readers hand out one string instance per category, so rows are tallied by reference (no hashing of
        // text per row) and moved into the table at the end.
        var tally = new Dictionary<(string, string, string, string?), long>(SameInstances.Instance);
        while (cursor.MoveNext())
        {
            long row = cursor.Position;
            var key = (readClient(row), readSensitive(row), readPrediction(row), readLabel?.Invoke(row));
            tally[key] = tally.GetValueOrDefault(key) + 1;
        }
        foreach (var ((c, z, y, truth), n) in tally) counts.Add(c, z, y, truth, n);
        if (counts.Rows == 0) throw new InvalidDataException("The data has no rows to audit.");
        return counts;
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        foreach (var name in _sensitive) Check(ColumnChecks.Require(inputSchema, name, "sensitive"), "sensitive");
        Check(ColumnChecks.Require(inputSchema, _prediction, "prediction"), "prediction");
        Check(ColumnChecks.Require(inputSchema, _client, "client"), "client");
        if (_label is not null) Check(ColumnChecks.Require(inputSchema, _label, "label"), "label");
        return inputSchema;

        static void Check(SchemaShape.Column column, string role)
        {
            if (column.Kind != SchemaShape.Column.VectorKind.Scalar)
                throw new ArgumentException($"The {role} column '{column.Name}' is a vector of {column.ItemType}; an audit reads one value per row: text, Boolean, key or number.");
            CheckType(column.Name, column.ItemType, role);
        }
    }

    /// <summary>Refuses a column whose values an audit cannot read as categories, naming it.</summary>
    private static void CheckType(string name, DataViewType type, string role)
    {
        if (type is not (TextDataViewType or BooleanDataViewType or KeyDataViewType or NumberDataViewType))
            throw new ArgumentException($"The {role} column '{name}' is {type}; an audit reads one value per row: text, Boolean, key or number.");
    }
}

/// <summary>
/// The fitted audit: holds the <see cref="FairnessReport"/> and passes rows through unchanged.
/// </summary>
/// <remarks>
/// <b>Input and output columns.</b> None are read or written when transforming. Saved with the pipeline as a
/// pass-through step; the report itself is not part of the saved model (export it with
/// <see cref="FairnessReport.ToJson"/>).
/// </remarks>
public sealed class FairnessAuditTransformer : ITransformer
{
    private static readonly TransformerChain<ITransformer> PassThrough = new();

    internal FairnessAuditTransformer(FairnessReport report) => Report = report;

    /// <summary>What the audit found.</summary>
    public FairnessReport Report { get; }

    /// <inheritdoc />
    public bool IsRowToRowMapper => true;

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => inputSchema;

    /// <inheritdoc />
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => ((ITransformer)PassThrough).GetRowToRowMapper(inputSchema);

    /// <inheritdoc />
    public IDataView Transform(IDataView input) => input;

    void ICanSaveModel.Save(ModelSaveContext ctx) => ((ICanSaveModel)PassThrough).Save(ctx);
}

/// <summary>Equality of category tuples by string instance.</summary>
internal sealed class SameInstances : IEqualityComparer<(string, string, string, string?)>
{
    public static readonly SameInstances Instance = new();

    public bool Equals((string, string, string, string?) x, (string, string, string, string?) y) =>
        ReferenceEquals(x.Item1, y.Item1) && ReferenceEquals(x.Item2, y.Item2) && ReferenceEquals(x.Item3, y.Item3) && ReferenceEquals(x.Item4, y.Item4);

    public int GetHashCode((string, string, string, string?) key) => HashCode.Combine(
        System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(key.Item1), System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(key.Item2),
        System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(key.Item3), key.Item4 is null ? 0 : System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(key.Item4));
}

/// <summary>Reads the sensitive group of several sensitive columns, one string instance per group.</summary>
internal static class IntersectionReader
{
    /// <summary>
    /// Reads the group of several sensitive columns: their values joined with <c>" &amp; "</c>, one string instance
    /// per group. Refuses, naming the columns and row, values whose joined name would read back as other values.
    /// </summary>
    public static Func<long, string> ForIntersection(DataViewRowCursor cursor, IReadOnlyList<DataViewSchema.Column> columns)
    {
        var readers = columns.Select(c => ValueReader.For(cursor, c, null)).ToArray();
        var buffer = new string[readers.Length];
        // Each reader hands out one instance per value, so a group is found by the instances of its values.
        var groups = new Dictionary<string[], string>(SameInstanceArrays.Instance);
        return row =>
        {
            for (int i = 0; i < readers.Length; i++) buffer[i] = readers[i](row);
            if (!groups.TryGetValue(buffer, out var group))
            {
                group = FairnessCounts.JoinIntersection(buffer) ?? throw new InvalidDataException(
                    $"Row {row}: the values {string.Join(", ", buffer.Select((v, i) => $"'{v}' (column '{columns[i].Name}')"))} join into the group " +
                    $"'{string.Join(FairnessCounts.IntersectionSeparator, buffer)}', which reads back as other values: a value of several sensitive columns " +
                    $"may not hold '{FairnessCounts.IntersectionSeparator}', start with '& ' or end with ' &'. Replace such values (e.g. 'and') before auditing.");
                groups[(string[])buffer.Clone()] = group;
            }
            return group;
        };
    }

    /// <summary>Equality of value arrays by string instance.</summary>
    private sealed class SameInstanceArrays : IEqualityComparer<string[]>
    {
        public static readonly SameInstanceArrays Instance = new();

        public bool Equals(string[]? x, string[]? y)
        {
            if (x is null || y is null || x.Length != y.Length) return ReferenceEquals(x, y);
            for (int i = 0; i < x.Length; i++)
                if (!ReferenceEquals(x[i], y[i])) return false;
            return true;
        }

        public int GetHashCode(string[] values)
        {
            var hash = new HashCode();
            foreach (var v in values) hash.Add(System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(v));
            return hash.ToHashCode();
        }
    }
}
