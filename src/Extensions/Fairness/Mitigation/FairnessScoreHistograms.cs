using System.Globalization;
using System.Text;
using System.Text.Json;
using MLExtensions.Training;

namespace MLExtensions.Fairness;

/// <summary>
/// What the fairness mitigator needs from a model's scored rows, as counts: rows per (client, sensitive value, label,
/// score bin) on bin edges every party agrees on. Histograms add up: each party counts its own rows
/// (<see cref="FairnessMitigator.ScoreHistograms"/>, or a warehouse's group-by read with <see cref="FromCsv"/>), a
/// coordinator merges them (<see cref="Merge"/>) and fits the mitigator from the merged table
/// (<see cref="FairnessMitigator.Fit(FairnessScoreHistograms, Microsoft.ML.DataViewSchema?)"/>) without seeing a row.
/// </summary>
/// <remarks>
/// <para><b>Input and output columns.</b> The table reads no columns itself; <see cref="FairnessMitigator.ScoreHistograms"/>
/// reads the client, sensitive, label (<see cref="bool"/>) and score (<see cref="float"/>) columns its options name,
/// as fitting does.</para>
/// <para><b>Bins.</b> Edges e₀ &lt; e₁ &lt; … &lt; e_B make B bins: bin k holds the scores in [e_k, e_k+1), the last bin
/// [e_B−1, e_B]. Scores outside the edges are counted in the end bins: below e₀ in the first, above e_B in the last.
/// The default, <see cref="DefaultBinEdges"/>, is 1,000 equal bins on [0, 1], for probabilities; give edges that cover
/// the scores of a model whose scores are margins or log-odds (<see cref="UniformEdges"/>, or any increasing list).
/// The mitigator fits each bin as its rows with the bin's lower edge for a score, so its thresholds are edges and a
/// rule "score ≥ e_k" takes exactly the rows of bins k and above, at scoring as in fitting. The one exception is a
/// score below e₀: counted in the first bin, at scoring it falls below a threshold at e₀; edges that cover the scores
/// avoid it.</para>
/// <para><b>Values.</b> Client and sensitive values are kept exactly as given (no trimming): the fitted rules match the
/// scoring rows' values exactly, so spell them as the scoring data does. An empty value is refused. Labels are
/// Booleans; CSV and JSON write them as <see cref="PositiveLabel"/> and <see cref="NegativeLabel"/> (default
/// <c>True</c> and <c>False</c>), so a warehouse's <c>approve</c>/<c>deny</c> column reads and writes as itself.</para>
/// <para><b>Several sensitive columns.</b> Tables counted by <see cref="FairnessMitigator.ScoreHistograms"/> state the
/// sensitive columns they were counted on (<see cref="SensitiveColumnNames"/>), as <see cref="FairnessCounts"/> does:
/// with several, a cell's sensitive value is their intersection, the values joined with <c>" &amp; "</c> in that order
/// (<c>"Female &amp; Black"</c>, as SQL's <c>sex || ' &amp; ' || race</c> writes it), each part in the audit's one
/// spelling; tables counted on other columns do not merge, and a mitigator whose options name other columns refuses
/// to fit from them.</para>
/// <para><b>Counts.</b> Every sum is checked: a bin's count or the table's total that would pass
/// <see cref="long.MaxValue"/> is refused (<see cref="OverflowException"/> naming the bin), never wrapped.</para>
/// </remarks>
public sealed class FairnessScoreHistograms
{
    private readonly double[] _edges;
    private readonly Dictionary<(string Client, string Sensitive, bool Label, int Bin), long> _cells = new();
    private long _rows;

    /// <summary>An empty table on the given bin edges.</summary>
    /// <param name="binEdges">
    /// At least two finite, strictly increasing edges; null for <see cref="DefaultBinEdges"/> (1,000 equal bins on [0, 1]).
    /// </param>
    /// <param name="positiveLabel">How CSV and JSON write a positive label. Default: <c>True</c>.</param>
    /// <param name="negativeLabel">How CSV and JSON write a negative label. Default: <c>False</c>.</param>
    /// <exception cref="ArgumentException">The edges are too few, not finite or not increasing (the message names the edge), or a label spelling is blank or both are the same.</exception>
    public FairnessScoreHistograms(IReadOnlyList<double>? binEdges = null, string positiveLabel = "True", string negativeLabel = "False")
    {
        _edges = binEdges is null ? UniformEdges(0, 1, DefaultBins) : CheckEdges(binEdges, nameof(binEdges));
        ArgumentNullException.ThrowIfNull(positiveLabel);
        ArgumentNullException.ThrowIfNull(negativeLabel);
        PositiveLabel = ValueReader.Canonical(positiveLabel) ?? throw new ArgumentException("The positive label's spelling is blank.", nameof(positiveLabel));
        NegativeLabel = ValueReader.Canonical(negativeLabel) ?? throw new ArgumentException("The negative label's spelling is blank.", nameof(negativeLabel));
        if (PositiveLabel == NegativeLabel)
            throw new ArgumentException($"The positive and negative labels are both spelled '{PositiveLabel}'; give two spellings.", nameof(negativeLabel));
        BinEdges = Array.AsReadOnly(_edges);
    }

    internal const int DefaultBins = 1000;

    /// <summary>The default edges: 1,000 equal bins on [0, 1] (edge k is k / 1000), for probabilities.</summary>
    public static IReadOnlyList<double> DefaultBinEdges { get; } = Array.AsReadOnly(UniformEdges(0, 1, DefaultBins));

    /// <summary>
    /// <paramref name="bins"/> equal bins on [<paramref name="lower"/>, <paramref name="upper"/>]: edge k is
    /// lower + (upper − lower)·k / bins, the last exactly <paramref name="upper"/>. On [0, 1] edge k is k / bins, which a
    /// warehouse computes the same way (<c>FLOOR(score * bins) / bins</c>, see <see cref="FromCsv"/>).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The bounds are not finite and increasing, or <paramref name="bins"/> is below 1.</exception>
    public static double[] UniformEdges(double lower, double upper, int bins)
    {
        if (!double.IsFinite(lower)) throw new ArgumentOutOfRangeException(nameof(lower), lower, "The lower bound of the bins must be finite.");
        if (!double.IsFinite(upper) || !(upper > lower)) throw new ArgumentOutOfRangeException(nameof(upper), upper, $"The upper bound of the bins must be finite and above the lower bound {lower}.");
        ArgumentOutOfRangeException.ThrowIfLessThan(bins, 1);
        var edges = new double[bins + 1];
        for (int k = 0; k < bins; k++) edges[k] = lower + (upper - lower) * k / bins;
        edges[bins] = upper;
        return CheckEdges(edges, nameof(bins));
    }

    internal static double[] CheckEdges(IReadOnlyList<double> edges, string name)
    {
        if (edges.Count < 2) throw new ArgumentException($"Bin edges need at least two values (one bin); {edges.Count} given.", name);
        var copy = edges.ToArray();
        for (int k = 0; k < copy.Length; k++)
        {
            if (!double.IsFinite(copy[k])) throw new ArgumentException($"Bin edge {k} is {copy[k]}; edges must be finite.", name);
            if (k > 0 && !(copy[k] > copy[k - 1]))
                throw new ArgumentException($"Bin edge {k} ({copy[k].ToString("R", CultureInfo.InvariantCulture)}) is not above edge {k - 1} " +
                                            $"({copy[k - 1].ToString("R", CultureInfo.InvariantCulture)}); edges must increase strictly.", name);
        }
        return copy;
    }

    private readonly string[]? _sensitiveColumnNames;

    /// <summary>
    /// The sensitive columns the table was counted on, in the order their values are joined (see
    /// <see cref="FairnessScoreHistograms"/>); null when not stated (a table built by hand, or read from a group-by
    /// without a <c># sensitiveColumnNames=</c> line). Set it before adding rows; names are stored without surrounding
    /// white space. Tables that state different columns do not merge; a table that states none joins any.
    /// </summary>
    /// <exception cref="ArgumentException">Set to an empty list, or one with a blank or repeated name.</exception>
    public IReadOnlyList<string>? SensitiveColumnNames
    {
        get => _sensitiveColumnNames is null ? null : Array.AsReadOnly(_sensitiveColumnNames);
        init => _sensitiveColumnNames = value is null ? null : FairnessCounts.ColumnNames(value, (index, problem) => new ArgumentException(
            $"Sensitive column name {index} {problem}; name each sensitive column once.", nameof(SensitiveColumnNames)));
    }

    /// <summary>The bin edges: <see cref="BinCount"/> + 1 increasing values.</summary>
    public IReadOnlyList<double> BinEdges { get; }

    /// <summary>Number of bins.</summary>
    public int BinCount => _edges.Length - 1;

    /// <summary>How CSV and JSON write a positive label.</summary>
    public string PositiveLabel { get; }

    /// <summary>How CSV and JSON write a negative label.</summary>
    public string NegativeLabel { get; }

    /// <summary>Number of rows counted; exact (sums past <see cref="long.MaxValue"/> are refused).</summary>
    public long Rows => _rows;

    /// <summary>Every non-empty bin and its count, by (client, sensitive value, label, bin index).</summary>
    public IReadOnlyDictionary<(string Client, string Sensitive, bool Label, int Bin), long> Cells => _cells;

    /// <summary>
    /// The bin of a score: the last k with e_k ≤ score; scores below the first edge go to bin 0, scores at or above the
    /// last edge to the last bin.
    /// </summary>
    /// <exception cref="ArgumentException">The score is NaN or infinite.</exception>
    public int BinOf(double score)
    {
        if (!double.IsFinite(score)) throw new ArgumentException($"The score {score} is not finite; only finite scores are binned.", nameof(score));
        int i = Array.BinarySearch(_edges, score);
        int bin = i >= 0 ? i : ~i - 1;
        return Math.Clamp(bin, 0, BinCount - 1);
    }

    /// <summary>
    /// Counts <paramref name="count"/> rows (default one) with these values and this score, in the score's bin
    /// (<see cref="BinOf"/>). A warehouse row (bin lower edge, count) adds with its lower edge as the score.
    /// </summary>
    /// <param name="client">The client (or any grouping), as the scoring data spells it.</param>
    /// <param name="sensitive">The sensitive value, as the scoring data spells it (with several <see cref="SensitiveColumnNames"/>, their values joined with <c>" &amp; "</c>).</param>
    /// <param name="label">The true label.</param>
    /// <param name="score">The model's score (a <see cref="float"/> score widened to <see cref="double"/>).</param>
    /// <param name="count">Rows to count, ≥ 0. Default: 1.</param>
    /// <exception cref="ArgumentException">A value is null or empty, the sensitive value is not an intersection of the stated columns, or the score is not finite.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The count is negative.</exception>
    /// <exception cref="OverflowException">The bin's count or the table's row total would pass <see cref="long.MaxValue"/>.</exception>
    public void Add(string client, string sensitive, bool label, double score, long count = 1) =>
        AddToBin(client, sensitive, label, BinOf(score), count);

    internal void AddToBin(string client, string sensitive, bool label, int bin, long count)
    {
        ArgumentException.ThrowIfNullOrEmpty(client);
        ArgumentException.ThrowIfNullOrEmpty(sensitive);
        if (_sensitiveColumnNames is { Length: > 1 } columns) sensitive = FairnessCounts.Intersection(sensitive, columns);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (count == 0) return;
        var key = (client, sensitive, label, bin);
        long held = _cells.GetValueOrDefault(key);
        if (held > long.MaxValue - count)
            throw new OverflowException($"Adding {count} rows to the bin {Describe(key)}, which holds {held}, overflows its count (at most {long.MaxValue}).");
        if (_rows > long.MaxValue - count)
            throw new OverflowException($"Adding {count} rows to the bin {Describe(key)} takes the table's {_rows} rows past {long.MaxValue}.");
        _cells[key] = held + count;
        _rows += count;
    }

    private string Describe((string Client, string Sensitive, bool Label, int Bin) key) =>
        $"(client '{key.Client}', sensitive '{key.Sensitive}', label {(key.Label ? PositiveLabel : NegativeLabel)}, " +
        $"bin {key.Bin} from {_edges[key.Bin].ToString("R", CultureInfo.InvariantCulture)})";

    /// <summary>Adds histograms counted separately (e.g. one per party) into one.</summary>
    /// <remarks>
    /// Every table must have the same bin edges, exactly: parties agree on them before counting. The merged table
    /// writes labels as the first table does (the spellings are only how labels are written; the labels are Booleans).
    /// </remarks>
    /// <param name="tables">The tables; none may be null.</param>
    /// <exception cref="ArgumentNullException">The array, or one of the tables (the message names its index), is null.</exception>
    /// <exception cref="ArgumentException">
    /// No tables, two tables have different bin edges (the message names them and the first edge that differs), two
    /// tables state different <see cref="SensitiveColumnNames"/>, or a table that states none holds a sensitive value
    /// that is not an intersection of the stated columns.
    /// </exception>
    /// <exception cref="OverflowException">A merged bin's count or the merged row total would pass <see cref="long.MaxValue"/> (the message names the table and bin).</exception>
    public static FairnessScoreHistograms Merge(params FairnessScoreHistograms[] tables)
    {
        ArgumentNullException.ThrowIfNull(tables);
        if (tables.Length == 0) throw new ArgumentException("Nothing to merge.", nameof(tables));
        for (int i = 0; i < tables.Length; i++)
            if (tables[i] is null) throw new ArgumentNullException(nameof(tables), $"The histogram table at index {i} of the {tables.Length} to merge is null; merge only tables that were counted or read.");
        var first = tables[0]._edges;
        for (int i = 1; i < tables.Length; i++)
        {
            var edges = tables[i]._edges;
            if (edges.Length != first.Length)
                throw new ArgumentException($"Histogram table {i} has {edges.Length - 1} bins and table 0 has {first.Length - 1}; every party must bin with the same edges.", nameof(tables));
            for (int k = 0; k < edges.Length; k++)
                if (edges[k] != first[k])
                    throw new ArgumentException($"Histogram table {i} has bin edge {k} at {edges[k].ToString("R", CultureInfo.InvariantCulture)} and table 0 at " +
                                                $"{first[k].ToString("R", CultureInfo.InvariantCulture)}; every party must bin with the same edges.", nameof(tables));
        }
        int named = TableMerging.AgreedSensitiveColumns(tables.Select(t => t.SensitiveColumnNames).ToArray(), "histogram tables", nameof(tables));
        var merged = new FairnessScoreHistograms(first, tables[0].PositiveLabel, tables[0].NegativeLabel)
        {
            SensitiveColumnNames = named >= 0 ? tables[named].SensitiveColumnNames : null,
        };
        for (int i = 0; i < tables.Length; i++)
            TableMerging.AddTable(i, "histogram table", tables[i].SensitiveColumnNames, merged.SensitiveColumnNames, nameof(tables), () =>
            {
                foreach (var ((client, sensitive, label, bin), count) in tables[i]._cells) merged.AddToBin(client, sensitive, label, bin, count);
            });
        return merged;
    }

    private IEnumerable<KeyValuePair<(string Client, string Sensitive, bool Label, int Bin), long>> OrderedCells() =>
        _cells.OrderBy(c => c.Key.Client, StringComparer.Ordinal).ThenBy(c => c.Key.Sensitive, StringComparer.Ordinal)
            .ThenBy(c => c.Key.Label).ThenBy(c => c.Key.Bin);

    /// <summary>
    /// Each non-empty bin as one weighted row with the bin's lower edge for its score, in a fixed order (client,
    /// sensitive, label, bin), so the same counts give the same fit however they were added or merged.
    /// </summary>
    internal List<MitigationRow> ToRows() =>
        OrderedCells().Select(c => new MitigationRow(c.Key.Client, c.Key.Sensitive, c.Key.Label, _edges[c.Key.Bin], c.Value)).ToList();

    private const string Format = "mlextensions.fairness-score-histograms/1";

    /// <summary>
    /// The table as JSON: what one party sends (counts only, never rows). Read back with <see cref="FromJson"/>. Bins
    /// are written by index (<c>bin</c>) with the edges once; labels as Booleans, with their spellings.
    /// </summary>
    public string ToJson() => JsonSerializer.Serialize(new Document(Format, _edges, PositiveLabel, NegativeLabel, _sensitiveColumnNames,
        OrderedCells().Select(c => new Cell(c.Key.Client, c.Key.Sensitive, c.Key.Label, c.Key.Bin, c.Value)).ToArray()), FairnessJson.Options);

    /// <summary>Reads a table written by <see cref="ToJson"/>.</summary>
    /// <remarks>
    /// Every cell needs <c>client</c>, <c>sensitive</c>, <c>label</c>, <c>bin</c> and <c>count</c>. A table lists each
    /// bin once: a bin written twice (a party's table pasted in twice) is refused; merge separate tables with
    /// <see cref="Merge"/>.
    /// </remarks>
    /// <exception cref="InvalidDataException">The text is not such a table, its edges are invalid, or a cell is null, incomplete, out of range or written twice (the message names it).</exception>
    public static FairnessScoreHistograms FromJson(string json)
    {
        var document = FairnessJson.Read<Document>(json, "fairness score histogram table");
        if (document is null || document.Format != Format || document.Cells is null || document.BinEdges is null)
            throw new InvalidDataException($"The text is not a fairness score histogram table of format '{Format}' with binEdges and cells (found format '{document?.Format}').");
        FairnessScoreHistograms table;
        try
        {
            table = new FairnessScoreHistograms(document.BinEdges, document.PositiveLabel ?? bool.TrueString, document.NegativeLabel ?? bool.FalseString)
            {
                SensitiveColumnNames = document.SensitiveColumnNames is { } names
                    ? FairnessCounts.ColumnNames(names, (index, problem) => new ArgumentException($"sensitiveColumnNames: name {index} {problem}."))
                    : null,
            };
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"The histogram table's header is invalid: {e.Message}", e);
        }
        var seen = new Dictionary<(string, string, bool, int), int>();
        for (int i = 0; i < document.Cells.Length; i++)
        {
            var cell = document.Cells[i] ?? throw new InvalidDataException($"The histogram table's cell {i} is null; each cell is an object with client, sensitive, label, bin and count.");
            string? missing = cell.Client is null ? "client" : cell.Sensitive is null ? "sensitive" : cell.Label is null ? "label" : cell.Bin is null ? "bin" : cell.Count is null ? "count" : null;
            if (missing is not null) throw new InvalidDataException($"The histogram table's cell {i} has no '{missing}'; each cell needs client, sensitive, label, bin and count.");
            if (cell.Bin < 0 || cell.Bin >= table.BinCount)
                throw new InvalidDataException($"The histogram table's cell {i} has bin {cell.Bin}; the table's {table.BinCount} bins are numbered 0 to {table.BinCount - 1}.");
            var key = (cell.Client!, cell.Sensitive!, cell.Label!.Value, cell.Bin!.Value);
            if (seen.TryGetValue(key, out int earlier))
                throw new InvalidDataException($"The histogram table lists cells {earlier} and {i} for the same bin {table.Describe(key)}; a table lists each bin once " +
                                               "(was a party's table pasted in twice?). Merge separate tables with FairnessScoreHistograms.Merge.");
            seen[key] = i;
            Checked(() => table.AddToBin(key.Item1, key.Item2, key.Item3, key.Item4, cell.Count!.Value), $"table's cell {i}");
        }
        return table;
    }

    internal const string CsvHeader = "client,sensitive,label,bin_lower,count";

    /// <summary>
    /// The table as CSV with the header <c>client,sensitive,label,bin_lower,count</c>: the shape a warehouse's group-by
    /// returns (see <see cref="FromCsv"/>). Before the header, comment lines state what the rows alone do not:
    /// <c># binEdges=e0,e1,…</c> (every edge, round-trip precision), <c># positiveLabel=…</c> and
    /// <c># negativeLabel=…</c>, and <c># sensitiveColumnNames=…</c> when stated. Fields holding a comma, a quote or a line break are quoted (<c>""</c> for a quote).
    /// </summary>
    public string ToCsv()
    {
        var csv = new StringBuilder();
        csv.Append("# binEdges=").AppendJoin(',', _edges.Select(e => e.ToString("R", CultureInfo.InvariantCulture))).Append('\n');
        csv.Append("# positiveLabel=").Append(FairnessCsv.Quote(PositiveLabel)).Append('\n');
        csv.Append("# negativeLabel=").Append(FairnessCsv.Quote(NegativeLabel)).Append('\n');
        if (_sensitiveColumnNames is { } names) csv.Append("# sensitiveColumnNames=").Append(string.Join(",", names.Select(FairnessCsv.Quote))).Append('\n');
        csv.Append(CsvHeader).Append('\n');
        foreach (var ((client, sensitive, label, bin), count) in OrderedCells())
            csv.Append(FairnessCsv.Quote(client)).Append(',').Append(FairnessCsv.Quote(sensitive)).Append(',')
                .Append(FairnessCsv.Quote(label ? PositiveLabel : NegativeLabel)).Append(',')
                .Append(_edges[bin].ToString("R", CultureInfo.InvariantCulture)).Append(',')
                .Append(count.ToString(CultureInfo.InvariantCulture)).Append('\n');
        return csv.ToString();
    }

    /// <summary>
    /// Reads histograms in the CSV shape of <see cref="ToCsv"/>, e.g. the result of a group-by run where the rows live:
    /// <code>
    /// SELECT client, sensitive, label, LEAST(GREATEST(FLOOR(score * 1000), 0), 999) / 1000.0 AS bin_lower, COUNT(*) AS count
    /// FROM scored GROUP BY 1, 2, 3, 4
    /// </code>
    /// (1,000 bins on [0, 1], out-of-range scores clamped to the end bins as <see cref="BinOf"/> does): the mitigator
    /// then moves no rows, only this table.
    /// </summary>
    /// <remarks>
    /// <para>RFC 4180 CSV as <see cref="FairnessCounts.FromCsv"/> reads it (quoted fields, byte-order mark, blank lines).
    /// <c>bin_lower</c> is a bin's lower edge, matched to the edges (a value within a millionth of a bin's width of an
    /// edge is that edge; anything else is refused with its line). <c>FLOOR(score * B) / B</c> can put a score within
    /// a rounding error of an edge in the neighbouring bin; <see cref="BinOf"/> compares the score with the edge itself.
    /// A table lists each bin once: a line repeated (an export appended twice) is refused.</para>
    /// <para>Lines starting with <c>#</c> before the header are comments; four are read, as <see cref="ToCsv"/> writes
    /// them: <c># binEdges=e0,e1,…</c>, <c># positiveLabel=value</c>, <c># negativeLabel=value</c> and
    /// <c># sensitiveColumnNames=Sex,Race</c> (the names as fields; with several, each line's sensitive value must be
    /// their intersection, e.g. <c>Female &amp; Black</c>). Without a
    /// positive label (line or <paramref name="positiveLabel"/>) the label column is Boolean: <c>true</c>/<c>false</c>
    /// in any casing, or <c>1</c>/<c>0</c>. With one, that value is positive and the label column's one other value
    /// (the stated negative label, if any) negative; a third value is refused with its line.</para>
    /// </remarks>
    /// <param name="reader">The CSV text.</param>
    /// <param name="binEdges">
    /// The edges, for a CSV that does not state them; null to take the CSV's <c># binEdges</c> line, or
    /// <see cref="DefaultBinEdges"/> without one. Default: null.
    /// </param>
    /// <param name="positiveLabel">The label value that is positive, for a CSV that does not state it; null to take the CSV's line, if any. Default: null.</param>
    /// <exception cref="ArgumentException">An argument is invalid, or differs from what the CSV states.</exception>
    /// <exception cref="InvalidDataException">
    /// The header is missing, a comment line is invalid, or a line is malformed: wrong field count, a label that is not
    /// one of the two, a <c>bin_lower</c> that is not an edge, a negative or unreadable count, a bin listed twice, a
    /// count that overflows (the message names the line and column).
    /// </exception>
    public static FairnessScoreHistograms FromCsv(TextReader reader, IReadOnlyList<double>? binEdges = null, string? positiveLabel = null)
    {
        ArgumentNullException.ThrowIfNull(reader);
        return ScoreHistogramsCsvReader.Read(reader, binEdges, positiveLabel);
    }

    /// <summary>Runs <paramref name="add"/>, reporting a refused count as invalid data at <paramref name="where"/>.</summary>
    internal static void Checked(Action add, string where)
    {
        try
        {
            add();
        }
        catch (Exception e) when (e is ArgumentException or OverflowException)
        {
            throw new InvalidDataException($"The histogram {where} is invalid: {e.Message}", e);
        }
    }


    // Everything nullable: a field the text lacks reads as null, so it can be refused by name instead of read as 0 or false.
    private sealed record Document(string? Format, double[]? BinEdges, string? PositiveLabel, string? NegativeLabel,
        [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] string?[]? SensitiveColumnNames,
        Cell?[]? Cells);

    private sealed record Cell(string? Client, string? Sensitive, bool? Label, int? Bin, long? Count);
}
