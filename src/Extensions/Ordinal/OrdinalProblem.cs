namespace MLExtensions.Ordinal;

/// <summary>Training rows for the cumulative-logit solvers: standardised features, class indices and weights, in memory.</summary>
internal sealed class OrdinalProblem
{
    public OrdinalProblem(double[] features, int[] labels, double[] weights, int featureCount, int classCount, double[]? offsets = null)
    {
        Offsets = offsets;
        Features = features;
        Labels = labels;
        Weights = weights;
        FeatureCount = featureCount;
        ClassCount = classCount;
        TotalWeight = weights.Sum();
    }

    /// <summary>Row-major, <c>Rows × FeatureCount</c>, already standardised.</summary>
    public double[] Features { get; }

    /// <summary>Zero-based class of each row.</summary>
    public int[] Labels { get; }

    public double[] Weights { get; }

    /// <summary>The known per-row term added to every linear predictor, or null for none.</summary>
    public double[]? Offsets { get; }

    /// <summary>Row <paramref name="i"/>'s offset (0 without an offset column).</summary>
    public double Offset(int i) => Offsets?[i] ?? 0;

    public int FeatureCount { get; }

    public int ClassCount { get; }

    public int Boundaries => ClassCount - 1;

    public int Rows => Labels.Length;

    public double TotalWeight { get; }

    public ReadOnlySpan<double> Row(int i) => Features.AsSpan(i * FeatureCount, FeatureCount);

    public OrdinalProblem Subset(IReadOnlyList<int> rows)
    {
        int p = FeatureCount;
        var features = new double[rows.Count * p];
        var labels = new int[rows.Count];
        var weights = new double[rows.Count];
        var offsets = Offsets is null ? null : new double[rows.Count];
        for (int r = 0; r < rows.Count; r++)
        {
            Row(rows[r]).CopyTo(features.AsSpan(r * p, p));
            labels[r] = Labels[rows[r]];
            weights[r] = Weights[rows[r]];
            if (offsets is not null) offsets[r] = Offsets![rows[r]];
        }
        return new OrdinalProblem(features, labels, weights, p, ClassCount, offsets);
    }
}
