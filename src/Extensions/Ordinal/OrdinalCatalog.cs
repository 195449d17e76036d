using Microsoft.ML;

namespace MLExtensions.Ordinal;

/// <summary>
/// Ordinal regression: PRESTO and proportional odds (issue: PRESTO ordinal trainer). Reached through <c>mlContext.Ordinal()</c>.
/// </summary>
/// <remarks>The catalog exists so that pipelines can be written against it; its trainers arrive with their method.</remarks>
public sealed class OrdinalCatalog
{
    internal OrdinalCatalog(MLContext mlContext) => Context = mlContext;

    /// <summary>The ML.NET context the catalog's components are created in.</summary>
    internal MLContext Context { get; }
}

/// <summary>Hangs <see cref="OrdinalCatalog"/> off <see cref="MLContext"/>.</summary>
public static class OrdinalCatalogExtensions
{
    /// <summary>The ordinal catalog: <c>mlContext.Ordinal()</c>.</summary>
    public static OrdinalCatalog Ordinal(this MLContext mlContext)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        return new OrdinalCatalog(mlContext);
    }
}
