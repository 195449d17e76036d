using System.Text;

namespace MLExtensions.Fairness;

/// <summary>The CSV dialect of the fairness tables (<see cref="FairnessCounts"/>, <see cref="FairnessScoreHistograms"/>): RFC 4180.</summary>
internal static class FairnessCsv
{
    /// <summary>A field as written: quoted (with <c>""</c> for a quote) when it holds a comma, a quote or a line break.</summary>
    public static string Quote(string value) => value.IndexOfAny([',', '"', '\n', '\r']) < 0 ? value : $"\"{value.Replace("\"", "\"\"")}\"";

    /// <summary>
    /// Reads the blank and '#' lines before a table's header, handing each <c># key = value</c> line to
    /// <paramref name="stated"/> (the key and value trimmed, and the record); returns the first other record, the
    /// header, or null at the end.
    /// </summary>
    public static CsvRecords.Record? ReadPreamble(CsvRecords records, Action<string, string, CsvRecords.Record> stated)
    {
        CsvRecords.Record? record;
        while ((record = records.Next()) is not null && (IsBlank(record) || record.Text.TrimStart().StartsWith('#')))
        {
            if (IsBlank(record)) continue;
            string comment = string.Join(",", record.Fields).TrimStart()[1..];
            int equals = comment.IndexOf('=');
            stated(equals < 0 ? "" : comment[..equals].Trim(), equals < 0 ? "" : comment[(equals + 1)..].Trim(), record);
        }
        return record;
    }

    /// <summary>The names a <c># sensitiveColumnNames = …</c> line states: its fields, the first after the '=' (a quoted name keeps its commas).</summary>
    public static string[] StatedNames(CsvRecords.Record record)
    {
        var opening = record.Fields[0];
        return record.Fields.Skip(1).Prepend(opening[(opening.IndexOf('=') + 1)..]).ToArray();
    }

    /// <summary>Whether a record is a blank line.</summary>
    public static bool IsBlank(CsvRecords.Record record) => string.IsNullOrWhiteSpace(record.Text);

    /// <summary>
    /// Reads CSV records as RFC 4180 writes them: a quoted field may hold commas, doubled quotes and line breaks
    /// (CR, LF or CRLF). Skips a leading byte-order mark; records know the line they start on.
    /// </summary>
    public sealed class CsvRecords(TextReader reader, string what)
    {
        /// <summary>One record: the line it starts on, its fields (unquoted) and its text as written.</summary>
        public sealed record Record(int Line, List<string> Fields, string Text);

        private const int None = -2;
        private int _line = 1;
        private int _ahead = None;
        private bool _started;

        private int Read()
        {
            int c = _ahead == None ? reader.Read() : _ahead;
            _ahead = None;
            return c;
        }

        private int Peek() => _ahead == None ? _ahead = reader.Read() : _ahead; // TextReader.Peek is optional; this is not

        /// <summary>The next record, or null at the end.</summary>
        /// <exception cref="InvalidDataException">A quoted field is never closed.</exception>
        public Record? Next()
        {
            if (!_started)
            {
                _started = true;
                if (Peek() == '\uFEFF') Read();
            }
            if (Peek() < 0) return null;
            int start = _line;
            var fields = new List<string>();
            var field = new StringBuilder();
            var text = new StringBuilder();
            bool quoted = false;
            for (int read; (read = Read()) >= 0;)
            {
                char c = (char)read;
                if (quoted)
                {
                    text.Append(c);
                    if (c == '"' && Peek() == '"')
                    {
                        Read();
                        text.Append('"');
                        field.Append('"');
                    }
                    else if (c == '"') quoted = false;
                    else
                    {
                        if (c == '\n' || (c == '\r' && Peek() != '\n')) _line++;
                        field.Append(c);
                    }
                }
                else if (c is '\r' or '\n')
                {
                    if (c == '\r' && Peek() == '\n') Read();
                    _line++;
                    fields.Add(field.ToString());
                    return new Record(start, fields, text.ToString());
                }
                else
                {
                    text.Append(c);
                    if (c == '"') quoted = true;
                    else if (c == ',') { fields.Add(field.ToString()); field.Clear(); }
                    else field.Append(c);
                }
            }
            if (quoted) throw new InvalidDataException($"Line {start} of the {what} opens a quoted field that is never closed.");
            fields.Add(field.ToString());
            return new Record(start, fields, text.ToString());
        }
    }
}
