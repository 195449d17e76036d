using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Onnx.Scoring;
using MLExtensions.Training;

namespace MLExtensions.Ordinal;

/// <summary>
/// Ordinal training data: the label resolved to ordered classes, features standardised (weighted mean, population
/// standard deviation), with what is needed to map coefficients back to the original scale. The rows are held in
/// memory (<see cref="Load"/>) or read in passes over the data (<see cref="Stream"/>).
/// </summary>
internal sealed class OrdinalTrainingSet
{
    private OrdinalTrainingSet(OrdinalRows rows, long rowCount, double[] means, double[] deviations, ClassLabels classes)
    {
        Rows = rows;
        RowCount = rowCount;
        Means = means;
        Deviations = deviations;
        Classes = classes;
    }

    public OrdinalRows Rows { get; }

    public long RowCount { get; }

    public int FeatureCount => Rows.FeatureCount;

    public double[] Means { get; }

    /// <summary>Per-feature standard deviation; 0 marks a constant feature, whose coefficients stay 0.</summary>
    public double[] Deviations { get; }

    public ClassLabels Classes { get; }

    public bool IsConstant(int feature) => Deviations[feature] == 0;

    /// <summary>The same data with other rows (e.g. the in-memory rows dealt into folds).</summary>
    public OrdinalTrainingSet WithRows(OrdinalRows rows) => new(rows, RowCount, Means, Deviations, Classes);

    /// <summary>
    /// Reads and checks the data into memory: an ordered key label (key order) or a <see cref="float"/> label of ranks
    /// (numeric order). The features are read as their non-zeros; they stay so (standardised implicitly) when
    /// <paramref name="memory"/> says so, and are made dense and standardised otherwise.
    /// </summary>
    /// <param name="data">The training data.</param>
    /// <param name="options">The trainer's columns.</param>
    /// <param name="kernelFor">Makes the likelihood kernel for a (sub)problem.</param>
    /// <param name="memory">Chooses sparse or dense rows and refuses a fit that would not fit in memory; null: dense, unchecked.</param>
    /// <param name="cancellationToken">Stops the read.</param>
    public static OrdinalTrainingSet Load(IDataView data, TorchTrainerOptions options, Func<OrdinalProblem, ICumulativeLogitKernel> kernelFor,
        FitMemory? memory, CancellationToken cancellationToken)
    {
        var (label, kind) = ResolveLabel(data, options);
        var tabular = new TabularData(data, options, kind);
        var read = tabular.ReadNonZeros(memory is null ? null : memory.CheckRead, cancellationToken);
        if (read.Rows == 0) throw new InvalidDataException("The training data has no rows.");
        var weights = read.Weights?.Select(w => (double)w).ToArray() ?? Enumerable.Repeat(1.0, read.Rows).ToArray();
        if (weights.Sum() <= 0) throw new InvalidDataException($"The example weights in column '{options.ExampleWeightColumnName}' are all zero.");

        var (classes, classOf) = kind == LabelKind.Key ? KeyClasses(label) : RankClasses(label.Name, read.Labels);
        var labels = read.Labels.Select(classOf).ToArray();
        var classWeights = new double[classes.Count];
        for (int i = 0; i < labels.Length; i++) classWeights[labels[i]] += weights[i];
        CheckClasses(label.Name, classes, classWeights);

        int p = tabular.FeatureCount;
        memory?.CheckInMemory(read.Rows, read.Indices.LongLength, classes.Count);
        var offsets = options is CumulativeLogitOptions { OffsetColumnName: { } offsetColumn } ? ReadOffsets(data, offsetColumn, read.Rows, cancellationToken) : null;
        double[] means, deviations;
        OrdinalProblem problem;
        if (memory?.IsSparse(read.Rows, read.Indices.LongLength) == true)
        {
            (means, deviations) = Standardise(read, p, weights);
            problem = new OrdinalProblem(new SparseFeatures(read.RowStarts, read.Indices, read.Values, p, means, deviations), labels, weights, classes.Count, offsets);
        }
        else
        {
            var features = Dense(read, p);
            (means, deviations) = Standardise(features, p, weights);
            problem = new OrdinalProblem(Scale(features, means, deviations), labels, weights, p, classes.Count, offsets);
        }
        return new OrdinalTrainingSet(new InMemoryOrdinalRows(problem, kernelFor), read.Rows, means, deviations, classes);
    }

    private static double[] Dense(NonZeroRows read, int p)
    {
        var features = new double[(long)read.Rows * p];
        for (int i = 0; i < read.Rows; i++)
            for (int e = read.RowStarts[i]; e < read.RowStarts[i + 1]; e++) features[(long)i * p + read.Indices[e]] = read.Values[e];
        return features;
    }

    /// <summary>The offset of every row: a <see cref="float"/> column of finite values, one per training row.</summary>
    internal static double[] ReadOffsets(IDataView data, string offsetColumn, int rows, CancellationToken cancellationToken)
    {
        var column = ColumnChecks.Require(data.Schema, offsetColumn, "offset");
        if (column.Type != NumberDataViewType.Single)
            throw new ArgumentException(
                $"Offset column '{offsetColumn}' must be a scalar Single column, but it is {column.Type}. Use mlContext.Transforms.Conversion.ConvertType(\"{offsetColumn}\", outputKind: DataKind.Single).");
        var offsets = new double[rows];
        using var cursor = data.GetRowCursor([column]);
        var get = cursor.GetGetter<float>(column);
        float value = 0;
        long row = 0;
        for (; cursor.MoveNext(); row++)
        {
            if ((row & 4095) == 0) cancellationToken.ThrowIfCancellationRequested();
            get(ref value);
            if (!float.IsFinite(value))
                throw new InvalidDataException($"Offset column '{offsetColumn}' holds {value} at row {row}; offsets must be finite.");
            if (row < rows) offsets[row] = value;
        }
        if (row != rows) throw new InvalidDataException($"The offset column '{offsetColumn}' has {row} rows but the training data {rows}.");
        return offsets;
    }

    /// <summary>
    /// Checks the data in one pass (classes, class weights per fold, feature moments) and returns rows that are read
    /// again, block by block, whenever the solver needs them: memory does not grow with the number of rows.
    /// </summary>
    /// <param name="data">The training data.</param>
    /// <param name="options">The trainer's columns.</param>
    /// <param name="folds">Cross-validation folds (0: none); ignored with a fold column, whose values are the folds.</param>
    /// <param name="foldColumnName">The fold column, or null to fold by a seeded hash of the row position.</param>
    /// <param name="seed">Seeds the hashed folds.</param>
    /// <param name="cancellationToken">Stops the passes.</param>
    public static OrdinalTrainingSet Stream(IDataView data, TorchTrainerOptions options, int folds, string? foldColumnName, int seed,
        CancellationToken cancellationToken)
    {
        var (label, kind) = ResolveLabel(data, options);
        var tabular = new TabularData(data, options, kind);
        var foldColumn = foldColumnName is null || folds == 0 ? (DataViewSchema.Column?)null : ColumnChecks.Require(data.Schema, foldColumnName, "fold");
        int p = tabular.FeatureCount;
        // Weighted running moments (West, 1979) and the weight of every (label value, fold) pair.
        var mean = new double[p];
        var m2 = new double[p];
        double totalWeight = 0;
        long rows = 0, zeroWeightRows = 0;
        var pairWeights = new Dictionary<(float Label, string Fold), double>();
        // Names of the hashed folds met so far (NumberOfFolds may be far larger than the data: that is refused after the pass).
        var hashedFoldNames = new Dictionary<int, string>();
        string HashedFold(int f) => hashedFoldNames.TryGetValue(f, out var name) ? name
            : hashedFoldNames[f] = f.ToString(System.Globalization.CultureInfo.InvariantCulture);
        foreach (var batch in tabular.ReadBlocks(StreamedOrdinalRows.BlockRows, foldColumn, cancellationToken))
        {
            for (int r = 0; r < batch.Count; r++, rows++)
            {
                double w = batch.Weights?[r] ?? 1.0;
                string fold = foldColumn is not null ? batch.Groups![r] : HashedFold(folds == 0 ? 0 : StreamedOrdinalRows.HashFold(rows, seed, folds));
                var key = (batch.Labels[r], fold);
                pairWeights[key] = pairWeights.GetValueOrDefault(key) + w;
                if (w == 0)
                {
                    zeroWeightRows++;
                    continue;
                }
                totalWeight += w;
                for (int j = 0; j < p; j++)
                {
                    double x = batch.Features[r * p + j], delta = x - mean[j];
                    mean[j] += w / totalWeight * delta;
                    m2[j] += w * delta * (x - mean[j]);
                }
            }
        }
        if (rows == 0) throw new InvalidDataException("The training data has no rows.");
        if (totalWeight <= 0) throw new InvalidDataException($"The example weights in column '{options.ExampleWeightColumnName}' are all zero.");

        long weightedRows = rows - zeroWeightRows;
        if (foldColumn is null && folds > weightedRows)
            throw CumulativeLogitFitter.TooManyFolds(folds, weightedRows, folds - weightedRows);

        var (classes, classOf) = kind == LabelKind.Key ? KeyClasses(label) : RankClasses(label.Name, pairWeights.Keys.Select(k => k.Label).Distinct());
        var foldNames = foldColumn is not null ? pairWeights.Keys.Select(k => k.Fold).Distinct().Order(StringComparer.Ordinal).ToArray()
            : Enumerable.Range(0, Math.Max(folds, 1)).Select(HashedFold).ToArray();
        if (foldColumn is not null && foldNames.Length < 2)
            throw new InvalidDataException($"The fold column '{foldColumnName}' holds the single value '{foldNames[0]}'; cross-validation needs at least two folds.");
        var foldOf = foldNames.Select((name, i) => (name, i)).ToDictionary(x => x.name, x => x.i, StringComparer.Ordinal);
        var classWeightsByFold = foldNames.Select(_ => new double[classes.Count]).ToArray();
        foreach (var ((value, fold), w) in pairWeights) classWeightsByFold[foldOf[fold]][classOf(value)] += w;
        var classWeights = Enumerable.Range(0, classes.Count).Select(k => classWeightsByFold.Sum(f => f[k])).ToArray();
        CheckClasses(label.Name, classes, classWeights);
        if (folds > 0)
            for (int f = 0; f < foldNames.Length; f++)
            {
                if (!(classWeightsByFold[f].Sum() > 0))
                    throw foldColumn is not null
                        ? new InvalidDataException($"The fold column '{foldColumnName}': fold '{foldNames[f]}' holds only rows of weight 0, so it scores nothing. Merge it with another fold.")
                        : CumulativeLogitFitter.TooManyFolds(folds, weightedRows, classWeightsByFold.Count(f => !(f.Sum() > 0)));
                int missing = Enumerable.Range(0, classes.Count).FirstOrDefault(k => classWeights[k] - classWeightsByFold[f][k] <= 0, -1);
                if (missing >= 0)
                    throw new InvalidDataException(foldColumn is not null
                        ? $"Label column '{label.Name}': with fold '{foldNames[f]}' of '{foldColumnName}' held out, class '{classes.Names[missing]}' has no training rows left. Merge folds or classes."
                        : $"Label column '{label.Name}': with fold {f} of {folds} held out, class '{classes.Names[missing]}' has no training rows left; it has too few rows for " +
                          $"{folds}-fold cross-validation. Give Lambda explicitly, use fewer folds, or merge the class with a neighbour.");
            }

        var deviations = Enumerable.Range(0, p).Select(j => DeviationOrZero(m2[j] / totalWeight, mean[j])).ToArray();
        var streamed = new StreamedOrdinalRows(tabular, mean, deviations, classes.Count, classOf, foldColumn is not null ? foldNames.Length : folds, foldColumn,
            foldColumn is not null ? foldOf : null, seed, classWeightsByFold, cancellationToken);
        return new OrdinalTrainingSet(streamed, rows, mean, deviations, classes);
    }

    private static (DataViewSchema.Column Label, LabelKind Kind) ResolveLabel(IDataView data, TorchTrainerOptions options)
    {
        var label = ColumnChecks.Require(data.Schema, options.LabelColumnName, "label");
        var kind = label.Type switch
        {
            KeyDataViewType => LabelKind.Key,
            NumberDataViewType t when t == NumberDataViewType.Single => LabelKind.Real,
            _ => throw new ArgumentException(
                $"Label column '{label.Name}' must be an ordered key (classes in key order) or a Single column of ranks, but it is {label.Type}. " +
                $"Use mlContext.Transforms.Conversion.MapValueToKey(\"{label.Name}\", keyOrdinality: ByValue) or MapValue with the classes in order, " +
                $"or ConvertType(\"{label.Name}\", outputKind: DataKind.Single) for numeric ranks."),
        };
        return (label, kind);
    }

    /// <summary>A key label's classes in key order; <see cref="TabularData"/> reads key k as k − 1.</summary>
    private static (ClassLabels Classes, Func<float, int> ClassOf) KeyClasses(DataViewSchema.Column label) =>
        (ClassLabels.FromKeyColumn(label), value => (int)value);

    /// <summary>The distinct values of a numeric label as ranked classes.</summary>
    private static (ClassLabels Classes, Func<float, int> ClassOf) RankClasses(string column, IEnumerable<float> values)
    {
        var ranks = values.Distinct().Order().ToArray();
        if (ranks.Length < 3) throw TooFewClasses(column, ranks.Length);
        var index = ranks.Select((r, i) => (r, i)).ToDictionary(p => p.r, p => p.i);
        return (ClassLabels.FromValues(ranks), value => index[value]);
    }

    private static void CheckClasses(string column, ClassLabels classes, double[] classWeights)
    {
        // A class counts as present when it has rows of positive weight: zero-weight rows estimate nothing.
        int present = classWeights.Count(w => w > 0);
        if (classes.Count < 3 || present < 3) throw TooFewClasses(column, present);
        var absent = Enumerable.Range(0, classes.Count).Where(k => !(classWeights[k] > 0)).ToArray();
        if (absent.Length > 0)
            throw new InvalidDataException(
                $"Label column '{column}': class(es) {string.Join(", ", absent.Select(k => $"'{classes.Names[k]}'"))} have no training rows (of positive weight), so their " +
                "boundaries cannot be estimated. Merge them with a neighbouring class or add data.");
    }

    private static InvalidDataException TooFewClasses(string column, int present) => new(
        $"Label column '{column}' has {present} class(es) with rows; ordinal regression needs at least 3 ordered classes. " +
        "With two classes use a binary classifier.");

    /// <summary>
    /// The weighted means and population deviations from the non-zeros alone: the zeros of feature j add
    /// (W − W_j)·mean_j² to its sum of squares (W_j the weight of the rows where it is non-zero).
    /// </summary>
    private static (double[] Means, double[] Deviations) Standardise(NonZeroRows read, int p, double[] weights)
    {
        var means = new double[p];
        var deviations = new double[p];
        var nonZeroWeight = new double[p];
        double total = weights.Sum();
        for (int i = 0; i < read.Rows; i++)
            for (int e = read.RowStarts[i]; e < read.RowStarts[i + 1]; e++) means[read.Indices[e]] += weights[i] * read.Values[e];
        for (int j = 0; j < p; j++) means[j] /= total;
        for (int i = 0; i < read.Rows; i++)
            for (int e = read.RowStarts[i]; e < read.RowStarts[i + 1]; e++)
            {
                int j = read.Indices[e];
                double d = read.Values[e] - means[j];
                deviations[j] += weights[i] * d * d;
                nonZeroWeight[j] += weights[i];
            }
        for (int j = 0; j < p; j++) deviations[j] = DeviationOrZero((deviations[j] + (total - nonZeroWeight[j]) * means[j] * means[j]) / total, means[j]);
        return (means, deviations);
    }

    private static (double[] Means, double[] Deviations) Standardise(double[] features, int p, double[] weights)
    {
        var means = new double[p];
        var deviations = new double[p];
        double total = weights.Sum();
        for (int i = 0; i < weights.Length; i++)
            for (int j = 0; j < p; j++) means[j] += weights[i] * features[i * p + j];
        for (int j = 0; j < p; j++) means[j] /= total;
        for (int i = 0; i < weights.Length; i++)
            for (int j = 0; j < p; j++)
            {
                double d = features[i * p + j] - means[j];
                deviations[j] += weights[i] * d * d;
            }
        for (int j = 0; j < p; j++) deviations[j] = DeviationOrZero(deviations[j] / total, means[j]);
        return (means, deviations);
    }

    /// <summary>The standard deviation from a variance, or 0 (a constant feature) when it is round-off beside the mean.</summary>
    private static double DeviationOrZero(double variance, double mean)
    {
        double sd = Math.Sqrt(variance);
        return sd > 1e-10 * Math.Max(1, Math.Abs(mean)) ? sd : 0;
    }

    private static double[] Scale(double[] x, double[] means, double[] deviations)
    {
        int p = means.Length;
        for (int i = 0; i < x.Length; i++)
        {
            int j = i % p;
            x[i] = deviations[j] > 0 ? (x[i] - means[j]) / deviations[j] : 0;
        }
        return x;
    }
}
