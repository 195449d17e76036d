// NAS sample on UCI Adult (income > 50K, 9,000 rows) when ../shared/data is present, else on generated data.
// Default: architecture search, the found network against a fixed default MLP and ML.NET's FastTree on one split;
// --budget is the search's time budget (default 180 s).
// --select: a time-budgeted model selection as AutoML-style scripts write it (ModelSelection.cs): FastTree, LightGBM,
// a normalised linear model, our fixed MLP and our search, in that order, each k-fold cross-validated with
// mlContext.BinaryClassification.CrossValidate on the same folds; prints a Markdown leaderboard by AUC with times.
// --budget is the whole selection's budget (default 180 s); our trainers get the time the others leave as TimeBudget.
//   dotnet run -c Release --project samples/Nas [-- --strategy Spos|PaDa|TangleNas] [--budget seconds]
//   dotnet run -c Release --project samples/Nas -- --select [--folds k (default 5)] [--budget seconds] [--strategy ...]
using MLExtensions.Mlp;
using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Nas;
using NasSample;

var strategy = args.SkipWhile(a => a != "--strategy").Skip(1).Select(Enum.Parse<NasStrategy>).FirstOrDefault(new NasTrainer.Options().Strategy);
var budget = args.SkipWhile(a => a != "--budget").Skip(1).Select(double.Parse).FirstOrDefault(180);
var ml = new MLContext(seed: 1);
var (rows, source, testFraction) = LoadData(ml);

if (args.Contains("--select"))
{
    var folds = args.SkipWhile(a => a != "--folds").Skip(1).Select(int.Parse).FirstOrDefault(5);
    Console.WriteLine($"Data: {source}; {Count(rows)} rows, {folds}-fold cross-validation, budget {budget:F0} s, search {strategy}");
    var candidates = SampleCandidates.Create(ml,
        FixedMlp,
        () => new NasTrainer.Options { Strategy = strategy, Seed = 1 });
    var total = Stopwatch.StartNew();
    var leaderboard = ModelSelection.BinaryClassification(ml, rows, candidates, folds, TimeSpan.FromSeconds(budget));
    Console.WriteLine();
    Console.Write(ModelSelection.ToMarkdown(leaderboard));
    Console.WriteLine();
    Console.WriteLine($"Selection took {total.Elapsed.TotalSeconds:F0} s of its {budget:F0} s budget.");
    return;
}

var split = ml.Data.TrainTestSplit(rows, testFraction, seed: 1);
var (train, test) = (split.TrainSet, split.TestSet);
Console.WriteLine($"Data: {source}; {train.GetRowCount() ?? Count(train)} training rows, {test.GetRowCount() ?? Count(test)} test rows");

var nasOptions = new NasTrainer.Options { Strategy = strategy, TimeBudget = TimeSpan.FromSeconds(budget), Seed = 1 };
var clock = Stopwatch.StartNew();
using var nas = ml.Nas().Trainers.BinaryClassification(nasOptions).Fit(train);
var nasSeconds = clock.Elapsed.TotalSeconds;
Console.WriteLine($"{strategy} searched {nasOptions.SearchSpace}");
Console.WriteLine($"  found {nas.Architecture} in {nasSeconds:F0} s (search {nas.Search.Times!.Search.TotalSeconds:F0} s over {nas.Search.SearchEpochs} epochs, " +
                  $"ranking {nas.Search.Times.Ranking.TotalSeconds:F1} s, retraining {nas.Search.Times.Retraining.TotalSeconds:F0} s)");
foreach (var t in nas.Search.TopArchitectures)
    Console.WriteLine($"    {t.Architecture,-32} supernet validation loss {t.SupernetValidationLoss:F4}" + (t.Probability is double p ? $", probability {p:E2}" : ""));

clock.Restart();
using var mlp = ml.Nas().Trainers.MlpBinaryClassification(FixedMlp()).Fit(train);
var mlpSeconds = clock.Elapsed.TotalSeconds;
clock.Restart();
var fastTree = ml.BinaryClassification.Trainers.FastTree().Fit(train);
var treeSeconds = clock.Elapsed.TotalSeconds;

Console.WriteLine();
Console.WriteLine("| model | test AUC | accuracy | log-loss | fit time |");
Console.WriteLine("|---|---|---|---|---|");
Row($"NAS ({strategy}): {nas.Architecture}", nas, nasSeconds);
Row("fixed MLP 64-64 Relu", mlp, mlpSeconds);
Row("ML.NET FastTree (defaults)", fastTree, treeSeconds);

void Row(string name, ITransformer model, double seconds)
{
    var m = ml.BinaryClassification.Evaluate(model.Transform(test));
    Console.WriteLine($"| {name} | {m.AreaUnderRocCurve:F4} | {m.Accuracy:F4} | {m.LogLoss:F4} | {seconds:F0} s |");
}

// The fixed MLP (64-64 ReLU by default) trains with the early stopping and most epochs of the search's retraining.
static MlpTrainer.Options FixedMlp() => new() { NumberOfEpochs = new NasTrainer.Options().RetrainEpochs, ValidationFraction = 0.1, Seed = 1 };

static long Count(IDataView data) => data.GetColumn<bool>("Label").LongCount();

// The rows, where they come from, and the test fraction of the default mode's split.
static (IDataView Rows, string Source, double TestFraction) LoadData(MLContext ml)
{
    var dir = FindSharedData("adult");
    if (dir is null)
        return (ml.Data.LoadFromEnumerable(Generated(6000, 3)), "generated (../shared/data/adult not found)", 0.3);
    // Adult's columns by position; categorical ones are one-hot encoded, numeric ones kept.
    string[] categorical = ["workclass", "education", "marital", "occupation", "relationship", "race", "sex", "country"];
    var loader = ml.Data.CreateTextLoader([
        new TextLoader.Column("age", DataKind.Single, 0), new TextLoader.Column("workclass", DataKind.String, 1),
        new TextLoader.Column("fnlwgt", DataKind.Single, 2), new TextLoader.Column("education", DataKind.String, 3),
        new TextLoader.Column("educationNum", DataKind.Single, 4), new TextLoader.Column("marital", DataKind.String, 5),
        new TextLoader.Column("occupation", DataKind.String, 6), new TextLoader.Column("relationship", DataKind.String, 7),
        new TextLoader.Column("race", DataKind.String, 8), new TextLoader.Column("sex", DataKind.String, 9),
        new TextLoader.Column("capitalGain", DataKind.Single, 10), new TextLoader.Column("capitalLoss", DataKind.Single, 11),
        new TextLoader.Column("hours", DataKind.Single, 12), new TextLoader.Column("country", DataKind.String, 13),
        new TextLoader.Column("income", DataKind.String, 14),
    ], separatorChar: ',', hasHeader: false, trimWhitespace: true);
    var all = loader.Load(Path.Combine(dir, "adult.data"));
    // A few thousand rows: the setting the search is meant for (minutes on two cores).
    var sample = ml.Data.TakeRows(ml.Data.ShuffleRows(all, seed: 1), 9000);
    var featurize = ml.Transforms.CustomMapping((Income i, Label l) => l.Value = i.income.StartsWith(">50K"), contractName: null)
        .Append(ml.Transforms.Categorical.OneHotEncoding(categorical.Select(c => new InputOutputColumnPair(c + "V", c)).ToArray()))
        .Append(ml.Transforms.Concatenate("Features", [.. categorical.Select(c => c + "V"), "age", "fnlwgt", "educationNum", "capitalGain", "capitalLoss", "hours"]))
        .Fit(sample);
    // One-hot vocabularies do not look at the label, so fitting them on all rows leaks nothing into cross-validation.
    return (ml.Data.Cache(featurize.Transform(sample)), "UCI Adult (9,000 shuffled rows of adult.data)", 0.33);
}

static string? FindSharedData(string name)
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
    {
        var candidate = Path.Combine(dir.FullName, "shared", "data", name);
        if (Directory.Exists(candidate)) return candidate;
    }
    return null;
}

static IEnumerable<GeneratedRow> Generated(int n, int seed)
{
    var random = new Random(seed);
    for (int i = 0; i < n; i++)
    {
        var x = Enumerable.Range(0, 10).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        double logit = 3 * Math.Sin(2 * x[0]) + 2 * x[1] * x[2] - 1.5 * x[3] * x[3] + x[4];
        yield return new GeneratedRow { Features = x, Label = random.NextDouble() < 1 / (1 + Math.Exp(-logit)) };
    }
}

namespace NasSample
{
    public sealed class GeneratedRow
    {
        [VectorType(10)] public float[] Features { get; set; } = [];
        public bool Label { get; set; }
    }

    public sealed class Income
    {
        public string income { get; set; } = "";
    }

    public sealed class Label
    {
        [ColumnName("Label")] public bool Value { get; set; }
    }
}
