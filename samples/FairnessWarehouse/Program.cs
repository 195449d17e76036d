// Fairness at warehouse scale, no row moved: a model's scored rows live in a warehouse (DuckDB and a Parquet file
// stand in for it); the audit's counts and the mitigator's score histograms are plain SQL group-bys run there (the
// same SQL runs on Spark or any SQL warehouse), read back as FairnessCounts and FairnessScoreHistograms; the
// coordinator audits, fits the mitigator from the histograms, and applies it to fresh rows.
//   dotnet run -c Release --project samples/FairnessWarehouse [-- --rows 10000000] [--seed 1] [--dir fairness-warehouse]
using System.Diagnostics;
using System.Globalization;
using DuckDB.NET.Data;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Fairness;

long rows = 10_000_000;
long seed = 1;
string dir = "fairness-warehouse";
for (int i = 0; i + 1 < args.Length; i += 2)
    switch (args[i])
    {
        case "--rows": rows = long.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        case "--seed": seed = long.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        case "--dir": dir = args[i + 1]; break;
        default: throw new ArgumentException($"Unknown option {args[i]}; use --rows N, --seed S and --dir PATH.");
    }
const long HeldOutRows = 200_000;
const int Bins = 1000;
Directory.CreateDirectory(dir);
string parquet = Path.GetFullPath(Path.Combine(dir, "scored.parquet"));
string countsCsv = Path.GetFullPath(Path.Combine(dir, "counts.csv"));
string histogramsCsv = Path.GetFullPath(Path.Combine(dir, "histograms.csv"));
var total = Stopwatch.StartNew();
var watch = new Stopwatch();
void Time(string what)
{
    Console.WriteLine($"  [{what}: {watch.Elapsed.TotalSeconds:F2} s]");
    watch.Restart();
}

using var duck = new DuckDBConnection("Data Source=:memory:");
duck.Open();
Execute("SELECT 1");
Console.WriteLine($"DuckDB {Scalar("SELECT version()")} in process; {Environment.ProcessorCount} cores");

// 1. The scored rows, generated in SQL and written to Parquet. Seeded: every draw is a hash of the seed, the row id and
//    a stream number, so the same --rows and --seed give the same rows (with this DuckDB version) on any number of threads.
watch.Start();
Execute($"COPY ({Generator(0, rows, seed)}) TO '{parquet}' (FORMAT parquet, COMPRESSION zstd)");
Console.WriteLine($"== {rows:N0} scored rows (id, client, sensitive, label, score) written to {parquet} ({new FileInfo(parquet).Length / 1e6:F1} MB) ==");
Time("generate and write Parquet");

// 2. The audit's count table: one group-by where the rows live.
string countsSql = $"""
    SELECT client, sensitive, score >= 0.5 AS prediction, label, COUNT(*) AS count
    FROM read_parquet('{parquet}')
    GROUP BY client, sensitive, prediction, label
    """;
Console.WriteLine();
Console.WriteLine("== audit counts (FairnessCounts), the warehouse's SQL ==");
Console.WriteLine(countsSql);
Execute($"COPY ({countsSql}) TO '{countsCsv}' (HEADER, DELIMITER ',')");
Time("group-by to CSV");
FairnessCounts counts;
using (var reader = File.OpenText(countsCsv)) counts = FairnessCounts.FromCsv(reader, positivePrediction: "true");
Console.WriteLine($"  {counts.Cells.Count} cells, {counts.Rows:N0} rows, {new FileInfo(countsCsv).Length:N0} bytes of CSV");

// 3. The mitigator's score histograms: 1,000 bins on [0, 1], scores outside clamped to the end bins. The score is a
//    float; widened to double before the multiply, FLOOR(score * 1000) is exact for every float (no float lies within
//    rounding of k/1000 without being it), so the bins are those FairnessScoreHistograms.BinOf gives.
string binLower = $"LEAST(GREATEST(FLOOR(CAST(score AS DOUBLE) * {Bins}), 0), {Bins - 1}) / {Bins}.0";
string histogramsSql = $"""
    SELECT client, sensitive, label, {binLower} AS bin_lower, COUNT(*) AS count
    FROM read_parquet('{parquet}')
    GROUP BY 1, 2, 3, 4
    """;
Console.WriteLine();
Console.WriteLine("== score histograms (FairnessScoreHistograms), the warehouse's SQL ==");
Console.WriteLine(histogramsSql);
var histograms = new FairnessScoreHistograms(FairnessScoreHistograms.UniformEdges(0, 1, Bins));
using (var command = duck.CreateCommand())
{
    command.CommandText = histogramsSql;
    using var reader = command.ExecuteReader();
    while (reader.Read())   // direct rows: a bin's lower edge falls in that bin
        histograms.Add(reader.GetString(0), reader.GetString(1), reader.GetBoolean(2), reader.GetDouble(3), reader.GetInt64(4));
}
Time("group-by, read directly");
Execute($"COPY ({histogramsSql}) TO '{histogramsCsv}' (HEADER, DELIMITER ',')");
FairnessScoreHistograms fromCsv;
using (var reader = File.OpenText(histogramsCsv)) fromCsv = FairnessScoreHistograms.FromCsv(reader);
bool same = fromCsv.Cells.Count == histograms.Cells.Count && fromCsv.Cells.All(c => histograms.Cells.TryGetValue(c.Key, out long n) && n == c.Value);
Console.WriteLine($"  {histograms.Cells.Count:N0} non-empty bins, {histograms.Rows:N0} rows; the CSV road ({new FileInfo(histogramsCsv).Length / 1e6:F1} MB) " +
                  $"reads the same table: {(same ? "yes" : "NO")}; as JSON {histograms.ToJson().Length / 1e6:F1} MB");
Time("same group-by to CSV and read back");

// The SQL bins are BinOf's: check on fresh rows, scored both ways.
var heldOut = ReadRows(Generator(rows, rows + HeldOutRows, seed));
var binned = ReadBins($"WITH fresh AS ({Generator(rows, rows + HeldOutRows, seed)}) SELECT id, {binLower} FROM fresh");
int disagree = heldOut.Count(r => histograms.BinOf(r.Score) != histograms.BinOf(binned[r.Id]));
Console.WriteLine($"  SQL bins agree with FairnessScoreHistograms.BinOf on {HeldOutRows - disagree:N0} of {HeldOutRows:N0} fresh rows");
Time($"draw {HeldOutRows:N0} fresh rows for scoring");

// 4. The audit from the counts alone.
var ml = new MLContext(seed: 1);
var report = ml.Fairness().Report(counts, bootstrapSamples: 0);
Console.WriteLine();
Console.WriteLine($"== audit of the warehouse's model (prediction: score ≥ 0.5) ==");
Console.WriteLine($"  global disparity {report.GlobalDisparity:F4} bits, local {report.LocalDisparity:F4} bits (unique {report.UniqueDisparity:F4}, " +
                  $"redundant {report.RedundantDisparity:F4}, masked {report.MaskedDisparity:F4}); accuracy {report.Accuracy:F4}; parity difference {report.StatisticalParityDifference:+0.000;-0.000}");
Time("report from counts");

// 5. The mitigator, fitted from the histograms; the scoring chain is built for the schema of the rows it will score.
var options = new FairnessMitigator.Options
{
    ClientColumnName = nameof(ScoredRow.Client), SensitiveColumnName = nameof(ScoredRow.Sensitive), LabelColumnName = nameof(ScoredRow.Label),
    ScoreColumnName = nameof(ScoredRow.Score), RowKeyColumnName = nameof(ScoredRow.Id), GlobalBudget = 0.002, LocalBudget = 0.002,
    Seed = 1, // as before the seed followed the MLContext: the README's figures
};
var fresh = ml.Data.LoadFromEnumerable(heldOut);
var mitigator = ml.Fairness().Mitigate(options).Fit(histograms, fresh.Schema);
Console.WriteLine();
Console.WriteLine($"== mitigator fitted from {histograms.Cells.Count:N0} bins ({mitigator.Rules.Count} cells, shrinkage {mitigator.Shrinkage} rows by cross-validation) ==");
Console.WriteLine($"  promised accuracy {mitigator.Solution.Accuracy:F4} (bound {mitigator.Solution.AccuracyUpperBound:F4}); cross-fitted accuracy {mitigator.CrossFitted.Accuracy:F4}, " +
                  $"global {mitigator.CrossFitted.GlobalDisparity:F4}, local {mitigator.CrossFitted.LocalDisparity:F4} bits");
Time("fit from histograms (cross-validated shrinkage, cross-fitted estimate)");

// 6. Applied to fresh rows, audited before and after.
var scored = mitigator.Transform(fresh);
var before = ml.Fairness().Audit(options.SensitiveColumnName, nameof(ScoredRow.Predicted), options.ClientColumnName, options.LabelColumnName, bootstrapSamples: 0, seed: 1).Fit(fresh).Report;
var after = ml.Fairness().Audit(options.SensitiveColumnName, options.OutputColumnName, options.ClientColumnName, options.LabelColumnName, bootstrapSamples: 0, seed: 1).Fit(scored).Report;
Console.WriteLine();
Console.WriteLine($"== applied to {HeldOutRows:N0} fresh rows (budgets {options.GlobalBudget} / {options.LocalBudget} bits) ==");
Console.WriteLine($"  before: global {before.GlobalDisparity:F4}, local {before.LocalDisparity:F4} bits, accuracy {before.Accuracy:F4}");
Console.WriteLine($"  after:  global {after.GlobalDisparity:F4}, local {after.LocalDisparity:F4} bits (Miller–Madow {after.GlobalDisparityBiasCorrected:F4} / {after.LocalDisparityBiasCorrected:F4}), accuracy {after.Accuracy:F4}");
Time("transform and audit the fresh rows");
string modelPath = Path.Combine(dir, "mitigator.zip");
ml.Model.Save(mitigator, fresh.Schema, modelPath);
Console.WriteLine($"  model saved to {modelPath} ({new FileInfo(modelPath).Length:N0} bytes)");
Console.WriteLine();
Console.WriteLine($"Total {total.Elapsed.TotalSeconds:F1} s; the rows never left DuckDB: {new FileInfo(countsCsv).Length + new FileInfo(histogramsCsv).Length:N0} bytes of counts and histograms did.");
return;

// Rows [from, to): id, client (50, numbered), sensitive (female share rising with the client number), label and a
// calibrated score sigmoid(1.6·x + bias(client, group)) as a float, as a binary classifier's probability is.
static string Generator(long from, long to, long seed) => $"""
    WITH u AS (
      SELECT range AS id,
             CAST(hash(range * 8 + 1 + {seed} * 1099511627776) >> 11 AS DOUBLE) / 9007199254740992.0 AS u_client,
             CAST(hash(range * 8 + 2 + {seed} * 1099511627776) >> 11 AS DOUBLE) / 9007199254740992.0 AS u_group,
             CAST(hash(range * 8 + 3 + {seed} * 1099511627776) >> 11 AS DOUBLE) / 9007199254740992.0 AS u_radius,
             CAST(hash(range * 8 + 4 + {seed} * 1099511627776) >> 11 AS DOUBLE) / 9007199254740992.0 AS u_angle,
             CAST(hash(range * 8 + 5 + {seed} * 1099511627776) >> 11 AS DOUBLE) / 9007199254740992.0 AS u_label
      FROM range({from}, {to})
    ), cells AS (
      SELECT id, u_label, CAST(FLOOR(u_client * 50) AS INTEGER) AS c,
             CASE WHEN u_group < 0.25 + 0.5 * FLOOR(u_client * 50) / 49 THEN 'female' ELSE 'male' END AS sensitive,
             SQRT(-2 * LN(1 - u_radius)) * COS(2 * PI() * u_angle) AS x
      FROM u
    ), scored AS (
      SELECT id, 'client ' || LPAD(CAST(c AS VARCHAR), 2, '0') AS client, sensitive, u_label,
             1 / (1 + EXP(-(1.6 * x + CASE WHEN sensitive = 'male' THEN 0.5 ELSE -0.5 END + 0.3 * (c % 7 - 3)))) AS p
      FROM cells
    )
    SELECT id, client, sensitive, u_label < p AS label, CAST(p AS FLOAT) AS score
    FROM scored
    """;

ScoredRow[] ReadRows(string sql)
{
    using var command = duck.CreateCommand();
    command.CommandText = sql;
    using var reader = command.ExecuteReader();
    var list = new List<ScoredRow>();
    while (reader.Read())
    {
        float score = reader.GetFloat(4);
        list.Add(new ScoredRow { Id = reader.GetInt64(0), Client = reader.GetString(1), Sensitive = reader.GetString(2), Label = reader.GetBoolean(3), Score = score, Predicted = score >= 0.5f });
    }
    return [.. list];
}

Dictionary<long, double> ReadBins(string sql)
{
    using var command = duck.CreateCommand();
    command.CommandText = sql;
    using var reader = command.ExecuteReader();
    var bins = new Dictionary<long, double>();
    while (reader.Read()) bins[reader.GetInt64(0)] = reader.GetDouble(1);
    return bins;
}

void Execute(string sql)
{
    using var command = duck.CreateCommand();
    command.CommandText = sql;
    command.ExecuteNonQuery();
}

object? Scalar(string sql)
{
    using var command = duck.CreateCommand();
    command.CommandText = sql;
    return command.ExecuteScalar();
}

public sealed class ScoredRow
{
    public long Id { get; set; }
    public string Client { get; set; } = "";
    public string Sensitive { get; set; } = "";
    public bool Label { get; set; }
    public float Score { get; set; }
    public bool Predicted { get; set; }
}
