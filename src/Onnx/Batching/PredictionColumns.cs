using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLExtensions.Onnx.Batching;

/// <summary>
/// A column the batched view computes from the ONNX outputs of a block. Whoever knows how a model's outputs become
/// prediction columns (e.g. a scoring head) describes them with these.
/// </summary>
internal abstract class PredictionColumn(string name, string onnxOutput)
{
    public string Name { get; } = name;

    public string OnnxOutput { get; } = onnxOutput;

    public abstract Delegate Getter(Func<int> slot, OutputBlock output);
}

/// <summary>A scalar read from the first value of the row's slice of an output, then converted.</summary>
internal sealed class ScalarPrediction<TSource, TValue>(string name, string onnxOutput, Func<TSource, TValue> convert)
    : PredictionColumn(name, onnxOutput) where TSource : unmanaged
{
    public override Delegate Getter(Func<int> slot, OutputBlock output)
    {
        var block = (OutputBlock<TSource>)output;
        return (ValueGetter<TValue>)((ref TValue value) => value = convert(block.Values[slot() * block.RowLength]));
    }
}

/// <summary>The row's whole slice of an output, as a vector.</summary>
internal sealed class VectorPrediction<T>(string name, string onnxOutput) : PredictionColumn(name, onnxOutput) where T : unmanaged
{
    public override Delegate Getter(Func<int> slot, OutputBlock output)
    {
        var block = (OutputBlock<T>)output;
        return (ValueGetter<VBuffer<T>>)((ref VBuffer<T> value) =>
        {
            int length = block.RowLength;
            var editor = VBufferEditor.Create(ref value, length);
            block.Values.AsSpan(slot() * length, length).CopyTo(editor.Values);
            value = editor.Commit();
        });
    }
}
