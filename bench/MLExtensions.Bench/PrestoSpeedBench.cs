using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Ordinal;

namespace MLExtensions.Bench;

/// <summary>
/// The tuned PRESTO path (λ path, k-fold CV on the Brier score, refit at the chosen λ) timed on the paper's
/// simulation design and a survey-shaped case, with how cost grows in p·(K − 1); and, when R and the official code
/// are present, the same CSV fitted by the reference side by side.
/// </summary>
/// <remarks>
/// The reference is <c>gregfaletto/presto</c> (its modified ordinalNet in pure R). Point <c>--r-code</c> (or the
/// environment variable <c>PRESTO_R_CODE</c>) at a checkout of it; R comes from <c>apt-get install r-base-core</c>
/// and the soup survey data from <c>r-cran-ordinal</c>.
/// </remarks>
public static class PrestoSpeedBench
{
    private const int Lambdas = 20;
    private const double LambdaMinRatio = 0.01;
    private const int Folds = 5;

    public static void Run(string? referenceCode, bool quick)
    {
        referenceCode ??= Environment.GetEnvironmentVariable("PRESTO_R_CODE");
        bool withR = referenceCode is not null && Rscript() is not null;
        Console.WriteLine($"PRESTO tuned path: {Lambdas} λ, λ ratio {LambdaMinRatio}, {Folds} folds, {Environment.ProcessorCount} cores" +
                          (withR ? $"; R reference from {referenceCode}" : "; no R reference (give --r-code DIR with R installed)"));
        var directory = Directory.CreateTempSubdirectory("presto-bench").FullName;

        var paper = OrdinalSimulation.Generate(OrdinalDifferences.Sparse, 2_500, 10, [0, 3, 5], seed: 1);
        string paperCsv = Path.Combine(directory, "paper.csv");
        WriteCsv(paperCsv, paper.Features, paper.Labels, paper.FeatureCount);
        Compare("paper design n = 2,500, p = 10, K = 4", paperCsv, paper.FeatureCount, referenceCode, withR, Lambdas);

        string soupCsv = Path.Combine(directory, "soup.csv");
        if (ExportSoup(soupCsv))
        {
            Compare("soup survey n = 1,847, p = 22, K = 6", soupCsv, 22, referenceCode, withR && !quick, Lambdas);
            Compare("soup survey, 50 λ", soupCsv, 22, null, false, 50);
        }
        else Console.WriteLine("soup: R's ordinal package not installed (apt-get install r-cran-ordinal); skipped");

        if (quick) return;
        Console.WriteLine("growth in p·(K − 1), n = 2,500, paper-style design with noise features:");
        foreach (var (p, intercepts) in new (int, double[])[] { (10, [0, 3, 5]), (22, [0, 1, 2, 3, 4]), (50, [0, 1, 2, 3, 4]), (100, [0, 1, 2, 3, 4]) })
        {
            var sim = OrdinalSimulation.Generate(OrdinalDifferences.Sparse, 2_500, Math.Min(p, 10), intercepts, seed: 3);
            var x = new float[sim.Rows * p];
            var random = new Random(5);
            for (int i = 0; i < sim.Rows; i++)
                for (int j = 0; j < p; j++) x[i * p + j] = j < sim.FeatureCount ? sim.Features[i * sim.FeatureCount + j] : (float)(random.NextDouble() * 2 - 1);
            string csv = Path.Combine(directory, $"growth{p}.csv");
            WriteCsv(csv, x, sim.Labels, p);
            Compare($"p = {p}, K = {intercepts.Length + 1}, p·(K − 1) = {p * intercepts.Length}", csv, p, null, false, Lambdas);
        }
    }

    private static void Compare(string title, string csv, int p, string? referenceCode, bool withR, int lambdas)
    {
        var (seconds, model) = TimeOurs(csv, p, lambdas);
        Console.WriteLine($"{title}: ours {seconds:F3} s (λ* = {model.Lambda:G6})");
        if (!withR) return;
        var reference = RunReference(csv, referenceCode!, lambdas);
        if (reference is null) return;
        double coefficientGap = 0;
        for (int k = 0; k < model.Weights.Length; k++)
            for (int j = 0; j < p; j++) coefficientGap = Math.Max(coefficientGap, Math.Abs(model.Weights[k][j] - reference.Value.Beta[k][j]));
        Console.WriteLine($"   R reference {reference.Value.Seconds:F1} s (λ* = {reference.Value.Lambda:G6}); ratio {reference.Value.Seconds / seconds:F0}×; " +
                          $"largest |β ours − β R| {coefficientGap:G3}");
    }

    private static (double Seconds, PrestoParameters Model) TimeOurs(string csv, int p, int lambdas)
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.Cache(ml.Data.LoadFromTextFile(csv, [
            new TextLoader.Column("Label", DataKind.Single, 0),
            new TextLoader.Column("Features", DataKind.Single, 1, p),
        ], separatorChar: ',', hasHeader: true));
        var options = new PrestoTrainer.Options { NumberOfLambdas = lambdas, LambdaMinRatio = LambdaMinRatio, NumberOfFolds = Folds, Seed = 1 };
        // The first fit (paying for the JIT when it is the process's first), then the best of three.
        var first = Stopwatch.StartNew();
        ml.Ordinal().Trainers.Presto(options).Fit(data).Dispose();
        Console.Write($"   (first fit in the process {first.Elapsed.TotalSeconds:F3} s) ");
        ml.Ordinal().Trainers.Presto(options).Fit(data).Dispose();
        double best = double.MaxValue;
        PrestoModel? model = null;
        for (int repeat = 0; repeat < 3; repeat++)
        {
            model?.Dispose();
            var clock = Stopwatch.StartNew();
            model = ml.Ordinal().Trainers.Presto(options).Fit(data);
            best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }
        var parameters = model!.Parameters;
        model.Dispose();
        return (best, parameters);
    }

    private readonly record struct Reference(double Seconds, double Lambda, double[][] Beta);

    /// <summary>Runs the official code's tuning (<c>getLambdaFusedPolr</c>) and final fit (<c>getParamEstsMod</c>) on the CSV.</summary>
    private static Reference? RunReference(string csv, string referenceCode, int lambdas)
    {
        string script = Path.ChangeExtension(csv, ".R");
        File.WriteAllText(script, $$"""
            setwd("{{referenceCode}}")
            suppressMessages(source("presto_func.R"))
            data <- read.csv("{{csv}}")
            y <- factor(data[, 1], ordered = TRUE)
            X <- as.matrix(data[, -1])
            set.seed(1)
            seconds <- system.time({
              lambda <- getLambdaFusedPolr(X = X, y = y, nLambda = {{lambdas}}, lambdaMinRatio = {{LambdaMinRatio.ToString(CultureInfo.InvariantCulture)}})
              fit <- getParamEstsMod(X = X, y = y, lambdaVals = lambda, K = nlevels(y))
            })[["elapsed"]]
            cat("seconds", seconds, "\n")
            cat("lambda", format(lambda, digits = 17), "\n")
            for (k in seq_len(ncol(fit$Beta_hat))) cat("beta", format(fit$Beta_hat[, k], digits = 17), "\n")
            """);
        var start = new ProcessStartInfo(Rscript()!, [script]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd();
        string errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            Console.WriteLine($"   R reference failed: {errors.Trim()}");
            return null;
        }
        double seconds = 0, lambda = 0;
        var beta = new List<double[]>();
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var values = parts.Skip(1).Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            switch (parts[0])
            {
                case "seconds": seconds = values[0]; break;
                case "lambda": lambda = values[0]; break;
                case "beta": beta.Add(values); break;
            }
        }
        return new Reference(seconds, lambda, beta.ToArray());
    }

    /// <summary>The soup data of R's ordinal package with the official example's 22 dummy-coded columns.</summary>
    private static bool ExportSoup(string csv)
    {
        if (Rscript() is not { } rscript) return false;
        string script = Path.ChangeExtension(csv, ".R");
        File.WriteAllText(script, $$"""
            if (!requireNamespace("ordinal", quietly = TRUE)) quit(status = 3)
            data(soup, package = "ordinal")
            X <- model.matrix(~ PROD + DAY + SOUPTYPE + SOUPFREQ + COLD + EASY + GENDER + AGEGROUP + LOCATION, soup)
            X <- X[, colnames(X) != "(Intercept)"]
            write.csv(data.frame(y = as.integer(soup$SURENESS), X), "{{csv}}", row.names = FALSE)
            """);
        using var process = Process.Start(new ProcessStartInfo(rscript, [script]) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        process.WaitForExit();
        return process.ExitCode == 0;
    }

    private static string? Rscript() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, "Rscript")).FirstOrDefault(File.Exists);

    private static void WriteCsv(string path, float[] x, int[] labels, int p)
    {
        using var writer = new StreamWriter(path);
        writer.WriteLine("y," + string.Join(",", Enumerable.Range(1, p).Select(j => $"x{j}")));
        for (int i = 0; i < labels.Length; i++)
            writer.WriteLine(labels[i].ToString(CultureInfo.InvariantCulture) + "," +
                             string.Join(",", Enumerable.Range(0, p).Select(j => x[i * p + j].ToString("R", CultureInfo.InvariantCulture))));
    }
}
