using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace MLExtensions.Tests.Equivariant;

/// <summary>
/// The server side of the i-PI socket protocol, written from its description for the tests: the role ASE's
/// SocketIOCalculator or i-PI plays. Blocking calls on one accepted connection; lengths in Å and energies in kcal/mol
/// at its surface, atomic units on the wire (as ASE sends them: the cell as cell.T in C order, the virial read back
/// transposed).
/// </summary>
internal sealed class FakeIpiServer : IDisposable
{
    /// <summary>CODATA 2018, written out here rather than taken from the code under test.</summary>
    public const double Bohr = 0.529177210903, Hartree = 2625.4996394799 / 4.184; // CODATA 2018, kcal/mol

    private readonly Socket _listener;
    private readonly string? _unixPath;
    private Socket? _connection;
    private NetworkStream? _stream;

    private FakeIpiServer(Socket listener, string address, string? unixPath)
    {
        _listener = listener;
        Address = address;
        _unixPath = unixPath;
    }

    /// <summary>The address a client is given.</summary>
    public string Address { get; }

    /// <summary>A server on a free TCP port of the loopback interface.</summary>
    public static FakeIpiServer Tcp()
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        return new FakeIpiServer(listener, $"127.0.0.1:{((IPEndPoint)listener.LocalEndPoint!).Port}", null);
    }

    /// <summary>A server on the UNIX socket /tmp/ipi_NAME, NAME unique, addressed as "unix:NAME".</summary>
    public static FakeIpiServer Unix()
    {
        string name = "mlx-test-" + Guid.NewGuid().ToString("N")[..12];
        string path = "/tmp/ipi_" + name;
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        return new FakeIpiServer(listener, "unix:" + name, path);
    }

    /// <summary>Waits (at most 30 s) for the client.</summary>
    public void Accept()
    {
        var accept = _listener.AcceptAsync();
        if (!accept.Wait(TimeSpan.FromSeconds(30))) throw new TimeoutException("No i-PI client connected within 30 s.");
        _connection = accept.Result;
        _connection.ReceiveTimeout = 30_000;
        _stream = new NetworkStream(_connection);
    }

    private NetworkStream Stream => _stream ?? throw new InvalidOperationException("Accept first.");

    public void Send(string header) => Stream.Write(Encoding.ASCII.GetBytes(header.PadRight(12)));

    public void SendBytes(byte[] bytes) => Stream.Write(bytes);

    public string Receive() => Encoding.ASCII.GetString(Read(12)).TrimEnd();

    public string Status()
    {
        Send("STATUS");
        return Receive();
    }

    public void Init(int bead, byte[] text)
    {
        Send("INIT");
        var head = new byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(head, bead);
        BinaryPrimitives.WriteInt32LittleEndian(head.AsSpan(4), text.Length);
        SendBytes(head);
        SendBytes(text);
    }

    /// <summary>POSDATA: <paramref name="cell"/> rows a, b, c in Å (null: all zero, as ASE sends for no cell); positions in Å.</summary>
    public void PosData(double[]? cell, double[] positions, int? atoms = null)
    {
        Send("POSDATA");
        var h = new double[9];   // columns are the lattice vectors
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                h[3 * i + j] = (cell?[3 * j + i] ?? 0) / Bohr;
        SendBytes(Doubles(h));
        SendBytes(Doubles(new double[9]));   // the inverse: legacy, unused by the client
        var n = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(n, atoms ?? positions.Length / 3);
        SendBytes(n);
        SendBytes(Doubles(positions.Select(x => x / Bohr).ToArray()));
    }

    /// <summary>GETFORCE and its answer, converted to kcal/mol, kcal/mol/Å and a row-major virial in kcal/mol.</summary>
    public (double Energy, double[] Forces, double[] Virial, byte[] Extra) GetForce()
    {
        Send("GETFORCE");
        string answer = Receive();
        if (answer != "FORCEREADY") throw new InvalidDataException($"GETFORCE answered with '{answer}'.");
        double energy = BinaryPrimitives.ReadDoubleLittleEndian(Read(8)) * Hartree;
        int atoms = BinaryPrimitives.ReadInt32LittleEndian(Read(4));
        var forces = ReadDoubles(3 * atoms).Select(f => f * Hartree / Bohr).ToArray();
        var wire = ReadDoubles(9);
        var virial = new double[9];
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                virial[3 * i + j] = wire[3 * j + i] * Hartree;
        int extra = BinaryPrimitives.ReadInt32LittleEndian(Read(4));
        return (energy, forces, virial, Read(extra));
    }

    /// <summary>True when the client closed its end (a read returns no bytes).</summary>
    public bool ClientClosed()
    {
        try
        {
            return Stream.Read(new byte[1]) == 0;
        }
        catch (IOException)
        {
            return true;
        }
    }

    /// <summary>Closes the connection (as a server that stops without EXIT).</summary>
    public void Hangup()
    {
        _stream?.Dispose();
        _connection?.Dispose();
        _stream = null;
        _connection = null;
    }

    private static byte[] Doubles(double[] values)
    {
        var bytes = new byte[8 * values.Length];
        for (int k = 0; k < values.Length; k++) BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(8 * k), values[k]);
        return bytes;
    }

    private double[] ReadDoubles(int count)
    {
        var bytes = Read(8 * count);
        return Enumerable.Range(0, count).Select(k => BinaryPrimitives.ReadDoubleLittleEndian(bytes.AsSpan(8 * k))).ToArray();
    }

    private byte[] Read(int count)
    {
        var buffer = new byte[count];
        Stream.ReadExactly(buffer);
        return buffer;
    }

    public void Dispose()
    {
        Hangup();
        _listener.Dispose();
        if (_unixPath is not null) File.Delete(_unixPath);
    }
}
