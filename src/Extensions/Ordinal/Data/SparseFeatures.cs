using System.Runtime.CompilerServices;

namespace MLExtensions.Ordinal;

/// <summary>
/// Features held as their non-zeros (compressed sparse rows) on the original scale, standardised implicitly: the
/// solvers' standardised value (x − mean)/sd is never stored, so a mostly-zero matrix stays mostly zero. Products
/// with standardised coefficients go through <see cref="OriginalScale"/> (glmnet's trick: centring enters as one
/// shift per boundary instead of a dense matrix).
/// </summary>
internal sealed class SparseFeatures
{
    /// <param name="rowStarts">Row i's non-zeros are entries [rowStarts[i], rowStarts[i + 1]) (length rows + 1).</param>
    /// <param name="indices">The feature of each non-zero, ascending within a row.</param>
    /// <param name="values">Each non-zero on the original scale.</param>
    /// <param name="featureCount">p.</param>
    /// <param name="means">Per-feature mean of the standardisation.</param>
    /// <param name="deviations">Per-feature standard deviation; 0 marks a constant feature, standardised to 0.</param>
    public SparseFeatures(int[] rowStarts, int[] indices, double[] values, int featureCount, double[] means, double[] deviations)
    {
        RowStarts = rowStarts;
        Indices = indices;
        Values = values;
        FeatureCount = featureCount;
        Means = means;
        Deviations = deviations;
    }

    public int[] RowStarts { get; }

    public int[] Indices { get; }

    public double[] Values { get; }

    public int FeatureCount { get; }

    public double[] Means { get; }

    public double[] Deviations { get; }

    public int Rows => RowStarts.Length - 1;

    /// <summary>Bytes per stored non-zero (an int index and a double value).</summary>
    public const int BytesPerNonZero = sizeof(int) + sizeof(double);

    /// <summary>The chosen rows, in the given order, with the same standardisation.</summary>
    public SparseFeatures Subset(IReadOnlyList<int> rows)
    {
        var starts = new int[rows.Count + 1];
        for (int r = 0; r < rows.Count; r++) starts[r + 1] = starts[r] + RowStarts[rows[r] + 1] - RowStarts[rows[r]];
        var indices = new int[starts[^1]];
        var values = new double[starts[^1]];
        for (int r = 0; r < rows.Count; r++)
        {
            int from = RowStarts[rows[r]], length = RowStarts[rows[r] + 1] - from;
            Array.Copy(Indices, from, indices, starts[r], length);
            Array.Copy(Values, from, values, starts[r], length);
        }
        return new SparseFeatures(starts, indices, values, FeatureCount, Means, Deviations);
    }

    /// <summary>Row <paramref name="row"/> standardised and dense (for the dense kernels and tests).</summary>
    public void Standardised(int row, Span<double> destination)
    {
        for (int j = 0; j < FeatureCount; j++) destination[j] = Deviations[j] > 0 ? -Means[j] / Deviations[j] : 0;
        for (int e = RowStarts[row]; e < RowStarts[row + 1]; e++)
        {
            int j = Indices[e];
            if (Deviations[j] > 0) destination[j] = (Values[e] - Means[j]) / Deviations[j];
        }
    }

    /// <summary>
    /// Standardised coefficients (β̃ boundary-major, K − 1 blocks of p) as original-scale ones: b_kj = β̃_kj / sd_j and
    /// shift_k = −Σ_j b_kj·mean_j, so that <c>Σ_j β̃_kj (x_j − mean_j)/sd_j = shift_k + Σ_j b_kj x_j</c>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void OriginalScale(ReadOnlySpan<double> beta, Span<double> scaled, Span<double> shift)
    {
        int p = FeatureCount;
        for (int k = 0; k < shift.Length; k++)
        {
            double sum = 0;
            for (int j = 0; j < p; j++)
            {
                double b = beta[k * p + j];
                double s = b != 0 && Deviations[j] > 0 ? b / Deviations[j] : 0;
                scaled[k * p + j] = s;
                if (s != 0) sum += s * Means[j];
            }
            shift[k] = -sum;
        }
    }

    /// <summary>Σ_j b_j x_ij over row <paramref name="row"/>'s non-zeros, with b one boundary's original-scale coefficients.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public double Dot(int row, ReadOnlySpan<double> coefficients)
    {
        double sum = 0;
        for (int e = RowStarts[row]; e < RowStarts[row + 1]; e++) sum += Values[e] * coefficients[Indices[e]];
        return sum;
    }
}
