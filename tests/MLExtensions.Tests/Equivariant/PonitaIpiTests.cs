using System.Net;
using System.Net.Sockets;
using Microsoft.ML;
using MLExtensions.Equivariant;
using MLExtensions.Studies;
using Xunit;

namespace MLExtensions.Tests.Equivariant;

/// <summary>A small PONITA model with forces, trained once for the i-PI tests.</summary>
public sealed class IpiModelFixture : IDisposable
{
    public IpiModelFixture()
    {
        var ml = new MLContext(1);
        Model = ml.Equivariant().Trainers.Ponita(new PonitaTrainer.Options
        {
            NumberOfOrientations = 4, HiddenSize = 8, NumberOfLayers = 1, NumberOfEpochs = 1, Seed = 1,
            ForcesColumnName = "Forces", PredictedForcesColumnName = "PredictedForces",
        }).Fit(ml.Data.LoadFromEnumerable(SyntheticMolecules.Generate(24, 1).ToList()));
        Molecule = SyntheticMolecules.Generate(1, 9, minAtoms: 6, maxAtoms: 6).Single();
    }

    public PonitaModel Model { get; }

    public MoleculeRow Molecule { get; }

    public float[] Types => Molecule.AtomTypes.Select(t => (float)t).ToArray();

    public void Dispose() => Model.Dispose();
}

/// <summary>
/// PonitaPotential.ServeIpi against an in-process i-PI server: the numbers, the units, the handshake, the end of a run,
/// cancellation and every way a server or an address can be wrong.
/// </summary>
public class PonitaIpiTests(IpiModelFixture fixture) : IClassFixture<IpiModelFixture>
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);
    private PonitaPotential Potential => fixture.Model.Potential;

    /// <summary>The molecule moved a little, as float32 (what the model sees) and float64 Å (what the server sends).</summary>
    private (float[] Model, double[] Wire) Jiggled(Random random)
    {
        var positions = fixture.Molecule.Positions.Select(x => x + (float)(0.1 * (random.NextDouble() - 0.5))).ToArray();
        return (positions, positions.Select(x => (double)x).ToArray());
    }

    private void AssertAnswers(float[] positions, (double Energy, double[] Forces, double[] Virial, byte[] Extra) answer)
    {
        var expected = Potential.Evaluate(positions, fixture.Types);
        Assert.True(Math.Abs(answer.Energy - expected.Energy) <= 1e-10 * Math.Max(1, Math.Abs(expected.Energy)), $"energy {answer.Energy} vs {expected.Energy}");
        Assert.Equal(expected.Forces!.Length, answer.Forces.Length);
        double scale = Math.Max(1e-3, expected.Forces.Max(Math.Abs));
        for (int k = 0; k < answer.Forces.Length; k++)
            Assert.True(Math.Abs(answer.Forces[k] - expected.Forces[k]) <= 1e-10 * scale, $"force {k}: {answer.Forces[k]} vs {expected.Forces[k]}");
        Assert.All(answer.Virial, v => Assert.Equal(0.0, v));   // no stress in this model
        Assert.Empty(answer.Extra);
    }

    [Fact]
    public async Task Several_steps_over_TCP_answer_the_models_energies_and_forces_in_atomic_units_until_EXIT()
    {
        using var server = FakeIpiServer.Tcp();
        var serving = Task.Run(() => Potential.ServeIpi(server.Address, fixture.Types));
        server.Accept();
        Assert.Equal("NEEDINIT", server.Status());
        server.Init(0, [0]);
        Assert.Equal("READY", server.Status());
        var random = new Random(5);
        for (int step = 0; step < 3; step++)
        {
            var (positions, wire) = Jiggled(random);
            server.PosData(null, wire);
            Assert.Equal("HAVEDATA", server.Status());
            AssertAnswers(positions, server.GetForce());
            Assert.Equal("READY", server.Status());
        }
        server.Send("EXIT");
        Assert.Equal(3, await serving.WaitAsync(Limit));
    }

    [Fact]
    public async Task An_ASE_style_run_over_a_UNIX_socket_ignores_the_cell_of_a_cluster_model_and_ends_when_the_server_hangs_up()
    {
        using var server = FakeIpiServer.Unix();
        Assert.StartsWith("unix:", server.Address);
        var serving = Potential.ServeIpiAsync(server.Address, fixture.Types);
        server.Accept();
        var random = new Random(6);
        double[] box = [20, 0, 0, 0, 20, 0, 0, 0, 20];
        for (int step = 0; step < 2; step++)
        {
            // ASE asks for the status before every calculation and sends INIT only when told NEEDINIT.
            string status = server.Status();
            if (step == 0)
            {
                Assert.Equal("NEEDINIT", status);
                server.Init(0, [0]);
                status = server.Status();
            }
            Assert.Equal("READY", status);
            var (positions, wire) = Jiggled(random);
            server.PosData(step == 0 ? null : box, wire);
            Assert.Equal("HAVEDATA", server.Status());
            AssertAnswers(positions, server.GetForce());
        }
        server.Hangup();   // an ASE script that ends without calc.close()
        Assert.Equal(2, await serving.WaitAsync(Limit));
    }

    [Fact]
    public async Task Positions_come_without_INIT_from_servers_that_skip_it()
    {
        using var server = FakeIpiServer.Tcp();
        var serving = Potential.ServeIpiAsync(server.Address, fixture.Types);
        server.Accept();
        var (positions, wire) = Jiggled(new Random(7));
        server.PosData(null, wire);
        Assert.Equal("HAVEDATA", server.Status());
        AssertAnswers(positions, server.GetForce());
        server.SendBytes([.. "exit"u8, 0, 0, 0, 0, 0, 0, 0, 0]);   // headers are read case-insensitively and may be padded with NULs
        Assert.Equal(1, await serving.WaitAsync(Limit));
    }

    [Fact]
    public async Task The_cell_arrives_as_lattice_rows_in_angstrom_and_a_stress_leaves_as_the_virial_in_hartree()
    {
        using var server = FakeIpiServer.Tcp();
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var connecting = socket.ConnectAsync(IPEndPoint.Parse(server.Address));
        server.Accept();
        await connecting;
        await using var stream = new NetworkStream(socket);

        double[] cell = [5, 0, 0, 1, 6, 0, 0.5, 0.7, 7];   // rows a, b, c (Å), triclinic; volume 210 Å³
        double[] stress = [1e-3, 2e-3, 3e-3, 4e-3, 5e-3, 6e-3, 7e-3, 8e-3, 9e-3];   // asymmetric, to see the transposition
        double[] positions = [0.1, 0.2, 0.3, 1.4, 1.5, 1.6];
        IpiGeometry? seen = null;
        var client = new IpiClient(stream, 2, FakeIpiServer.Hartree, server.Address, g =>
        {
            seen = g;
            return new IpiAnswer(-12.5, [1, 2, 3, -1, -2, -3], stress);
        });
        var running = client.RunAsync(CancellationToken.None);
        server.Init(7, "abc"u8.ToArray());
        server.PosData(cell, positions);
        var (energy, forces, virial, _) = server.GetForce();
        server.Send("EXIT");
        Assert.Equal(1, await running.WaitAsync(Limit));

        Assert.Equal(7, client.Bead);
        Assert.Equal("abc"u8.ToArray(), client.InitString);
        Assert.NotNull(seen);
        for (int k = 0; k < 9; k++) Assert.Equal(cell[k], seen!.Cell![k], 12);
        for (int k = 0; k < 6; k++) Assert.Equal(positions[k], seen!.Positions[k], 12);
        Assert.Equal(-12.5, energy, 10);
        Assert.Equal([1, 2, 3, -1, -2, -3], forces.Select(f => Math.Round(f, 10)));
        for (int k = 0; k < 9; k++) Assert.Equal(-stress[k] * 210, virial[k], 10);
    }

    public static TheoryData<string> BrokenServers() => ["unknown message", "atom count", "forces before positions", "closed inside POSDATA", "NaN position", "binary header"];

    [Theory]
    [MemberData(nameof(BrokenServers))]
    public async Task A_server_that_breaks_the_protocol_stops_the_client_with_a_message_naming_the_address(string fault)
    {
        using var server = FakeIpiServer.Tcp();
        var serving = Potential.ServeIpiAsync(server.Address, fixture.Types);
        server.Accept();
        var wire = fixture.Molecule.Positions.Select(x => (double)x).ToArray();
        string expected;
        switch (fault)
        {
            case "unknown message":
                server.Send("HELLO");
                expected = "sent the message 'HELLO'";
                break;
            case "atom count":
                server.PosData(null, [.. wire, 9, 9, 9]);
                expected = "POSDATA for 7 atoms, but the client was given types for 6";
                break;
            case "forces before positions":
                server.Send("GETFORCE");
                expected = "before sending positions";
                break;
            case "closed inside POSDATA":
                server.Send("POSDATA");
                server.SendBytes(new byte[40]);
                server.Hangup();
                expected = "in the middle of a POSDATA message (40 of 148 bytes read)";
                break;
            case "NaN position":
                wire[4] = double.NaN;
                server.PosData(null, wire);
                expected = "positions value 4 is NaN";
                break;
            default:
                server.SendBytes([0xFF, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
                expected = "not ASCII text (FF01";
                break;
        }
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => serving.WaitAsync(Limit));
        Assert.Contains(expected, error.Message);
        Assert.Contains(server.Address, error.Message);
    }

    [Fact]
    public async Task Cancellation_closes_the_connection_and_throws()
    {
        using var server = FakeIpiServer.Tcp();
        using var cancel = new CancellationTokenSource();
        var serving = Potential.ServeIpiAsync(server.Address, fixture.Types, cancel.Token);
        server.Accept();
        Assert.Equal("NEEDINIT", server.Status());
        cancel.CancelAfter(200);   // while the client waits for the next message
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => serving.WaitAsync(Limit));
        Assert.True(server.ClientClosed());

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Potential.ServeIpiAsync(server.Address, fixture.Types, cancel.Token));
    }

    [Fact]
    public async Task Addresses_with_no_server_or_a_bad_form_are_refused_naming_them()
    {
        int port;
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            port = ((IPEndPoint)probe.LocalEndPoint!).Port;
        }
        var refused = await Assert.ThrowsAsync<IOException>(() => Potential.ServeIpiAsync($"127.0.0.1:{port}", fixture.Types).WaitAsync(Limit));
        Assert.Contains($"127.0.0.1:{port}", refused.Message);
        Assert.Contains("Start the server first", refused.Message);

        string name = "mlx-test-missing-" + Guid.NewGuid().ToString("N")[..8];
        var missing = Assert.Throws<IOException>(() => Potential.ServeIpi("unix:" + name, fixture.Types));
        Assert.Contains("/tmp/ipi_" + name, missing.Message);

        foreach (string bad in new[] { "", "  ", "unix:", "localhost:", "localhost:http", "localhost:70000", ":31415", "[::1", "[::1]x", "a:b:c" })
        {
            var error = Assert.Throws<ArgumentException>(() => Potential.ServeIpi(bad, fixture.Types));
            Assert.Equal("address", error.ParamName);
            Assert.Contains("unix:NAME", error.Message);
        }
        Assert.Throws<ArgumentNullException>(() => Potential.ServeIpi(null!, fixture.Types));
    }

    [Fact]
    public void Address_forms_follow_i_PI_ASE_and_LAMMPS()
    {
        Assert.Equal(new UnixDomainSocketEndPoint("/tmp/ipi_md").ToString(), IpiAddress.Parse("unix:md").EndPoint.ToString());
        Assert.Equal(new UnixDomainSocketEndPoint("/run/x.sock").ToString(), IpiAddress.Parse("unix:/run/x.sock").EndPoint.ToString());
        Assert.Equal(new DnsEndPoint("localhost", 31415), IpiAddress.Parse("localhost").EndPoint);
        Assert.Equal(new DnsEndPoint("node7", 3141), IpiAddress.Parse("node7:3141").EndPoint);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 4000), IpiAddress.Parse("127.0.0.1:4000").EndPoint);
        Assert.Equal(new IPEndPoint(IPAddress.IPv6Loopback, 4000), IpiAddress.Parse("[::1]:4000").EndPoint);
        Assert.Equal(new IPEndPoint(IPAddress.IPv6Loopback, 31415), IpiAddress.Parse("::1").EndPoint);
    }

    [Fact]
    public void Types_are_checked_before_connecting_and_a_disposed_potential_refuses()
    {
        var unknown = Assert.Throws<ArgumentException>(() => Potential.ServeIpi("localhost:1", [0, 1, 7]));
        Assert.Equal("types", unknown.ParamName);
        Assert.Contains("never saw in training", unknown.Message);
        Assert.Equal("types", Assert.Throws<ArgumentException>(() => Potential.ServeIpi("localhost:1", [])).ParamName);
        Assert.Throws<ArgumentNullException>(() => Potential.ServeIpi("localhost:1", null!));

        var potential = PonitaPotential.FromModel(fixture.Model);
        potential.Dispose();
        Assert.Throws<ObjectDisposedException>(() => potential.ServeIpi("localhost:1", fixture.Types));
    }
}
