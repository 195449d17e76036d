// PRESTO sample: the paper's synthetic rare-event study, then a real ordinal data set.
//   dotnet run -c Release --project samples/Presto [-- --replications 30]
using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Ordinal;
using MLExtensions.Studies;

int replications = args.SkipWhile(a => a != "--replications").Skip(1).Select(int.Parse).DefaultIfEmpty(30).First();
var mlContext = new MLContext(seed: 1);

Console.WriteLine($"== Synthetic rare-event study (Faletto & Bien 2023, section 4): n = 2500, p = 10, K = 4, {replications} replications ==");
Console.WriteLine("Median paired ratio of rare-class probability MSE (below 1: PRESTO is better)");
Console.WriteLine($"{"differences",-12} {"intercepts",-14} {"rare share",10} {"vs logistic",12} {"vs prop. odds",14}");
foreach (var differences in new[] { OrdinalDifferences.Sparse, OrdinalDifferences.Dense })
{
    foreach (var intercepts in new[] { new[] { 0, 3, 5.0 }, [0, 3.5, 5.5], [0, 4, 6.0] })
    {
        var result = RareClassStudy.Run(mlContext, differences, rows: 2500, features: 10, intercepts, replications, seed: 1000);
        Console.WriteLine($"{differences,-12} {string.Join(", ", intercepts),-14} {result.Replications.Average(r => r.RareFraction),10:P2} " +
                          $"{result.MedianRatioToLogisticRegression,12:F3} {result.MedianRatioToProportionalOdds,14:F3}");
    }
}

Console.WriteLine();
WorldValuesSurvey.Run(mlContext);

/// <summary>The World Values Survey's ordinal question "is the government doing too little, about right or too much about poverty".</summary>
internal static class WorldValuesSurvey
{
    private sealed class Row
    {
        [LoadColumn(0)] public string Poverty { get; set; } = "";
        [LoadColumn(1)] public string Religion { get; set; } = "";
        [LoadColumn(2)] public string Degree { get; set; } = "";
        [LoadColumn(3)] public string Country { get; set; } = "";
        [LoadColumn(4)] public float Age { get; set; }
        [LoadColumn(5)] public string Gender { get; set; } = "";
    }

    public static void Run(MLContext ml)
    {
        var path = FindSharedData("wvs.csv");
        if (path is null)
        {
            Console.WriteLine("(../shared/data/wvs.csv not found: skipping the real-data example)");
            return;
        }
        Console.WriteLine("== World Values Survey (poverty: Too Little < About Right < Too Much), 70/30 split ==");
        var data = ml.Data.LoadFromTextFile<Row>(path, separatorChar: ',', hasHeader: true, allowQuoting: true);
        var split = ml.Data.TrainTestSplit(data, testFraction: 0.3, seed: 1);
        var levels = new[] { "Too Little", "About Right", "Too Much" };
        var featurize = ml.Transforms.Conversion.MapValue("Label", levels.Select(l => new KeyValuePair<string, string>(l, l)), "Poverty", treatValuesAsKeyType: true)
            .Append(ml.Transforms.Categorical.OneHotEncoding([new("ReligionV", "Religion"), new("DegreeV", "Degree"), new("CountryV", "Country"), new("GenderV", "Gender")]))
            .Append(ml.Transforms.Concatenate("Features", "ReligionV", "DegreeV", "CountryV", "GenderV", "Age"))
            .Fit(split.TrainSet);
        var train = ml.Data.Cache(featurize.Transform(split.TrainSet));
        var test = featurize.Transform(split.TestSet);

        using var presto = ml.Ordinal().Trainers.Presto(new PrestoTrainer.Options { Seed = 1 }).Fit(train);
        using var po = ml.Ordinal().Trainers.ProportionalOdds().Fit(train);
        Console.WriteLine($"PRESTO chose λ = {presto.Parameters.Lambda:G3} (λ_max {presto.Parameters.LambdaMax:G3}); " +
                          $"{presto.Parameters.Differences.Skip(1).SelectMany(d => d).Count(v => v != 0)} non-zero boundary differences");
        foreach (var (name, model) in new[] { ("PRESTO", presto), ("proportional odds", (PrestoModel)po) })
        {
            var m = ml.Ordinal().Evaluate(model.Transform(test), rareClass: "Too Much");
            Console.WriteLine($"{name,-18} Brier {m.BrierScore:F4}  log-loss {m.LogLoss:F4}  rank error {m.MeanAbsoluteRankError:F3}  " +
                              $"rare class '{m.RareClass.Name}' ({m.RareClass.Frequency:P1}): Brier {m.RareClass.BrierScore:F4}");
        }
    }

    private static string? FindSharedData(string file)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "data", file);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }
}
