using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace MLExtensions.Equivariant;

/// <summary>One geometry from an i-PI server, converted to ångström.</summary>
/// <param name="Positions">x, y, z of every atom (3N), in the order the engine sends them.</param>
/// <param name="Cell">
/// The lattice vectors a, b, c as rows (9 values, a first), or null when the engine sent an all-zero cell (ASE does for
/// atoms without a cell).
/// </param>
/// <param name="Step">How many forces were answered before this geometry (0 for the first).</param>
internal sealed record IpiGeometry(double[] Positions, double[]? Cell, int Step);

/// <summary>What the model says about one <see cref="IpiGeometry"/>, in the model's energy unit and ångström.</summary>
/// <param name="Energy">The potential energy.</param>
/// <param name="Forces">−∂E/∂x for every atom (3N).</param>
/// <param name="Stress">
/// (1/V)·∂E/∂ε as a 3×3 row-major matrix (ASE's sign: positive under tension), energy unit/Å³; null when the model
/// has none, which sends a zero virial.
/// </param>
internal readonly record struct IpiAnswer(double Energy, double[] Forces, double[]? Stress);

/// <summary>
/// The client ("driver") side of the i-PI socket protocol over any stream: it answers the server's STATUS, INIT,
/// POSDATA and GETFORCE messages until EXIT, calling a delegate for each geometry. It owns the unit conversions
/// (the wire is in atomic units: bohr, hartree) and the wire's layout; the caller owns the model.
/// </summary>
/// <remarks>
/// The wire, as i-PI and ASE (<c>ase/calculators/socketio.py</c>) use it: 12-byte ASCII headers padded with spaces;
/// numbers little-endian int32 and float64. POSDATA carries the cell matrix h whose columns are the lattice vectors,
/// row by row (so the bytes are a<sub>x</sub>, b<sub>x</sub>, c<sub>x</sub>, a<sub>y</sub>, …), then its inverse
/// likewise, the atom count and the positions atom by atom. FORCEREADY answers with the energy, the atom count, the
/// forces atom by atom, the virial (−stress·V, written transposed as ASE does; it is symmetric for any rotation-invariant
/// energy) and an extra string, empty here. The client starts in NEEDINIT; after INIT it is READY, after POSDATA
/// HAVEDATA, after GETFORCE READY again, as i-PI's own drivers are. POSDATA is also taken without an INIT before
/// it (ASE skips INIT when a client reports READY, and some servers never send it).
/// </remarks>
internal sealed class IpiClient
{
    /// <summary>Bytes in a message header.</summary>
    public const int HeaderLength = 12;

    /// <summary>The longest INIT string read (the servers send a few bytes); more is taken as a corrupt length.</summary>
    public const int LargestInitString = 1 << 24;

    private readonly Stream _stream;
    private readonly int _atoms;
    private readonly double _hartree;
    private readonly string _server;
    private readonly Func<IpiGeometry, IpiAnswer> _compute;

    /// <summary>A client on <paramref name="stream"/> for <paramref name="atoms"/> atoms.</summary>
    /// <param name="stream">The connection to the server; the client reads and writes it and disposes it when cancelled.</param>
    /// <param name="atoms">The atoms every POSDATA must carry.</param>
    /// <param name="hartreeInModelUnits">One hartree in the unit of <paramref name="compute"/>'s energies (about 627.509 for kcal/mol).</param>
    /// <param name="server">The server's address, for messages.</param>
    /// <param name="compute">Energy, forces and optionally stress of a geometry.</param>
    public IpiClient(Stream stream, int atoms, double hartreeInModelUnits, string server, Func<IpiGeometry, IpiAnswer> compute)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(compute);
        ArgumentOutOfRangeException.ThrowIfLessThan(atoms, 1);
        if (!(hartreeInModelUnits > 0) || !double.IsFinite(hartreeInModelUnits))
            throw new ArgumentOutOfRangeException(nameof(hartreeInModelUnits), hartreeInModelUnits, "One hartree must be a positive, finite number of the model's energy units.");
        _stream = stream;
        _atoms = atoms;
        _hartree = hartreeInModelUnits;
        _server = server;
        _compute = compute;
    }

    /// <summary>The bead index of the last INIT (−1 before any).</summary>
    public int Bead { get; private set; } = -1;

    /// <summary>The string of the last INIT (empty before any).</summary>
    public byte[] InitString { get; private set; } = [];

    /// <summary>
    /// Serves until the server sends EXIT or closes the connection between two messages; returns the number of forces
    /// answered. Cancellation disposes the stream and throws <see cref="OperationCanceledException"/>.
    /// </summary>
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var registration = cancellationToken.Register(static stream => ((Stream)stream!).Dispose(), _stream);
        try
        {
            return await ServeAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (cancellationToken.IsCancellationRequested && e is not OperationCanceledException)
        {
            // Disposing the stream is how a blocked read learns of the cancellation; what it throws then is noise.
            throw new OperationCanceledException($"Serving the i-PI server at {_server} was cancelled; the connection is closed.", e, cancellationToken);
        }
        catch (IOException e)
        {
            throw new IOException($"The connection to the i-PI server at {_server} failed: {e.Message}", e);
        }
    }

    private async Task<int> ServeAsync(CancellationToken cancellationToken)
    {
        bool initialized = false;
        byte[]? forces = null;
        int steps = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            string? message = await ReadHeaderAsync(cancellationToken).ConfigureAwait(false);
            switch (message)
            {
                case null:
                case "EXIT":
                    return steps;
                case "STATUS":
                    await WriteAsync(Header(forces is not null ? "HAVEDATA" : initialized ? "READY" : "NEEDINIT"), cancellationToken).ConfigureAwait(false);
                    break;
                case "INIT":
                    await ReadInitAsync(cancellationToken).ConfigureAwait(false);
                    initialized = true;
                    break;
                case "POSDATA":
                    var geometry = await ReadGeometryAsync(steps, cancellationToken).ConfigureAwait(false);
                    forces = ForceReady(geometry, _compute(geometry));
                    break;
                case "GETFORCE":
                    if (forces is null)
                        throw Malformed("asked for forces (GETFORCE) before sending positions (POSDATA)");
                    await WriteAsync(forces, cancellationToken).ConfigureAwait(false);
                    forces = null;
                    initialized = true;
                    steps++;
                    break;
                default:
                    throw Malformed($"sent the message '{message}'; the i-PI protocol has STATUS, INIT, POSDATA, GETFORCE and EXIT");
            }
        }
    }

    private async Task ReadInitAsync(CancellationToken cancellationToken)
    {
        var head = await ReadAsync(8, "INIT", cancellationToken).ConfigureAwait(false);
        Bead = BinaryPrimitives.ReadInt32LittleEndian(head);
        int length = BinaryPrimitives.ReadInt32LittleEndian(head.AsSpan(4));
        if (length < 0 || length > LargestInitString)
            throw Malformed($"sent an INIT string of {length} bytes (at most {LargestInitString} are read)");
        InitString = length == 0 ? [] : await ReadAsync(length, "INIT", cancellationToken).ConfigureAwait(false);
    }

    private async Task<IpiGeometry> ReadGeometryAsync(int step, CancellationToken cancellationToken)
    {
        var head = await ReadAsync(9 * 8 * 2 + 4, "POSDATA", cancellationToken).ConfigureAwait(false);
        int atoms = BinaryPrimitives.ReadInt32LittleEndian(head.AsSpan(144));
        if (atoms != _atoms)
            throw Malformed(atoms < 1 || atoms > 1 << 28
                ? $"sent POSDATA for {atoms} atoms"
                : $"sent POSDATA for {atoms} atoms, but the client was given types for {_atoms}; give one type per atom, in the order the engine sends the atoms");
        var body = await ReadAsync(24 * atoms, "POSDATA", cancellationToken).ConfigureAwait(false);

        // h has the lattice vectors as columns and comes row by row: h[i, j] = wire[3i + j] is component i of vector j.
        var cell = new double[9];
        bool periodic = false;
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
            {
                double value = Double(head, 3 * i + j, "cell") * AtomicUnits.BohrInAngstrom;
                cell[3 * j + i] = value;
                periodic |= value != 0;
            }
        var positions = new double[3 * atoms];
        for (int k = 0; k < positions.Length; k++)
            positions[k] = Double(body, k, "positions") * AtomicUnits.BohrInAngstrom;
        return new IpiGeometry(positions, periodic ? cell : null, step);
    }

    /// <summary>The FORCEREADY message for <paramref name="answer"/>, in atomic units.</summary>
    private byte[] ForceReady(IpiGeometry geometry, IpiAnswer answer)
    {
        if (!double.IsFinite(answer.Energy))
            throw new InvalidOperationException($"The model's energy for the geometry of step {geometry.Step} from the i-PI server at {_server} is {Text(answer.Energy)}.");
        if (answer.Forces is null || answer.Forces.Length != 3 * _atoms)
            throw new InvalidOperationException($"The model gave {answer.Forces?.Length ?? 0} force components for {_atoms} atoms (3 per atom expected).");
        var virial = Virial(geometry.Cell, answer.Stress);

        var message = new byte[HeaderLength + 8 + 4 + 24 * _atoms + 72 + 4];
        Header("FORCEREADY").CopyTo(message, 0);
        var span = message.AsSpan(HeaderLength);
        BinaryPrimitives.WriteDoubleLittleEndian(span, answer.Energy / _hartree);
        BinaryPrimitives.WriteInt32LittleEndian(span[8..], _atoms);
        double forceUnit = AtomicUnits.BohrInAngstrom / _hartree;
        for (int k = 0; k < answer.Forces.Length; k++)
        {
            if (!double.IsFinite(answer.Forces[k]))
                throw new InvalidOperationException($"The model's force component {k % 3} on atom {k / 3} for the geometry of step {geometry.Step} is {Text(answer.Forces[k])}.");
            BinaryPrimitives.WriteDoubleLittleEndian(span[(12 + 8 * k)..], answer.Forces[k] * forceUnit);
        }
        int at = 12 + 24 * _atoms;
        // Transposed, as ASE writes it (virial.T in C order); a symmetric virial reads the same either way.
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                BinaryPrimitives.WriteDoubleLittleEndian(span[(at + 8 * (3 * i + j))..], virial[3 * j + i] / _hartree);
        BinaryPrimitives.WriteInt32LittleEndian(span[(at + 72)..], 0);
        return message;
    }

    /// <summary>−stress·V (row-major, model energy unit); zero without a stress or a cell of non-zero volume.</summary>
    internal static double[] Virial(double[]? cell, double[]? stress)
    {
        var virial = new double[9];
        if (cell is null || stress is null) return virial;
        if (stress.Length != 9) throw new InvalidOperationException($"The model gave a stress of {stress.Length} values (a 3×3 matrix expected).");
        double volume = Math.Abs(
            cell[0] * (cell[4] * cell[8] - cell[5] * cell[7])
            - cell[1] * (cell[3] * cell[8] - cell[5] * cell[6])
            + cell[2] * (cell[3] * cell[7] - cell[4] * cell[6]));
        for (int k = 0; k < 9; k++)
        {
            if (!double.IsFinite(stress[k])) throw new InvalidOperationException($"The model's stress component {k} is {Text(stress[k])}.");
            virial[k] = -stress[k] * volume;
        }
        return virial;
    }

    private double Double(byte[] buffer, int index, string what)
    {
        double value = BinaryPrimitives.ReadDoubleLittleEndian(buffer.AsSpan(8 * index));
        if (!double.IsFinite(value))
            throw Malformed($"sent a POSDATA whose {what} value {index} is {Text(value)}");
        return value;
    }

    /// <summary>The next header, trimmed and upper-cased; null when the server closed the connection before it.</summary>
    private async Task<string?> ReadHeaderAsync(CancellationToken cancellationToken)
    {
        var header = new byte[HeaderLength];
        int read = 0;
        while (read < HeaderLength)
        {
            int got = await _stream.ReadAsync(header.AsMemory(read), cancellationToken).ConfigureAwait(false);
            if (got == 0)
            {
                if (read == 0) return null;
                throw Malformed($"closed the connection after {read} bytes of a {HeaderLength}-byte message header");
            }
            read += got;
        }
        foreach (byte b in header)
            if (b is < 0x20 and not 0 || b > 0x7E)
                throw Malformed($"sent a header that is not ASCII text ({Convert.ToHexString(header)}); is this an i-PI server?");
        return Encoding.ASCII.GetString(header).TrimEnd(' ', '\0').ToUpperInvariant();
    }

    private async Task<byte[]> ReadAsync(int count, string message, CancellationToken cancellationToken)
    {
        var buffer = new byte[count];
        int read = 0;
        while (read < count)
        {
            int got = await _stream.ReadAsync(buffer.AsMemory(read), cancellationToken).ConfigureAwait(false);
            if (got == 0) throw Malformed($"closed the connection in the middle of a {message} message ({read} of {count} bytes read)");
            read += got;
        }
        return buffer;
    }

    private async Task WriteAsync(byte[] message, CancellationToken cancellationToken)
    {
        await _stream.WriteAsync(message, cancellationToken).ConfigureAwait(false);
        await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A 12-byte header: <paramref name="text"/> padded with spaces.</summary>
    internal static byte[] Header(string text) => Encoding.ASCII.GetBytes(text.PadRight(HeaderLength));

    private InvalidDataException Malformed(string what) => new($"The i-PI server at {_server} {what}.");

    private static string Text(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
