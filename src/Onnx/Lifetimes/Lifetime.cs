namespace MLExtensions.Onnx.Lifetimes;

/// <summary>
/// The lifetime of an object that owns native resources (an ONNX Runtime session, a model file) and hands out views,
/// rows and engines that use them: every use runs inside a <see cref="Lease"/>, and <see cref="Close"/> marks the
/// owner disposed, then waits for the uses in flight to end before the owner frees anything.
/// </summary>
/// <remarks>
/// So a view created before <c>Dispose</c> throws <see cref="ObjectDisposedException"/> instead of reaching a freed
/// session, and disposing while another thread scores waits for that call (one ONNX Runtime run) to return. Leases are
/// held around session use only, never while a cursor reads its input, so a slow or blocked input never holds up
/// <c>Dispose</c>. Leases nest; a thread must not dispose the owner from inside one of its leases (from a getter).
/// </remarks>
internal sealed class Lifetime
{
    private readonly object _owner;
    private readonly object _gate = new();
    private int _leases;
    private int _closed;

    /// <param name="owner">The object named by <see cref="ObjectDisposedException"/>.</param>
    public Lifetime(object owner) => _owner = owner;

    /// <summary>True once <see cref="Close"/> has begun.</summary>
    public bool IsClosed => Volatile.Read(ref _closed) != 0;

    /// <summary>Begins a use of the owner's resources.</summary>
    /// <exception cref="ObjectDisposedException">The owner is disposed (or being disposed).</exception>
    public Lease Enter()
    {
        Interlocked.Increment(ref _leases);
        if (Volatile.Read(ref _closed) != 0)
        {
            Exit();
            ThrowIfClosed();
        }
        return new Lease(this);
    }

    /// <summary>Throws <see cref="ObjectDisposedException"/> once the owner is disposed.</summary>
    public void ThrowIfClosed()
    {
        if (IsClosed) throw new ObjectDisposedException(_owner.GetType().FullName, $"This {_owner.GetType().Name} has been disposed; results, rows and engines created from it can no longer be used.");
    }

    /// <summary>
    /// Refuses new leases and waits until the ones in flight have ended; false when it was closed already (the caller
    /// then frees nothing twice).
    /// </summary>
    public bool Close()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0) return false;
        lock (_gate)
        {
            while (Volatile.Read(ref _leases) != 0) Monitor.Wait(_gate);
        }
        return true;
    }

    private void Exit()
    {
        if (Interlocked.Decrement(ref _leases) == 0 && Volatile.Read(ref _closed) != 0)
        {
            lock (_gate) Monitor.PulseAll(_gate);
        }
    }

    /// <summary>One use of the owner's resources; dispose it when the use ends.</summary>
    public readonly struct Lease : IDisposable
    {
        private readonly Lifetime? _lifetime;

        internal Lease(Lifetime lifetime) => _lifetime = lifetime;

        /// <inheritdoc />
        public void Dispose() => _lifetime?.Exit();
    }
}
