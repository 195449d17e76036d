using Microsoft.ML;

namespace MLExtensions.Equivariant;

/// <summary>
/// SE(3)-equivariant regression on point clouds: PONITA (issue: equivariant regressor). Reached through <c>mlContext.Equivariant()</c>.
/// </summary>
/// <remarks>The catalog exists so that pipelines can be written against it; its trainers arrive with their method.</remarks>
public sealed class EquivariantCatalog
{
    internal EquivariantCatalog(MLContext mlContext) => Context = mlContext;

    /// <summary>The ML.NET context the catalog's components are created in.</summary>
    internal MLContext Context { get; }
}

/// <summary>Hangs <see cref="EquivariantCatalog"/> off <see cref="MLContext"/>.</summary>
public static class EquivariantCatalogExtensions
{
    /// <summary>The equivariant catalog: <c>mlContext.Equivariant()</c>.</summary>
    public static EquivariantCatalog Equivariant(this MLContext mlContext)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        return new EquivariantCatalog(mlContext);
    }
}
