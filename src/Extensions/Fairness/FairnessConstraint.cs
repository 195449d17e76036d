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
