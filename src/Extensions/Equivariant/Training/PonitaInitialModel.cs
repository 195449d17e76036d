using Microsoft.ML;
using MLExtensions.Onnx;
using MLExtensions.Onnx.Scoring;
using static TorchSharp.torch;

namespace MLExtensions.Equivariant;

/// <summary>
/// The trained PONITA model a fine-tuning starts from (<see cref="PonitaTrainer.Options.InitialModel"/>): its
/// description and the network's weights, which the export keeps in the ONNX model's metadata in the units the
/// network trains in (before the energy scale and reference energies are folded into its head).
/// </summary>
internal sealed record PonitaInitialModel(PonitaDescription Description, byte[] Weights)
{
    /// <summary>The ONNX metadata key of the weights: TorchSharp's state-dictionary format, base64.</summary>
    public const string WeightsKey = "mlextensions.ponita.weights";

    /// <summary>The network's weights as the metadata keeps them.</summary>
    public static string Encode(PonitaNetwork network)
    {
        using var stream = new MemoryStream();
        network.save(stream);
        return Convert.ToBase64String(stream.ToArray());
    }

    /// <summary>
    /// The description and weights of <paramref name="model"/>: a <see cref="PonitaModel"/>, or any transformer (e.g.
    /// the chain <c>mlContext.Model.Load</c> gives back) that holds a PONITA ONNX model saved with its weights.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The model was disposed.</exception>
    /// <exception cref="ArgumentException">The transformer holds no PONITA energy model, or one saved before models kept their weights.</exception>
    public static PonitaInitialModel Read(MLContext mlContext, ITransformer model)
    {
        if (model is OnnxScoredModel scored) return Read(scored);
        using var stream = new MemoryStream();
        mlContext.Model.Save(model, null, stream);
        stream.Position = 0;
        return Read(OnnxModelInfo.ReadFromSavedModel(stream));
    }

    /// <summary>The description and weights of a PONITA model scored through ONNX (e.g. a <see cref="PonitaModel"/>).</summary>
    public static PonitaInitialModel Read(OnnxScoredModel model)
    {
        using var lease = model.Lifetime.Enter();
        return Read([OnnxModelInfo.Read(model.GetOnnxModel())]);
    }

    private static PonitaInitialModel Read(IReadOnlyList<OnnxModelInfo> models)
    {
        var info = models.FirstOrDefault(m => m.Metadata.ContainsKey(PonitaDescription.MetadataKey))
            ?? throw new ArgumentException("InitialModel holds no PONITA model: pass a PonitaModel, or the transformer mlContext.Model.Load gives back for a saved one.",
                nameof(PonitaTrainer.Options.InitialModel));
        var description = PonitaDescription.FromJson(info.Metadata[PonitaDescription.MetadataKey]);
        if (!info.Metadata.TryGetValue(WeightsKey, out var weights))
            throw new ArgumentException("InitialModel was saved by a version of MLExtensions that did not keep the network's weights in the model (or it is a PonitaVectors model), " +
                "so it cannot be fine-tuned: train it again with this version, or train a new model without InitialModel.", nameof(PonitaTrainer.Options.InitialModel));
        return new PonitaInitialModel(description, Convert.FromBase64String(weights));
    }

    /// <summary>Loads the weights into a network built to the description.</summary>
    public void LoadInto(PonitaNetwork network)
    {
        using var stream = new MemoryStream(Weights);
        network.load(stream);
    }

    /// <summary>
    /// The network as the model's ONNX graph scores it: built to the description, the weights loaded, the energy scale
    /// and reference energies folded into its head, in evaluation mode, the canonical frame as the model has it.
    /// </summary>
    public PonitaNetwork ScoringNetwork()
    {
        var d = Description;
        var network = new PonitaNetwork(d.FeatureCount, d.HiddenSize, d.NumberOfLayers, d.NumberOfOrientations, d.Cutoff, d.PositionOnly, d.ReadoutFromEveryLayer, d.KernelScale,
            d.NumberOfRadialBasisFunctions);
        try
        {
            LoadInto(network);
            network.FoldEnergyScale(d.EnergyScale, [.. d.ReferenceEnergies]);
            network.eval();
            network.CanonicalFrame = d.CanonicalFrame;
            network.Periodic = d.CellColumnName is not null;
            return network;
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    /// <summary>The energy baseline the model was trained with: fine-tuning keeps the meaning of the network's targets.</summary>
    public EnergyBaseline Baseline => new([.. Description.ReferenceEnergies], Description.EnergyScale);

    /// <summary>
    /// A copy of <paramref name="options"/> with the model's architecture, graph, units and inputs: an option left at
    /// its default takes the model's value; one set to another value is refused, naming it.
    /// </summary>
    /// <remarks>
    /// The cell column may be renamed (another data set's column) but not added to or dropped from the model, and the
    /// canonical frame may be turned off (it acts at inference only). Training options and outputs stay the options'.
    /// </remarks>
    public PonitaTrainer.Options Apply(PonitaTrainer.Options options)
    {
        var d = Description;
        var defaults = new PonitaTrainer.Options();
        var o = options.Copy();
        o.PositionOnly = Take(nameof(o.PositionOnly), o.PositionOnly, defaults.PositionOnly, d.PositionOnly);
        o.HiddenSize = Take(nameof(o.HiddenSize), o.HiddenSize, defaults.HiddenSize, d.HiddenSize);
        o.NumberOfLayers = Take(nameof(o.NumberOfLayers), o.NumberOfLayers, defaults.NumberOfLayers, d.NumberOfLayers);
        if (!d.PositionOnly) o.NumberOfOrientations = Take(nameof(o.NumberOfOrientations), o.NumberOfOrientations, defaults.NumberOfOrientations, d.NumberOfOrientations);
        o.ReadoutFromEveryLayer = Take(nameof(o.ReadoutFromEveryLayer), o.ReadoutFromEveryLayer, defaults.ReadoutFromEveryLayer, d.ReadoutFromEveryLayer);
        o.Cutoff = Take(nameof(o.Cutoff), o.Cutoff, defaults.Cutoff, d.Cutoff);
        o.KernelScale = Take(nameof(o.KernelScale), o.KernelScale, defaults.KernelScale, d.KernelScale);
        o.MaximumNeighbors = Take(nameof(o.MaximumNeighbors), o.MaximumNeighbors, defaults.MaximumNeighbors, d.MaximumNeighbors);
        o.SelfInteraction = Take(nameof(o.SelfInteraction), o.SelfInteraction, defaults.SelfInteraction, d.SelfInteraction);
        o.EnergyUnit = Take(nameof(o.EnergyUnit), o.EnergyUnit, defaults.EnergyUnit, d.EnergyUnit);
        o.FeaturesPerAtom = Take(nameof(o.FeaturesPerAtom), o.FeaturesPerAtom, defaults.FeaturesPerAtom, d.TypesAreIndices ? null : d.FeatureCount);
        if (d.CellColumnName is null && o.CellColumnName is not null)
            throw new ArgumentException($"CellColumnName ('{o.CellColumnName}') is set, but the initial model was trained without cells, so its graph takes no lattice shifts. " +
                "Leave CellColumnName null to fine-tune it on open clusters, or train a new model without InitialModel.", nameof(o.CellColumnName));
        o.CellColumnName ??= d.CellColumnName;
        // Off by choice, or off in the model (a periodic or older model): the frame is an inference setting, not a weight.
        o.CanonicalFrame = o.CanonicalFrame && d.CanonicalFrame;
        return o;
    }

    private static T Take<T>(string option, T given, T defaultValue, T model)
    {
        var same = EqualityComparer<T>.Default;
        if (same.Equals(given, model) || same.Equals(given, defaultValue)) return model;
        throw new ArgumentException($"{option} ({Show(given)}) differs from the initial model's ({Show(model)}): fine-tuning keeps the model's architecture, graph and units. " +
            $"Leave {option} at its default ({Show(defaultValue)}) to take the model's value, or train a new model without InitialModel.", option);
    }

    private static string Show<T>(T value) => value?.ToString() ?? "null";

    /// <summary>
    /// The training clouds encoded as the model reads them: type indices must be ones the model was trained on (others
    /// are refused, naming the column and the row), one-hot to the model's width.
    /// </summary>
    public PointCloudSet Encode(PointCloudSet set, PonitaTrainer.Options o)
    {
        var d = Description;
        if (!d.TypesAreIndices) return set;
        var known = new bool[d.FeatureCount];
        foreach (var t in d.KnownTypes ?? []) known[t] = true;
        int width = set.FeatureCount;
        var clouds = new List<PointCloud>(set.Clouds.Count);
        for (int r = 0; r < set.Clouds.Count; r++)
        {
            var cloud = set.Clouds[r];
            var features = new float[cloud.Count * d.FeatureCount];
            for (int i = 0; i < cloud.Count; i++)
            {
                int type = Array.IndexOf(cloud.Features, 1f, i * width, width) - i * width;
                if (type >= known.Length || !known[type])
                    throw new InvalidDataException($"Column '{o.AtomTypesColumnName}', row {r}: atom type {type}, which the initial model was not trained on (its types: " +
                        $"{string.Join(", ", d.KnownTypes ?? [])}). Fine-tuning cannot add types: train a new model without InitialModel.");
                features[i * d.FeatureCount + type] = 1f;
            }
            clouds.Add(cloud with { Features = features });
        }
        return set with { Clouds = clouds, FeatureCount = d.FeatureCount, KnownTypes = known };
    }
}
