using Microsoft.ML;
using MLExtensions.Training;

namespace MLExtensions.Ordinal;

/// <summary>
/// Training rows read in passes over the <see cref="IDataView"/> and standardised as they are read, so that memory is
/// bounded by the block size and the feature count whatever the number of rows. A row's cross-validation fold comes
/// from the fold column or, without one, from a hash of the row's position and the seed.
/// </summary>
internal sealed class StreamedOrdinalRows : OrdinalRows
{
    /// <summary>Rows per block: large enough for vectorised sums, small enough to stay in cache-sized buffers.</summary>
    public const int BlockRows = 8192;

    private readonly TabularData _tabular;
    private readonly double[] _means;
    private readonly double[] _deviations;
    private readonly Func<float, int> _classOf;
    private readonly Microsoft.ML.DataViewSchema.Column? _foldColumn;
    private readonly IReadOnlyDictionary<string, int>? _foldOfValue;
    private readonly int _seed;
    private readonly double[][] _classWeightsByFold;
    private readonly CancellationToken _cancellationToken;

    /// <param name="tabular">The checked columns.</param>
    /// <param name="means">Per-feature mean.</param>
    /// <param name="deviations">Per-feature standard deviation (0: constant, standardised to 0).</param>
    /// <param name="classCount">K.</param>
    /// <param name="classOf">The class index of a label value as <see cref="TabularData"/> reads it.</param>
    /// <param name="folds">The number of folds (0 without cross-validation).</param>
    /// <param name="foldColumn">The fold column, or null to fold by hashed row position.</param>
    /// <param name="foldOfValue">The fold of each value of <paramref name="foldColumn"/>.</param>
    /// <param name="seed">Seeds the hashed folds.</param>
    /// <param name="classWeightsByFold">Class weights per fold (one entry without cross-validation).</param>
    /// <param name="cancellationToken">Stops every pass.</param>
    public StreamedOrdinalRows(TabularData tabular, double[] means, double[] deviations, int classCount, Func<float, int> classOf, int folds,
        Microsoft.ML.DataViewSchema.Column? foldColumn, IReadOnlyDictionary<string, int>? foldOfValue, int seed, double[][] classWeightsByFold,
        CancellationToken cancellationToken)
        : base(tabular.FeatureCount, classCount)
    {
        _tabular = tabular;
        _means = means;
        _deviations = deviations;
        _classOf = classOf;
        FoldCount = folds;
        _foldColumn = foldColumn;
        _foldOfValue = foldOfValue;
        _seed = seed;
        _classWeightsByFold = classWeightsByFold;
        _cancellationToken = cancellationToken;
    }

    public override int FoldCount { get; }

    public override double[] ClassWeights(int? heldOutFold)
    {
        var totals = new double[ClassCount];
        for (int f = 0; f < _classWeightsByFold.Length; f++)
            if (f != heldOutFold)
                for (int k = 0; k < ClassCount; k++) totals[k] += _classWeightsByFold[f][k];
        return totals;
    }

    public override ICumulativeLogitKernel Kernel(int? heldOutFold) => new StreamingCumulativeLogitKernel(this, heldOutFold, ClassWeights(heldOutFold).Sum());

    public override double[] HeldOutScores(PrestoCrossValidationMetric metric, int fold, IReadOnlyList<Theta> fits, out double weight)
    {
        var coefficients = fits.Select(t => (t.Alphas(), t.Betas())).ToArray();
        var sums = new double[fits.Count];
        var eta = new double[Boundaries];
        var p = new double[ClassCount];
        weight = 0;
        foreach (var block in Blocks())
            for (int r = 0; r < block.Count; r++)
            {
                if (block.Folds[r] != fold) continue;
                ScoreRow(metric, block.Row(r), block.Labels[r], block.Weights[r], coefficients, sums, eta, p);
                weight += block.Weights[r];
            }
        double total = weight;
        return sums.Select(s => total > 0 ? s / total : 0).ToArray();
    }

    /// <summary>The fold of a row without a fold column: a hash of its position and the seed (SplitMix64's finaliser).</summary>
    public static int HashFold(long position, int seed, int folds)
    {
        ulong z = (ulong)position + 0x9E3779B97F4A7C15UL * (ulong)(uint)(seed + 1);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return (int)((z ^ (z >> 31)) % (ulong)folds);
    }

    /// <summary>One more pass over the data as standardised blocks; every block is the same object, refilled.</summary>
    public IEnumerable<StandardisedBlock> Blocks()
    {
        int p = FeatureCount;
        var block = new StandardisedBlock(BlockRows, p);
        long position = 0;
        foreach (var batch in _tabular.ReadBlocks(BlockRows, _foldColumn, _cancellationToken))
        {
            for (int r = 0; r < batch.Count; r++)
            {
                for (int j = 0; j < p; j++)
                    block.Features[r * p + j] = _deviations[j] > 0 ? (batch.Features[r * p + j] - _means[j]) / _deviations[j] : 0;
                block.Labels[r] = _classOf(batch.Labels[r]);
                block.Weights[r] = batch.Weights?[r] ?? 1.0;
                block.Folds[r] = FoldCount == 0 ? -1
                    : _foldOfValue is not null ? _foldOfValue[batch.Groups![r]]
                    : HashFold(position + r, _seed, FoldCount);
            }
            block.Count = batch.Count;
            position += batch.Count;
            yield return block;
        }
    }
}

/// <summary>A block of standardised rows with their classes, weights and folds.</summary>
internal sealed class StandardisedBlock(int capacity, int featureCount)
{
    public double[] Features { get; } = new double[capacity * featureCount];

    public int[] Labels { get; } = new int[capacity];

    public double[] Weights { get; } = new double[capacity];

    public int[] Folds { get; } = new int[capacity];

    public int Count { get; set; }

    public ReadOnlySpan<double> Row(int r) => Features.AsSpan(r * featureCount, featureCount);
}

/// <summary>
/// The likelihood kernel as one pass over streamed rows: each block's training rows are loaded into a managed kernel
/// and its loss, gradient and Hessian added up, so only a block and the D × D sums are ever held.
/// </summary>
internal sealed class StreamingCumulativeLogitKernel : ICumulativeLogitKernel
{
    private readonly StreamedOrdinalRows _rows;
    private readonly int? _heldOutFold;
    private readonly double _totalWeight;
    private readonly ManagedCumulativeLogitKernel _block;
    private readonly double[] _features;
    private readonly int[] _labels;
    private readonly double[] _weights;

    public StreamingCumulativeLogitKernel(StreamedOrdinalRows rows, int? heldOutFold, double totalWeight)
    {
        _rows = rows;
        _heldOutFold = heldOutFold;
        _totalWeight = totalWeight;
        _block = new ManagedCumulativeLogitKernel(rows.FeatureCount, rows.ClassCount, StreamedOrdinalRows.BlockRows);
        _features = new double[StreamedOrdinalRows.BlockRows * rows.FeatureCount];
        _labels = new int[StreamedOrdinalRows.BlockRows];
        _weights = new double[StreamedOrdinalRows.BlockRows];
    }

    public bool Loss(double[] alpha, double[] beta, out double loss)
    {
        loss = 0;
        foreach (var count in TrainingBlocks())
        {
            if (!_block.Loss(alpha, beta, out double part))
            {
                loss = double.PositiveInfinity;
                return false;
            }
            loss += part;
        }
        return true;
    }

    public bool Derivatives(double[] alpha, double[] beta, int[] features, double[] gradient, double[]? hessian, out double loss)
    {
        int d = _rows.Boundaries * (features.Length + 1);
        var partGradient = new double[d];
        var partHessian = hessian is null ? null : new double[d * d];
        Array.Clear(gradient, 0, d);
        if (hessian is not null) Array.Clear(hessian, 0, d * d);
        loss = 0;
        foreach (var count in TrainingBlocks())
        {
            if (!_block.Derivatives(alpha, beta, features, partGradient, partHessian, out double part))
            {
                loss = double.PositiveInfinity;
                return false;
            }
            loss += part;
            for (int c = 0; c < d; c++) gradient[c] += partGradient[c];
            if (hessian is not null)
                for (int c = 0; c < d * d; c++) hessian[c] += partHessian![c];
        }
        return true;
    }

    /// <summary>Loads each block's training rows (those not in the held-out fold) into the block kernel.</summary>
    private IEnumerable<int> TrainingBlocks()
    {
        int p = _rows.FeatureCount;
        foreach (var block in _rows.Blocks())
        {
            int count = 0;
            for (int r = 0; r < block.Count; r++)
            {
                if (_heldOutFold is int f && block.Folds[r] == f) continue;
                block.Row(r).CopyTo(_features.AsSpan(count * p, p));
                _labels[count] = block.Labels[r];
                _weights[count] = block.Weights[r];
                count++;
            }
            if (count == 0) continue;
            _block.Load(_features.AsSpan(0, count * p), _labels.AsSpan(0, count), _weights.AsSpan(0, count), _totalWeight);
            yield return count;
        }
    }

    public void Dispose() => _block.Dispose();
}
