using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Fairness.Tradeoff;

namespace MLExtensions.Fairness;

/// <summary>
/// A cross-fitted estimate of a mitigator's accuracy and disparities on new rows, as deployment decides them (with
/// the random draw, and the unseen-cell policy); NaN when a fold lost a group. Disparities are those of the
/// mitigator's <see cref="FairnessMitigator.Options.Constraint"/>, pooled over the folds' held-out decisions.
/// </summary>
/// <param name="Accuracy">Expected accuracy (of the rows decided).</param>
/// <param name="GlobalDisparity">Global disparity (I(Z;Ŷ), I(Z;Ŷ|Y) or I(Z;Ŷ|Y=1)), plug-in, bits.</param>
/// <param name="LocalDisparity">Local disparity (I(Z;Ŷ|S), I(Z;Ŷ|Y,S) or I(Z;Ŷ|Y=1,S)), plug-in, bits.</param>
/// <param name="Folds">Folds used.</param>
public sealed record MitigationEstimate(double Accuracy, double GlobalDisparity, double LocalDisparity, int Folds)
{
    /// <summary>The global disparity with the Miller–Madow correction (the plug-in's upward bias on finite rows removed), bits.</summary>
    public double GlobalDisparityBiasCorrected { get; init; } = double.NaN;

    /// <summary>The local disparity with the Miller–Madow correction, bits.</summary>
    public double LocalDisparityBiasCorrected { get; init; } = double.NaN;

    /// <summary>The share of rows deployment would refuse (cells a fold lacked, when unseen cells are not pooled).</summary>
    public double RefusedShare { get; init; }

    internal static MitigationEstimate Unavailable(int folds) => new(double.NaN, double.NaN, double.NaN, folds);
}

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
        MitigationEstimate crossFitted, double shrinkage, IReadOnlyList<CellRocCurve> rocCurves)
    {
        RocCurves = rocCurves;
        Shrinkage = shrinkage;
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

    /// <summary>
    /// The rows of its group's pool blended into each cell's estimate (<see cref="FairnessMitigator.Options.ShrinkageRows"/>,
    /// or the value cross-validation chose).
    /// </summary>
    public double Shrinkage { get; }

    /// <summary>The decision rule of every (client, group) cell.</summary>
    public IReadOnlyList<CellDecisionRule> Rules { get; }

    /// <summary>The rule for unseen cells when the mitigator pools them.</summary>
    public CellDecisionRule PooledRule { get; }

    /// <summary>
    /// Every cell's ROC hull on the fitting rows and the operating point its rule reaches there, in the order of
    /// <see cref="Rules"/>. Not saved with the model: a loaded model is a plain chain; plot before saving.
    /// </summary>
    public IReadOnlyList<CellRocCurve> RocCurves { get; }

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
