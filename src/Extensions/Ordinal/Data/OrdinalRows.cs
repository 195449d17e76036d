using System.Runtime.CompilerServices;

namespace MLExtensions.Ordinal;

/// <summary>
/// The standardised training rows as PRESTO's path sees them: a likelihood kernel over all rows or all but one
/// cross-validation fold, the class weights of such a part, and the held-out scores of a fold. Held in memory
/// (<see cref="InMemoryOrdinalRows"/>) or read in passes over the <see cref="Microsoft.ML.IDataView"/>
/// (<see cref="StreamedOrdinalRows"/>).
/// </summary>
internal abstract class OrdinalRows(int featureCount, int classCount)
{
    public int FeatureCount { get; } = featureCount;

    public int ClassCount { get; } = classCount;

    public int Boundaries => ClassCount - 1;

    /// <summary>The number of cross-validation folds the rows are dealt into (0 when they are not).</summary>
    public abstract int FoldCount { get; }

    /// <summary>The weight of each class among all rows (<paramref name="heldOutFold"/> null) or all but one fold's.</summary>
    public abstract double[] ClassWeights(int? heldOutFold);

    /// <summary>
    /// True when the paths should be fitted all at once, one thread each, with their kernels created before any
    /// starts (streamed rows share each read of the data among the kernels alive); false to fit a few at a time.
    /// </summary>
    public virtual bool FitsPathsTogether => false;

    /// <summary>Whether the rows carry an offset added to every linear predictor.</summary>
    public virtual bool HasOffsets => false;

    /// <summary>The likelihood kernel over all rows (<paramref name="heldOutFold"/> null) or all but one fold's.</summary>
    public abstract ICumulativeLogitKernel Kernel(int? heldOutFold);

    /// <summary>The weighted mean of <paramref name="loss"/> over fold <paramref name="fold"/>'s rows, for each fit.</summary>
    /// <param name="loss">The per-row loss.</param>
    /// <param name="fold">The held-out fold.</param>
    /// <param name="fits">Coefficients fitted without that fold.</param>
    /// <param name="weight">The fold's total weight.</param>
    public abstract double[] HeldOutScores(CrossValidationLoss loss, int fold, IReadOnlyList<Theta> fits, out double weight);

    /// <summary>Accumulates one row's loss under each fit into <paramref name="sums"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected static void ScoreRow(CrossValidationLoss loss, ReadOnlySpan<double> x, int label, double weight, IReadOnlyList<(double[] Alpha, double[] Beta)> fits,
        double[] sums, Span<double> eta, Span<double> probabilities, double offset = 0)
    {
        for (int f = 0; f < fits.Count; f++)
        {
            CumulativeLogit.LinearPredictors(x, fits[f].Alpha, fits[f].Beta, eta);
            if (offset != 0)
                for (int k = 0; k < eta.Length; k++) eta[k] += offset;
            CumulativeLogit.Probabilities(eta, probabilities);
            sums[f] += weight * loss.RowLoss(probabilities, label);
        }
    }
}

/// <summary>Training rows held in memory, with the fold of every row when cross-validating.</summary>
internal sealed class InMemoryOrdinalRows : OrdinalRows
{
    private readonly Func<OrdinalProblem, ICumulativeLogitKernel> _kernelFor;
    private readonly int[]? _folds;

    /// <param name="problem">The standardised rows.</param>
    /// <param name="kernelFor">Makes the likelihood kernel for a (sub)problem (managed or TorchSharp).</param>
    /// <param name="folds">The fold of each row, or null when not cross-validating.</param>
    public InMemoryOrdinalRows(OrdinalProblem problem, Func<OrdinalProblem, ICumulativeLogitKernel> kernelFor, int[]? folds = null)
        : base(problem.FeatureCount, problem.ClassCount)
    {
        Problem = problem;
        _kernelFor = kernelFor;
        _folds = folds;
        FoldCount = folds is null || folds.Length == 0 ? 0 : folds.Max() + 1;
    }

    public OrdinalProblem Problem { get; }

    public override int FoldCount { get; }

    public override bool HasOffsets => Problem.Offsets is not null;

    /// <summary>The same rows dealt into <paramref name="folds"/>.</summary>
    public InMemoryOrdinalRows WithFolds(int[] folds) => new(Problem, _kernelFor, folds);

    public override double[] ClassWeights(int? heldOutFold)
    {
        var totals = new double[ClassCount];
        for (int i = 0; i < Problem.Rows; i++)
            if (heldOutFold is null || Fold(i) != heldOutFold) totals[Problem.Labels[i]] += Problem.Weights[i];
        return totals;
    }

    public override ICumulativeLogitKernel Kernel(int? heldOutFold) => _kernelFor(Training(heldOutFold));

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override double[] HeldOutScores(CrossValidationLoss loss, int fold, IReadOnlyList<Theta> fits, out double weight)
    {
        if (Problem.Sparse is { } sparse) return SparseHeldOutScores(sparse, loss, fold, fits, out weight);
        var coefficients = fits.Select(t => (t.Alphas(), t.Betas())).ToArray();
        var sums = new double[fits.Count];
        Span<double> eta = stackalloc double[Boundaries];
        Span<double> p = stackalloc double[ClassCount];
        weight = 0;
        for (int i = 0; i < Problem.Rows; i++)
        {
            if (Fold(i) != fold) continue;
            ScoreRow(loss, Problem.Row(i), Problem.Labels[i], Problem.Weights[i], coefficients, sums, eta, p, Problem.Offset(i));
            weight += Problem.Weights[i];
        }
        double total = weight;
        return sums.Select(s => total > 0 ? s / total : 0).ToArray();
    }

    /// <summary><see cref="HeldOutScores"/> over rows held as their non-zeros: each fit's coefficients on the original scale, then a sparse dot per boundary.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private double[] SparseHeldOutScores(SparseFeatures sparse, CrossValidationLoss loss, int fold, IReadOnlyList<Theta> fits, out double weight)
    {
        int p = FeatureCount;
        var sums = new double[fits.Count];
        var eta = new double[Boundaries];
        var probabilities = new double[ClassCount];
        var scaled = new double[Boundaries * p];
        var shift = new double[Boundaries];
        for (int f = 0; f < fits.Count; f++)
        {
            var alpha = fits[f].Alphas();
            sparse.OriginalScale(fits[f].Betas(), scaled, shift);
            for (int i = 0; i < Problem.Rows; i++)
            {
                if (Fold(i) != fold) continue;
                for (int k = 0; k < Boundaries; k++)
                    eta[k] = alpha[k] + shift[k] + Problem.Offset(i) + sparse.Dot(i, scaled.AsSpan(k * p, p));
                CumulativeLogit.Probabilities(eta, probabilities);
                sums[f] += Problem.Weights[i] * loss.RowLoss(probabilities, Problem.Labels[i]);
            }
        }
        weight = 0;
        for (int i = 0; i < Problem.Rows; i++)
            if (Fold(i) == fold) weight += Problem.Weights[i];
        double total = weight;
        return sums.Select(s => total > 0 ? s / total : 0).ToArray();
    }

    private int Fold(int row) => _folds?[row] ?? -1;

    private OrdinalProblem Training(int? heldOutFold) => heldOutFold is int f
        ? Problem.Subset(Enumerable.Range(0, Problem.Rows).Where(i => Fold(i) != f).ToArray())
        : Problem;
}
