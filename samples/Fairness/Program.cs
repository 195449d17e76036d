// Fairness sample: train an income classifier on UCI Adult with ML.NET, split the test rows into clients the
// paper's two ways (iid, and skewed by the sensitive attribute), audit global vs local disparity, and chart the
// accuracy–global–local fairness trade-off (AGLFOP) of the skewed split: for any classifier, and for fixes of this model;
// then mitigate: fit the post-processing mitigator on half of the scored test rows and audit it on the other half.
//   dotnet run -c Release --project samples/Fairness
using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Plotting;
using MLExtensions.Fairness;
using MLExtensions.Fairness.Tradeoff;

var ml = new MLContext(seed: 1);
var path = FindSharedData(Path.Combine("adult", "adult.data"));
IDataView data;
if (path is null)
{
    Console.WriteLine("(../shared/data/adult not found: using generated data)");
    data = ml.Data.LoadFromEnumerable(Generated(20_000));
}
else
{
    data = ml.Data.LoadFromTextFile<Adult>(path, separatorChar: ',', hasHeader: false, trimWhitespace: true);
    data = ml.Data.FilterByCustomPredicate<Adult>(data, r => string.IsNullOrWhiteSpace(r.Sex));
}

var split = ml.Data.TrainTestSplit(data, testFraction: 0.3, seed: 1);
var pipeline = ml.Transforms.CustomMapping((Adult a, IncomeLabel l) => l.Label = a.Income.Trim().StartsWith(">50K"), contractName: null)
    .Append(ml.Transforms.Categorical.OneHotEncoding([new("WorkclassV", nameof(Adult.Workclass)), new("EducationV", nameof(Adult.Education)),
        new("MaritalV", nameof(Adult.MaritalStatus)), new("OccupationV", nameof(Adult.Occupation)), new("RelationshipV", nameof(Adult.Relationship)),
        new("RaceV", nameof(Adult.Race)), new("SexV", nameof(Adult.Sex))]))
    .Append(ml.Transforms.Concatenate("Features", "WorkclassV", "EducationV", "MaritalV", "OccupationV", "RelationshipV", "RaceV", "SexV",
        nameof(Adult.Age), nameof(Adult.EducationNum), nameof(Adult.CapitalGain), nameof(Adult.CapitalLoss), nameof(Adult.HoursPerWeek)))
    .Append(ml.Transforms.NormalizeMinMax("Features"))
    .Append(ml.BinaryClassification.Trainers.LbfgsLogisticRegression());
var model = pipeline.Fit(split.TrainSet);
var scored = model.Transform(split.TestSet);
var metrics = ml.BinaryClassification.Evaluate(scored);
Console.WriteLine($"Income classifier (ML.NET L-BFGS logistic regression): accuracy {metrics.Accuracy:F3}, AUC {metrics.AreaUnderRocCurve:F3}");

var rows = ml.Data.CreateEnumerable<ScoredAdult>(scored, reuseRowObject: false).ToArray();
var random = new Random(7);
FairnessReport? skewed = null;
var clientSplits = new List<(string Name, AuditRow[] Rows)>();
foreach (var (name, assign) in new (string, Func<ScoredAdult, string>)[]
{
    ("iid clients", _ => "client " + random.Next(3)),
    // Skewed by the sensitive attribute: client 0 holds most women, client 2 most men.
    ("sensitive-skewed clients", r => "client " + (r.Sex.Trim() == "Female"
        ? (random.NextDouble() < 0.7 ? 0 : random.NextDouble() < 0.67 ? 1 : 2)
        : (random.NextDouble() < 0.7 ? 2 : random.NextDouble() < 0.67 ? 1 : 0))),
})
{
    var withClients = rows.Select((r, i) => new AuditRow
    {
        Sex = r.Sex.Trim(), Race = r.Race.Trim(), Client = assign(r), Predicted = r.PredictedLabel, Label = r.Label, Probability = r.Probability, Id = $"test-{i}",
    }).ToArray();
    clientSplits.Add((name, withClients));
    var report = ml.Fairness().Audit("Sex", "Predicted", "Client", "Label", seed: 1).Fit(ml.Data.LoadFromEnumerable(withClients)).Report;
    Console.WriteLine();
    Console.WriteLine($"== {name} ==");
    Console.WriteLine($"global disparity {report.GlobalDisparity:F4} bits [{report.ConfidenceIntervals["GlobalDisparity"].Lower:F4}, {report.ConfidenceIntervals["GlobalDisparity"].Upper:F4}], " +
                      $"local disparity {report.LocalDisparity:F4} bits; unique {report.UniqueDisparity:F4}, redundant {report.RedundantDisparity:F4}, " +
                      $"masked {report.MaskedDisparity:F4} (certificate {report.Decomposition.Gap:E0})");
    Console.WriteLine($"parity difference {report.StatisticalParityDifference:+0.000;-0.000}, accuracy {report.Accuracy:F3}, equal-opportunity gap {report.EqualOpportunityGap:F3}");
    foreach (var c in report.Clients)
        Console.WriteLine($"  {c.Client}: {c.Rows} rows, local disparity {c.LocalDisparity:F4}, parity difference {c.StatisticalParityDifference:+0.000;-0.000}");
    var file = $"fairness-{name.Replace(' ', '-')}.md";
    File.WriteAllText(file, report.ToMarkdown());
    Console.WriteLine($"  report written to {file}");
    skewed = report;
}

foreach (var (family, title) in new[] { (ClassifierFamily.Any, "any classifier"), (ClassifierFamily.DerivedFromPredictions, "post-processing this model") })
{
    var problem = AccuracyFairnessProblem.FromCounts(skewed!.Counts, family);
    var watch = System.Diagnostics.Stopwatch.StartNew();
    var surface = AccuracyFairnessTradeoff.Sweep(problem, steps: 6);
    Console.WriteLine();
    Console.WriteLine($"== accuracy–fairness trade-off, sensitive-skewed clients, {title} ({surface.Points.Count} budget pairs in {watch.ElapsedMilliseconds} ms, " +
                      $"largest certified gap {surface.MaximumGap:E1}) ==");
    Console.Write(surface.ToMarkdown());
    var stem = family == ClassifierFamily.Any ? "tradeoff-any-classifier" : "tradeoff-post-processing";
    surface.SaveSvg(stem + ".svg");
    surface.SavePlot(stem + ".png");
    File.WriteAllText(stem + ".csv", surface.ToCsv());
    Console.WriteLine($"  plot written to {stem}.svg and .png, table to {stem}.csv");
}

// Federated audit: every client of the skewed split counts its own rows in a task of its own (own MLContext, no shared
// state) and sends only its count table as JSON; the coordinator merges the tables into the pooled report.
{
    var (_, skewedRows) = clientSplits[^1];
    var sent = await Task.WhenAll(skewedRows.GroupBy(r => r.Client).Select(own => Task.Run(() =>
    {
        var party = new MLContext(seed: 1);
        return party.Fairness().Audit("Sex", "Predicted", "Client", "Label").Count(party.Data.LoadFromEnumerable(own.ToArray())).ToJson();
    })));
    var merged = ml.Fairness().Report(FairnessCounts.Merge(sent.Select(FairnessCounts.FromJson).ToArray()), bootstrapSamples: 0);
    var pooled = ml.Fairness().Audit("Sex", "Predicted", "Client", "Label", bootstrapSamples: 0).Fit(ml.Data.LoadFromEnumerable(skewedRows)).Report;
    Console.WriteLine();
    Console.WriteLine($"== federated audit: {sent.Length} clients sent {sent.Sum(m => m.Length):N0} bytes of counts (no rows); merged report equals the pooled one: " +
                      $"{(merged.ToJson() == pooled.ToJson() ? "yes, exactly" : "NO")} (local disparity {merged.LocalDisparity:F4} bits) ==");
}

// Mitigation: half of each client split's rows fit the mitigator, the other half audit it.
Console.WriteLine();
Console.WriteLine("== post-processing mitigator (mlContext.Fairness().Mitigate), fitted on half the test rows, audited on the other half ==");
Console.WriteLine("| clients | sensitive | budget ε_g = ε_l (bits) | held-out global / local disparity: plug-in; Miller–Madow | accuracy held-out / promised / cross-fitted / unmitigated |");
Console.WriteLine("|---|---|---|---|---|");
foreach (var (name, withClients) in clientSplits)
    foreach (var sensitive in new[] { nameof(AuditRow.Sex), nameof(AuditRow.Race) })
        foreach (double budget in new[] { 0.01, 0.002 })
        {
            var fit = ml.Data.LoadFromEnumerable(withClients.Where((_, i) => i % 2 == 0).ToArray());
            var heldOut = ml.Data.LoadFromEnumerable(withClients.Where((_, i) => i % 2 == 1).ToArray());
            var mitigator = ml.Fairness().Mitigate(new FairnessMitigator.Options
            {
                SensitiveColumnName = sensitive, ClientColumnName = nameof(AuditRow.Client), LabelColumnName = nameof(AuditRow.Label),
                ScoreColumnName = nameof(AuditRow.Probability), GlobalBudget = budget, LocalBudget = budget, RowKeyColumnName = nameof(AuditRow.Id),
                PoolUnknownCells = true, // a rare race may be missing from a client's fitting half
                Seed = 1,                // the README's figures (the default draws a seed from the MLContext)
            }).Fit(fit);
            var after = ml.Fairness().Audit(sensitive, "FairPredictedLabel", nameof(AuditRow.Client), nameof(AuditRow.Label), bootstrapSamples: 0, seed: 1)
                .Fit(mitigator.Transform(heldOut)).Report;
            var before = ml.Fairness().Audit(sensitive, nameof(AuditRow.Predicted), nameof(AuditRow.Client), nameof(AuditRow.Label), bootstrapSamples: 0, seed: 1)
                .Fit(heldOut).Report;
            Console.WriteLine($"| {name} | {sensitive} | {budget} | {after.GlobalDisparity:F4} / {after.LocalDisparity:F4}; {after.GlobalDisparityBiasCorrected:F4} / {after.LocalDisparityBiasCorrected:F4} " +
                              $"(unmitigated {before.GlobalDisparity:F4} / {before.LocalDisparity:F4}) | " +
                              $"{after.Accuracy:F4} / {mitigator.Solution.Accuracy:F4} / {mitigator.CrossFitted.Accuracy:F4} / {before.Accuracy:F4} |");
        }

static string? FindSharedData(string file)
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
    {
        var candidate = Path.Combine(dir.FullName, "shared", "data", file);
        if (File.Exists(candidate)) return candidate;
    }
    return null;
}

static IEnumerable<Adult> Generated(int n)
{
    var random = new Random(3);
    for (int i = 0; i < n; i++)
    {
        bool female = random.NextDouble() < 0.33;
        float age = 18 + random.Next(50), hours = 20 + random.Next(40), education = 6 + random.Next(10);
        double logit = -6 + 0.04 * age + 0.03 * hours + 0.25 * education - (female ? 0.8 : 0);
        yield return new Adult
        {
            Age = age, HoursPerWeek = hours, EducationNum = education, Sex = female ? "Female" : "Male", Workclass = "Private",
            Education = "x", MaritalStatus = "x", Occupation = "x", Relationship = "x", Race = "x",
            Income = random.NextDouble() < 1 / (1 + Math.Exp(-logit)) ? ">50K" : "<=50K",
        };
    }
}

public sealed class Adult
{
    [LoadColumn(0)] public float Age { get; set; }
    [LoadColumn(1)] public string Workclass { get; set; } = "";
    [LoadColumn(3)] public string Education { get; set; } = "";
    [LoadColumn(4)] public float EducationNum { get; set; }
    [LoadColumn(5)] public string MaritalStatus { get; set; } = "";
    [LoadColumn(6)] public string Occupation { get; set; } = "";
    [LoadColumn(7)] public string Relationship { get; set; } = "";
    [LoadColumn(8)] public string Race { get; set; } = "";
    [LoadColumn(9)] public string Sex { get; set; } = "";
    [LoadColumn(10)] public float CapitalGain { get; set; }
    [LoadColumn(11)] public float CapitalLoss { get; set; }
    [LoadColumn(12)] public float HoursPerWeek { get; set; }
    [LoadColumn(14)] public string Income { get; set; } = "";
}

public sealed class IncomeLabel
{
    public bool Label { get; set; }
}

public sealed class ScoredAdult
{
    public string Sex { get; set; } = "";
    public string Race { get; set; } = "";
    public float Probability { get; set; }
    public bool Label { get; set; }
    public bool PredictedLabel { get; set; }
}

public sealed class AuditRow
{
    public string Sex { get; set; } = "";
    public string Race { get; set; } = "";
    public float Probability { get; set; }
    public string Id { get; set; } = "";
    public string Client { get; set; } = "";
    public bool Predicted { get; set; }
    public bool Label { get; set; }
}
