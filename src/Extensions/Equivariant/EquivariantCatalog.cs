using MLExtensions.Training;
using Microsoft.ML;

namespace MLExtensions.Equivariant;

/// <summary>
/// SE(3)-equivariant regression on point clouds (molecules, particle systems): PONITA and its position-only variant
/// PNITA. Reached through <c>mlContext.Equivariant()</c>.
/// </summary>
public sealed class EquivariantCatalog
{
    internal EquivariantCatalog(MLContext mlContext) => Trainers = new EquivariantTrainers(mlContext);

    /// <summary>The trainers.</summary>
    public EquivariantTrainers Trainers { get; }
}

/// <summary>The trainers of <see cref="EquivariantCatalog"/>.</summary>
public sealed class EquivariantTrainers
{
    private readonly MLContext _mlContext;

    internal EquivariantTrainers(MLContext mlContext) => _mlContext = mlContext;

    /// <summary>
    /// PONITA energy (and force) regression on point clouds. See <see cref="PonitaTrainer"/> for its columns.
    /// </summary>
    /// <param name="labelColumnName">The energy, <see cref="float"/>.</param>
    /// <param name="positionsColumnName">3N <see cref="float"/> coordinates per row.</param>
    /// <param name="atomTypesColumnName">N type indices per row (<see cref="float"/> or <see cref="int"/>).</param>
    /// <param name="forcesColumnName">Optional target forces, 3N <see cref="float"/>; null to train on energies only.</param>
    /// <param name="predictedForcesColumnName">Optional output column for predicted forces; null for energies only.</param>
    /// <param name="numberOfEpochs">Passes over the data.</param>
    public PonitaTrainer Ponita(string labelColumnName = DefaultColumnNames.Label, string positionsColumnName = DefaultColumnNames.Positions, string atomTypesColumnName = DefaultColumnNames.AtomTypes,
        string? forcesColumnName = null, string? predictedForcesColumnName = null, int numberOfEpochs = PonitaOptionsBase.Defaults.NumberOfEpochs)
        => Ponita(new PonitaTrainer.Options
        {
            LabelColumnName = labelColumnName,
            PositionsColumnName = positionsColumnName,
            AtomTypesColumnName = atomTypesColumnName,
            ForcesColumnName = forcesColumnName,
            PredictedForcesColumnName = predictedForcesColumnName,
            NumberOfEpochs = numberOfEpochs,
        });

    /// <summary>PONITA (or PNITA with <see cref="PonitaTrainer.Options.PositionOnly"/>) with full options.</summary>
    public PonitaTrainer Ponita(PonitaTrainer.Options options) => new(_mlContext, options);

    /// <summary>
    /// PONITA's equivariant vector head: a vector per point (e.g. N-body displacements). See
    /// <see cref="PonitaVectorTrainer"/> for its columns.
    /// </summary>
    /// <param name="labelColumnName">The target vectors, 3N <see cref="float"/>.</param>
    /// <param name="positionsColumnName">3N <see cref="float"/> coordinates per row.</param>
    /// <param name="atomTypesColumnName">N type indices per row (<see cref="float"/> or <see cref="int"/>).</param>
    /// <param name="inputVectorsColumnName">Optional per-point input vectors, 3N <see cref="float"/> (e.g. velocities).</param>
    /// <param name="predictedVectorsColumnName">The output column.</param>
    /// <param name="numberOfEpochs">Passes over the data.</param>
    public PonitaVectorTrainer PonitaVectors(string labelColumnName = DefaultColumnNames.Label, string positionsColumnName = DefaultColumnNames.Positions, string atomTypesColumnName = DefaultColumnNames.AtomTypes,
        string? inputVectorsColumnName = null, string predictedVectorsColumnName = DefaultColumnNames.PredictedVectors, int numberOfEpochs = PonitaOptionsBase.Defaults.NumberOfEpochs)
        => PonitaVectors(new PonitaVectorTrainer.Options
        {
            LabelColumnName = labelColumnName,
            PositionsColumnName = positionsColumnName,
            AtomTypesColumnName = atomTypesColumnName,
            InputVectorsColumnName = inputVectorsColumnName,
            PredictedVectorsColumnName = predictedVectorsColumnName,
            NumberOfEpochs = numberOfEpochs,
        });

    /// <summary>The vector head with full options.</summary>
    public PonitaVectorTrainer PonitaVectors(PonitaVectorTrainer.Options options) => new(_mlContext, options);
}

/// <summary>Hangs <see cref="EquivariantCatalog"/> off <see cref="MLContext"/>.</summary>
public static class EquivariantCatalogExtensions
{
    /// <summary>The equivariant catalog: <c>mlContext.Equivariant()</c>.</summary>
    public static EquivariantCatalog Equivariant(this MLContext mlContext)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        return new EquivariantCatalog(mlContext);
    }
}
