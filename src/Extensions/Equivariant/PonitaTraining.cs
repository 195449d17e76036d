using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Onnx.Runtime;
using MLExtensions.Onnx.Scoring;
using MLExtensions.Training;

namespace MLExtensions.Equivariant;

/// <summary>The steps every PONITA trainer shares: split, radius graphs, schedule, defaults, and the scoring chain's preparation.</summary>
internal static class PonitaTraining
{
    /// <summary>The clouds split into training and held-out rows (by a seeded hash of the row, as the tabular trainers do).</summary>
    internal static (List<PointCloud> Training, List<PointCloud> Validation) Split(List<PointCloud> clouds, double fraction, int seed)
    {
        var split = ValidationSplit.Create(fraction, seed);
        if (split is null) return (clouds, []);
        var training = clouds.Where((_, i) => split.IsTraining(i)).ToList();
        var validation = clouds.Where((_, i) => split.IsValidation(i)).ToList();
        // Too few rows to spare any: train on all of them.
        return training.Count == 0 || validation.Count == 0 ? (clouds, []) : (training, validation);
    }

    /// <summary>Normalised clouds with their edges; each is checked against the memory one training step may take.</summary>
    internal static List<GraphSample> Samples(List<PointCloud> clouds, Func<PointCloud, PointCloud> normalise, double cutoff, PonitaOptionsBase o, int orientations)
    {
        double bytesPerEdge = PonitaMemory.BytesPerEdge(orientations, o.HiddenSize, o.NumberOfLayers, withGradients: true);
        return clouds.Select(c =>
        {
            var (senders, receivers) = PonitaMemory.Edges(c.Positions, cutoff, o.MaximumNeighbors, o.SelfInteraction, bytesPerEdge, o.PositionsColumnName, null);
            return new GraphSample(normalise(c), new EdgeList(senders, receivers));
        }).ToList();
    }

    /// <summary>The learning-rate schedule and weight averaging of the options, for <paramref name="samples"/> training clouds.</summary>
    /// <remarks>A batch larger than the training clouds is all of them (full-batch training).</remarks>
    internal static TrainingSchedule Schedule(PonitaOptionsBase o, int samples)
    {
        int batchSize = Math.Min(o.BatchSize, Math.Max(samples, 1));
        int stepsPerEpoch = (samples + batchSize - 1) / batchSize;
        return new TrainingSchedule(o.NumberOfEpochs, batchSize, o.LearningRate, CosineDecay: true,
            WarmupSteps: (int)Math.Min(int.MaxValue, Math.Round(o.WarmupEpochs * stepsPerEpoch)), AverageDecay: o.WeightAveragingDecay);
    }

    /// <summary>
    /// The cutoff and kernel scale of the options, or their defaults (<see cref="DefaultCutoff"/>; 1.5 × the median
    /// nearest-neighbour distance, at most the cutoff), with the nearest-neighbour search done once for both.
    /// </summary>
    internal static (double Cutoff, double KernelScale) Lengths(PonitaOptionsBase o, IReadOnlyList<PointCloud> clouds)
    {
        var nearest = new Lazy<double>(() => NearestNeighbourDistance(clouds));
        double cutoff = o.Cutoff ?? DefaultCutoff(clouds, nearest.Value);
        return (cutoff, o.KernelScale ?? Math.Min(cutoff, 1.5 * nearest.Value));
    }

    /// <summary>
    /// The saveable transforms that bring a row into the ONNX model's inputs: copies of the point-cloud columns under
    /// fixed names (types as <see cref="float"/>), the input contract as a constant column, and the row check.
    /// </summary>
    /// <remarks>With <paramref name="inputVectorsColumn"/>, those vectors are checked and fed to the model as well.</remarks>
    private static IEstimator<ITransformer> Preparation(MLContext ml, PonitaInputContract contract, string? inputVectorsColumn = null)
    {
        var t = ml.Transforms;
        var chain = t.CopyColumns(PonitaColumns.Positions, contract.PositionsColumn)
            .Append(t.Conversion.ConvertType(PonitaColumns.Types, contract.TypesColumn, DataKind.Single))
            .Append(t.Expression(PonitaColumns.Contract, contract.Expression(), contract.PositionsColumn));
        return inputVectorsColumn is null
            ? chain.Append(t.CustomMapping(new PonitaInputMapping().GetMapping(), PonitaInputMapping.ContractName))
            : chain.Append(t.CopyColumns(PonitaColumns.RawPointVectors, inputVectorsColumn))
                .Append(t.CustomMapping(new PonitaVectorInputMapping().GetMapping(), PonitaVectorInputMapping.ContractName));
    }

    /// <summary>
    /// The spec of the ML.NET chain that scores <paramref name="onnx"/>: the preparation (row check, radius graph, input vectors when
    /// there are any), the ONNX model with <paramref name="outputs"/> besides its head, and the clean-up of every
    /// temporary column.
    /// </summary>
    internal static OnnxScoringSpec ScoringSpec(MLContext ml, byte[] onnx, PonitaInputContract contract, PredictionKind kind,
        IReadOnlyList<string> outputs, string? inputVectorsColumn, OnnxExecutionDevice device)
    {
        string[] inputs = [PonitaColumns.Points, PonitaColumns.Kinds, PonitaColumns.Senders, PonitaColumns.Receivers, PonitaColumns.GraphIndex];
        string[] temporary = [PonitaColumns.Positions, PonitaColumns.Types, PonitaColumns.Contract, .. inputs];
        bool vectors = inputVectorsColumn is not null;
        return new OnnxScoringSpec
        {
            Model = onnx,
            Kind = kind,
            InputColumns = vectors ? [.. inputs, PonitaColumns.PointVectors] : inputs,
            Preparation = Preparation(ml, contract, inputVectorsColumn),
            ExtraOutputs = outputs,
            TemporaryColumns = vectors ? [.. temporary, PonitaColumns.RawPointVectors, PonitaColumns.PointVectors] : temporary,
            Device = device,
        };
    }

    /// <summary>
    /// The default cutoff: the median distance between two points of one training row, so that about half of the
    /// pairs interact directly and deeper blocks carry the rest, but at least twice the median nearest-neighbour
    /// distance, so that bonded neighbours never sit at the cutoff where the smooth window is zero (diatomics, water).
    /// A radius much larger than the structure of interest made learning slow on the generated molecules (the median,
    /// about 3, learned the residual energy where the largest distance, about 5, did not).
    /// </summary>
    internal static double DefaultCutoff(IReadOnlyList<PointCloud> clouds, double nearestNeighbourDistance)
    {
        var distances = new List<double>();
        // Deterministic samples of rows, and of pairs within large rows, bound the cost on large data and large systems.
        int stride = Math.Max(1, clouds.Count / 2000);
        for (int r = 0; r < clouds.Count; r += stride)
        {
            var cloud = clouds[r];
            long pairs = (long)cloud.Count * (cloud.Count - 1) / 2;
            if (pairs <= 2000)
            {
                for (int i = 0; i < cloud.Count; i++)
                    for (int j = i + 1; j < cloud.Count; j++) distances.Add(Distance(cloud.Positions, i, j));
                continue;
            }
            var random = new Random(r);
            for (int k = 0; k < 2000; k++)
            {
                int i = random.Next(cloud.Count), j = random.Next(cloud.Count - 1);
                distances.Add(Distance(cloud.Positions, i, j >= i ? j + 1 : j));
            }
        }
        // Single points have no pairs; any radius then serves.
        if (distances.Count == 0) return 1.0;
        distances.Sort();
        return Math.Max(distances[distances.Count / 2], 2 * nearestNeighbourDistance);
    }

    /// <summary>
    /// The median over points of the distance to the nearest other point of the same row, on a sample of rows and of at
    /// most 64 points per row (each searched against the whole row).
    /// </summary>
    internal static double NearestNeighbourDistance(IReadOnlyList<PointCloud> clouds)
    {
        var distances = new List<double>();
        int stride = Math.Max(1, clouds.Count / 500);
        for (int r = 0; r < clouds.Count; r += stride)
        {
            int n = clouds[r].Count;
            for (int i = 0; i < n; i += Math.Max(1, n / 64))
            {
                double nearest = double.PositiveInfinity;
                for (int j = 0; j < n; j++)
                    if (j != i) nearest = Math.Min(nearest, Distance(clouds[r].Positions, i, j));
                if (double.IsFinite(nearest)) distances.Add(nearest);
            }
        }
        if (distances.Count == 0) return 1.0;
        distances.Sort();
        return distances[distances.Count / 2];
    }

    private static double Distance(float[] p, int i, int j)
    {
        double dx = p[3 * i] - p[3 * j], dy = p[3 * i + 1] - p[3 * j + 1], dz = p[3 * i + 2] - p[3 * j + 2];
        return Math.Sqrt(dx * dx + dy * dy + dz * dz);
    }
}
