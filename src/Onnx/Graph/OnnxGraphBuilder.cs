using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace MLExtensions.Onnx.Graph;

/// <summary>
/// Builds an ONNX model (opset 17, IR version 8) from scratch: typed inputs and outputs with symbolic
/// dimensions, initializers from managed arrays, operator nodes with unique names, and model metadata.
/// </summary>
/// <remarks>
/// The op helpers (<see cref="MatMul"/>, <see cref="Relu"/>, ...) live in the other part of this class;
/// each returns the <see cref="OnnxValue"/> it produced, so graphs read like the forward pass they export.
/// Pass <c>output:</c> to give a node's result a fixed name, e.g. the name of a graph output.
/// </remarks>
internal sealed partial class OnnxGraphBuilder
{
    /// <summary>The default-domain opset the builder targets.</summary>
    public const int OpsetVersion = 17;

    /// <summary>The ONNX IR version written into the model (IR 8 pairs with opset 17).</summary>
    public const int IrVersion = 8;

    private const string MLDomain = "ai.onnx.ml";

    private readonly GraphProto _graph;
    private readonly Dictionary<string, string> _metadata = new(StringComparer.Ordinal);
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private bool _usesMLDomain;
    private int _counter;

    /// <summary>Creates an empty graph.</summary>
    /// <param name="graphName">The graph's name (shown by tools such as Netron).</param>
    public OnnxGraphBuilder(string graphName = "mlextensions")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(graphName);
        _graph = new GraphProto { Name = graphName };
    }

    /// <summary>Declares a graph input.</summary>
    public OnnxValue AddInput(string name, OnnxElementType type, params OnnxDim[] shape)
    {
        Reserve(name);
        _graph.Input.Add(ValueInfo(name, type, shape));
        return new OnnxValue(name);
    }

    /// <summary>Declares <paramref name="value"/> as a graph output with the given type and shape.</summary>
    /// <remarks>The output is named after the value; produce it with <c>output: "name"</c> to choose the name.</remarks>
    public void AddOutput(OnnxValue value, OnnxElementType type, params OnnxDim[] shape)
    {
        if (_graph.Output.Any(o => o.Name == value.Name))
            throw new InvalidOperationException($"'{value.Name}' is already a graph output.");
        _graph.Output.Add(ValueInfo(value.Name, type, shape));
    }

    /// <summary>Adds a float initializer (stored as raw little-endian bytes).</summary>
    public OnnxValue AddInitializer(string nameHint, ReadOnlySpan<float> values, params long[] dims)
        => AddInitializer(nameHint, OnnxElementType.Float, MemoryMarshal.AsBytes(values), values.Length, dims);

    /// <summary>Adds a 64-bit integer initializer (shapes, axes, indices).</summary>
    public OnnxValue AddInitializer(string nameHint, ReadOnlySpan<long> values, params long[] dims)
        => AddInitializer(nameHint, OnnxElementType.Int64, MemoryMarshal.AsBytes(values), values.Length, dims);

    /// <summary>Adds a 32-bit integer initializer.</summary>
    public OnnxValue AddInitializer(string nameHint, ReadOnlySpan<int> values, params long[] dims)
        => AddInitializer(nameHint, OnnxElementType.Int32, MemoryMarshal.AsBytes(values), values.Length, dims);

    /// <summary>Adds a float64 initializer (for computations that must round as managed double arithmetic does).</summary>
    internal OnnxValue AddInitializer(string nameHint, ReadOnlySpan<double> values, params long[] dims)
        => AddInitializer(nameHint, OnnxElementType.Double, MemoryMarshal.AsBytes(values), values.Length, dims);

    /// <summary>Adds a float scalar constant (a 0-d initializer), handy for broadcasting arithmetic.</summary>
    public OnnxValue Scalar(float value, string nameHint = "const") => AddInitializer(nameHint, [value]);

    /// <summary>Adds a 1-d int64 constant, as used for shapes and axes.</summary>
    public OnnxValue Int64s(params long[] values) => AddInitializer("ints", values, values.Length);

    /// <summary>The <c>metadata_props</c> set so far.</summary>
    internal IReadOnlyDictionary<string, string> Metadata => _metadata;

    /// <summary>Gives the node added last a name of its own (which ONNX Runtime's errors quote), made unique.</summary>
    internal void NameLastNode(string name) => _graph.Node[^1].Name = Unique(name);

    /// <summary>Records a model fact in the model's <c>metadata_props</c> (readable by ONNX Runtime and <see cref="OnnxModelInfo"/>).</summary>

    public void SetMetadata(string key, string value)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        ArgumentNullException.ThrowIfNull(value);
        _metadata[key] = value;
    }

    /// <summary>
    /// Adds one operator node. Most callers use the typed helpers instead; this is the escape hatch for
    /// operators they do not cover.
    /// </summary>
    /// <param name="opType">The ONNX operator, e.g. "Gemm".</param>
    /// <param name="inputs">The node's inputs in operator order; <c>default</c> marks an omitted optional input.</param>
    /// <param name="outputCount">How many outputs the node produces.</param>
    /// <param name="attributes">The node's attributes.</param>
    /// <param name="output">A fixed name for the first output; otherwise a unique name is generated.</param>
    /// <param name="domain">The operator domain; "" is the default ONNX domain.</param>
    public OnnxValue[] AddNode(string opType, IReadOnlyList<OnnxValue> inputs, int outputCount = 1,
        IEnumerable<AttributeProto>? attributes = null, string? output = null, string domain = "")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(opType);
        var node = new NodeProto { OpType = opType, Name = Unique(opType), Domain = domain };
        foreach (var input in inputs) node.Input.Add(input.Name ?? "");
        var outputs = new OnnxValue[outputCount];
        for (int i = 0; i < outputCount; i++)
        {
            var name = i == 0 && output is not null ? output : Unique(opType + "_out");
            if (i == 0 && output is not null) Reserve(output);
            node.Output.Add(name);
            outputs[i] = new OnnxValue(name);
        }
        if (attributes is not null) node.Attribute.AddRange(attributes);
        if (domain == MLDomain) _usesMLDomain = true;
        _graph.Node.Add(node);
        return outputs;
    }

    /// <summary>Assembles the model. The builder can keep being used afterwards; each call builds a fresh model.</summary>
    public ModelProto Build()
    {
        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = Runtime.ExitCleanup.ProducerName,
            ProducerVersion = typeof(OnnxGraphBuilder).Assembly.GetName().Version?.ToString() ?? "",
            Graph = _graph.Clone(),
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = OpsetVersion });
        if (_usesMLDomain) model.OpsetImport.Add(new OperatorSetIdProto { Domain = MLDomain, Version = 2 });
        foreach (var (key, value) in _metadata)
            model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        return model;
    }

    /// <summary>Assembles the model and serialises it to the ONNX protobuf format.</summary>
    public byte[] ToBytes() => Build().ToByteArray();

    private OnnxValue AddInitializer(string nameHint, OnnxElementType type, ReadOnlySpan<byte> raw, int count, long[] dims)
    {
        long expected = dims.Aggregate(1L, (a, d) => a * d);
        if (expected != count)
            throw new ArgumentException($"Initializer '{nameHint}' has {count} values but its shape [{string.Join(", ", dims)}] holds {expected}.", nameof(dims));
        var tensor = new TensorProto { Name = Unique(nameHint), DataType = (int)type, RawData = ByteString.CopyFrom(raw) };
        tensor.Dims.AddRange(dims);
        _graph.Initializer.Add(tensor);
        return new OnnxValue(tensor.Name);
    }

    private static ValueInfoProto ValueInfo(string name, OnnxElementType type, OnnxDim[] shape)
    {
        var tensorShape = new TensorShapeProto();
        foreach (var dim in shape)
        {
            tensorShape.Dim.Add(dim.Symbol is not null
                ? new TensorShapeProto.Types.Dimension { DimParam = dim.Symbol }
                : new TensorShapeProto.Types.Dimension { DimValue = dim.Size!.Value });
        }
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = tensorShape } },
        };
    }

    private void Reserve(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (!_names.Add(name)) throw new ArgumentException($"The name '{name}' is already used in this graph.", nameof(name));
    }

    private string Unique(string hint)
    {
        string name;
        do { name = $"{hint}_{_counter++}"; } while (!_names.Add(name));
        return name;
    }
}
