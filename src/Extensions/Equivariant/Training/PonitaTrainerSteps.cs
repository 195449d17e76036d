using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Onnx.Runtime;
using MLExtensions.Onnx.Scoring;
using MLExtensions.Training;

namespace MLExtensions.Equivariant;

/// <summary>The steps every PONITA trainer shares: split, radius graphs, schedule, defaults, and the scoring chain's preparation.</summary>
internal static class PonitaTrainerSteps
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
    internal static List<GraphSample> Samples(List<PointCloud> clouds, Func<PointCloud, PointCloud> normalise, double cutoff, PonitaOptionsBase o, PonitaTrainingMemory memory)
    {
        string cloud = PonitaMemory.Cloud(o.PositionsColumnName, null), advice = memory.Advice(cutoff);
        return clouds.Select(c => new GraphSample(normalise(c),
            PonitaMemory.Edges(c.Positions, cutoff, o.MaximumNeighbors, o.SelfInteraction, memory.StepCost, cloud, advice, memory.Weights, c.Cell))).ToList();
    }

    /// <summary>The learning-rate schedule and weight averaging of the options, for <paramref name="samples"/> training clouds.</summary>
    /// <remarks>A batch larger than the training clouds is all of them (full-batch training).</remarks>
    internal static TrainingSchedule Schedule(PonitaOptionsBase o, int samples)
    {
        int batchSize = Math.Min(o.BatchSize, Math.Max(samples, 1));
        int stepsPerEpoch = (samples + batchSize - 1) / batchSize;
        return new TrainingSchedule(o.NumberOfEpochs, batchSize, o.LearningRate, CosineDecay: true,
            WarmupSteps: (int)Math.Min(int.MaxValue, Math.Round(o.WarmupEpochs * stepsPerEpoch)), AverageDecay: o.WeightAveragingDecay,
            GradientClipNorm: o.GradientClipNorm > 0 ? o.GradientClipNorm : null);
    }

    /// <summary>
    /// The cutoff and kernel scale of the options, or their defaults (<see cref="DefaultCutoff"/>; 1.5 × the median
    /// nearest-neighbour distance, at most the cutoff), with the nearest-neighbour search done once for both.
    /// </summary>
    /// <remarks>
    /// A KernelScale more than <see cref="LongestReach"/> times shorter than the cutoff is refused: the kernels'
    /// inputs, powers up to the sixth of distance / KernelScale, would swamp single precision and training would
    /// diverge, with a message that could only blame the other settings.
    /// </remarks>
    internal static (double Cutoff, double KernelScale) Lengths(PonitaOptionsBase o, IReadOnlyList<PointCloud> clouds)
    {
        var nearest = new Lazy<double>(() => NearestNeighbourDistance(clouds));
        double cutoff = o.Cutoff ?? DefaultCutoff(clouds, nearest.Value);
        if (o.KernelScale is double scale && cutoff / scale > LongestReach)
            throw new ArgumentOutOfRangeException(nameof(o.KernelScale), scale,
                $"KernelScale ({scale:G4}) is {cutoff / scale:G3} times shorter than the {(o.Cutoff is null ? "default " : "")}Cutoff ({cutoff:G4}): the kernels' inputs, " +
                $"powers up to the sixth of distance / KernelScale, would reach {Math.Pow(cutoff / scale, 6):G3} and training would diverge. Use a KernelScale near the " +
                $"median nearest-neighbour distance of the data ({nearest.Value:G4}), at least Cutoff / {LongestReach}, or leave it null for the default.");
        return (cutoff, o.KernelScale ?? Math.Min(cutoff, 1.5 * nearest.Value));
    }

    /// <summary>The most times the cutoff may exceed the kernel scale: (distance / KernelScale)⁶ then stays below 10¹².</summary>
    internal const double LongestReach = 100;

    /// <summary>
    /// Refuses training clouds in which no two points lie within the cutoff (the network would pass no messages and
    /// learn per-type energies only), naming the Cutoff and the data's median nearest-neighbour distance; warns through
    /// the run's log when at least a fifth of the points have no neighbour within it. Clouds of one point do not count.
    /// </summary>
    internal static void CheckNeighbours(TrainingRun run, PonitaOptionsBase o, double cutoff, IReadOnlyList<GraphSample> samples)
    {
        long points = 0, isolated = 0;
        foreach (var sample in samples)
        {
            int n = sample.Cloud.Count;
            if (n < 2) continue;
            var connected = new bool[n];
            var edges = sample.Edges;
            for (int k = 0; k < edges.Count; k++)
                if (edges.Senders[k] != edges.Receivers[k] || (edges.Shifts is { } shift && (shift[3 * k] != 0 || shift[3 * k + 1] != 0 || shift[3 * k + 2] != 0)))
                    connected[edges.Receivers[k]] = true; // an atom's own periodic image is a neighbour too
            points += n;
            isolated += connected.Count(c => !c);
        }
        if (isolated == 0) return;
        double nearest = NearestNeighbourDistance(samples.Select(s => s.Cloud).Where(c => c.Count > 1).ToList());
        string setting = o.Cutoff is null ? $"the default Cutoff ({cutoff:G4})" : $"Cutoff = {cutoff:G4}";
        string advice = $"the median distance from a point to its nearest neighbour is {nearest:G4}, so set the Cutoff to a few times that (e.g. {3 * nearest:G4})" +
            (o.Cutoff is null ? "" : ", or leave it null for the default");
        if (isolated == points)
            throw new ArgumentOutOfRangeException(nameof(o.Cutoff), cutoff,
                $"With {setting} no two points of the training clouds interact: PONITA would pass no messages and learn per-type energies only. In this data {advice}.");
        if (isolated * 5 >= points)
            run.Warning($"{isolated:N0} of the {points:N0} points of the training clouds ({(double)isolated / points:P0}) have no neighbour within {setting}: " +
                $"they contribute only their type's energy. If that is not intended, note that {advice}.");
    }

    /// <summary>
    /// The saveable transforms that bring a row into the ONNX model's inputs: copies of the point-cloud columns under
    /// fixed names (types as <see cref="float"/>), the input contract as a constant column, and the row check.
    /// </summary>
    /// <remarks>
    /// With <paramref name="inputVectorsColumn"/>, those vectors are checked and fed to the model as well; with
    /// <paramref name="volumes"/> (a stress model), the cell's volume; with <paramref name="cells"/> (a periodic model that
    /// reads crystals in their lattice frame), the volume and the cell.
    /// </remarks>
    private static IEstimator<ITransformer> Preparation(MLContext ml, PonitaInputContract contract, string? inputVectorsColumn = null, bool volumes = false, bool cells = false)
    {
        var t = ml.Transforms;
        var chain = t.CopyColumns(PonitaColumns.Positions, contract.PositionsColumn)
            .Append(t.Conversion.ConvertType(PonitaColumns.Types, contract.TypesColumn, DataKind.Single))
            .Append(t.Expression(PonitaColumns.Contract, contract.Expression(), contract.PositionsColumn));
        if (contract.CellColumn is { } cell)
        {
            var copied = chain.Append(t.CopyColumns(PonitaColumns.Cell, cell));
            if (cells) return copied.Append(t.CustomMapping(new PonitaFramedInputMapping().GetMapping(), PonitaFramedInputMapping.ContractName));
            return volumes
                ? copied.Append(t.CustomMapping(new PonitaStressInputMapping().GetMapping(), PonitaStressInputMapping.ContractName))
                : copied.Append(t.CustomMapping(new PonitaPeriodicInputMapping().GetMapping(), PonitaPeriodicInputMapping.ContractName));
        }
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
        IReadOnlyList<string> outputs, string? inputVectorsColumn, OnnxExecutionDevice device, bool stress = false, bool cells = false)
    {
        string[] inputs = [PonitaColumns.Points, PonitaColumns.Kinds, PonitaColumns.Senders, PonitaColumns.Receivers, PonitaColumns.GraphIndex];
        if (contract.CellColumn is not null) inputs = [.. inputs, PonitaColumns.Shifts];
        if (stress) inputs = [.. inputs, PonitaColumns.Volumes];
        if (cells) inputs = [.. inputs, PonitaColumns.Cells];
        string[] temporary = [PonitaColumns.Positions, PonitaColumns.Types, PonitaColumns.Contract, .. inputs];
        if (contract.CellColumn is not null) temporary = [.. temporary, PonitaColumns.Cell];
        if (cells && !stress) temporary = [.. temporary, PonitaColumns.Volumes];   // the framed row check gives it either way
        bool vectors = inputVectorsColumn is not null;
        return new OnnxScoringSpec
        {
            Model = onnx,
            Kind = kind,
            InputColumns = vectors ? [.. inputs, PonitaColumns.PointVectors] : inputs,
            Preparation = Preparation(ml, contract, inputVectorsColumn, stress, cells),
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
    /// <remarks>
    /// The median pair distance grows with the system (a protein, a 10,000-atom cell), and the edges with its square,
    /// so the default is also capped at the radius holding <see cref="DefaultNeighbours"/> neighbours of a typical
    /// point: the median over points of rows larger than that of the distance to their 32nd nearest neighbour, and for
    /// a cell periodic in all three directions the radius of a sphere holding as many points at the cell's density.
    /// That depends on the density only: about 5.4 Å in crystalline silicon, 4.5 Å in copper, 4.3 Å in liquid water,
    /// the cutoffs those materials are modelled with; molecules of up to 32 atoms keep the median pair distance.
    /// </remarks>
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
        return Math.Max(Math.Min(distances[distances.Count / 2], NeighbourRadius(clouds, DefaultNeighbours)), 2 * nearestNeighbourDistance);
    }

    /// <summary>Neighbours within the default cutoff of a typical point of a large system (see <see cref="DefaultCutoff"/>).</summary>
    internal const int DefaultNeighbours = 32;

    /// <summary>
    /// The radius around a typical point that holds <paramref name="neighbours"/> others, over the rows large enough
    /// to have that many (+∞ when none is): the k-th nearest-neighbour distance of sampled points, or, for a cell
    /// periodic in every direction, the radius of a sphere holding k + 1 points at the cell's density.
    /// </summary>
    internal static double NeighbourRadius(IReadOnlyList<PointCloud> clouds, int neighbours)
    {
        var radii = new List<double>();
        int stride = Math.Max(1, clouds.Count / 500);
        for (int r = 0; r < clouds.Count; r += stride)
        {
            var cloud = clouds[r];
            int n = cloud.Count;
            if (cloud.Cell is { Length: 9 } cell && PeriodicRadiusGraph.PeriodicDirections(cell).All(p => p))
            {
                double volume = Math.Abs(cell[0] * ((double)cell[4] * cell[8] - (double)cell[5] * cell[7]) - cell[1] * ((double)cell[3] * cell[8] - (double)cell[5] * cell[6]) + cell[2] * ((double)cell[3] * cell[7] - (double)cell[4] * cell[6]));
                if (volume > 0 && n > 0) radii.Add(Math.Cbrt(3.0 * (neighbours + 1) * volume / (4 * Math.PI * n)));
                continue;
            }
            if (n <= neighbours) continue;
            var others = new double[n - 1];
            for (int i = 0; i < n; i += Math.Max(1, n / 64))
            {
                int k = 0;
                for (int j = 0; j < n; j++)
                    if (j != i) others[k++] = Distance(cloud.Positions, i, j);
                Array.Sort(others);
                radii.Add(others[neighbours - 1]);
            }
        }
        if (radii.Count == 0) return double.PositiveInfinity;
        radii.Sort();
        return radii[radii.Count / 2];
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
