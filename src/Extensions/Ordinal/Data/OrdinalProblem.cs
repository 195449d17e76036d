namespace MLExtensions.Ordinal;

/// <summary>
/// Training rows for the cumulative-logit solvers: standardised features (dense, or <see cref="SparseFeatures"/>
/// standardised implicitly), class indices and weights, in memory.
/// </summary>
internal sealed class OrdinalProblem
{
    public OrdinalProblem(double[] features, int[] labels, double[] weights, int featureCount, int classCount, double[]? offsets = null)
        : this(labels, weights, featureCount, classCount, offsets) => Features = features;

    /// <summary>Rows whose features are held as their non-zeros.</summary>
    public OrdinalProblem(SparseFeatures sparse, int[] labels, double[] weights, int classCount, double[]? offsets = null)
        : this(labels, weights, sparse.FeatureCount, classCount, offsets) => Sparse = sparse;

    private OrdinalProblem(int[] labels, double[] weights, int featureCount, int classCount, double[]? offsets)
    {
        Offsets = offsets;
        Labels = labels;
        Weights = weights;
        FeatureCount = featureCount;
        ClassCount = classCount;
        TotalWeight = weights.Sum();
    }

    /// <summary>Row-major, <c>Rows × FeatureCount</c>, already standardised; null when the rows are <see cref="Sparse"/>.</summary>
    public double[]? Features { get; }

    /// <summary>The features as their non-zeros, or null when they are dense (<see cref="Features"/>).</summary>
    public SparseFeatures? Sparse { get; }

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

    /// <summary>Row <paramref name="i"/> of the dense features.</summary>
    public ReadOnlySpan<double> Row(int i) => Features.AsSpan(i * FeatureCount, FeatureCount);

    /// <summary>The same rows with dense standardised features (for a kernel that takes no sparse input).</summary>
    public OrdinalProblem Densified()
    {
        if (Sparse is not { } sparse) return this;
        var features = new double[(long)Rows * FeatureCount];
        for (int i = 0; i < Rows; i++) sparse.Standardised(i, features.AsSpan(i * FeatureCount, FeatureCount));
        return new OrdinalProblem(features, Labels, Weights, FeatureCount, ClassCount, Offsets);
    }

    public OrdinalProblem Subset(IReadOnlyList<int> rows)
    {
        int p = FeatureCount;
        if (Sparse is { } sparse)
            return new OrdinalProblem(sparse.Subset(rows), rows.Select(r => Labels[r]).ToArray(), rows.Select(r => Weights[r]).ToArray(), ClassCount,
                Offsets is null ? null : rows.Select(r => Offsets[r]).ToArray());
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
