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
        options.Validate();
        using var run = TrainingRun.Start(mlContext, trainer, options, widestLayer: 0);
        var (data, path) = TunedPath(run, input, options, settingsFor(run.Seed));
        var parameters = BackTransform(data, path, options.OffsetColumnName);
        run.Info(double.IsInfinity(path.Lambda) ? "proportional-odds fit"
            : $"λ = {path.Lambda:G4} (λ_max = {path.LambdaMax:G4}){(path.Relaxation is null ? "" : $", relaxed γ = {path.Gamma:G4}")}" +
              (parameters.CrossValidationMetric is { } metric ? $", cross-validated on {metric}{(parameters.RareClass is { } rare ? $" of class '{rare}'" : "")}" : ""));
        if (path.ProportionalOddsTest is { } test)
            run.Info($"proportional-odds likelihood-ratio test: χ² = {test.Statistic:G4} on {test.DegreesOfFreedom} df, p = {test.PValue:G3}");

        var columns = new PrestoGraphColumns(options.OffsetColumnName, options.CumulativeProbabilitiesColumnName, options.LinearPredictorsColumnName);
        var onnx = PrestoOnnxExporter.Export(parameters, options.FeatureColumnName, data.Classes.Names, method, data.Means, data.Deviations, columns);
        var parity = CheckExport(parameters, onnx, options.FeatureColumnName, options.OffsetColumnName, data, run.Seed);
        var scoring = ExportedFit.Finish(run, mlContext, input, new OnnxScoringSpec
        {
            Model = onnx,
            Kind = PredictionKind.MulticlassClassification,
            InputColumns = options.OffsetColumnName is { } offset ? [options.FeatureColumnName, offset] : [options.FeatureColumnName],
            ExtraOutputs = new[] { options.CumulativeProbabilitiesColumnName, options.LinearPredictorsColumnName }.OfType<string>().ToArray(),
            Classes = data.Classes,
            Device = options.ScoringDevice,
        }, parity);
        return new PrestoModel(scoring, parameters, data.Classes, parity.Report, run.Seed);
    }

    /// <summary>Reads the data (into memory or as a stream) and fits the path on the standardised scale: what the R reference's tuning does.</summary>
    internal static (OrdinalTrainingSet Data, PathResult Path) TunedPath(TrainingRun run, IDataView input, CumulativeLogitOptions options, PathSettings settings)
    {
        settings = settings with { MemoryLimit = options.MemoryLimit ?? FitMemory.DefaultLimit };
        bool crossValidates = settings.Lambda is null && !settings.ProportionalOddsOnly;
        var backend = options.Backend != OrdinalSolverBackend.Auto ? options.Backend
            : run.Device.type == DeviceType.CUDA ? OrdinalSolverBackend.TorchSharp : OrdinalSolverBackend.Managed;
        var memory = new FitMemory(options, settings, FeatureCount(input, options), KnownClassCount(input, options), crossValidates,
            sparseAllowed: !options.StreamData && !options.DenseRowsOnly && backend == OrdinalSolverBackend.Managed);
        if (options.StreamData) memory.CheckStreamed();
        var data = options.StreamData
            ? OrdinalTrainingSet.Stream(input, options, crossValidates ? settings.NumberOfFolds : 0, settings.FoldColumnName, run.Seed, run.CancellationToken)
            : InMemory(input, options, settings, crossValidates, problem => CreateKernel(backend, problem, run), memory, run.CancellationToken);
        var constant = Enumerable.Range(0, data.FeatureCount).Where(data.IsConstant).ToArray();
        if (constant.Length > 0)
            run.Warning($"feature slot(s) {string.Join(", ", constant.Take(20))}{(constant.Length > 20 ? $" and {constant.Length - 20} more" : "")} of " +
                        $"'{options.FeatureColumnName}' are constant; their coefficients are fixed at 0");
        bool sparse = data.Rows is InMemoryOrdinalRows { Problem.Sparse: not null };
        run.Info($"{data.RowCount} rows{(options.StreamData ? " (streamed)" : sparse ? " (sparse)" : "")}, {data.FeatureCount} features, {data.Classes.Count} classes");

        var path = new PrestoPath(data, settings, run.Info,
            (step, steps, loss) => run.ReportEpoch(new TrainingProgress(run.Trainer, step, steps, loss, null, run.Elapsed))).Fit(run.CancellationToken);
        return (data, path);
    }

    /// <summary>Back to the original scale with the cumulative β̃_k: β_k = β̃_k / sd, α_k = α̃_k − Σ_j mean_j β̃_kj / sd_j.</summary>
    private static PrestoParameters BackTransform(OrdinalTrainingSet data, PathResult path, string? offsetColumnName)
    {
        int boundaries = data.Rows.Boundaries, p = data.FeatureCount;
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
            path.CrossValidationScores, path.CrossValidationStandardErrors, path.Converged, path.Diagnostics, path.ProportionalOddsTest, offsetColumnName,
            path.Gamma, path.Relaxation, path.Loss?.Metric,
            path.Loss is { Metric: PrestoCrossValidationMetric.RareClassBrier } loss ? data.Classes.Names[loss.RareClass] : null);
    }

    /// <summary>The feature count (the column's checks, which name a missing or mistyped column, before any memory estimate).</summary>
    private static int FeatureCount(IDataView input, CumulativeLogitOptions options) =>
        ColumnChecks.FeatureCount(ColumnChecks.Require(input.Schema, options.FeatureColumnName, "feature"));

    /// <summary>A key label's class count, else 3 (the fewest ordinal classes) until the data say more.</summary>
    private static int KnownClassCount(IDataView input, CumulativeLogitOptions options) =>
        input.Schema.GetColumnOrNull(options.LabelColumnName) is { Type: Microsoft.ML.Data.KeyDataViewType key } && key.Count is > 3 and < int.MaxValue ? (int)key.Count : 3;

    /// <summary>The data in memory, dealt into folds (by the fold column, or stratified by class) when cross-validating.</summary>
    private static OrdinalTrainingSet InMemory(IDataView input, CumulativeLogitOptions options, PathSettings settings, bool crossValidates,
        Func<OrdinalProblem, ICumulativeLogitKernel> kernelFor, FitMemory memory, CancellationToken cancellationToken)
    {
        var data = OrdinalTrainingSet.Load(input, options, kernelFor, memory, cancellationToken);
        if (!crossValidates) return data;
        _ = CrossValidationLoss.For(settings.Metric, settings.RareClass, data.Classes); // an unknown rare class before the folds' checks
        var rows = (InMemoryOrdinalRows)data.Rows;
        var folds = settings.FoldColumnName is { } foldColumn
            ? ReadFolds(input, foldColumn, rows.Problem, data.Classes, options.LabelColumnName)
            : StratifiedFolds(rows.Problem, data.Classes, settings.NumberOfFolds, settings.Seed, options.LabelColumnName);
        return data.WithRows(rows.WithFolds(folds));
    }

    /// <summary>
    /// Fold of each row: rows of each class are shuffled (seeded) and dealt round-robin, so every training split
    /// keeps every class that has at least two rows.
    /// </summary>
    private static int[] StratifiedFolds(OrdinalProblem problem, ClassLabels classes, int folds, int seed, string label)
    {
        var counts = new int[classes.Count];
        for (int i = 0; i < problem.Rows; i++)
            if (problem.Weights[i] > 0) counts[problem.Labels[i]]++;
        var small = Enumerable.Range(0, counts.Length).Where(k => counts[k] < 2).ToArray();
        if (small.Length > 0)
            throw new InvalidDataException(
                $"Label column '{label}': class(es) {string.Join(", ", small.Select(k => $"'{classes.Names[k]}'"))} have a single row, too few for " +
                $"{folds}-fold cross-validation. Give Lambda explicitly, or merge the class with a neighbour.");
        int weighted = problem.Weights.Count(w => w > 0);
        if (folds > weighted) throw TooManyFolds(folds, weighted, folds - weighted);
        var random = new Random(seed);
        var fold = new int[problem.Rows];
        int next = 0;
        for (int k = 0; k < classes.Count; k++)
        {
            var rows = Enumerable.Range(0, problem.Rows).Where(i => problem.Labels[i] == k).ToArray();
            random.Shuffle(rows);
            foreach (var i in rows) fold[i] = next++ % folds;
        }
        // Rows of weight zero are dealt too, so a fold may still end up with none of positive weight.
        var heldOut = new double[folds];
        for (int i = 0; i < fold.Length; i++) heldOut[fold[i]] += problem.Weights[i];
        int empty = heldOut.Count(w => !(w > 0));
        if (empty > 0) throw TooManyFolds(folds, weighted, empty);
        return fold;
    }

    /// <summary>A fold without rows of positive weight scores nothing: cross-validation needs fewer folds.</summary>
    internal static InvalidDataException TooManyFolds(int folds, long rows, long emptyFolds) => new(
        $"NumberOfFolds ({folds}) is too many for the {rows} training row(s) of positive weight: {emptyFolds} fold(s) would hold no rows to score. " +
        $"Use fewer folds (at most {rows}), or give Lambda to skip cross-validation.");

    /// <summary>
    /// The fold of every row from the user's fold column (one fold per distinct value, in ordinal order of the
    /// values); every fold must leave every class in its training part.
    /// </summary>
    private static int[] ReadFolds(IDataView input, string foldColumn, OrdinalProblem problem, ClassLabels classes, string label)
    {
        var column = ColumnChecks.Require(input.Schema, foldColumn, "fold");
        var values = new List<string>();
        using (var cursor = input.GetRowCursor([column]))
        {
            var read = ValueReader.For(cursor, column, null);
            for (long row = 0; cursor.MoveNext(); row++) values.Add(read(row));
        }
        if (values.Count != problem.Rows)
            throw new InvalidDataException($"The fold column '{foldColumn}' has {values.Count} rows but the training data {problem.Rows}.");
        var names = values.Distinct().Order(StringComparer.Ordinal).ToArray();
        if (names.Length < 2) throw new InvalidDataException($"The fold column '{foldColumn}' holds the single value '{names[0]}'; cross-validation needs at least two folds.");
        var index = names.Select((n, i) => (n, i)).ToDictionary(p => p.n, p => p.i, StringComparer.Ordinal);
        var folds = values.Select(v => index[v]).ToArray();
        var heldOut = new double[names.Length];
        for (int i = 0; i < folds.Length; i++) heldOut[folds[i]] += problem.Weights[i];
        for (int f = 0; f < names.Length; f++)
        {
            if (!(heldOut[f] > 0))
                throw new InvalidDataException($"The fold column '{foldColumn}': fold '{names[f]}' holds only rows of weight 0, so it scores nothing. Merge it with another fold.");
            var present = new bool[classes.Count];
            for (int i = 0; i < folds.Length; i++)
                if (folds[i] != f && problem.Weights[i] > 0) present[problem.Labels[i]] = true;
            int missing = Array.IndexOf(present, false);
            if (missing >= 0)
                throw new InvalidDataException($"Label column '{label}': with fold '{names[f]}' of '{foldColumn}' held out, class '{classes.Names[missing]}' has no " +
                                               "training rows left. Merge folds or classes, or use stratified folds (FoldColumnName = null).");
        }
        return folds;
    }

    private static ICumulativeLogitKernel CreateKernel(OrdinalSolverBackend backend, OrdinalProblem problem, TrainingRun run) => backend == OrdinalSolverBackend.TorchSharp
        ? new TorchCumulativeLogitKernel(problem, run.Device)
        : problem.Sparse is not null ? new SparseCumulativeLogitKernel(problem) : new ManagedCumulativeLogitKernel(problem);

    /// <summary>ONNX against the managed double-precision probabilities, on rows drawn around (and beyond) the training data.</summary>
    private static ExportCheck CheckExport(PrestoParameters parameters, byte[] onnx, string inputName, string? offsetName, OrdinalTrainingSet data, int seed)
    {
        const int rows = 128;
        int p = data.FeatureCount;
        var random = new Random(seed ^ 0x0D1A);
        var values = new float[rows * p];
        for (int i = 0; i < values.Length; i++)
        {
            int j = i % p;
            double spread = data.Deviations[j] > 0 ? data.Deviations[j] : 1;
            values[i] = (float)(data.Means[j] + spread * (2 * random.NextDouble() - 1) * 3);
        }
        // Offsets around and beyond the training ones' range.
        float[]? offsets = null;
        if (offsetName is not null && data.Rows is InMemoryOrdinalRows { Problem.Offsets: { } trained })
        {
            double low = trained.Min(), high = trained.Max(), centre = (low + high) / 2, spread = Math.Max((high - low) / 2, 1);
            offsets = Enumerable.Range(0, rows).Select(_ => (float)(centre + spread * (2 * random.NextDouble() - 1) * 1.5)).ToArray();
        }
        ParityInput[] parityInputs = offsets is null
            ? [new ParityInput(inputName, values, [rows, p])]
            : [new ParityInput(inputName, values, [rows, p]), new ParityInput(offsetName!, offsets, [rows, 1])];
        return new(OnnxOutputHeads.ClassProbabilities, OnnxParity.Compare(inputs =>
        {
            var x = inputs[0].Values;
            return Enumerable.Range(0, rows).SelectMany(r => PrestoModel.Probabilities(parameters, x.AsSpan(r * p, p), offsets?[r] ?? 0).Select(v => (float)v)).ToArray();
        }, onnx, parityInputs, OnnxOutputHeads.ClassProbabilities));
    }
}
