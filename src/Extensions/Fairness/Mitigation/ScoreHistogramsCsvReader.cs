using System.Globalization;
using MLExtensions.Training;
using static MLExtensions.Fairness.FairnessScoreHistograms;

namespace MLExtensions.Fairness;

/// <summary>
/// Reads <see cref="FairnessScoreHistograms"/> from the CSV shape of <see cref="FairnessScoreHistograms.ToCsv"/>: the
/// optional <c>#</c> lines that state the edges, labels and sensitive columns, the header, then one line per bin
/// (see <see cref="FairnessScoreHistograms.FromCsv"/> for the format and what is refused).
/// </summary>
internal static class ScoreHistogramsCsvReader
{
    /// <summary>The table the CSV holds; the arguments as <see cref="FairnessScoreHistograms.FromCsv"/>'s.</summary>
    public static FairnessScoreHistograms Read(TextReader reader, IReadOnlyList<double>? binEdges, string? positiveLabel)
    {
        double[]? givenEdges = binEdges is null ? null : CheckEdges(binEdges, nameof(binEdges));
        string? givenPositive = positiveLabel is null ? null
            : ValueReader.Canonical(positiveLabel) ?? throw new ArgumentException("The positive label is blank; give a label value, or null to take the CSV's own.", nameof(positiveLabel));
        var records = new FairnessCsv.CsvRecords(reader, "histogram CSV");
        (double[] Value, int Line)? statedEdges = null;
        (string Value, int Line)? statedPositive = null, statedNegative = null;
        (string[] Value, int Line)? statedColumns = null;
        var header = FairnessCsv.ReadPreamble(records, (key, value, record) =>
        {
            if (key.Equals("binEdges", StringComparison.OrdinalIgnoreCase))
            {
                if (statedEdges is { } earlier) throw new InvalidDataException($"Lines {earlier.Line} and {record.Line} of the histogram CSV both state the bin edges; state them once.");
                var parts = value.Split(',');
                var edges = new double[parts.Length];
                for (int k = 0; k < parts.Length; k++)
                    if (!double.TryParse(parts[k], NumberStyles.Float, CultureInfo.InvariantCulture, out edges[k]))
                        throw new InvalidDataException($"Line {record.Line} of the histogram CSV states bin edge {k} as '{parts[k].Trim()}', which is not a number.");
                try
                {
                    statedEdges = (CheckEdges(edges, "binEdges"), record.Line);
                }
                catch (ArgumentException e)
                {
                    throw new InvalidDataException($"Line {record.Line} of the histogram CSV states invalid bin edges: {e.Message}", e);
                }
            }
            else if (key.Equals("sensitiveColumnNames", StringComparison.OrdinalIgnoreCase))
            {
                if (statedColumns is { } earlier)
                    throw new InvalidDataException($"Lines {earlier.Line} and {record.Line} of the histogram CSV both state the sensitive columns; state them once.");
                var names = FairnessCsv.StatedNames(record);
                int line = record.Line;
                statedColumns = (FairnessCounts.ColumnNames(names, (index, problem) => new InvalidDataException($"Line {line} of the histogram CSV states sensitive column names; name {index} {problem}.")), line);
            }
            else if (key.Equals("positiveLabel", StringComparison.OrdinalIgnoreCase) || key.Equals("negativeLabel", StringComparison.OrdinalIgnoreCase))
            {
                bool positive = key.Equals("positiveLabel", StringComparison.OrdinalIgnoreCase);
                if ((positive ? statedPositive : statedNegative) is { } earlier)
                    throw new InvalidDataException($"Lines {earlier.Line} and {record.Line} of the histogram CSV both state the {key}; state it once.");
                var stated = (ValueReader.Canonical(value) ?? throw new InvalidDataException($"Line {record.Line} of the histogram CSV states a blank {key}."), record.Line);
                if (positive) statedPositive = stated;
                else statedNegative = stated;
            }
        });
        if (header is null || header.Fields.Count != 5 || !string.Join(",", header.Fields.Select(f => f.Trim())).Equals(CsvHeader, StringComparison.OrdinalIgnoreCase))
            throw new InvalidDataException($"A fairness histogram CSV starts with the header '{CsvHeader}' (after optional '#' lines); found '{header?.Text}'.");
        if (givenEdges is not null && statedEdges is { } se && !givenEdges.SequenceEqual(se.Value))
            throw new ArgumentException($"The histogram CSV states {se.Value.Length - 1} bins from {se.Value[0]} to {se.Value[^1]} (line {se.Line}), but other edges were given; " +
                                        "pass null to take the CSV's, or correct the ones that are wrong.", nameof(binEdges));
        if (givenPositive is not null && statedPositive is { } sp && sp.Value != givenPositive)
            throw new ArgumentException($"The histogram CSV states the positive label '{sp.Value}' (line {sp.Line}), but '{givenPositive}' was given; " +
                                        "pass null to take the CSV's, or correct the one that is wrong.", nameof(positiveLabel));
        string? positiveValue = givenPositive ?? statedPositive?.Value;
        string? negativeValue = statedNegative?.Value;
        if (positiveValue is not null && positiveValue == negativeValue)
            throw new InvalidDataException($"The histogram CSV states the same value '{positiveValue}' as positive and negative label (line {statedNegative!.Value.Line}).");
        var lines = new List<(int Line, string Client, string Sensitive, string LabelText, int Bin, long Count)>();
        var edgesInUse = givenEdges ?? statedEdges?.Value ?? UniformEdges(0, 1, DefaultBins);
        int negativeLine = statedNegative?.Line ?? 0;
        var seen = new Dictionary<(string, string, string, int), int>();
        for (FairnessCsv.CsvRecords.Record? line; (line = records.Next()) is not null;)
        {
            if (FairnessCsv.IsBlank(line)) continue;
            var f = line.Fields;
            if (f.Count != 5) throw new InvalidDataException($"Line {line.Line} of the histogram CSV has {f.Count} fields, not the 5 of '{CsvHeader}': '{line.Text}'.");
            if (f[0].Length == 0) throw new InvalidDataException($"Line {line.Line} of the histogram CSV has an empty client.");
            if (f[1].Length == 0) throw new InvalidDataException($"Line {line.Line} of the histogram CSV has an empty sensitive value.");
            string labelText = ValueReader.Canonical(f[2]) ?? throw new InvalidDataException($"Line {line.Line} of the histogram CSV has an empty label; every bin needs one.");
            if (positiveValue is null)
            {
                if (labelText is "1") labelText = bool.TrueString;
                else if (labelText is "0") labelText = bool.FalseString;
                else if (labelText != bool.TrueString && labelText != bool.FalseString)
                    throw new InvalidDataException($"Line {line.Line} of the histogram CSV has the label '{f[2]}', which is not true/false or 1/0; " +
                                                   "for other label values, state the positive one (positiveLabel, or a '# positiveLabel=' line).");
            }
            else if (labelText != positiveValue)
            {
                if (negativeValue is null)
                {
                    negativeValue = labelText;
                    negativeLine = line.Line;
                }
                else if (labelText != negativeValue)
                    throw new InvalidDataException($"Line {line.Line} of the histogram CSV has the label '{labelText}', which is neither the positive label '{positiveValue}' " +
                                                   $"nor the negative '{negativeValue}' (line {negativeLine}); a label takes two values.");
            }
            if (!double.TryParse(f[3], NumberStyles.Float, CultureInfo.InvariantCulture, out double lower) || !double.IsFinite(lower))
                throw new InvalidDataException($"Line {line.Line} of the histogram CSV has bin_lower '{f[3]}', which is not a finite number.");
            int bin = EdgeIndex(edgesInUse, lower);
            if (bin < 0)
            {
                int nearest = Enumerable.Range(0, edgesInUse.Length - 1).MinBy(k => Math.Abs(edgesInUse[k] - lower));
                throw new InvalidDataException($"Line {line.Line} of the histogram CSV has bin_lower {f[3]}, which is not the lower edge of a bin " +
                                               $"(nearest: {edgesInUse[nearest].ToString("R", CultureInfo.InvariantCulture)}, bin {nearest} of {edgesInUse.Length - 1}); " +
                                               "bin the scores with the agreed edges, or state them (binEdges).");
            }
            if (!long.TryParse(f[4], NumberStyles.Integer, CultureInfo.InvariantCulture, out long count) || count < 0)
                throw new InvalidDataException($"Line {line.Line} of the histogram CSV has the count '{f[4]}'; a count is a whole number ≥ 0.");
            var key = (f[0], f[1], labelText, bin);
            if (seen.TryGetValue(key, out int earlier))
                throw new InvalidDataException($"The histogram CSV lists lines {earlier} and {line.Line} for the same bin (client '{f[0]}', sensitive '{f[1]}', label '{labelText}', " +
                                               $"bin_lower {f[3]}); a table lists each bin once (was an export appended twice?). Merge separate tables with FairnessScoreHistograms.Merge.");
            seen[key] = line.Line;
            lines.Add((line.Line, f[0], f[1], labelText, bin, count));
        }
        string positiveSpelling = positiveValue ?? bool.TrueString;
        string negativeSpelling = negativeValue ?? (positiveSpelling == bool.FalseString ? bool.TrueString : bool.FalseString);
        var table = new FairnessScoreHistograms(edgesInUse, positiveSpelling, negativeSpelling) { SensitiveColumnNames = statedColumns?.Value };
        foreach (var (lineNumber, client, sensitive, labelText, bin, count) in lines)
            Checked(() => table.AddToBin(client, sensitive, labelText == positiveSpelling, bin, count), $"CSV's line {lineNumber}");
        return table;
    }

    /// <summary>The bin whose lower edge <paramref name="lower"/> is (within a millionth of a bin's width), or −1.</summary>
    private static int EdgeIndex(double[] edges, double lower)
    {
        int i = Array.BinarySearch(edges, lower);
        if (i >= 0) return i < edges.Length - 1 ? i : -1;
        int above = ~i;
        foreach (int k in new[] { above - 1, above })
            if (k >= 0 && k < edges.Length - 1 && Math.Abs(edges[k] - lower) <= 1e-6 * (edges[k + 1] - edges[k])) return k;
        return -1;
    }

}
