using Microsoft.ML;
using MLExtensions.Onnx.Scoring;
using MLExtensions.Torch;
using MLExtensions.Training;
using TorchSharp;

namespace MLExtensions.Ordinal;

/// <summary>The common road of the cumulative-logit trainers: load, fit on the standardised scale, map back, export, score.</summary>
internal static class CumulativeLogitFitter
{
    public static PrestoModel Fit(MLContext mlContext, IDataView input, CumulativeLogitOptions options, string trainer, string method,
        Func<int, PathSettings> settingsFor)
    {
        ArgumentNullException.ThrowIfNull(input);
        using var run = TrainingRun.Start(mlContext, trainer, options, widestLayer: 0);
        var data = OrdinalTrainingSet.Load(input, options, run.CancellationToken);
        var constant = Enumerable.Range(0, data.Problem.FeatureCount).Where(data.IsConstant).ToArray();
        if (constant.Length > 0)
            run.Warning($"feature slot(s) {string.Join(", ", constant)} of '{options.FeatureColumnName}' are constant; their coefficients are fixed at 0");
        var settings = settingsFor(run.Seed);
        bool crossValidates = settings.Lambda is null && !settings.ProportionalOddsOnly;
        if (crossValidates && settings.FoldColumnName is { } foldColumn)
            settings = settings with { Folds = ReadFolds(input, foldColumn, data, options.LabelColumnName) };
        else if (crossValidates) CheckFoldable(data, settings.NumberOfFolds, options.LabelColumnName);
        run.Info($"{data.Problem.Rows} rows, {data.Problem.FeatureCount} features, {data.Classes.Count} classes");

        var backend = options.Backend != OrdinalSolverBackend.Auto ? options.Backend
            : run.Device.type == DeviceType.CUDA ? OrdinalSolverBackend.TorchSharp : OrdinalSolverBackend.Managed;
        var path = new PrestoPath(data, settings, problem => CreateKernel(backend, problem, run), run.Info,
            (step, steps, loss) => run.ReportEpoch(step, steps, loss, null)).Fit(run.CancellationToken);
        var parameters = BackTransform(data, path);
        run.Info(double.IsInfinity(path.Lambda) ? "proportional-odds fit" : $"λ = {path.Lambda:G4} (λ_max = {path.LambdaMax:G4})");

        var onnx = PrestoOnnxExporter.Export(parameters, options.FeatureColumnName, data.Classes.Names, method, data.Means, data.Deviations);
        var parity = CheckExport(parameters, onnx, options.FeatureColumnName, data, run.Seed);
        var scoring = OnnxScoringChain.Fit(mlContext, input, new OnnxScoringSpec
        {
            Model = onnx,
            Kind = PredictionKind.MulticlassClassification,
            InputColumns = [options.FeatureColumnName],
            Classes = data.Classes,
            Device = options.ScoringDevice,
        });
        return new PrestoModel(scoring, parameters, data.Classes, parity, run.Seed);
    }

    /// <summary>Back to the original scale with the cumulative β̃_k: β_k = β̃_k / sd, α_k = α̃_k − Σ_j mean_j β̃_kj / sd_j.</summary>
    private static PrestoParameters BackTransform(OrdinalTrainingSet data, PathResult path)
    {
        int boundaries = data.Problem.Boundaries, p = data.Problem.FeatureCount;
        var standardisedBeta = path.Selected.Betas();
        var intercepts = new double[boundaries];
        var weights = new double[boundaries][];
        for (int k = 0; k < boundaries; k++)
        {
            weights[k] = new double[p];
            double shift = 0;
            for (int j = 0; j < p; j++)
            {
                if (data.IsConstant(j)) continue;
                weights[k][j] = standardisedBeta[k * p + j] / data.Deviations[j];
                shift += data.Means[j] * weights[k][j];
            }
            intercepts[k] = path.Selected.Alpha(k) - shift;
        }
        return new PrestoParameters(intercepts, weights, path.Lambda, path.LambdaMax, path.LambdaPath,
            path.CrossValidationScores, path.CrossValidationStandardErrors, path.Converged, path.Diagnostics);
    }

    private static void CheckFoldable(OrdinalTrainingSet data, int folds, string label)
    {
        var counts = new int[data.Classes.Count];
        for (int i = 0; i < data.Problem.Rows; i++)
            if (data.Problem.Weights[i] > 0) counts[data.Problem.Labels[i]]++;
        var small = Enumerable.Range(0, counts.Length).Where(k => counts[k] < 2).ToArray();
        if (small.Length > 0)
            throw new InvalidDataException(
                $"Label column '{label}': class(es) {string.Join(", ", small.Select(k => $"'{data.Classes.Names[k]}'"))} have a single row, too few for " +
                $"{folds}-fold cross-validation. Give Lambda explicitly, or merge the class with a neighbour.");
    }

    /// <summary>
    /// The fold of every row from the user's fold column (one fold per distinct value, in ordinal order of the
    /// values); every fold must leave every class in its training part.
    /// </summary>
    private static int[] ReadFolds(IDataView input, string foldColumn, OrdinalTrainingSet data, string label)
    {
        var column = ColumnChecks.Require(input.Schema, foldColumn, "fold");
        var values = new List<string>();
        using (var cursor = input.GetRowCursor([column]))
        {
            var read = MLExtensions.Fairness.ValueReader.For(cursor, column, null);
            for (long row = 0; cursor.MoveNext(); row++) values.Add(read(row));
        }
        if (values.Count != data.Problem.Rows)
            throw new InvalidDataException($"The fold column '{foldColumn}' has {values.Count} rows but the training data {data.Problem.Rows}.");
        var names = values.Distinct().Order(StringComparer.Ordinal).ToArray();
        if (names.Length < 2) throw new InvalidDataException($"The fold column '{foldColumn}' holds the single value '{names[0]}'; cross-validation needs at least two folds.");
        var index = names.Select((n, i) => (n, i)).ToDictionary(p => p.n, p => p.i, StringComparer.Ordinal);
        var folds = values.Select(v => index[v]).ToArray();
        for (int f = 0; f < names.Length; f++)
        {
            var present = new bool[data.Classes.Count];
            for (int i = 0; i < folds.Length; i++)
                if (folds[i] != f && data.Problem.Weights[i] > 0) present[data.Problem.Labels[i]] = true;
            int missing = Array.IndexOf(present, false);
            if (missing >= 0)
                throw new InvalidDataException($"Label column '{label}': with fold '{names[f]}' of '{foldColumn}' held out, class '{data.Classes.Names[missing]}' has no " +
                                               "training rows left. Merge folds or classes, or use stratified folds (FoldColumnName = null).");
        }
        return folds;
    }

    private static ICumulativeLogitKernel CreateKernel(OrdinalSolverBackend backend, OrdinalProblem problem, TrainingRun run) => backend == OrdinalSolverBackend.TorchSharp
        ? new TorchCumulativeLogitKernel(problem, run.Device)
        : new ManagedCumulativeLogitKernel(problem);

    /// <summary>ONNX against the managed double-precision probabilities, on rows drawn around (and beyond) the training data.</summary>
    private static ParityReport CheckExport(PrestoParameters parameters, byte[] onnx, string inputName, OrdinalTrainingSet data, int seed)
    {
        const int rows = 128;
        int p = data.Problem.FeatureCount;
        var random = new Random(seed ^ 0x0D1A);
        var values = new float[rows * p];
        for (int i = 0; i < values.Length; i++)
        {
            int j = i % p;
            double spread = data.Deviations[j] > 0 ? data.Deviations[j] : 1;
            values[i] = (float)(data.Means[j] + spread * (2 * random.NextDouble() - 1) * 3);
        }
        var report = OnnxParity.Compare(inputs =>
        {
            var x = inputs[0].Values;
            return Enumerable.Range(0, rows).SelectMany(r => PrestoModel.Probabilities(parameters, x.AsSpan(r * p, p)).Select(v => (float)v)).ToArray();
        }, onnx, [new ParityInput(inputName, values, [rows, p])], ScoringHeads.ClassProbabilities);
        if (report.RelativeError > 1e-4)
            throw new InvalidOperationException($"The ONNX export disagrees with the fitted model: {report}. Please report this as a bug.");
        return report;
    }
}
