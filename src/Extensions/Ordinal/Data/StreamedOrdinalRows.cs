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
    private readonly SharedPasses _passes;

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
        _passes = new SharedPasses(this);
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

    /// <summary>Kernels of paths fitted at the same time share each read of the data (see <see cref="SharedPasses"/>).</summary>
    public override bool FitsPathsTogether => true;

    public override ICumulativeLogitKernel Kernel(int? heldOutFold) => new StreamingCumulativeLogitKernel(this, _passes, heldOutFold, ClassWeights(heldOutFold).Sum());

    public override double[] HeldOutScores(CrossValidationLoss loss, int fold, IReadOnlyList<Theta> fits, out double weight)
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
                ScoreRow(loss, block.Row(r), block.Labels[r], block.Weights[r], coefficients, sums, eta, p);
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
/// and its loss, gradient and Hessian added up, so only a block and the D × D sums are ever held. The pass itself is
/// run by <see cref="SharedPasses"/>, together with those of the other paths being fitted.
/// </summary>
internal sealed class StreamingCumulativeLogitKernel : ICumulativeLogitKernel
{
    private readonly StreamedOrdinalRows _rows;
    private readonly SharedPasses _passes;
    private readonly int? _heldOutFold;
    private readonly double _totalWeight;
    private readonly ManagedCumulativeLogitKernel _block;
    private bool _left;

    public StreamingCumulativeLogitKernel(StreamedOrdinalRows rows, SharedPasses passes, int? heldOutFold, double totalWeight)
    {
        _rows = rows;
        _passes = passes;
        _heldOutFold = heldOutFold;
        _totalWeight = totalWeight;
        _block = new ManagedCumulativeLogitKernel(rows.FeatureCount, rows.ClassCount, StreamedOrdinalRows.BlockRows);
        passes.Join();
    }

    public bool Loss(double[] alpha, double[] beta, out double loss)
    {
        var request = new PassRequest(this, alpha, beta, null, null, null);
        _passes.Run(request);
        loss = request.Loss;
        return request.Feasible;
    }

    public bool Derivatives(double[] alpha, double[] beta, int[] features, double[] gradient, double[]? hessian, out double loss)
    {
        var request = new PassRequest(this, alpha, beta, features, gradient, hessian);
        _passes.Run(request);
        loss = request.Loss;
        return request.Feasible;
    }

    /// <summary>Adds one block's share of <paramref name="request"/> (called by the pass, once per block).</summary>
    public void Accumulate(PassRequest request, StandardisedBlock block)
    {
        if (!request.Feasible) return;
        int p = _rows.FeatureCount, count = block.Count;
        Predicate<int>? training = _heldOutFold is int f ? r => block.Folds[r] != f : null;
        _block.Load(block.Features.AsSpan(0, count * p), block.Labels.AsSpan(0, count), block.Weights.AsSpan(0, count), _totalWeight, training);
        double part;
        bool feasible = request.Features is null
            ? _block.Loss(request.Alpha, request.Beta, out part)
            : _block.Derivatives(request.Alpha, request.Beta, request.Features, request.PartGradient!, request.PartHessian, out part);
        request.Add(feasible, part);
    }

    public void Dispose()
    {
        if (_left) return;
        _left = true;
        _passes.Leave();
    }
}

/// <summary>One kernel's question for the next pass: the loss, or the loss and derivatives, at one point.</summary>
internal sealed class PassRequest
{
    public PassRequest(StreamingCumulativeLogitKernel kernel, double[] alpha, double[] beta, int[]? features, double[]? gradient, double[]? hessian)
    {
        Kernel = kernel;
        Alpha = alpha;
        Beta = beta;
        Features = features;
        Gradient = gradient;
        Hessian = hessian;
        if (gradient is null) return;
        PartGradient = new double[gradient.Length];
        PartHessian = hessian is null ? null : new double[hessian.Length];
        Array.Clear(gradient);
        if (hessian is not null) Array.Clear(hessian);
    }

    public StreamingCumulativeLogitKernel Kernel { get; }

    public double[] Alpha { get; }

    public double[] Beta { get; }

    /// <summary>The features of the derivatives; null for the loss alone.</summary>
    public int[]? Features { get; }

    public double[]? Gradient { get; }

    public double[]? Hessian { get; }

    public double[]? PartGradient { get; }

    public double[]? PartHessian { get; }

    public double Loss { get; private set; }

    public bool Feasible { get; private set; } = true;

    public bool Done { get; set; }

    public Exception? Error { get; set; }

    public void Add(bool feasible, double loss)
    {
        if (!feasible)
        {
            Feasible = false;
            Loss = double.PositiveInfinity;
            return;
        }
        Loss += loss;
        if (Gradient is null) return;
        for (int c = 0; c < Gradient.Length; c++) Gradient[c] += PartGradient![c];
        if (Hessian is not null)
            for (int c = 0; c < Hessian.Length; c++) Hessian[c] += PartHessian![c];
    }
}

/// <summary>
/// Lets the paths fitted at the same time (the full-data path and every fold's) share each read of streamed data:
/// a kernel's request waits until every kernel still fitting has one, then a single pass over the data answers them
/// all (their sums spread over the cores). Reading is then paid once per round instead of once per path; each
/// answer is the same as a pass of its own would give, block for block.
/// </summary>
internal sealed class SharedPasses(StreamedOrdinalRows rows)
{
    private readonly object _gate = new();
    private readonly List<PassRequest> _pending = [];
    private int _members;

    /// <summary>A kernel starts fitting: passes now wait for its requests too.</summary>
    public void Join()
    {
        lock (_gate) _members++;
    }

    /// <summary>A kernel is done: passes no longer wait for it.</summary>
    public void Leave()
    {
        List<PassRequest>? batch;
        lock (_gate)
        {
            _members--;
            batch = TakeBatchIfComplete();
        }
        if (batch is not null) Serve(batch);
    }

    /// <summary>Answers <paramref name="request"/>, in a pass shared with the requests of the other members.</summary>
    public void Run(PassRequest request)
    {
        List<PassRequest>? batch;
        lock (_gate)
        {
            _pending.Add(request);
            batch = TakeBatchIfComplete();
            if (batch is null)
                while (!request.Done) Monitor.Wait(_gate);
        }
        if (batch is not null) Serve(batch);
        if (request.Error is not { } error) return;
        // The thread that served the pass rethrows the error itself; the others wrap it, since one exception object
        // thrown on several threads at once would get their stack traces mixed.
        if (batch is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(error).Throw();
        throw error is OperationCanceledException cancelled
            ? new OperationCanceledException(cancelled.Message, cancelled, cancelled.CancellationToken)
            : new InvalidOperationException($"A pass over the training data failed: {error.Message}", error);
    }

    private List<PassRequest>? TakeBatchIfComplete()
    {
        if (_pending.Count == 0 || _pending.Count < _members) return null;
        var batch = _pending.ToList();
        _pending.Clear();
        return batch;
    }

    /// <summary>One pass over the data for every request of the batch, then wakes their kernels.</summary>
    private void Serve(List<PassRequest> batch)
    {
        Exception? error = null;
        try
        {
            foreach (var block in rows.Blocks())
                Parallel.ForEach(batch, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, request => request.Kernel.Accumulate(request, block));
        }
        catch (Exception e)
        {
            error = e is AggregateException { InnerExceptions.Count: 1 } single ? single.InnerExceptions[0] : e;
        }
        lock (_gate)
        {
            foreach (var request in batch)
            {
                request.Error = error;
                request.Done = true;
            }
            Monitor.PulseAll(_gate);
        }
    }
}
