using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Fairness.Tradeoff;

namespace MLExtensions.Fairness;

/// <summary>A cross-fitted estimate of a mitigator's accuracy and disparities on new rows (NaN when a fold lost a group).</summary>
/// <param name="Accuracy">Expected accuracy.</param>
/// <param name="GlobalDisparity">Expected I(Z;Ŷ), bits.</param>
/// <param name="LocalDisparity">Expected I(Z;Ŷ|S), bits.</param>
/// <param name="Folds">Folds used.</param>
public sealed record MitigationEstimate(double Accuracy, double GlobalDisparity, double LocalDisparity, int Folds);

/// <summary>
/// A fitted <see cref="FairnessMitigator"/>: the solver's promise (<see cref="Solution"/>) and the decision rule of
/// every cell, applied by a chain of ML.NET's own saveable transformers (it saves and loads with a pipeline; after
/// loading it is a plain <c>TransformerChain</c> that scores the same).
/// </summary>
/// <remarks>
/// <para><b>Input and output columns.</b> As <see cref="FairnessMitigator"/>: reads the client, sensitive and score
/// (or predicted label) columns and the row key or features; adds the <see cref="bool"/> decision column. A cell not
/// seen when fitting is an error naming the value, unless the mitigator pools them.</para>
/// </remarks>
public sealed class FairnessMitigatorModel : ITransformer
{
    private readonly ITransformer _chain;

    internal FairnessMitigatorModel(ITransformer chain, TradeoffPoint solution, IReadOnlyList<CellDecisionRule> rules, CellDecisionRule pooled,
        MitigationEstimate crossFitted)
    {
        _chain = chain;
        CrossFitted = crossFitted;
        Solution = solution;
        Rules = rules;
        PooledRule = pooled;
    }

    /// <summary>The solver's answer on the fitting data: accuracy, its certified bound, disparities and per-cell rates.</summary>
    public TradeoffPoint Solution { get; }

    /// <summary>
    /// What to expect on new rows: accuracy and disparities of the rule cross-fitted over the fitting rows (each fold
    /// decided by rules fitted on the others). <see cref="Solution"/>'s accuracy is measured on the rows the thresholds
    /// were chosen on and runs higher.
    /// </summary>
    public MitigationEstimate CrossFitted { get; }

    /// <summary>The decision rule of every (client, group) cell.</summary>
    public IReadOnlyList<CellDecisionRule> Rules { get; }

    /// <summary>The rule for unseen cells when the mitigator pools them.</summary>
    public CellDecisionRule PooledRule { get; }

    /// <inheritdoc />
    public bool IsRowToRowMapper => _chain.IsRowToRowMapper;

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => _chain.GetOutputSchema(inputSchema);

    /// <inheritdoc />
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => _chain.GetRowToRowMapper(inputSchema);

    /// <inheritdoc />
    public IDataView Transform(IDataView input) => _chain.Transform(input);

    void ICanSaveModel.Save(ModelSaveContext ctx) => ((ICanSaveModel)_chain).Save(ctx);
}
