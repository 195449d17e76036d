using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLExtensions.Tests;

/// <summary>Saves a model the ML.NET way, loads it in a fresh context, and scores with the loaded chain.</summary>
public static class ModelRoundTrip
{
    public static T[] SaveLoadAndScore<T>(ITransformer model, IDataView data, string column)
    {
        using var stream = new MemoryStream();
        new MLContext(1).Model.Save(model, data.Schema, stream);
        stream.Position = 0;
        var loaded = new MLContext(2).Model.Load(stream, out _);
        try
        {
            return loaded.Transform(data).GetColumn<T>(column).ToArray();
        }
        finally
        {
            (loaded as IDisposable)?.Dispose();
        }
    }
}
