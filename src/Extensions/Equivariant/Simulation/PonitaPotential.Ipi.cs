namespace MLExtensions.Equivariant;

// The i-PI socket client: an MD engine (ASE's SocketIOCalculator, i-PI, LAMMPS through i-PI) drives the model.
public sealed partial class PonitaPotential
{
    /// <summary>
    /// Connects to an i-PI server at <paramref name="address"/> and answers its force requests with this model until
    /// the server sends EXIT or closes the connection, so that an MD engine that speaks the i-PI socket protocol (ASE's
    /// <c>SocketIOCalculator</c>, i-PI itself, LAMMPS <c>fix ipi</c> through i-PI) runs dynamics with it. Blocks; returns
    /// the number of energy-and-forces evaluations served.
    /// </summary>
    /// <param name="address">
    /// <c>"unix:NAME"</c> for the UNIX socket <c>/tmp/ipi_NAME</c> (what ASE's <c>SocketIOCalculator(unixsocket="NAME")</c>
    /// and i-PI's <c>&lt;ffsocket mode="unix"&gt;</c> create; <c>"unix:/full/path"</c> for another path),
    /// <c>"host:port"</c> for TCP (<c>"[::1]:port"</c> for IPv6), or a host alone for i-PI's and ASE's default port 31415.
    /// </param>
    /// <param name="types">
    /// The atoms' types in the order the engine sends the atoms, as <see cref="Evaluate(float[], float[])"/> takes them:
    /// one type per atom (atomic numbers for a model trained on <c>ExtendedXyz</c> data: ASE's <c>atoms.numbers</c>), or
    /// F features per atom for a model trained on features. The protocol sends positions only, so they are fixed here.
    /// </param>
    /// <param name="cancellationToken">Closes the connection and throws <see cref="OperationCanceledException"/>.</param>
    /// <returns>The number of forces sent.</returns>
    /// <remarks>
    /// <para>Units: the protocol speaks atomic units; positions arrive in bohr and are converted to Å, the model's
    /// energies and forces (in its <see cref="PonitaDescription.EnergyUnit"/>, per Å) leave as hartree and hartree/bohr
    /// (CODATA 2018: 1 bohr = 0.529177210903 Å, 1 hartree = 2625.4996 kJ/mol = 627.50947 kcal/mol = 27.211386 eV), so
    /// ASE reports them in eV and eV/Å.</para>
    /// <para>The cell: a periodic model (<see cref="IsPeriodic"/>) takes the engine's cell; a model without periodic
    /// cells ignores it and sees an isolated cluster (ASE sends a zero cell for atoms without one). The virial is
    /// −V·stress (i-PI's convention, from which ASE's <c>SocketIOCalculator</c> reports stress = −virial/V), in hartree,
    /// for a model that predicts the stress (<see cref="PredictsStress"/>) in a cell periodic in all three directions, so
    /// that barostats (NPT) work; it is zero otherwise: use such a model at constant volume only (NVE, NVT).</para>
    /// <para>Each evaluation is checked as <c>Evaluate</c> checks its input; a server that breaks the protocol (an unknown
    /// message, a different atom count from <paramref name="types"/>, non-finite numbers, a connection closed inside a
    /// message) raises an <see cref="InvalidDataException"/> naming the address; failing to connect, or a connection
    /// that breaks, raises an <see cref="IOException"/> naming it. The potential must stay undisposed while it serves.</para>
    /// </remarks>
    /// <example>
    /// Python (ASE) listens: <c>atoms.calc = SocketIOCalculator(unixsocket="ponita")</c>, then runs dynamics,
    /// e.g. <c>VelocityVerlet(atoms, 0.5 * units.fs).run(1000)</c>; .NET serves the model on that socket, with ASE's
    /// <c>atoms.numbers</c> as the types:
    /// <code>
    /// int served = model.Potential.ServeIpi("unix:ponita", atomicNumbers.Select(z => (float)z).ToArray());
    /// </code>
    /// </example>
    public int ServeIpi(string address, float[] types, CancellationToken cancellationToken = default) =>
        ServeIpiAsync(address, types, cancellationToken).GetAwaiter().GetResult();

    /// <summary>
    /// <see cref="ServeIpi"/> as a task: connects to the i-PI server at <paramref name="address"/> and answers its force
    /// requests until EXIT or the server closes the connection; the task's result is the number of forces sent.
    /// </summary>
    /// <param name="address"><c>"unix:NAME"</c> (<c>/tmp/ipi_NAME</c>), <c>"host:port"</c> or a host alone (port 31415); see <see cref="ServeIpi"/>.</param>
    /// <param name="types">One type (or F features) per atom, in the order the engine sends the atoms; see <see cref="ServeIpi"/>.</param>
    /// <param name="cancellationToken">Closes the connection and cancels the task.</param>
    public async Task<int> ServeIpiAsync(string address, float[] types, CancellationToken cancellationToken = default)
    {
        var endpoint = IpiAddress.Parse(address);
        ArgumentNullException.ThrowIfNull(types);
        if (!PredictsForces)
            throw new InvalidOperationException("This model predicts energies only; an MD engine needs forces. Train it with " +
                "ForcesColumnName and PredictedForcesColumnName set to serve it over i-PI.");
        var fixedTypes = (float[])types.Clone();
        int atoms = IpiAtoms(fixedTypes);
        _lifetime.ThrowIfClosed();   // now rather than at the first POSDATA

        using var socket = await endpoint.ConnectAsync(cancellationToken).ConfigureAwait(false);
        await using var stream = new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
        var client = new IpiClient(stream, atoms, HartreeInModelEnergyUnits, endpoint.Display, geometry => AnswerIpi(geometry, fixedTypes));
        return await client.RunAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One hartree in the unit of this model's energies (<see cref="PonitaDescription.EnergyUnit"/>): the one place the socket learns that unit.</summary>
    internal double HartreeInModelEnergyUnits => PonitaEnergyUnits.Convert(1, PonitaEnergyUnit.Hartree, Description.EnergyUnit);

    /// <summary>The atom count <paramref name="types"/> describes, checked as <c>Evaluate</c> checks types.</summary>
    private int IpiAtoms(float[] types)
    {
        int atoms = _contract.TypesAreIndices ? types.Length : types.Length / Math.Max(1, _contract.Count);
        if (atoms == 0) throw new ArgumentException("No atom types were given: give one per atom, in the order the engine sends the atoms.", nameof(types));
        try
        {
            if (_contract.TypesAreIndices) PointCloudChecks.ValidateTypes(types, atoms, _contract.KnownTypes, null, "types", "positions");
            else PointCloudChecks.ValidateFeatures(types, atoms, _contract.Count, null, "types", "positions");
        }
        catch (InvalidDataException e)
        {
            throw new ArgumentException(e.Message, nameof(types), e);
        }
        return atoms;
    }

    /// <summary>Energy, forces and stress of one geometry from the engine.</summary>
    private IpiAnswer AnswerIpi(IpiGeometry geometry, float[] types)
    {
        var positions = new float[geometry.Positions.Length];
        for (int k = 0; k < positions.Length; k++) positions[k] = (float)geometry.Positions[k];
        // A periodic model gets the engine's cell (rows a, b, c in Å); a model without cells scores the atoms as a
        // cluster. The virial is the stress model's, and zero without one (constant-volume dynamics only).
        float[]? cell = IsPeriodic && geometry.Cell is { } lattice ? lattice.Select(v => (float)v).ToArray() : null;
        var evaluation = Evaluate(positions, types, cell);
        var forces = new double[evaluation.Forces!.Length];
        for (int k = 0; k < forces.Length; k++) forces[k] = evaluation.Forces[k];
        return new IpiAnswer(evaluation.Energy, forces, evaluation.Stress?.Select(v => (double)v).ToArray());
    }
}
