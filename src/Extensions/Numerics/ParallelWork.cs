using System.Runtime.ExceptionServices;

namespace MLExtensions.Numerics;

/// <summary>Independent pieces of work spread over the cores, failing as the first failed piece would have sequentially.</summary>
internal static class ParallelWork
{
    /// <summary>
    /// Computes <paramref name="work"/>(i) for i in [0, <paramref name="count"/>) on all cores; results by index, so
    /// the outcome does not depend on the schedule. A failure is rethrown as itself (not wrapped), the lowest index's.
    /// </summary>
    public static T[] Map<T>(int count, Func<int, T> work)
    {
        var results = new T[count];
        var errors = new Exception?[count];
        Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
        {
            try
            {
                results[i] = work(i);
            }
            catch (Exception e)
            {
                errors[i] = e;
            }
        });
        if (errors.FirstOrDefault(e => e is not null) is { } first) ExceptionDispatchInfo.Capture(first).Throw();
        return results;
    }
}
