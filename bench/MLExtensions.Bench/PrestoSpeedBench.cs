using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Ordinal;
using MLExtensions.Studies;

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
        var (seconds, fit, first, model) = TimeOurs(csv, p, lambdas);
        Console.WriteLine($"{title}: tuned path {seconds:F3} s (λ* = {model.Lambda:G6}); Fit {fit:F3} s with the ONNX export, its check and the scoring " +
                          $"session (the process's first Fit {first:F2} s, JIT included)");
        if (!withR) return;
        var reference = RunReference(csv, referenceCode!, lambdas);
        if (reference is not { } r) return;
        Console.WriteLine($"   R reference {r.Seconds:F1} s (λ* = {r.Lambda:G6}, its own random folds; λ on the standardised scale in both); ratio {r.Seconds / seconds:F0}× on the tuned path, {r.Seconds / fit:F0}× on the whole Fit");
        // The two picks differ with the folds; the fits are compared at R's λ on PRESTO's objective.
        var ml = new MLContext(seed: 1);
        using var atReference = ml.Ordinal().Trainers.Presto(new PrestoTrainer.Options { Lambda = r.Lambda }).Fit(Load(ml, csv, p));
        var (x, y) = ReadCsv(csv, p);
        double ours = Objective(x, y, p, r.Lambda, atReference.Parameters.Intercepts.ToArray(), atReference.Parameters.Weights.Select(w => w.ToArray()).ToArray());
        double theirs = Objective(Standardised(x), y, p, r.Lambda, r.Alpha, r.Beta);
        Console.WriteLine($"   objective at R's λ: ours {ours:F10}, R {theirs:F10} (R − ours = {theirs - ours:G3}, relative {(theirs - ours) / Math.Abs(ours):G3})");
    }

    /// <summary>
    /// PRESTO's objective written out: −(1/n) Σ log P(y_i | x_i) + λ Σ_k Σ_j sd_j |β_kj − β_(k−1)j| (β_0 = 0) with the
    /// population standard deviation, on the original scale of the coefficients.
    /// </summary>
    private static double Objective(double[][] x, int[] y, int p, double lambda, double[] alpha, double[][] beta)
    {
        int n = y.Length, boundaries = alpha.Length;
        double logLikelihood = 0;
        for (int i = 0; i < n; i++)
        {
            double Cumulative(int k) => k < 0 ? 0 : k >= boundaries ? 1 : 1 / (1 + Math.Exp(-(alpha[k] + x[i].Select((v, j) => v * beta[k][j]).Sum())));
            logLikelihood += Math.Log(Cumulative(y[i]) - Cumulative(y[i] - 1));
        }
        double penalty = 0;
        for (int j = 0; j < p; j++)
        {
            double mean = x.Average(row => row[j]), sd = Math.Sqrt(x.Average(row => (row[j] - mean) * (row[j] - mean)));
            for (int k = 0; k < boundaries; k++) penalty += sd * Math.Abs(beta[k][j] - (k > 0 ? beta[k - 1][j] : 0));
        }
        return -logLikelihood / n + lambda * penalty;
    }

    private static double[][] Standardised(double[][] x)
    {
        int p = x[0].Length;
        var mean = Enumerable.Range(0, p).Select(j => x.Average(row => row[j])).ToArray();
        var sd = Enumerable.Range(0, p).Select(j => Math.Sqrt(x.Average(row => (row[j] - mean[j]) * (row[j] - mean[j])))).Select(v => v > 0 ? v : 1).ToArray();
        return x.Select(row => row.Select((v, j) => (v - mean[j]) / sd[j]).ToArray()).ToArray();
    }

    private static (double[][] X, int[] Y) ReadCsv(string csv, int p)
    {
        var rows = File.ReadLines(csv).Skip(1).Select(line => line.Split(',').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray()).ToArray();
        var labels = rows.Select(r => r[0]).Distinct().Order().ToList();
        return (rows.Select(r => r.Skip(1).Take(p).ToArray()).ToArray(), rows.Select(r => labels.IndexOf(r[0])).ToArray());
    }

    private static IDataView Load(MLContext ml, string csv, int p) => ml.Data.Cache(ml.Data.LoadFromTextFile(csv, [
        new TextLoader.Column("Label", DataKind.Single, 0),
        new TextLoader.Column("Features", DataKind.Single, 1, p),
    ], separatorChar: ',', hasHeader: true));

    /// <summary>Best-of-three times of the tuned path and of the whole Fit, the first Fit's time, and the model.</summary>
    private static (double Path, double Fit, double FirstFit, PrestoParameters Model) TimeOurs(string csv, int p, int lambdas)
    {
        var ml = new MLContext(seed: 1);
        var data = Load(ml, csv, p);
        var options = new PrestoTrainer.Options { NumberOfLambdas = lambdas, LambdaMinRatio = LambdaMinRatio, NumberOfFolds = Folds, Seed = 1 };
        // The first fit (paying for the JIT when it is the process's first), then the best of three.
        var first = Stopwatch.StartNew();
        ml.Ordinal().Trainers.Presto(options).Fit(data).Dispose();
        double firstFit = first.Elapsed.TotalSeconds;
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
        // The tuned path alone (reading, λ path, cross-validation, refit), which is what the R code times; Fit adds
        // the ONNX export, its parity check and the scoring session.
        var trainer = new PrestoTrainer(ml, options);
        double path = double.MaxValue;
        for (int repeat = 0; repeat < 3; repeat++)
        {
            using var run = MLExtensions.Training.TrainingRun.Start(ml, "bench", options, widestLayer: 0);
            var clock = Stopwatch.StartNew();
            CumulativeLogitFitter.TunedPath(run, data, options, trainer.Settings(run.Seed));
            path = Math.Min(path, clock.Elapsed.TotalSeconds);
        }
        return (path, best, firstFit, parameters);
    }

    private readonly record struct Reference(double Seconds, double Lambda, double[] Alpha, double[][] Beta);

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
            # Standardised here (population SD, as both implementations do), so the code's own unscaling, whose
            # intercepts use the differences instead of the cumulative coefficients, cannot bias the comparison.
            sds <- sqrt(colMeans(sweep(X, 2, colMeans(X))^2))
            X <- scale(X, center = colMeans(X), scale = ifelse(sds > 0, sds, 1))
            set.seed(1)
            seconds <- system.time({
              lambda <- getLambdaFusedPolr(X = X, y = y, nLambda = {{lambdas}}, lambdaMinRatio = {{LambdaMinRatio.ToString(CultureInfo.InvariantCulture)}})
              fit <- getParamEstsMod(X = X, y = y, lambdaVals = lambda, K = nlevels(y))
            })[["elapsed"]]
            cat("seconds", seconds, "\n")
            cat("lambda", format(lambda, digits = 17), "\n")
            cat("alpha", format(fit$alpha_hat, digits = 17), "\n")
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
        double[] alpha = [];
        var beta = new List<double[]>();
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var values = parts.Skip(1).Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            switch (parts[0])
            {
                case "seconds": seconds = values[0]; break;
                case "lambda": lambda = values[0]; break;
                case "alpha": alpha = values; break;
                case "beta": beta.Add(values); break;
            }
        }
        return new Reference(seconds, lambda, alpha, beta.ToArray());
    }

    /// <summary>The soup data of R's ordinal package with the official example's 22 dummy-coded columns.</summary>
    internal static bool ExportSoup(string csv)
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
