using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Onnx.Scoring;
using MLExtensions.Training;

namespace MLExtensions.Ordinal;

/// <summary>
/// Ordinal training data in memory: the label resolved to ordered classes, features standardised (weighted mean,
/// population standard deviation), with what is needed to map coefficients back to the original scale.
/// </summary>
internal sealed class OrdinalTrainingSet
{
    private OrdinalTrainingSet(OrdinalProblem problem, double[] means, double[] deviations, ClassLabels classes)
    {
        Problem = problem;
        Means = means;
        Deviations = deviations;
        Classes = classes;
    }

    public OrdinalProblem Problem { get; }

    public double[] Means { get; }

    /// <summary>Per-feature standard deviation; 0 marks a constant feature, whose coefficients stay 0.</summary>
    public double[] Deviations { get; }

    public ClassLabels Classes { get; }

    public bool IsConstant(int feature) => Deviations[feature] == 0;

    /// <summary>Reads and checks the data: an ordered key label (key order) or a <see cref="float"/> label of ranks (numeric order).</summary>
    public static OrdinalTrainingSet Load(IDataView data, TorchTrainerOptions options, CancellationToken cancellationToken)
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
        var tabular = new TabularData(data, options, kind);
        var features = new List<double>();
        var raw = new List<float>();
        var weights = new List<double>();
        foreach (var batch in tabular.ReadBatches(4096, null, 0, null, cancellationToken))
        {
            for (int i = 0; i < batch.Count * tabular.FeatureCount; i++) features.Add(batch.Features[i]);
            for (int i = 0; i < batch.Count; i++)
            {
                raw.Add(batch.Labels[i]);
                weights.Add(batch.Weights?[i] ?? 1.0);
            }
        }
        if (raw.Count == 0) throw new InvalidDataException("The training data has no rows.");
        if (weights.Sum() <= 0) throw new InvalidDataException($"The example weights in column '{options.ExampleWeightColumnName}' are all zero.");

        ClassLabels classes;
        int[] labels;
        if (kind == LabelKind.Key)
        {
            classes = ClassLabels.FromKeyColumn(label);
            labels = raw.Select(v => (int)v).ToArray();
        }
        else
        {
            var ranks = raw.Distinct().Order().ToArray();
            if (ranks.Length < 3) throw TooFewClasses(label.Name, ranks.Length);
            classes = ClassLabels.FromValues(ranks);
            var index = ranks.Select((r, i) => (r, i)).ToDictionary(p => p.r, p => p.i);
            labels = raw.Select(v => index[v]).ToArray();
        }
        CheckClasses(label.Name, classes, labels, weights);

        var problemWeights = weights.ToArray();
        var (means, deviations) = Standardise(features, tabular.FeatureCount, problemWeights);
        var standardised = Scale(features.ToArray(), means, deviations);
        return new OrdinalTrainingSet(new OrdinalProblem(standardised, labels, problemWeights, tabular.FeatureCount, classes.Count),
            means, deviations, classes);
    }

    private static void CheckClasses(string column, ClassLabels classes, int[] labels, List<double> weights)
    {
        // A class counts as present when it has rows of positive weight: zero-weight rows estimate nothing.
        var counts = new int[classes.Count];
        for (int i = 0; i < labels.Length; i++)
            if (weights[i] > 0) counts[labels[i]]++;
        int present = counts.Count(c => c > 0);
        if (classes.Count < 3 || present < 3) throw TooFewClasses(column, present);
        var absent = Enumerable.Range(0, classes.Count).Where(k => counts[k] == 0).ToArray();
        if (absent.Length > 0)
            throw new InvalidDataException(
                $"Label column '{column}': class(es) {string.Join(", ", absent.Select(k => $"'{classes.Names[k]}'"))} have no training rows (of positive weight), so their " +
                "boundaries cannot be estimated. Merge them with a neighbouring class or add data.");
    }

    private static InvalidDataException TooFewClasses(string column, int present) => new(
        $"Label column '{column}' has {present} class(es) with rows; ordinal regression needs at least 3 ordered classes. " +
        "With two classes use a binary classifier.");

    private static (double[] Means, double[] Deviations) Standardise(List<double> features, int p, double[] weights)
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
        for (int j = 0; j < p; j++)
        {
            double sd = Math.Sqrt(deviations[j] / total);
            deviations[j] = sd > 1e-10 * Math.Max(1, Math.Abs(means[j])) ? sd : 0;
        }
        return (means, deviations);
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
