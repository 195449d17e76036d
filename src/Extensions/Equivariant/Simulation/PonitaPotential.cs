using Microsoft.ML.OnnxRuntime;
using MLExtensions.Onnx;
using MLExtensions.Onnx.Lifetimes;
using MLExtensions.Onnx.Runtime;
using MLExtensions.Onnx.Scoring;

namespace MLExtensions.Equivariant;

/// <summary>Energy and, when the model predicts them, forces (3N) and stress (9) of one point cloud.</summary>
/// <param name="Energy">The predicted energy.</param>
/// <param name="Forces">−∂E/∂x for every point (x, y, z in turn), or null for an energy-only model.</param>
public readonly record struct PonitaEvaluation(float Energy, float[]? Forces)
{
    /// <summary>
    /// The stress (1/V)·∂E/∂ε, 9 values row-major in the model's energy unit per Å³ with ASE's sign (positive under
    /// tension; the pressure is −trace/3), for a model trained with a predicted stress column
    /// (<see cref="PonitaPotential.PredictsStress"/>). Null for other models and for a cloud without a volume (no
    /// cell, or a cell not periodic in all three directions), where ASE raises PropertyNotImplementedError.
    /// </summary>
    public float[]? Stress { get; init; }

    /// <summary>
    /// Every point's share of <see cref="Energy"/> (its type's reference energy plus its readout; they sum to the
    /// energy to float32 rounding), for a model trained with <see cref="PonitaTrainer.Options.PredictedAtomEnergiesColumnName"/>
    /// (<see cref="PonitaPotential.PredictsAtomEnergies"/>); null for other models.
    /// </summary>
    public float[]? AtomEnergies { get; init; }
}

/// <summary>
/// A trained PONITA model as a potential: energies and conservative forces of point clouds straight from ONNX Runtime,
/// many clouds per call (concatenated into one graph, no padding). For molecular dynamics, screening and any code
/// that needs the model outside an ML.NET pipeline; <see cref="PonitaModel"/>'s <c>Transform</c> scores through it.
/// </summary>
/// <remarks>
/// Inputs are checked as in the pipeline (positions a multiple of 3, finite, no coincident points; known types or F
/// features per point); the radius graph is built here (<see cref="RadiusGraph"/>) with the model's cutoff. Thread
/// safe: ONNX Runtime sessions may run concurrently. After <see cref="Dispose"/> (or the owning model's),
/// <c>Evaluate</c> throws <see cref="ObjectDisposedException"/>; disposing while another thread evaluates waits for it.
/// </remarks>
public sealed partial class PonitaPotential : IDisposable
{
    private readonly Lifetime _lifetime;
    private readonly OnnxModelSession _session;
    private readonly PonitaInputContract _contract;
    private readonly string[] _outputs;
    private readonly bool _takesCells;

    private PonitaPotential(byte[] onnx, PonitaDescription description, OnnxExecutionDevice device, int gpuDeviceId)
    {
        Description = description;
        _outputs = [OnnxOutputHeads.RawScore, .. new[] { description.PredictedForcesColumnName, description.PredictedStressColumnName, description.PredictedAtomEnergiesColumnName }.OfType<string>()];
        _session = OnnxModelSession.Create(onnx, device, gpuDeviceId);
        // Models trained with a cell column take every edge's lattice shift; older and open-cluster models do not.
        IsPeriodic = _session.Session.InputMetadata.ContainsKey(PonitaColumns.Shifts);
        // Periodic models that read crystals in their lattice frame also take the cells.
        _takesCells = _session.Session.InputMetadata.ContainsKey(PonitaColumns.Cells);
        _contract = new PonitaInputContract("positions", "types", description.TypesAreIndices, description.FeatureCount,
            description.KnownTypes is { } known ? Enumerable.Range(0, description.FeatureCount).Select(known.Contains).ToArray() : null,
            description.Cutoff, description.MaximumNeighbors, description.SelfInteraction,
            PonitaMemory.Scoring(description.NumberOfOrientations, description.HiddenSize, description.NumberOfLayers, ReversePass(description)))
        { CellColumn = IsPeriodic ? "cell" : null };
        _lifetime = new Lifetime(this);
    }

    /// <summary>
    /// True when the model takes periodic cells (trained with <see cref="PonitaOptionsBase.CellColumnName"/>): only
    /// then does <see cref="Evaluate(float[], float[], float[])"/> accept a non-empty cell.
    /// </summary>
    public bool IsPeriodic { get; }

    /// <summary>What the model is (cutoff, types, whether it predicts forces).</summary>
    public PonitaDescription Description { get; }

    /// <summary>True when <see cref="Evaluate(float[], float[])"/> returns forces.</summary>
    public bool PredictsForces => Description.PredictedForcesColumnName is not null;

    /// <summary>
    /// True when <see cref="Evaluate(float[], float[], float[])"/> returns the stress of clouds in a cell periodic in all
    /// three directions (a periodic model trained with <see cref="PonitaTrainer.Options.PredictedStressColumnName"/>).
    /// </summary>
    public bool PredictsStress => Description.PredictedStressColumnName is not null;

    /// <summary>True when <c>Evaluate</c> returns every point's share of the energy (<see cref="PonitaEvaluation.AtomEnergies"/>).</summary>
    public bool PredictsAtomEnergies => Description.PredictedAtomEnergiesColumnName is not null;

    /// <summary>Whether the model's graph runs the reverse pass (for forces or the stress), which the memory guard counts.</summary>
    internal static bool ReversePass(PonitaDescription description) => description.PredictedForcesColumnName is not null || description.PredictedStressColumnName is not null;

    /// <summary>The ONNX Runtime provider in use.</summary>
    public OnnxExecutionReport Execution => _session.Execution;

    /// <summary>The potential of a trained model (ONNX Runtime on <paramref name="device"/>).</summary>
    public static PonitaPotential FromModel(PonitaModel model, OnnxExecutionDevice device = OnnxExecutionDevice.Cpu, int gpuDeviceId = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        return new PonitaPotential(model.GetOnnxModel(), model.Description, device, gpuDeviceId);
    }

    /// <summary>The potential of an exported PONITA ONNX model (<c>model.SaveOnnx</c>), whose metadata describes it.</summary>
    public static PonitaPotential FromOnnx(byte[] onnxModel, OnnxExecutionDevice device = OnnxExecutionDevice.Cpu, int gpuDeviceId = 0)
    {
        ArgumentNullException.ThrowIfNull(onnxModel);
        var info = OnnxModelInfo.Read(onnxModel);
        if (!info.Metadata.TryGetValue(PonitaDescription.MetadataKey, out var json))
            throw new ArgumentException("The ONNX model carries no PONITA description; export it with PonitaModel.SaveOnnx.", nameof(onnxModel));
        return new PonitaPotential(onnxModel, PonitaDescription.FromJson(json), device, gpuDeviceId);
    }

    /// <summary>
    /// Energy and forces of one cloud: <paramref name="positions"/> x, y, z per point; <paramref name="types"/> one type
    /// index per point (or F features per point for a model trained on features).
    /// </summary>
    public PonitaEvaluation Evaluate(float[] positions, float[] types) => Evaluate([(positions, types)])[0];

    /// <summary>Energies and forces of many clouds, scored in one ONNX Runtime call.</summary>
    public IReadOnlyList<PonitaEvaluation> Evaluate(IReadOnlyList<(float[] Positions, float[] Types)> clouds)
    {
        ArgumentNullException.ThrowIfNull(clouds);
        using var lease = _lifetime.Enter();
        for (int i = 0; i < clouds.Count; i++) Check(clouds[i].Positions, clouds[i].Types, i, _contract);
        return EvaluateChecked(clouds);
    }

    /// <summary>
    /// Energy and forces of one cloud in a periodic cell: <paramref name="cell"/> holds the lattice vectors a, b, c as
    /// rows (9 values, Å; a zero vector for a direction that is not periodic), or is null or empty for an open cloud.
    /// Positions need not lie inside the cell. Forces are −∂E/∂x with every periodic image of an atom moving with it;
    /// with <see cref="PredictsStress"/> and a cell periodic in all three directions, <see cref="PonitaEvaluation.Stress"/>
    /// is the stress.
    /// </summary>
    /// <exception cref="ArgumentException">A non-empty cell for a model trained without a cell column (<see cref="IsPeriodic"/> false).</exception>
    /// <exception cref="InvalidDataException">A bad cell (not 9 finite values, or dependent lattice vectors), positions or types.</exception>
    public PonitaEvaluation Evaluate(float[] positions, float[] types, float[]? cell) => Evaluate([(positions, types, cell)])[0];

    /// <summary>Energies and forces of many clouds, each with its periodic cell (null or empty: open), scored in one ONNX Runtime call.</summary>
    public IReadOnlyList<PonitaEvaluation> Evaluate(IReadOnlyList<(float[] Positions, float[] Types, float[]? Cell)> clouds)
    {
        ArgumentNullException.ThrowIfNull(clouds);
        using var lease = _lifetime.Enter();
        var cells = new float[]?[clouds.Count];
        for (int i = 0; i < clouds.Count; i++)
        {
            Check(clouds[i].Positions, clouds[i].Types, i, _contract);
            cells[i] = CheckCell(clouds[i].Cell, i);
        }
        return EvaluateChecked(clouds.Select(c => (c.Positions, c.Types)).ToList(), cells);
    }

    /// <summary>The checked cell of cloud <paramref name="row"/> (null when open), refused when the model takes no cells.</summary>
    internal float[]? CheckCell(float[]? cell, long? row)
    {
        if (cell is null || cell.Length == 0) return null;
        var checkedCell = PointCloudChecks.ValidateCell(cell, row, _contract.CellColumn ?? "cell");
        if (checkedCell is not null && !IsPeriodic)
            throw new ArgumentException($"Cloud {row}: a periodic cell was given, but this model was trained without a cell column (PonitaOptionsBase.CellColumnName), " +
                "so its graph takes no lattice shifts. Retrain with a cell column (clusters may have empty cells), or pass a null cell for an open cluster.", nameof(cell));
        return checkedCell;
    }

    /// <summary>Checks one cloud against the model's input contract; messages name the contract's columns and <paramref name="row"/>.</summary>
    internal static int Check(float[] positions, float[] types, long? row, PonitaInputContract contract)
    {
        int n = PointCloudChecks.ValidatePositions(positions, row, contract.PositionsColumn);
        if (contract.TypesAreIndices) PointCloudChecks.ValidateTypes(types, n, contract.KnownTypes, row, contract.TypesColumn, contract.PositionsColumn);
        else PointCloudChecks.ValidateFeatures(types, n, contract.Count, row, contract.TypesColumn, contract.PositionsColumn);
        return n;
    }

    /// <summary>Scores clouds already checked: one graph, one call; <paramref name="cells"/> (checked, null entries for open clouds) when any is periodic.</summary>
    internal IReadOnlyList<PonitaEvaluation> EvaluateChecked(IReadOnlyList<(float[] Positions, float[] Types)> clouds, IReadOnlyList<float[]?>? cells = null)
    {
        using var lease = _lifetime.Enter();
        if (clouds.Count == 0) return [];
        var graphs = PonitaMemory.Graphs(clouds.Select(c => c.Positions).ToList(), _contract, cells);
        var concatenated = ConcatenatedClouds.Of(clouds.Select((c, i) => (c.Positions, c.Types, graphs[i])).ToList());
        var volumes = PredictsStress ? Enumerable.Range(0, clouds.Count).Select(b => PeriodicRadiusGraph.StressVolume(cells?[b])).ToArray() : null;
        var inputs = concatenated.ToModelInputs(_contract.TypesAreIndices ? null : _contract.Count, IsPeriodic, volumes, _takesCells);
        var values = inputs.Select(i => i.ToOrtValue()).ToArray();
        try
        {
            double bytes = _contract.Memory.Bytes(graphs.Sum(g => (long)g.Count), concatenated.PointCount);
            return Run(clouds, inputs.Select(i => i.Name).ToArray(), values, releaseMemory: bytes > ReleaseMemoryAbove);
        }
        finally
        {
            foreach (var value in values) value.Dispose();
        }
    }

    /// <summary>
    /// Estimated bytes of an evaluation above which ONNX Runtime hands its memory back after the call. Its CPU arena
    /// otherwise keeps the peak and grows by doubling: three evaluations of a 10,368-atom silicon cell at 8 orientations
    /// held 6.9, then 13.5 GiB, and the third was refused for want of memory; with the release, 6.9, 7.2, 7.2 GiB at the
    /// same speed (11–13 s each). Small systems (molecular dynamics of a molecule: many calls of a few MiB) keep the
    /// arena, which saves the allocations.
    /// </summary>
    internal const double ReleaseMemoryAbove = 256.0 * (1 << 20);

    private PonitaEvaluation[] Run(IReadOnlyList<(float[] Positions, float[] Types)> clouds, string[] names, OrtValue[] values, bool releaseMemory)
    {
        using var options = new RunOptions();
        if (releaseMemory) options.AddRunConfigEntry("memory.enable_memory_arena_shrinkage", "cpu:0");
        using var results = _session.Session.Run(options, names, values, _outputs);
        ReadOnlySpan<float> Output(string? name) => name is null ? default : results[Array.IndexOf(_outputs, name)].GetTensorDataAsSpan<float>();
        var energies = results[0].GetTensorDataAsSpan<float>();
        var forces = Output(Description.PredictedForcesColumnName);
        var stresses = Output(Description.PredictedStressColumnName);
        var atomEnergies = Output(Description.PredictedAtomEnergiesColumnName);
        var evaluations = new PonitaEvaluation[clouds.Count];
        int offset = 0;
        for (int b = 0; b < clouds.Count; b++)
        {
            int length = clouds[b].Positions.Length;
            var stress = PredictsStress ? stresses.Slice(9 * b, 9) : default;
            evaluations[b] = new PonitaEvaluation(energies[b], PredictsForces ? forces.Slice(offset, length).ToArray() : null)
            {
                Stress = PredictsStress && float.IsFinite(stress[0]) ? stress.ToArray() : null,
                AtomEnergies = PredictsAtomEnergies ? atomEnergies.Slice(offset / 3, length / 3).ToArray() : null,
            };
            offset += length;
        }
        return evaluations;
    }

    /// <summary>Frees the ONNX Runtime session once the evaluations in flight have returned.</summary>
    public void Dispose()
    {
        if (_lifetime.Close()) _session.Dispose();
    }
}
