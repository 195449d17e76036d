using Microsoft.ML;

namespace MLExtensions.Fairness;

/// <summary>
/// Fairness auditing: global and local disparity and their decomposition (issue: fairness auditor). Reached through <c>mlContext.Fairness()</c>.
/// </summary>
/// <remarks>The catalog exists so that pipelines can be written against it; its trainers arrive with their method.</remarks>
public sealed class FairnessCatalog
{
    internal FairnessCatalog(MLContext mlContext) => Context = mlContext;

    /// <summary>The ML.NET context the catalog's components are created in.</summary>
    internal MLContext Context { get; }
}

/// <summary>Hangs <see cref="FairnessCatalog"/> off <see cref="MLContext"/>.</summary>
public static class FairnessCatalogExtensions
{
    /// <summary>The fairness catalog: <c>mlContext.Fairness()</c>.</summary>
    public static FairnessCatalog Fairness(this MLContext mlContext)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        return new FairnessCatalog(mlContext);
    }
}
