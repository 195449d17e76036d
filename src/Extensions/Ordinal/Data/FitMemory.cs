using System.Globalization;

namespace MLExtensions.Ordinal;

/// <summary>
/// What a cumulative-logit fit will hold in memory, estimated before its large allocations (the rows in the solver's
/// layout, every kernel's copy, the coefficients kept along each λ path), and the refusal, with what would fit, when
/// the estimate exceeds <see cref="CumulativeLogitOptions.MemoryLimit"/>.
/// </summary>
internal sealed class FitMemory
{
    /// <summary>At most this share of the non-zeros of all rows × features makes the in-memory rows sparse.</summary>
    public const double SparseDensity = 0.1;

    private readonly long _limit;
    private readonly int _featureCount;
    private int _boundaries;
    private readonly int _folds;
    private readonly int _lambdas;
    private readonly bool _relax;
    private readonly bool _sparseAllowed;
    private readonly string _limitSource;

    /// <param name="options">The trainer's options (the limit, the backend, streaming).</param>
    /// <param name="settings">The path settings (λ count, folds, relaxing).</param>
    /// <param name="featureCount">p.</param>
    /// <param name="classCount">K as far as known before reading (a key label's count; the fewest, 3, for ranks); <see cref="CheckInMemory"/> takes the data's.</param>
    /// <param name="crossValidates">Whether λ is cross-validated.</param>
    /// <param name="sparseAllowed">Whether the backend takes rows as their non-zeros (the managed one does, TorchSharp does not).</param>
    public FitMemory(CumulativeLogitOptions options, PathSettings settings, int featureCount, int classCount, bool crossValidates, bool sparseAllowed)
    {
        _limit = options.MemoryLimit ?? DefaultLimit;
        _limitSource = options.MemoryLimit is null ? "MemoryLimit is null: 3/4 of the memory available to the process" : "MemoryLimit";
        _featureCount = featureCount;
        _boundaries = Math.Max(classCount - 1, 1);
        _folds = crossValidates ? settings.NumberOfFolds : 0;
        _lambdas = settings.ProportionalOddsOnly ? 1 : settings.LambdaSequence?.Length ?? (settings.Lambda is null ? settings.NumberOfLambdas : 1);
        _relax = settings.Relax;
        _sparseAllowed = sparseAllowed;
    }

    /// <summary>The limit when <see cref="CumulativeLogitOptions.MemoryLimit"/> is null: 3/4 of what the GC reports available (the machine's or the container's memory).</summary>
    public static long DefaultLimit => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 4 * 3;

    /// <summary>Whether rows with these non-zeros are held sparse.</summary>
    public bool IsSparse(long rows, long nonZeros) => _sparseAllowed && nonZeros <= SparseDensity * rows * _featureCount;

    /// <summary>Refuses, while reading, once the non-zeros read so far already exceed the limit.</summary>
    public void CheckRead(long rows, long nonZeros)
    {
        long bytes = nonZeros * SparseFeatures.BytesPerNonZero + rows * 24;
        if (bytes > _limit)
            throw new InsufficientMemoryException(
                $"The training data does not fit in memory: the first {rows:N0} rows already hold {nonZeros:N0} non-zero feature values ({Size(bytes)}), beyond the " +
                $"memory limit of {Size(_limit)} ({_limitSource}). Train on fewer rows or features, raise MemoryLimit, or read the data in passes (StreamData = true).");
    }

    /// <summary>Refuses in-memory rows whose fit would exceed the limit, naming the parts and what would fit.</summary>
    public void CheckInMemory(long rows, long nonZeros, int classCount)
    {
        _boundaries = classCount - 1;
        bool sparse = IsSparse(rows, nonZeros);
        var parts = InMemoryParts(rows, nonZeros, sparse, _folds, _lambdas);
        if (parts.Sum(p => p.Bytes) <= _limit) return;
        var fits = new List<string>();
        if (!sparse && nonZeros <= SparseDensity * rows * _featureCount)
            Suggest(fits, "Backend = Managed, which keeps the rows' non-zeros sparse", InMemoryParts(rows, nonZeros, true, _folds, _lambdas));
        Alternatives(fits, (folds, lambdas) => InMemoryParts(rows, nonZeros, sparse, folds, lambdas));
        if (_folds > 0) Suggest(fits, "StreamData = true (rows read in passes)", StreamedParts(_folds, _lambdas));
        throw Refusal($"{rows:N0} rows × {_featureCount:N0} features ({nonZeros:N0} non-zeros, held {(sparse ? "sparse" : "dense")})", parts, fits);
    }

    /// <summary>Refuses a streamed fit whose blocks and kernels would exceed the limit.</summary>
    public void CheckStreamed()
    {
        var parts = StreamedParts(_folds, _lambdas);
        if (parts.Sum(p => p.Bytes) <= _limit) return;
        var fits = new List<string>();
        Alternatives(fits, StreamedParts);
        fits.Add("StreamData = false when the data fit in memory (with the managed backend, rows held in memory keep a sparse vector column's non-zeros sparse)");
        throw Refusal($"streamed rows of {_featureCount:N0} features (blocks of {StreamedOrdinalRows.BlockRows:N0} rows, dense)", parts, fits);
    }

    private InsufficientMemoryException Refusal(string what, IReadOnlyList<(string Name, long Bytes)> parts, List<string> fits)
    {
        if (fits.Count == 0) fits.Add($"fewer features (each costs about {Size(parts.Sum(p => p.Bytes) / Math.Max(_featureCount, 1))}) or fewer rows");
        return new InsufficientMemoryException(
            $"This fit would need about {Size(parts.Sum(p => p.Bytes))} for {what}: {string.Join(", ", parts.Where(p => p.Bytes > 0).Select(p => $"{p.Name} {Size(p.Bytes)}"))}; " +
            $"the memory limit is {Size(_limit)} ({_limitSource}). What would fit: {string.Join("; or ", fits)}.");
    }

    /// <summary>Fewer folds and fewer λ values, when either alone brings the estimate under the limit.</summary>
    private void Alternatives(List<string> fits, Func<int, int, IReadOnlyList<(string Name, long Bytes)>> parts)
    {
        if (_folds > 2) Suggest(fits, "NumberOfFolds = 2", parts(2, _lambdas));
        int lambdas = _lambdas;
        while (lambdas > 1 && parts(_folds, lambdas).Sum(p => p.Bytes) > _limit) lambdas /= 2;
        if (lambdas < _lambdas) Suggest(fits, $"NumberOfLambdas = {lambdas}", parts(_folds, lambdas));
    }

    private void Suggest(List<string> fits, string change, IReadOnlyList<(string Name, long Bytes)> parts)
    {
        long bytes = parts.Sum(p => p.Bytes);
        if (bytes <= _limit) fits.Add($"{change} (about {Size(bytes)})");
    }

    /// <summary>
    /// The rows; the kernels alive at once (the full data's and one per fold fitted in parallel), each with the subset it
    /// is built from; the coefficients each path keeps per λ (twice when relaxing) and the full path's diagnostics.
    /// </summary>
    private IReadOnlyList<(string Name, long Bytes)> InMemoryParts(long rows, long nonZeros, bool sparse, int folds, int lambdas)
    {
        double Data(double share) => sparse ? share * (nonZeros * (double)SparseFeatures.BytesPerNonZero + rows * 4.0) : share * rows * (double)_featureCount * 8;
        double perRow = rows * (4.0 + 8 + 8);
        double kernelRows = 4.0 * _boundaries * 8 * rows;
        int parallelFolds = Math.Min(folds, Environment.ProcessorCount);
        double foldShare = folds > 0 ? (folds - 1.0) / folds : 0;
        return
        [
            ("rows", (long)(Data(1) + perRow)),
            ("kernels", (long)(Data(1) + kernelRows + parallelFolds * (2 * Data(foldShare) + foldShare * (kernelRows + perRow)))),
            ("λ paths", PathBytes(folds, lambdas, parallelFolds)),
        ];
    }

    /// <summary>The block read and its standardised copy, one block-sized kernel per path (all fitted together), the paths' coefficients.</summary>
    private IReadOnlyList<(string Name, long Bytes)> StreamedParts(int folds, int lambdas)
    {
        double block = (double)StreamedOrdinalRows.BlockRows * _featureCount;
        return
        [
            ("blocks", (long)(block * (4 + 8))),
            ("kernels", (long)((folds + 1) * (block * 8 + 4.0 * _boundaries * 8 * StreamedOrdinalRows.BlockRows))),
            ("λ paths", PathBytes(folds, lambdas, folds)),
        ];
    }

    private long PathBytes(int folds, int lambdas, int parallelFolds)
    {
        double theta = 8.0 * _boundaries * (_featureCount + 1) * lambdas * (_relax ? 2 : 1);
        return (long)((1 + parallelFolds) * theta + 8.0 * _boundaries * _featureCount * lambdas);
    }

    internal static string Size(double bytes) => bytes >= 1 << 30 ? (bytes / (1 << 30)).ToString("0.0# GB", CultureInfo.InvariantCulture)
        : bytes >= 1 << 20 ? (bytes / (1 << 20)).ToString("0.# MB", CultureInfo.InvariantCulture)
        : (bytes / 1024).ToString("0.# KB", CultureInfo.InvariantCulture);
}
