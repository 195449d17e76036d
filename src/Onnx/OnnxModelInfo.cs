using System.IO.Compression;
using Onnx;

namespace MLExtensions.Onnx;

/// <summary>A graph input or output: its name, element type and shape.</summary>
/// <param name="Name">The tensor's name.</param>
/// <param name="ElementType">The ONNX element type number (1 float, 6 int32, 7 int64, 9 bool, 11 double, 12 uint32, ...).</param>
/// <param name="Dimensions">The shape; null entries are symbolic or unknown dimensions.</param>
internal sealed record OnnxTensorInfo(string Name, int ElementType, IReadOnlyList<long?> Dimensions);

/// <summary>Reads the facts an exported model carries: its <c>metadata_props</c>, inputs and outputs.</summary>
/// <remarks>
/// After <c>mlContext.Model.Load</c> a fitted MLExtensions model comes back as a plain ML.NET
/// <c>TransformerChain</c>; the ONNX model's metadata is where its architecture, classes and training
/// facts survive.
/// </remarks>
public sealed class OnnxModelInfo
{
    private OnnxModelInfo(byte[] model, IReadOnlyDictionary<string, string> metadata, IReadOnlyList<OnnxTensorInfo> inputs,
        IReadOnlyList<OnnxTensorInfo> outputs, long opset)
    {
        Model = model;
        Metadata = metadata;
        Inputs = inputs;
        Outputs = outputs;
        Opset = opset;
    }

    /// <summary>The serialised model these facts were read from.</summary>
    internal byte[] Model { get; }

    /// <summary>The model's <c>metadata_props</c>.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The graph inputs that are not initializers.</summary>
    internal IReadOnlyList<OnnxTensorInfo> Inputs { get; }

    /// <summary>The graph outputs.</summary>
    internal IReadOnlyList<OnnxTensorInfo> Outputs { get; }

    /// <summary>Names of the graph inputs that are not initializers.</summary>
    public IReadOnlyList<string> InputNames => Inputs.Select(i => i.Name).ToArray();

    /// <summary>Names of the graph outputs.</summary>
    public IReadOnlyList<string> OutputNames => Outputs.Select(o => o.Name).ToArray();

    /// <summary>The default-domain opset the model imports.</summary>
    public long Opset { get; }

    /// <summary>
    /// Reads every ONNX model inside a model file written by <c>mlContext.Model.Save</c>, in pipeline order: the
    /// way back to an MLExtensions model's facts after <c>mlContext.Model.Load</c>.
    /// </summary>
    /// <param name="savedModelPath">The .zip file written by <c>mlContext.Model.Save</c>.</param>
    public static IReadOnlyList<OnnxModelInfo> ReadFromSavedModel(string savedModelPath)
    {
        using var stream = File.OpenRead(savedModelPath);
        return ReadFromSavedModel(stream);
    }

    /// <summary>Same as <see cref="ReadFromSavedModel(string)"/> for a stream holding the saved model.</summary>
    public static IReadOnlyList<OnnxModelInfo> ReadFromSavedModel(Stream savedModel)
    {
        ArgumentNullException.ThrowIfNull(savedModel);
        using var zip = new ZipArchive(savedModel, ZipArchiveMode.Read, leaveOpen: true);
        var models = new List<OnnxModelInfo>();
        // ApplyOnnxModel saves its model as a binary stream "OnnxModel": an int32 length, then the bytes. Entry paths
        // number the transformers with zero-padded indices, so their order is the pipeline's (depth first).
        foreach (var entry in zip.Entries.Where(e => e.Name == "OnnxModel").OrderBy(e => e.FullName, StringComparer.Ordinal))
        {
            using var content = entry.Open();
            using var buffer = new MemoryStream();
            content.CopyTo(buffer);
            var bytes = buffer.ToArray();
            if (bytes.Length < 4 || BitConverter.ToInt32(bytes, 0) != bytes.Length - 4)
                throw new InvalidDataException($"Entry '{entry.FullName}' is not an ONNX model stream of ML.NET's OnnxTransformer.");
            models.Add(Read(bytes.AsSpan(4)));
        }
        return models;
    }

    /// <summary>Parses a serialised ONNX model.</summary>
    /// <exception cref="ArgumentException">The bytes are not an ONNX model.</exception>
    public static OnnxModelInfo Read(ReadOnlySpan<byte> model)
    {
        ModelProto proto;
        try
        {
            proto = ModelProto.Parser.ParseFrom(model);
        }
        catch (Google.Protobuf.InvalidProtocolBufferException e)
        {
            throw new ArgumentException("The bytes are not a valid ONNX model: " + e.Message, nameof(model), e);
        }
        if (proto.Graph is null) throw new ArgumentException("The ONNX model has no graph.", nameof(model));
        var initializers = proto.Graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        return new OnnxModelInfo(
            model.ToArray(),
            proto.MetadataProps.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal),
            proto.Graph.Input.Where(i => !initializers.Contains(i.Name)).Select(Describe).ToArray(),
            proto.Graph.Output.Select(Describe).ToArray(),
            proto.OpsetImport.Where(o => string.IsNullOrEmpty(o.Domain)).Select(o => o.Version).DefaultIfEmpty(0).Max());
    }

    private static OnnxTensorInfo Describe(ValueInfoProto value)
    {
        var tensor = value.Type?.TensorType;
        var dims = tensor?.Shape?.Dim.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue && d.DimValue > 0 ? d.DimValue : (long?)null).ToArray()
                   ?? [];
        return new OnnxTensorInfo(value.Name, tensor?.ElemType ?? 0, dims);
    }
}
