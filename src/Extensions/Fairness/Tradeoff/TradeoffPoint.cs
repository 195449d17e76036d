namespace MLExtensions.Fairness.Tradeoff;

/// <summary>Settings of the trade-off solver.</summary>
public sealed class TradeoffOptions
{
    /// <summary>
    /// Stop when the certified accuracy gap (upper bound − achieved) is below this. Default: 1e-7. The solver also
    /// stops when the bound no longer improves (the Newton systems' precision is spent); the reached gap is reported
    /// either way.
    /// </summary>
    public double Tolerance { get; init; } = 1e-7;

    /// <summary>Most Newton steps for one budget pair. Default: 5,000.</summary>
    public int MaximumNewtonSteps { get; init; } = 5_000;

    /// <summary>Stops a solve whose answer is no longer wanted (a cross-validation that has decided); checked every Newton step.</summary>
    internal CancellationToken Cancellation { get; init; }

    internal void Validate()
    {
        if (!(Tolerance > 0) || !double.IsFinite(Tolerance))
            throw new ArgumentOutOfRangeException(nameof(Tolerance), Tolerance, "The tolerance must be a positive finite number.");
        ArgumentOutOfRangeException.ThrowIfLessThan(MaximumNewtonSteps, 1, nameof(MaximumNewtonSteps));
    }
}

/// <summary>One cell of an optimal classifier: how often it predicts positive in the cell.</summary>
/// <param name="Client">The client.</param>
/// <param name="Group">The sensitive group.</param>
/// <param name="Share">The cell's share of all rows.</param>
/// <param name="LabelPositiveRate">Fraction of the cell's rows with a positive label.</param>
/// <param name="PredictedPositiveRate">Fraction of the cell's rows the optimal classifier predicts positive.</param>
/// <param name="Accuracy">The classifier's accuracy in the cell (the best its family reaches at that positive rate).</param>
/// <param name="FalsePositiveRate">Under equalized odds or equal opportunity: the cell's false positive rate; NaN under demographic parity.</param>
/// <param name="TruePositiveRate">Under equalized odds or equal opportunity: the cell's true positive rate; NaN under demographic parity.</param>
public sealed record TradeoffCellRate(string Client, string Group, double Share, double LabelPositiveRate, double PredictedPositiveRate, double Accuracy,
    double FalsePositiveRate = double.NaN, double TruePositiveRate = double.NaN);

/// <summary>The solution of the trade-off for one pair of budgets.</summary>
/// <param name="GlobalBudget">ε_g: the allowed global disparity I(Z;Ŷ), bits.</param>
/// <param name="LocalBudget">ε_l: the allowed local disparity I(Z;Ŷ|S), bits.</param>
/// <param name="Accuracy">Accuracy of the classifier found (feasible: its disparities are within the budgets).</param>
/// <param name="AccuracyUpperBound">No classifier within the budgets is more accurate than this (the certificate).</param>
/// <param name="Gap"><c>AccuracyUpperBound − Accuracy</c>: how far from optimal the answer can be.</param>
/// <param name="GlobalDisparity">The classifier's global disparity, bits (of <see cref="Constraint"/>: I(Z;Ŷ), I(Z;Ŷ|Y) or I(Z;Ŷ|Y=1)).</param>
/// <param name="LocalDisparity">The classifier's local disparity, bits (I(Z;Ŷ|S), I(Z;Ŷ|Y,S) or I(Z;Ŷ|Y=1,S)).</param>
/// <param name="Cells">The classifier: its positive rate in every non-empty cell.</param>
/// <param name="NewtonSteps">Newton steps taken.</param>
public sealed record TradeoffPoint(double GlobalBudget, double LocalBudget, double Accuracy, double AccuracyUpperBound, double Gap,
    double GlobalDisparity, double LocalDisparity, IReadOnlyList<TradeoffCellRate> Cells, int NewtonSteps)
{
    /// <summary>The disparity the budgets bound. Default: demographic parity.</summary>
    public FairnessConstraint Constraint { get; init; } = FairnessConstraint.DemographicParity;
}
