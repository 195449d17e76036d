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

/// <summary>
/// Work items computed in index order by one worker per core, ahead of a consumer that reads their results in order
/// and may stop early (<see cref="Dispose"/>): the cores stay busy across the consumer's checkpoints, and the items
/// under way when it stops are told so through their <see cref="CancellationToken"/>. Reading an item that failed
/// rethrows its exception as itself.
/// </summary>
internal sealed class OrderedWork<T> : IDisposable
{
    private readonly Func<int, CancellationToken, T> _work;
    private readonly CancellationTokenSource _stop = new();
    private readonly T[] _results;
    private readonly ExceptionDispatchInfo?[] _errors;
    private readonly ManualResetEventSlim[] _done;
    private readonly Task[] _workers;
    private int _next = -1;
    private volatile bool _stopped;

    public OrderedWork(int count, Func<int, CancellationToken, T> work)
    {
        _work = work;
        _results = new T[count];
        _errors = new ExceptionDispatchInfo?[count];
        _done = Enumerable.Range(0, count).Select(_ => new ManualResetEventSlim(false, spinCount: 0)).ToArray(); // waits are for whole solves: no spinning on 2 cores
        _workers = Enumerable.Range(0, Math.Min(count, Environment.ProcessorCount)).Select(_ => Task.Factory.StartNew(Run, TaskCreationOptions.LongRunning)).ToArray();
    }

    /// <summary>Item <paramref name="index"/>'s result, waiting for it when it is not computed yet.</summary>
    public T this[int index]
    {
        get
        {
            _done[index].Wait();
            _errors[index]?.Throw();
            return _results[index];
        }
    }

    /// <summary>Starts no more items and waits for those under way, so no work outlives the consumer.</summary>
    public void Dispose()
    {
        _stopped = true;
        _stop.Cancel();
        Task.WaitAll(_workers);
        _stop.Dispose();
        foreach (var done in _done) done.Dispose();
    }

    private void Run()
    {
        while (!_stopped)
        {
            int i = Interlocked.Increment(ref _next);
            if (i >= _results.Length) return;
            try
            {
                _results[i] = _work(i, _stop.Token);
            }
            catch (Exception e)
            {
                _errors[i] = ExceptionDispatchInfo.Capture(e);
            }
            finally
            {
                _done[i].Set();
            }
        }
    }
}
