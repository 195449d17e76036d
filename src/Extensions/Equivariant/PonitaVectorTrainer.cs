using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Onnx;
using MLExtensions.Onnx.Scoring;
using MLExtensions.Torch;
using MLExtensions.Training;
using TorchSharp;
using static MLExtensions.Torch.HeldScalars;
using static TorchSharp.torch;

namespace MLExtensions.Equivariant;

/// <summary>
/// Trains PONITA's equivariant vector head: a 3-vector per point that rotates with the point cloud, e.g. the
/// displacement of every particle of an N-body system over a time step, from positions, types and optional per-point
/// input vectors (velocities). Exports it to ONNX and returns a <see cref="PonitaVectorModel"/> scored by ONNX Runtime.
/// </summary>
/// <remarks>
/// <para><b>Input and output columns.</b> One point cloud per row; rows may have different point counts N. Positions:
/// vector of 3N <see cref="float"/>. Atom types: N type indices (<see cref="float"/> or <see cref="int"/>) or, with
/// <see cref="PonitaOptionsBase.FeaturesPerAtom"/>, N·F features. Label: the target vectors, 3N <see cref="float"/>.
/// Optional input vectors: 3N <see cref="float"/>. Output: <see cref="Options.PredictedVectorsColumnName"/>, 3N
/// <see cref="float"/>. There is no <c>Score</c> column.</para>
/// <para>The head is v_i = mean_o w(f_i(o))·o over the orientation grid; input vectors enter through the invariants
/// o·u_i, so the output rotates with positions and input vectors together. With
/// <see cref="Options.AddInputVectors"/> the output is the input vectors plus the learned correction (linear
/// extrapolation when the correction is zero). Targets (and inputs) are scaled by their RMS for training; the loss is
/// the mean squared error per component.</para>
/// </remarks>
public sealed class PonitaVectorTrainer : IEstimator<PonitaVectorModel>
{
    /// <summary>Options of <see cref="PonitaVectorTrainer"/>.</summary>
    public sealed class Options : PonitaOptionsBase
    {
        /// <summary>Optional per-point input vectors (3N <see cref="float"/>, e.g. velocities × Δt). Default: null.</summary>
        public string? InputVectorsColumnName { get; set; }

        /// <summary>The output column of predicted vectors (3N <see cref="float"/>). Default: "PredictedVectors".</summary>
        public string PredictedVectorsColumnName { get; set; } = DefaultColumnNames.PredictedVectors;

        /// <summary>
        /// Predict the input vectors plus a learned equivariant correction (with an input vectors column). Default: true.
        /// </summary>
        public bool AddInputVectors { get; set; } = true;

        internal override IEnumerable<(string Option, string? Column)> InputColumns => [.. base.InputColumns, (nameof(InputVectorsColumnName), InputVectorsColumnName)];

        internal override void Validate()
        {
            base.Validate();
            if (CellColumnName is not null)
                throw new ArgumentException($"CellColumnName ('{CellColumnName}'): the vector head does not support periodic cells yet; train PonitaTrainer (energies and forces) on periodic data, or leave CellColumnName null.", nameof(CellColumnName));
            if (InputVectorsColumnName is not null) ArgumentException.ThrowIfNullOrWhiteSpace(InputVectorsColumnName, nameof(InputVectorsColumnName));
            ColumnChecks.CheckOutputName(nameof(PredictedVectorsColumnName), PredictedVectorsColumnName, InputColumns, DefaultColumnNames.PredictedVectors);
        }
    }

    private readonly MLContext _mlContext;
    private readonly Options _options;

    /// <summary>Creates the trainer; most users call <c>mlContext.Equivariant().Trainers.PonitaVectors(...)</c> instead.</summary>
    public PonitaVectorTrainer(MLContext mlContext, Options options)
    {
        _mlContext = mlContext ?? throw new ArgumentNullException(nameof(mlContext));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        options.Validate();
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        _options.Validate();
        PointCloudData.CheckShape(inputSchema, Columns(_options));
        return ScoringSchema.AddFloatVector(_mlContext, inputSchema, _options.PredictedVectorsColumnName);
    }

    /// <summary>Trains on <paramref name="input"/> and returns the fitted, ONNX-scored model.</summary>
    public PonitaVectorModel Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        _options.Validate();
        var o = _options;
        var set = PointCloudData.Read(input, Columns(o), o.CancellationToken);
        bool withInputs = o.InputVectorsColumnName is not null, residual = withInputs && o.AddInputVectors;
        using var run = TrainingRun.Start(_mlContext, nameof(PonitaVectorTrainer), o, o.NumberOfOrientations * 4 * o.HiddenSize);
        var (cutoff, kernelScale) = PonitaTrainerSteps.Lengths(o, set.Clouds);
        var (training, validation) = PonitaTrainerSteps.Split(set.Clouds, o.ValidationFraction, run.Seed);
        // Targets (less the inputs they are added to) and inputs in units of their RMS.
        double targetScale = Rms(training.Select(c => Residual(c, residual)));
        double inputScale = withInputs ? Rms(training.Select(c => c.InputVectors!)) : 1;
        PointCloud Normalise(PointCloud c) => c with
        {
            Forces = Residual(c, residual).Select(v => (float)(v / targetScale)).ToArray(),
            InputVectors = c.InputVectors?.Select(v => (float)(v / inputScale)).ToArray(),
        };
        var memory = new PonitaTrainingMemory(o, o.NumberOfOrientations, set.FeatureCount, PonitaPass.Training, PonitaPass.Energy, ValidationBatch(o.BatchSize), ScoringForces: false);
        memory.CheckFixed(cutoff);
        var trainingSamples = PonitaTrainerSteps.Samples(training, Normalise, cutoff, o, memory);
        PonitaTrainerSteps.CheckNeighbours(run, o, cutoff, trainingSamples);
        var validationSamples = PonitaTrainerSteps.Samples(validation, Normalise, cutoff, o, memory);
        double peak = memory.Check(trainingSamples, validationSamples, cutoff);
        run.Info($"{set.Clouds.Count} point clouds ({validation.Count} held out), cutoff {cutoff:G4}, kernel scale {kernelScale:G4}, target unit {targetScale:G4}, " +
                 $"memory at most about {peak / (1 << 20):N0} MiB at the peak");

        using var network = new PonitaNetwork(set.FeatureCount, o.HiddenSize, o.NumberOfLayers, o.NumberOfOrientations, cutoff, kernelScale: kernelScale);
        network.to(run.Device);
        var rotations = o.RotationAugmentation ? new Random(run.Random.Next()) : null;
        var history = PonitaTrainingLoop.Train(run, network, trainingSamples, PonitaTrainerSteps.Schedule(o, trainingSamples.Count),
            chosen => Loss(network, MoleculeBatch.From(chosen, set.FeatureCount, withForces: true, rotations, run.Device)),
            validationSamples.Count == 0 ? null : _ => ValidationLoss(network, validationSamples, set.FeatureCount, o.BatchSize, run.Device),
            (epoch, loss) => $"PONITA training diverged in epoch {epoch} (loss {loss}). Lower LearningRate ({o.LearningRate}), or check the Cutoff ({cutoff:G4}) and KernelScale ({kernelScale:G4}) against the data's scale.", o.KeepBestValidationEpoch).History;
        network.to(CPU);
        network.FoldVectorScale(targetScale);
        if (withInputs) network.FoldVectorInputScale(inputScale);
        network.eval();

        var onnx = PonitaOnnxExporter.ExportVectors(network, set.TypesAreIndices, withInputs, residual, o.PredictedVectorsColumnName,
            new Dictionary<string, string> { [MetadataKeys.Method] = "PONITA vectors" });
        var parity = CheckExport(network, onnx, set, cutoff, o, residual, run.Seed, targetScale);

        var contract = new PonitaInputContract(o.PositionsColumnName, o.AtomTypesColumnName, set.TypesAreIndices, set.FeatureCount, set.KnownTypes,
            cutoff, o.MaximumNeighbors, o.SelfInteraction, PonitaMemory.Scoring(o.NumberOfOrientations, o.HiddenSize, o.NumberOfLayers, withForces: false))
        { VectorsColumn = o.InputVectorsColumnName };
        var scoring = ExportedFit.Finish(run, _mlContext, input, PonitaTrainerSteps.ScoringSpec(_mlContext, onnx, contract, PredictionKind.Outputs,
            [o.PredictedVectorsColumnName], o.InputVectorsColumnName, o.ScoringDevice), parity);
        return new PonitaVectorModel(scoring, cutoff, kernelScale, targetScale, history, parity.Report, run.Seed);
    }

    private static PointCloudColumns Columns(Options o) => new(o, null, o.LabelColumnName, o.InputVectorsColumnName);

    /// <summary>The target vectors, less the input vectors when the model adds them.</summary>
    private static float[] Residual(PointCloud cloud, bool residual) =>
        residual ? cloud.Forces!.Select((v, k) => v - cloud.InputVectors![k]).ToArray() : cloud.Forces!;

    private static double Rms(IEnumerable<float[]> vectors)
    {
        double squares = 0;
        long count = 0;
        foreach (var values in vectors)
        {
            foreach (var v in values) squares += (double)v * v;
            count += values.Length;
        }
        double rms = Math.Sqrt(squares / Math.Max(1, count));
        return rms > 0 && double.IsFinite(rms) ? rms : 1.0;
    }

    private static Tensor Loss(PonitaNetwork network, MoleculeBatch batch)
    {
        var error = Minus(network.Vectors(batch.Graph, batch.InputVectors, network.Grid), batch.Forces!);
        return error.mul(error).mean();
    }

    /// <summary>Clouds per validation pass: no gradients are kept, so larger chunks than the training batches.</summary>
    private static int ValidationBatch(int batchSize) => Math.Max(batchSize, 64);

    private static double ValidationLoss(PonitaNetwork network, IReadOnlyList<GraphSample> samples, int featureCount, int batchSize, Device device)
    {
        double total = 0;
        foreach (var chunk in samples.Chunk(ValidationBatch(batchSize)))
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            using var batch = MoleculeBatch.From(chunk, featureCount, withForces: true, device: device);
            total += Loss(network, batch).item<float>() * chunk.Sum(s => s.Cloud.Count);
        }
        return total / samples.Sum(s => s.Cloud.Count);
    }

    /// <summary>
    /// The exported vectors against TorchSharp on three training clouds under a random rotation, scored as one graph.
    /// A vector is a mean of O terms w(o)·o that cancel on a symmetric grid (to nothing where w is flat, as in an
    /// untrained network), so float32 rounding is allowed at the targets' scale as well as at the output's own.
    /// </summary>
    private static ExportCheck CheckExport(PonitaNetwork network, byte[] onnx, PointCloudSet set, double cutoff, Options o, bool residual, int seed, double targetScale)
    {
        var random = new Random(seed ^ 0x0417b);
        var samples = new[] { set.Clouds[0], set.Clouds.MaxBy(c => c.Count)!, set.Clouds[random.Next(set.Clouds.Count)] }.Select(c =>
        {
            var rotation = Rotations.Random(random);
            var turned = c with { Positions = Rotations.Apply(rotation, c.Positions), InputVectors = c.InputVectors is { } v ? Rotations.Apply(rotation, v) : null };
            return GraphSample.Of(turned, cutoff, o.MaximumNeighbors, o.SelfInteraction);
        }).ToList();
        var inputs = PonitaExportCheck.Inputs(samples, set);
        if (o.InputVectorsColumnName is not null)
            inputs.Add(new ParityInput(PonitaColumns.PointVectors, samples.SelectMany(s => s.Cloud.InputVectors!).ToArray(), [1, samples.Sum(s => s.Cloud.Count), 3]));
        return new(o.PredictedVectorsColumnName, OnnxParity.Compare(_ =>
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            using var batch = MoleculeBatch.From(samples, set.FeatureCount, withForces: false);
            var vectors = network.Vectors(batch.Graph, batch.InputVectors, network.Grid);
            if (residual) vectors = Plus(vectors, batch.InputVectors!);
            return vectors.data<float>().ToArray();
        }, onnx, inputs, o.PredictedVectorsColumnName), OnnxParity.Tolerance * targetScale);
    }
}
