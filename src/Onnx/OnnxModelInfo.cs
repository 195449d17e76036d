using Onnx;

namespace MLExtensions.Onnx;

/// <summary>Reads the facts an exported model carries: its <c>metadata_props</c> and its input and output names.</summary>
/// <remarks>
/// After <c>mlContext.Model.Load</c> a fitted MLExtensions model comes back as a plain ML.NET
/// <c>TransformerChain</c>; the ONNX model's metadata is where its architecture, classes and training
/// facts survive.
/// </remarks>
public sealed class OnnxModelInfo
{
    private OnnxModelInfo(IReadOnlyDictionary<string, string> metadata, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs, long opset)
    {
        Metadata = metadata;
        InputNames = inputs;
        OutputNames = outputs;
        Opset = opset;
    }

    /// <summary>The model's <c>metadata_props</c>.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Names of the graph inputs that are not initializers.</summary>
    public IReadOnlyList<string> InputNames { get; }

    /// <summary>Names of the graph outputs.</summary>
    public IReadOnlyList<string> OutputNames { get; }

    /// <summary>The default-domain opset the model imports.</summary>
    public long Opset { get; }

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
            proto.MetadataProps.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal),
            proto.Graph.Input.Select(i => i.Name).Where(n => !initializers.Contains(n)).ToArray(),
            proto.Graph.Output.Select(o => o.Name).ToArray(),
            proto.OpsetImport.Where(o => string.IsNullOrEmpty(o.Domain)).Select(o => o.Version).DefaultIfEmpty(0).Max());
    }
}
