namespace MLExtensions.Fairness;

/// <summary>
/// Which disparity the accuracy–fairness trade-off and the mitigator bound, in the paper's information form: a
/// global budget on the disparity over all rows and a local one on the disparity within clients (S).
/// </summary>
public enum FairnessConstraint
{
    /// <summary>Demographic parity: I(Z;Ŷ) ≤ ε_g and I(Z;Ŷ|S) ≤ ε_l (positive rates independent of the group).</summary>
    DemographicParity,

    /// <summary>
    /// Equalized odds: I(Z;Ŷ|Y) ≤ ε_g and I(Z;Ŷ|Y,S) ≤ ε_l (false and true positive rates independent of the group).
    /// Needs labels; each cell moves in its two-dimensional ROC region.
    /// </summary>
    EqualizedOdds,

    /// <summary>
    /// Equal opportunity: the same on the rows with a positive label, I(Z;Ŷ|Y=1) ≤ ε_g and I(Z;Ŷ|Y=1,S) ≤ ε_l (true
    /// positive rates independent of the group).
    /// </summary>
    EqualOpportunity,
}

/// <summary>
/// Which rows a constraint's disparity is measured on and what it is conditioned on besides the client: one statement
/// of the semantics for every place that measures it from decided rows.
/// </summary>
internal static class FairnessConstraintRows
{
    /// <summary>Whether a row with this label enters the disparity (equal opportunity: positives only).</summary>
    public static bool Counts(this FairnessConstraint constraint, bool label) => constraint != FairnessConstraint.EqualOpportunity || label;

    /// <summary>How many label strata the disparity is conditioned on: two under equalized odds, else one.</summary>
    public static int LabelStrata(this FairnessConstraint constraint) => constraint == FairnessConstraint.EqualizedOdds ? 2 : 1;

    /// <summary>A counted row's label stratum, from 0 to <see cref="LabelStrata"/> − 1.</summary>
    public static int LabelStratum(this FairnessConstraint constraint, bool label) => constraint == FairnessConstraint.EqualizedOdds && label ? 1 : 0;
}
