using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace MLExtensions.Equivariant;

/// <summary>
/// Where an i-PI server listens, parsed from the address strings i-PI, ASE and LAMMPS users write:
/// <c>unix:NAME</c> (the UNIX socket <c>/tmp/ipi_NAME</c>, as all three name them; <c>unix:/full/path</c> for any other
/// path), <c>host:port</c>, <c>[ipv6]:port</c>, or a host alone on the default port 31415 (i-PI's and ASE's).
/// </summary>
/// <param name="EndPoint">The endpoint to connect to.</param>
/// <param name="Display">The address as messages name it (with the socket's path for <c>unix:</c>).</param>
internal sealed record IpiAddress(EndPoint EndPoint, string Display)
{
    /// <summary>The port of a host given without one: i-PI's and ASE's default.</summary>
    public const int DefaultPort = 31415;

    /// <summary>Where i-PI, ASE and LAMMPS put the UNIX socket of <c>unix:NAME</c>: this prefix + NAME.</summary>
    public const string UnixPrefix = "/tmp/ipi_";

    private const string Forms = "write unix:NAME for the UNIX socket /tmp/ipi_NAME, host:port for TCP, or a host alone for port 31415";

    /// <summary>Parses <paramref name="address"/>; an <see cref="ArgumentException"/> names it and the accepted forms.</summary>
    public static IpiAddress Parse(string address)
    {
        ArgumentNullException.ThrowIfNull(address);
        string text = address.Trim();
        if (text.Length == 0) throw Bad(address, "it is empty");
        if (text.StartsWith("unix:", StringComparison.OrdinalIgnoreCase))
        {
            string name = text[5..];
            if (name.Length == 0) throw Bad(address, "the socket's name after 'unix:' is missing");
            string path = name.StartsWith('/') ? name : UnixPrefix + name;
            try
            {
                return new IpiAddress(new UnixDomainSocketEndPoint(path), $"'{address}' (UNIX socket {path})");
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"The i-PI address '{address}' names the UNIX socket {path}, which the system cannot use ({e.Message}); choose a shorter name.", nameof(address), e);
            }
        }

        string host;
        int port = DefaultPort;
        if (text.StartsWith('['))
        {
            int close = text.IndexOf(']');
            if (close < 0) throw Bad(address, "the '[' of an IPv6 address is not closed");
            host = text[1..close];
            string rest = text[(close + 1)..];
            if (rest.Length > 0)
            {
                if (rest[0] != ':') throw Bad(address, $"'{rest}' follows the IPv6 address");
                port = Port(address, rest[1..]);
            }
        }
        else if (text.Count(c => c == ':') > 1)
        {
            if (!IPAddress.TryParse(text, out _)) throw Bad(address, "it has several ':' but is no IPv6 address (write [address]:port)");
            host = text;
        }
        else
        {
            int colon = text.IndexOf(':');
            host = colon < 0 ? text : text[..colon];
            if (colon >= 0) port = Port(address, text[(colon + 1)..]);
        }
        if (host.Length == 0) throw Bad(address, "the host is missing");
        if (host.Any(char.IsWhiteSpace) || host.Contains('/')) throw Bad(address, $"'{host}' is no host name");
        EndPoint endPoint = IPAddress.TryParse(host, out var ip) ? new IPEndPoint(ip, port) : new DnsEndPoint(host, port);
        return new IpiAddress(endPoint, $"'{address}' (TCP {host} port {port.ToString(CultureInfo.InvariantCulture)})");
    }

    /// <summary>
    /// A socket connected to the server; a failure to connect is an <see cref="IOException"/> that names the address
    /// and says to start the server first.
    /// </summary>
    public async Task<Socket> ConnectAsync(CancellationToken cancellationToken)
    {
        var socket = EndPoint is UnixDomainSocketEndPoint
            ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
            : new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(EndPoint, cancellationToken).ConfigureAwait(false);
            return socket;
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new IOException($"Could not connect to the i-PI server at {Display}: {e.Message}. Start the server first " +
                "(ASE's SocketIOCalculator, i-PI) and give this client the address it listens on.", e);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static int Port(string address, string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int port) && port is > 0 and <= 65535
            ? port
            : throw Bad(address, $"the port '{text}' is not a number from 1 to 65535");

    private static ArgumentException Bad(string address, string what) =>
        new($"The i-PI address '{address}' cannot be used: {what}; {Forms}.", "address");
}
