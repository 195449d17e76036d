using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using MLExtensions.Training;

namespace MLExtensions.Fairness;

/// <summary>
/// The count table behind a fairness audit: rows per (client, sensitive value, prediction, label). Counts are all an
/// audit needs, and they add up: each client can count its own rows, and a coordinator merges the tables
/// (<see cref="Merge"/>) and computes the same report as on the pooled rows, without seeing a single row.
/// </summary>
/// <remarks>
/// <para><b>Values.</b> A value (client, sensitive value, prediction, label, positive prediction) has one spelling,
/// whichever road it comes by (<see cref="Add"/>, <see cref="FromCsv"/>, <see cref="FromJson"/>, the audit's
/// columns), so parties that export the same data differently still merge into the same groups: surrounding white
/// space is removed, and any casing of <c>true</c> or <c>false</c> becomes <c>True</c> or <c>False</c>, as ML.NET's
/// Boolean columns read, so a Boolean column and a warehouse's text <c>true</c> are one prediction. Otherwise case
/// is kept: <c>f</c> and <c>F</c> are two groups. A value that is empty or only white space is refused, naming it.</para>
/// <para><b>Several sensitive columns.</b> An audit of several sensitive columns counts their intersection: the
/// sensitive value of a cell is the columns' values joined with <c>" &amp; "</c> in the order of
/// <see cref="SensitiveColumnNames"/> (<c>"Female &amp; Black"</c>), as the metric frame names its groups. In such a
/// table each part takes its one spelling (<c>"Female  &amp;  true"</c> is <c>"Female &amp; True"</c>), and a value
/// that does not split into one non-blank part per column is refused.</para>
/// <para><b>Counts.</b> Every sum is checked: a cell's count or the table's total that would pass
/// <see cref="long.MaxValue"/> is refused (<see cref="OverflowException"/> naming the cell), never wrapped.</para>
/// </remarks>
public sealed class FairnessCounts
{
    private readonly Dictionary<(string Client, string Sensitive, string Prediction, string? Label), long> _cells = new();

    /// <summary>Whether the rows carried labels.</summary>
    public bool HasLabels { get; private set; }

    private readonly string[]? _sensitiveColumnNames;

    /// <summary>
    /// The sensitive columns the table was counted on, in the order their values are joined (see
    /// <see cref="FairnessCounts"/>); null when not stated (a table built with <see cref="Add"/> or read from a
    /// group-by without a <c># sensitiveColumnNames=</c> line). Set it before adding rows; names are stored without
    /// surrounding white space. Tables that state different columns do not merge.
    /// </summary>
    /// <exception cref="ArgumentException">Set to an empty list, or one with a blank or repeated name.</exception>
    public IReadOnlyList<string>? SensitiveColumnNames
    {
        get => _sensitiveColumnNames is null ? null : Array.AsReadOnly(_sensitiveColumnNames);
        init => _sensitiveColumnNames = value is null ? null : ColumnNames(value, (index, problem) => new ArgumentException(
            $"Sensitive column name {index} {problem}; name each sensitive column once.", nameof(SensitiveColumnNames)));
    }

    /// <summary>Checks and trims a list of sensitive column names; <paramref name="refuse"/> makes the exception (index, problem).</summary>
    internal static string[] ColumnNames(IReadOnlyList<string?> names, Func<int, string, Exception> refuse)
    {
        if (names.Count == 0) throw refuse(0, "is missing: the list is empty");
        var trimmed = new string[names.Count];
        for (int i = 0; i < names.Count; i++)
        {
            trimmed[i] = names[i]?.Trim() ?? throw refuse(i, "is null");
            if (trimmed[i].Length == 0) throw refuse(i, "is blank");
            int earlier = Array.IndexOf(trimmed, trimmed[i], 0, i);
            if (earlier >= 0) throw refuse(i, $"repeats '{trimmed[i]}' (name {earlier})");
        }
        return trimmed;
    }

    /// <summary>The sensitive columns as messages name them.</summary>
    internal static string Columns(IReadOnlyList<string>? names) => names is null ? "(not stated)" : string.Join(", ", names.Select(n => $"'{n}'"));

    private string? _positivePrediction;

    /// <summary>
    /// The value of a prediction that counts as positive (for parity and opportunity gaps), if binary; null when not
    /// stated (a report then takes the later of two predictions in ordinal order).
    /// </summary>
    public string? PositivePrediction
    {
        get => _positivePrediction;
        internal set => _positivePrediction = value is null ? null
            : ValueReader.Canonical(value) ?? throw new ArgumentException("The positive prediction is blank; name a prediction value, or null for none.", nameof(PositivePrediction));
    }

    private long _rows;

    /// <summary>
    /// Number of rows counted. Exact: the table refuses counts whose total a <see cref="long"/> cannot hold, so this
    /// and every sum of cells (a client's rows, a group's rows) is exact.
    /// </summary>
    public long Rows => _rows;

    /// <summary>Every non-empty cell and its count.</summary>
    public IReadOnlyDictionary<(string Client, string Sensitive, string Prediction, string? Label), long> Cells => _cells;

    /// <summary>
    /// Counts <paramref name="count"/> rows (default one) with these values, adding to what the cell already holds;
    /// a count of 0 changes nothing.
    /// </summary>
    /// <remarks>Values are stored in their one spelling (see <see cref="FairnessCounts"/>): <c>" true"</c> counts as <c>True</c>.</remarks>
    /// <param name="client">The client (or any grouping).</param>
    /// <param name="sensitive">The sensitive value.</param>
    /// <param name="prediction">The prediction.</param>
    /// <param name="label">The true label; null in a table without labels.</param>
    /// <param name="count">Rows to count, ≥ 0. Default: 1.</param>
    /// <exception cref="ArgumentException">A value is null, empty or white space, the count is negative, or the labelling differs from the table's.</exception>
    /// <exception cref="OverflowException">The cell's count or the table's row total would pass <see cref="long.MaxValue"/> (the message names the cell).</exception>
    public void Add(string client, string sensitive, string prediction, string? label, long count = 1)
    {
        client = Value(client, nameof(client));
        sensitive = _sensitiveColumnNames is { Length: > 1 } columns ? Intersection(sensitive, columns) : Value(sensitive, nameof(sensitive));
        prediction = Value(prediction, nameof(prediction));
        if (label is not null) label = Value(label, nameof(label));
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (count == 0) return;
        if ((label is null && HasLabels) || (label is not null && !HasLabels && _cells.Count > 0))
            throw new ArgumentException("A count table holds rows either all with labels or all without; audit every row with the same columns.", nameof(label));
        if (label is not null) HasLabels = true;
        var key = (client, sensitive, prediction, label);
        long held = _cells.GetValueOrDefault(key);
        if (held > long.MaxValue - count)
            throw new OverflowException($"Adding {count} rows to the cell {Describe(key)}, which holds {held}, overflows its count (at most {long.MaxValue}).");
        if (_rows > long.MaxValue - count)
            throw new OverflowException($"Adding {count} rows to the cell {Describe(key)} takes the table's {_rows} rows past {long.MaxValue}.");
        _cells[key] = held + count;
        _rows += count;
    }

    /// <summary>The separator of the values of several sensitive columns in a group's name.</summary>
    internal const string IntersectionSeparator = " & ";

    /// <summary>
    /// The parts of an intersection value, each in its one spelling; null when the value does not split into
    /// <paramref name="parts"/> non-blank parts at <see cref="IntersectionSeparator"/>.
    /// </summary>
    internal static string[]? SplitIntersection(string value, int parts)
    {
        var split = value.Split(IntersectionSeparator);
        if (split.Length != parts) return null;
        for (int i = 0; i < split.Length; i++)
            if ((split[i] = ValueReader.Canonical(split[i])!) is null) return null;
        return split;
    }

    /// <summary>
    /// The group named by the values of several sensitive columns (each already in its one spelling), or null when
    /// that name would read back as other values (a value holding <c>" &amp; "</c>, starting with <c>"&amp; "</c> or
    /// ending with <c>" &amp;"</c>), so two groups could share it.
    /// </summary>
    internal static string? JoinIntersection(IReadOnlyList<string> values)
    {
        var joined = string.Join(IntersectionSeparator, values);
        var back = SplitIntersection(joined, values.Count);
        return back is not null && back.SequenceEqual(values, StringComparer.Ordinal) ? joined : null;
    }

    internal static string Intersection(string value, string[] columns)
    {
        ArgumentNullException.ThrowIfNull(value, "sensitive");
        var parts = SplitIntersection(value, columns.Length) ?? throw new ArgumentException(
            $"The sensitive value '{value}' is not an intersection of the table's {columns.Length} sensitive columns {Columns(columns)}: " +
            $"write one non-blank value per column, joined with '{IntersectionSeparator}' in that order.", "sensitive");
        return string.Join(IntersectionSeparator, parts);
    }

    private static string Value(string value, string name)
    {
        ArgumentNullException.ThrowIfNull(value, name);
        return ValueReader.Canonical(value) ?? throw new ArgumentException(
            $"The {name} value is {(value.Length == 0 ? "empty" : "blank (white space only)")}; every counted row needs one.", name);
    }

    /// <summary>A cell as messages name it.</summary>
    internal static string Describe((string Client, string Sensitive, string Prediction, string? Label) cell) =>
        $"(client '{cell.Client}', sensitive '{cell.Sensitive}', prediction '{cell.Prediction}'{(cell.Label is null ? "" : $", label '{cell.Label}'")})";

    /// <summary>Adds tables counted separately (e.g. one per client) into one.</summary>
    /// <remarks>
    /// A table's <see cref="PositivePrediction"/> (or <see cref="SensitiveColumnNames"/>) of null means "not stated": it
    /// joins a table that states one, and the merged table takes the stated value. Two tables that state different
    /// values are refused: columns must be the same names in the same order. A table without cells
    /// joins any other (it has no rows to disagree about labels).
    /// </remarks>
    /// <param name="tables">The tables; none may be null.</param>
    /// <exception cref="ArgumentNullException">The array, or one of the tables (the message names its index), is null.</exception>
    /// <exception cref="ArgumentException">
    /// Some tables have labels and others not, two tables state different positive predictions or different
    /// <see cref="SensitiveColumnNames"/>, or a table that states none holds a sensitive value that is not an
    /// intersection of the stated columns.
    /// </exception>
    /// <exception cref="OverflowException">A merged cell's count or the merged row total would pass <see cref="long.MaxValue"/> (the message names the table and cell).</exception>
    public static FairnessCounts Merge(params FairnessCounts[] tables)
    {
        ArgumentNullException.ThrowIfNull(tables);
        if (tables.Length == 0) throw new ArgumentException("Nothing to merge.", nameof(tables));
        for (int i = 0; i < tables.Length; i++)
            if (tables[i] is null) throw new ArgumentNullException(nameof(tables), $"The count table at index {i} of the {tables.Length} to merge is null; merge only tables that were counted or read.");
        int labelled = Array.FindIndex(tables, t => t._cells.Count > 0 && t.HasLabels);
        int unlabelled = Array.FindIndex(tables, t => t._cells.Count > 0 && !t.HasLabels);
        if (labelled >= 0 && unlabelled >= 0)
            throw new ArgumentException($"Count table {labelled} has labels and table {unlabelled} does not; audit all clients with the same columns.", nameof(tables));
        int stated = Array.FindIndex(tables, t => t.PositivePrediction is not null);
        if (stated >= 0)
            for (int i = stated + 1; i < tables.Length; i++)
                if (tables[i].PositivePrediction is { } other && other != tables[stated].PositivePrediction)
                    throw new ArgumentException($"The tables disagree on the positive prediction: table {stated} states '{tables[stated].PositivePrediction}', " +
                                                $"table {i} states '{other}'. Count every party with the same positive prediction.", nameof(tables));
        int named = TableMerging.AgreedSensitiveColumns(tables.Select(t => t.SensitiveColumnNames).ToArray(), "tables", nameof(tables));
        var merged = new FairnessCounts
        {
            PositivePrediction = stated >= 0 ? tables[stated].PositivePrediction : null,
            SensitiveColumnNames = named >= 0 ? tables[named].SensitiveColumnNames : null,
        };
        for (int i = 0; i < tables.Length; i++)
            TableMerging.AddTable(i, "table", tables[i].SensitiveColumnNames, merged.SensitiveColumnNames, nameof(tables), () =>
            {
                foreach (var ((client, sensitive, prediction, label), count) in tables[i]._cells) merged.Add(client, sensitive, prediction, label, count);
            });
        return merged;
    }

    private const string Format = "mlextensions.fairness-counts/1";

    /// <summary>
    /// The table as JSON: what one party of a federated audit sends (counts only, never rows). Read back with
    /// <see cref="FromJson"/>; merging the parties' tables gives exactly the pooled report.
    /// </summary>
    public string ToJson() => JsonSerializer.Serialize(new CountsDocument(Format, HasLabels, PositivePrediction, _sensitiveColumnNames,
        OrderedCells().Select(c => new CountCell(c.Key.Client, c.Key.Sensitive, c.Key.Prediction, c.Key.Label, c.Value)).ToArray()), FairnessJson.Options);

    /// <summary>Reads a table written by <see cref="ToJson"/>.</summary>
    /// <remarks>
    /// Every cell needs <c>client</c>, <c>sensitive</c>, <c>prediction</c> and <c>count</c>; <c>label</c> is null or
    /// absent in a table without labels. <c>sensitiveColumnNames</c> (absent when not stated) lists the sensitive
    /// columns; with several, every cell's sensitive value must be their intersection (see <see cref="FairnessCounts"/>). A table lists each cell once: a cell written twice (a party's table
    /// pasted in twice) is refused, where <see cref="Add"/> would add it; cells that differ only in spelling (see
    /// <see cref="FairnessCounts"/>) are added into one. Without <c>hasLabels</c> the table's labelling is read from
    /// its cells, which must then agree.
    /// </remarks>
    /// <exception cref="InvalidDataException">
    /// The text is not such a table, or a cell is null, incomplete, written twice, labelled unlike the others, or
    /// invalid (the message names it).
    /// </exception>
    public static FairnessCounts FromJson(string json)
    {
        var document = FairnessJson.Read<CountsDocument>(json, "fairness count table");
        if (document is null || document.Format != Format || document.Cells is null)
            throw new InvalidDataException($"The text is not a fairness count table of format '{Format}' (found '{document?.Format}').");
        if (document.PositivePrediction is { } p && ValueReader.Canonical(p) is null)
            throw new InvalidDataException("The count table's positivePrediction is blank; write a prediction value, or null for none.");
        var table = new FairnessCounts
        {
            PositivePrediction = document.PositivePrediction,
            SensitiveColumnNames = document.SensitiveColumnNames is { } names
                ? ColumnNames(names, (index, problem) => new InvalidDataException($"The count table's sensitiveColumnNames: name {index} {problem}."))
                : null,
        };
        var first = new Dictionary<(string, string, string, string?), int>();
        for (int i = 0; i < document.Cells.Length; i++)
        {
            var cell = document.Cells[i] ?? throw new InvalidDataException(
                $"The count table's cell {i} is null; each cell is an object with client, sensitive, prediction, label and count.");
            string? missing = cell.Client is null ? "client" : cell.Sensitive is null ? "sensitive" : cell.Prediction is null ? "prediction" : cell.Count is null ? "count" : null;
            if (missing is not null) throw new InvalidDataException($"The count table's cell {i} has no '{missing}'; each cell needs client, sensitive, prediction and count.");
            if (document.HasLabels is bool stated && stated != cell.Label is not null)
                throw new InvalidDataException($"The count table's cell {i} {(cell.Label is null ? "lacks" : "has")} a label while the table says hasLabels = {stated}.");
            if (document.HasLabels is null && i > 0 && document.Cells[0]!.Label is not null != cell.Label is not null)
                throw new InvalidDataException($"The count table's cell {i} {(cell.Label is null ? "lacks" : "has")} a label while cell 0 {(cell.Label is null ? "has one" : "has none")}; " +
                                               "a table's rows are all labelled or all unlabelled.");
            var key = (cell.Client!, cell.Sensitive!, cell.Prediction!, cell.Label);
            Checked(() => table.Add(key.Item1, key.Item2, key.Item3, key.Item4, cell.Count!.Value), $"cell {i}");
            if (first.TryGetValue(key, out int earlier))
                throw new InvalidDataException($"The count table lists cells {earlier} and {i} with the same values {Describe(key)}; a table lists each cell once " +
                                               "(was a party's table pasted in twice?). Merge separate tables with FairnessCounts.Merge.");
            first[key] = i;
        }
        return table;
    }

    private const string CsvHeader = "client,sensitive,prediction,label,count";

    /// <summary>
    /// The table as CSV with the header <c>client,sensitive,prediction,label,count</c> (label empty without labels):
    /// the shape a warehouse's group-by returns (see <see cref="FromCsv"/>). Before the header, comment lines carry
    /// what the counts alone do not say: <c># positivePrediction=…</c> (when stated),
    /// <c># sensitiveColumnNames=…</c> (when stated: the names as fields, comma-separated) and <c># hasLabels=true</c> or
    /// <c>false</c>. Fields holding a comma, a quote or a line break are quoted (<c>""</c> for a quote).
    /// </summary>
    public string ToCsv()
    {
        var csv = new StringBuilder();
        if (PositivePrediction is { } positive) csv.Append("# positivePrediction=").Append(FairnessCsv.Quote(positive)).Append('\n');
        if (_sensitiveColumnNames is { } names) csv.Append("# sensitiveColumnNames=").Append(string.Join(",", names.Select(FairnessCsv.Quote))).Append('\n');
        csv.Append("# hasLabels=").Append(HasLabels ? "true" : "false").Append('\n');
        csv.Append(CsvHeader).Append('\n');
        foreach (var ((client, sensitive, prediction, label), count) in OrderedCells())
            csv.Append(FairnessCsv.Quote(client)).Append(',').Append(FairnessCsv.Quote(sensitive)).Append(',').Append(FairnessCsv.Quote(prediction)).Append(',')
                .Append(label is null ? "" : FairnessCsv.Quote(label)).Append(',').Append(count.ToString(CultureInfo.InvariantCulture)).Append('\n');
        return csv.ToString();
    }

    /// <summary>
    /// Reads counts in the CSV shape of <see cref="ToCsv"/>, e.g. the result of
    /// <c>SELECT client, sensitive, prediction, label, COUNT(*) AS count FROM scored GROUP BY client, sensitive, prediction, label</c>
    /// run where the rows live (SQL, Spark): the audit then moves no rows, only this table.
    /// </summary>
    /// <remarks>
    /// <para>The file is RFC 4180 CSV: fields may be quoted, with <c>""</c> for a quote, and a quoted field may hold
    /// commas and line breaks; a leading byte-order mark is skipped and blank lines are ignored. An empty (or blank) label
    /// column means a table without labels. A table lists each cell once: a cell on two lines (an export appended
    /// twice) is refused, where <see cref="Add"/> would add it. Values take their one spelling (see
    /// <see cref="FairnessCounts"/>); lines that differ only there, such as <c>true</c> and <c>TRUE</c>, are groups a
    /// warehouse kept apart and are added into one cell.</para>
    /// <para>Lines starting with <c>#</c> before the header are comments. Three of them are read, as
    /// <see cref="ToCsv"/> writes them: <c># positivePrediction=value</c> (the value quoted as a field),
    /// <c># sensitiveColumnNames=Sex,Race</c> (the names as fields, trimmed; with several, each line's sensitive value
    /// must be their intersection, e.g. <c>Female &amp; Black</c>, as SQL's <c>sex || ' &amp; ' || race</c> writes it) and
    /// <c># hasLabels=true</c> or <c>false</c>, which every line's label column must then match; others are ignored.
    /// A group-by result has no such line: give its positive prediction as <paramref name="positivePrediction"/>,
    /// or the report takes the later of two predictions in ordinal order.</para>
    /// </remarks>
    /// <param name="reader">The CSV text.</param>
    /// <param name="positivePrediction">
    /// The prediction that counts as positive, for a CSV that does not state it; null to take the CSV's
    /// <c># positivePrediction</c> line, if any. Default: null.
    /// </param>
    /// <exception cref="ArgumentException"><paramref name="positivePrediction"/> is blank, or differs from the value the CSV states.</exception>
    /// <exception cref="InvalidDataException">
    /// The header is missing, a line is malformed, a cell is listed twice, its count overflows, or a quoted field is
    /// never closed (the message names the line).
    /// </exception>
    public static FairnessCounts FromCsv(TextReader reader, string? positivePrediction = null)
    {
        ArgumentNullException.ThrowIfNull(reader);
        if (positivePrediction is not null && string.IsNullOrWhiteSpace(positivePrediction))
            throw new ArgumentException("The positive prediction is blank; give a prediction value, or null to take the CSV's own.", nameof(positivePrediction));
        var records = new FairnessCsv.CsvRecords(reader, "count CSV");
        (string Value, int Line)? statedPositive = null;
        (bool Value, int Line)? statedLabels = null;
        (string[] Value, int Line)? statedColumns = null;
        var header = FairnessCsv.ReadPreamble(records, (key, value, record) =>
        {
            if (key.Equals("positivePrediction", StringComparison.OrdinalIgnoreCase))
            {
                if (statedPositive is { } earlier)
                    throw new InvalidDataException($"Lines {earlier.Line} and {record.Line} of the count CSV both state the positive prediction; state it once.");
                statedPositive = (ValueReader.Canonical(value) ?? throw new InvalidDataException($"Line {record.Line} of the count CSV states a blank positive prediction."), record.Line);
            }
            else if (key.Equals("sensitiveColumnNames", StringComparison.OrdinalIgnoreCase))
            {
                if (statedColumns is { } earlier)
                    throw new InvalidDataException($"Lines {earlier.Line} and {record.Line} of the count CSV both state the sensitive columns; state them once.");
                var names = FairnessCsv.StatedNames(record);
                int line = record.Line;
                statedColumns = (ColumnNames(names, (index, problem) => new InvalidDataException($"Line {line} of the count CSV states sensitive column names; name {index} {problem}.")), line);
            }
            else if (key.Equals("hasLabels", StringComparison.OrdinalIgnoreCase))
            {
                if (statedLabels is { } earlier)
                    throw new InvalidDataException($"Lines {earlier.Line} and {record.Line} of the count CSV both state hasLabels; state it once.");
                if (!bool.TryParse(value, out bool labels))
                    throw new InvalidDataException($"Line {record.Line} of the count CSV states hasLabels = '{value}'; write true or false.");
                statedLabels = (labels, record.Line);
            }
        });
        if (header is null || header.Fields.Count != 5 || !string.Join(",", header.Fields.Select(f => f.Trim())).Equals(CsvHeader, StringComparison.OrdinalIgnoreCase))
            throw new InvalidDataException($"A fairness count CSV starts with the header '{CsvHeader}' (after optional '#' lines); found '{header?.Text}'.");
        string? given = positivePrediction is null ? null : ValueReader.Canonical(positivePrediction);
        if (given is not null && statedPositive is { } stated && stated.Value != given)
            throw new ArgumentException($"The count CSV states the positive prediction '{stated.Value}' (line {stated.Line}), but '{positivePrediction}' was given; " +
                                        "pass null to take the CSV's, or correct the one that is wrong.", nameof(positivePrediction));
        var table = new FairnessCounts { PositivePrediction = given ?? statedPositive?.Value, SensitiveColumnNames = statedColumns?.Value };
        var first = new Dictionary<(string, string, string, string?), int>();
        for (FairnessCsv.CsvRecords.Record? line; (line = records.Next()) is not null;)
        {
            if (FairnessCsv.IsBlank(line)) continue;
            var fields = line.Fields;
            if (fields.Count != 5 || !long.TryParse(fields[4], NumberStyles.Integer, CultureInfo.InvariantCulture, out long count))
                throw new InvalidDataException($"Line {line.Line} of the count CSV is not '{CsvHeader}': '{line.Text}'.");
            var key = (fields[0], fields[1], fields[2], string.IsNullOrWhiteSpace(fields[3]) ? null : fields[3]);
            if (statedLabels is { } labels && labels.Value != key.Item4 is not null)
                throw new InvalidDataException($"Line {line.Line} of the count CSV {(key.Item4 is null ? "has no label" : "has a label")} while line {labels.Line} states hasLabels = {labels.Value}.");
            Checked(() => table.Add(key.Item1, key.Item2, key.Item3, key.Item4, count), $"line {line.Line}");
            if (first.TryGetValue(key, out int earlier))
                throw new InvalidDataException($"The count CSV lists lines {earlier} and {line.Line} with the same values {Describe(key)}; a table lists each cell once " +
                                               "(was an export appended twice?). Merge separate tables with FairnessCounts.Merge.");
            first[key] = line.Line;
        }
        return table;
    }


    private IEnumerable<KeyValuePair<(string Client, string Sensitive, string Prediction, string? Label), long>> OrderedCells() =>
        _cells.OrderBy(c => c.Key.Client, StringComparer.Ordinal).ThenBy(c => c.Key.Sensitive, StringComparer.Ordinal)
            .ThenBy(c => c.Key.Prediction, StringComparer.Ordinal).ThenBy(c => c.Key.Label, StringComparer.Ordinal);

    private static void Checked(Action add, string where)
    {
        try
        {
            add();
        }
        catch (Exception e) when (e is ArgumentException or OverflowException)
        {
            throw new InvalidDataException($"The count table's {where} is invalid: {e.Message}", e);
        }
    }


    // Everything nullable: a field the text lacks reads as null, so it can be refused by name instead of read as 0 or false.
    private sealed record CountsDocument(string? Format, bool? HasLabels, string? PositivePrediction,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string?[]? SensitiveColumnNames, CountCell?[]? Cells);

    private sealed record CountCell(string? Client, string? Sensitive, string? Prediction, string? Label, long? Count);

    /// <summary>Sorted distinct values of one axis.</summary>
    internal string[] Values(Func<(string Client, string Sensitive, string Prediction, string? Label), string?> axis) =>
        _cells.Keys.Select(axis).Where(v => v is not null).Select(v => v!).Distinct().Order(StringComparer.Ordinal).ToArray();

    /// <summary>The joint p(z, ŷ, s) as counts, on the given value orders.</summary>
    internal double[,,] Joint(string[] sensitive, string[] predictions, string[] clients)
    {
        var joint = new double[sensitive.Length, predictions.Length, clients.Length];
        foreach (var ((client, z, y, _), count) in _cells)
            joint[Array.IndexOf(sensitive, z), Array.IndexOf(predictions, y), Array.IndexOf(clients, client)] += count;
        return joint;
    }
}
