using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace MLExtensions.Training;

/// <summary>
/// The one seed convention of the package, ML.NET's: a seed the user gives is used as it is; none draws one from the
/// <see cref="MLContext"/>, so <c>new MLContext(seed)</c> makes every component reproducible and a context without a
/// seed varies from run to run.
/// </summary>
internal static class Seeds
{
    /// <param name="mlContext">The context whose random source draws the seed.</param>
    /// <param name="given">The seed the user gave, if any.</param>
    /// <param name="component">The component's name (ML.NET registers a host per component).</param>
    public static int Resolve(MLContext mlContext, int? given, string component) => given ?? FromContext((IHostEnvironment)mlContext, component);

    /// <summary>A seed drawn from <paramref name="environment"/>'s random source for <paramref name="component"/>.</summary>
    public static int FromContext(IHostEnvironment environment, string component) => environment.Register(component).Rand.Next();
}
