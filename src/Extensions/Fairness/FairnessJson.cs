using System.Text.Json;

namespace MLExtensions.Fairness;

/// <summary>The JSON form of the fairness tables (<see cref="FairnessCounts"/>, <see cref="FairnessScoreHistograms"/>): camel-case, compact.</summary>
internal static class FairnessJson
{
    public static readonly JsonSerializerOptions Options = new() { WriteIndented = false, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>Reads a document, turning a parse error into an <see cref="InvalidDataException"/> that says what was expected.</summary>
    public static T? Read<T>(string json, string what)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            return JsonSerializer.Deserialize<T>(json, Options);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"The text is not a {what}: {e.Message}", e);
        }
    }
}
