namespace MLExtensions.Ordinal;

/// <summary>What a path fit produced, on the standardised scale.</summary>
/// <param name="Selected">The coefficients at the chosen λ.</param>
/// <param name="Lambda">The chosen λ.</param>
/// <param name="LambdaPath">The λ values fitted, largest first.</param>
/// <param name="CrossValidationScores">Mean held-out score per λ, at the chosen γ when relaxing (empty without cross-validation).</param>
/// <param name="CrossValidationStandardErrors">Standard error of the fold means per λ, at the chosen γ when relaxing (empty without cross-validation).</param>
/// <param name="LambdaMax">The smallest λ at which every penalised coefficient is zero.</param>
/// <param name="Converged">Whether every fit met the tolerance within the iteration limit.</param>
internal sealed record PathResult(Theta Selected, double Lambda, double[] LambdaPath, double[] CrossValidationScores,
    double[] CrossValidationStandardErrors, double LambdaMax, bool Converged)
{
    /// <summary>The full-data fit's diagnostics at every λ fitted.</summary>
    public IReadOnlyList<PrestoPathPoint> Diagnostics { get; init; } = [];

    /// <summary>The likelihood-ratio test of proportional odds, when asked for.</summary>
    public ProportionalOddsTest? ProportionalOddsTest { get; init; }

    /// <summary>The relaxed-lasso mixing γ of <see cref="Selected"/> (1: the lasso itself).</summary>
    public double Gamma { get; init; } = 1;

    /// <summary>The cross-validation over (λ, γ) when relaxing; null otherwise.</summary>
    public RelaxedCrossValidation? Relaxation { get; init; }

    /// <summary>What cross-validation scored λ by; null when λ was not cross-validated.</summary>
    public CrossValidationLoss? Loss { get; init; }
}

/// <summary>Cross-validation of the relaxed lasso: the γ grid and, per γ, the mean score and its standard error at every λ.</summary>
internal sealed record RelaxedCrossValidation(double[] Gammas, double[][] Scores, double[][] StandardErrors);

/// <summary>Settings of one path fit (already validated).</summary>
internal sealed record PathSettings(double? Lambda, int NumberOfLambdas, double LambdaMinRatio, int NumberOfFolds,
    bool PenalizeFirstBoundary, bool ProportionalOddsOnly, int MaximumNumberOfIterations, double Tolerance, int Seed)
{
    /// <summary>The λ values to fit (decreasing); null for the log-spaced path.</summary>
    public double[]? LambdaSequence { get; init; }

    /// <summary>Per-feature penalty factors; null for all 1.</summary>
    public double[]? PenaltyFactors { get; init; }

    /// <summary>What cross-validation minimises.</summary>
    public PrestoCrossValidationMetric Metric { get; init; } = PrestoCrossValidationMetric.Brier;

    /// <summary>The class <see cref="PrestoCrossValidationMetric.RareClassBrier"/> scores, by name; null for the last class.</summary>
    public string? RareClass { get; init; }

    /// <summary>Choose the largest λ within one standard error of the best score.</summary>
    public bool OneStandardErrorRule { get; init; }

    /// <summary>Elastic-net mixing α (1: lasso).</summary>
    public double Alpha { get; init; } = 1;

    /// <summary>The user's fold column, if any (the fitter deals the rows into folds by it).</summary>
    public string? FoldColumnName { get; init; }

    /// <summary>Run the likelihood-ratio test of proportional odds on all rows.</summary>
    public bool TestProportionalOdds { get; init; }

    /// <summary>Cross-validate the relaxed lasso's γ along with λ.</summary>
    public bool Relax { get; init; }

    /// <summary>The memory the whole fit may use (see <see cref="CumulativeLogitOptions.MemoryLimit"/>); each path's Newton steps get a share.</summary>
    public long MemoryLimit { get; init; } = long.MaxValue;
}

/// <summary>
/// PRESTO's fitting procedure on standardised data: the null model, λ_max, a log-spaced λ path with warm starts,
/// seeded stratified k-fold cross-validation (on the multiclass Brier score by default), the largest λ at the minimum, and the
/// full-data fit at that λ; when relaxing, (λ, γ) are chosen together and the chosen fit is mixed with its refit.
/// </summary>
internal sealed class PrestoPath
{
    private readonly OrdinalTrainingSet _data;
    private readonly PathSettings _settings;
    private readonly CrossValidationLoss _loss;
    private readonly Action<string> _log;
    private readonly Action<int, int, double>? _progress;

    /// <param name="data">The standardised training set.</param>
    /// <param name="settings">λ, path and cross-validation settings.</param>
    /// <param name="log">Receives messages for the user.</param>
    /// <param name="progress">Called after each λ of the full-data path with (step, steps, loss).</param>
    /// <exception cref="ArgumentException">The settings' rare class is not one of the data's classes.</exception>
    public PrestoPath(OrdinalTrainingSet data, PathSettings settings, Action<string> log,
        Action<int, int, double>? progress = null)
    {
        _data = data;
        _settings = settings;
        _loss = CrossValidationLoss.For(settings.Metric, settings.RareClass, data.Classes);
        _log = log;
        _progress = progress;
    }

    private OrdinalRows Rows => _data.Rows;

    private int Boundaries => Rows.Boundaries;

    private int Features => Rows.FeatureCount;

    public PathResult Fit(CancellationToken cancellationToken)
    {
        var result = FitPath(cancellationToken);
        return _settings.TestProportionalOdds ? result with { ProportionalOddsTest = TestProportionalOdds(cancellationToken) } : result;
    }

    private PathResult FitPath(CancellationToken cancellationToken)
    {
        if (_settings.PenaltyFactors is { } factors && factors.Length != Features)
            throw new ArgumentException($"PenaltyFactors has {factors.Length} values but the feature vector has {Features}; give one factor per feature.", "PenaltyFactors");
        using var kernel = Rows.Kernel(heldOutFold: null);
        var solver = Solver(kernel, unpenalisedOnly: false);
        var nullModel = NullModel(Rows.ClassWeights(heldOutFold: null), kernel, cancellationToken);
        var nullGradient = solver.Gradient(nullModel.Theta, out _);
        double lambdaMax = LambdaMax(nullGradient);

        if (_settings.ProportionalOddsOnly)
            return new PathResult(nullModel.Theta, double.PositiveInfinity, [], [], [], lambdaMax, nullModel.Converged)
            {
                Diagnostics = [Diagnose(double.PositiveInfinity, nullModel, nullModel.Loss)],
            };

        if (_settings.Lambda is double fixedLambda)
        {
            var fit = fixedLambda >= lambdaMax ? nullModel : solver.SolveScreened(fixedLambda, lambdaMax, nullModel, nullGradient, out _, cancellationToken);
            if (!fit.Converged && fixedLambda == 0)
                throw new InvalidOperationException(
                    $"The unpenalised fit (Lambda = 0) did not converge in {_settings.MaximumNumberOfIterations} iterations: the classes are " +
                    "probably separable by the features, so the maximum-likelihood estimate does not exist. Use Lambda > 0 or leave it null to choose λ by cross-validation.");
            return new PathResult(fit.Theta, fixedLambda, [fixedLambda], [], [], lambdaMax, fit.Converged)
            {
                Diagnostics = [Diagnose(fixedLambda, fit, nullModel.Loss)],
            };
        }

        var path = LambdaPath(lambdaMax);
        IReadOnlyList<double> gammas = _settings.Relax ? RelaxedLasso.Gammas : [1.0];
        List<SolverResult> fits = [];
        // The full-data path runs alongside the folds' paths: on few cores that beats running it first.
        var (scores, errors) = CrossValidate(path, gammas, () =>
        {
            // The kernel stops taking part in shared passes as soon as its path is done, so the folds' do not wait for it.
            using (kernel) fits = SolvePath(solver, nullModel, nullGradient, lambdaMax, path, cancellationToken, _progress);
        }, cancellationToken);
        if (scores.Any(double.IsNaN))
            throw new InvalidOperationException("A cross-validation score is NaN; this is a bug, please report it with the data's shape.");
        int bestIndex = Array.IndexOf(scores, scores.Min());
        // The largest λ (the path runs from the largest down) whose score ties the minimum, or with the one-standard-
        // error rule lies within one standard error of it; at that λ, the largest γ (the most shrunk) that does.
        double threshold = scores[bestIndex] + (_settings.OneStandardErrorRule ? errors[bestIndex] : 1e-12 * Math.Abs(scores[bestIndex]));
        int candidate = Array.FindIndex(scores, s => s <= threshold);
        int chosen = candidate / gammas.Count, chosenGamma = candidate % gammas.Count;
        bool converged = fits.All(f => f.Converged);
        if (!converged) _log("some fits on the λ path stopped at the iteration limit (nearly separable classes at small λ)");
        var selected = fits[chosen].Theta;
        if (gammas[chosenGamma] < 1)
        {
            using var refitKernel = Rows.Kernel(heldOutFold: null);
            var refit = Relaxed(refitKernel, [fits[chosen]], cancellationToken)[0];
            if (!refit.Converged) _log("the relaxed refit at the chosen λ stopped at the iteration limit (nearly separable classes on its pattern)");
            converged &= refit.Converged;
            selected = RelaxedLasso.Mix(selected, refit.Theta, gammas[chosenGamma]);
        }
        double[] Row(double[] values, int g) => path.Select((_, l) => values[l * gammas.Count + g]).ToArray();
        return new PathResult(selected, path[chosen], path, Row(scores, chosenGamma), Row(errors, chosenGamma), lambdaMax, converged)
        {
            Diagnostics = path.Select((lambda, i) => Diagnose(lambda, fits[i], nullModel.Loss)).ToArray(),
            Gamma = gammas[chosenGamma],
            Loss = _loss,
            Relaxation = _settings.Relax
                ? new RelaxedCrossValidation(gammas.ToArray(), gammas.Select((_, g) => Row(scores, g)).ToArray(), gammas.Select((_, g) => Row(errors, g)).ToArray())
                : null,
        };
    }

    /// <summary>Log-likelihood, deviance explained, non-zero differences and information criteria of one full-data fit.</summary>
    private PrestoPathPoint Diagnose(double lambda, SolverResult fit, double nullLoss)
    {
        int block = Features + 1, nonzeroDifferences = 0, slopes = 0;
        for (int k = 0; k < Boundaries; k++)
            for (int j = 0; j < Features; j++)
            {
                if (fit.Theta.Values[k * block + 1 + j] == 0) continue;
                slopes++;
                if (k > 0) nonzeroDifferences++;
            }
        // The kernel's loss is the weighted mean negative log-likelihood (weights normalised to sum 1).
        double n = Rows.ClassWeights(heldOutFold: null).Sum(), logLikelihood = -fit.Loss * n, degreesOfFreedom = Boundaries + slopes;
        var differences = Enumerable.Range(0, Boundaries).Select(k => Enumerable.Range(0, Features)
            .Select(j => _data.IsConstant(j) ? 0 : fit.Theta.Values[k * block + 1 + j] / _data.Deviations[j]).ToArray()).ToArray();
        return new PrestoPathPoint(lambda, logLikelihood, nullLoss > 0 ? 1 - fit.Loss / nullLoss : 0, nonzeroDifferences, (int)degreesOfFreedom,
            -2 * logLikelihood + 2 * degreesOfFreedom, -2 * logLikelihood + Math.Log(Math.Max(n, 1)) * degreesOfFreedom, differences);
    }

    private CumulativeLogitSolver Solver(ICumulativeLogitKernel kernel, bool unpenalisedOnly)
    {
        var (free, penalty) = Coordinates(unpenalisedOnly);
        // The full-data path and the folds fitted in parallel share the memory left for Newton steps.
        long share = _settings.MemoryLimit / (1 + Math.Min(Rows.FoldCount, Environment.ProcessorCount));
        return new CumulativeLogitSolver(kernel, Boundaries, Features, free, penalty, _settings.MaximumNumberOfIterations, _settings.Tolerance, _settings.Alpha)
        {
            MemoryLimit = share,
        };
    }

    /// <summary>Which θ coordinates may move, and each one's penalty factor (0 for intercepts).</summary>
    private (bool[] Free, double[] Penalty) Coordinates(bool unpenalisedOnly)
    {
        int block = Features + 1, d = Boundaries * block;
        var free = new bool[d];
        var penalty = new double[d];
        for (int k = 0; k < Boundaries; k++)
        {
            free[k * block] = true; // intercepts are never penalised
            for (int j = 0; j < Features; j++)
            {
                double factor = (k > 0 || _settings.PenalizeFirstBoundary) ? PenaltyFactor(j) : 0;
                bool allowed = !_data.IsConstant(j) && (k == 0 || !_settings.ProportionalOddsOnly);
                free[k * block + 1 + j] = allowed && (!unpenalisedOnly || factor == 0);
                penalty[k * block + 1 + j] = factor;
            }
        }
        return (free, penalty);
    }

    /// <summary>The relaxed refits of a lasso path fitted on <paramref name="kernel"/>'s rows (see <see cref="RelaxedLasso"/>).</summary>
    private SolverResult[] Relaxed(ICumulativeLogitKernel kernel, IReadOnlyList<SolverResult> lassoPath, CancellationToken cancellationToken)
    {
        var (free, penalty) = Coordinates(unpenalisedOnly: false);
        return RelaxedLasso.RefitPath(kernel, free, penalty, lassoPath, _settings.MaximumNumberOfIterations, _settings.Tolerance, cancellationToken);
    }

    private double PenaltyFactor(int feature) => _settings.PenaltyFactors?[feature] ?? 1;

    /// <summary>
    /// The likelihood-ratio test of proportional odds on all rows: the unpenalised non-parallel fit (PRESTO at λ = 0)
    /// against the proportional-odds fit, each by maximum likelihood, with p·(K − 2) degrees of freedom (p: the
    /// non-constant features). Null when there is nothing to test (no non-constant feature), or when the rows are too
    /// few for the non-parallel fit's (K − 1)(p + 1) coefficients, whose maximum-likelihood estimate would not exist.
    /// </summary>
    private ProportionalOddsTest? TestProportionalOdds(CancellationToken cancellationToken)
    {
        int tested = Enumerable.Range(0, Features).Count(j => !_data.IsConstant(j));
        int degreesOfFreedom = tested * (Boundaries - 1);
        if (degreesOfFreedom == 0) return null;
        int block = Features + 1, d = Boundaries * block;
        if (_data.RowCount <= Boundaries * (tested + 1))
        {
            _log($"the proportional-odds test is skipped: {_data.RowCount} rows are too few for the non-parallel fit's {Boundaries * (tested + 1)} coefficients");
            return null;
        }
        var parallelFree = new bool[d];
        var allFree = new bool[d];
        for (int k = 0; k < Boundaries; k++)
        {
            parallelFree[k * block] = allFree[k * block] = true;
            for (int j = 0; j < Features; j++)
            {
                if (_data.IsConstant(j)) continue;
                allFree[k * block + 1 + j] = true;
                parallelFree[k * block + 1 + j] = k == 0;
            }
        }
        long hessianBytes = 3L * d * d * sizeof(double);
        if (hessianBytes > _settings.MemoryLimit)
        {
            _log($"the proportional-odds test is skipped: its unpenalised fit of {d:N0} coefficients needs {FitMemory.Size(hessianBytes)} of Hessians, beyond the memory limit");
            return null;
        }
        using var kernel = Rows.Kernel(heldOutFold: null);
        var unpenalised = new double[d];
        var parallel = new CumulativeLogitSolver(kernel, Boundaries, Features, parallelFree, unpenalised, _settings.MaximumNumberOfIterations, _settings.Tolerance)
            .Solve(0, InterceptStart(Rows.ClassWeights(heldOutFold: null)), cancellationToken);
        var nonParallel = new CumulativeLogitSolver(kernel, Boundaries, Features, allFree, unpenalised, _settings.MaximumNumberOfIterations, _settings.Tolerance)
            .Solve(0, parallel.Theta, cancellationToken);
        double n = Rows.ClassWeights(heldOutFold: null).Sum();
        double parallelLogLikelihood = -parallel.Loss * n, nonParallelLogLikelihood = -nonParallel.Loss * n;
        double statistic = Math.Max(0, 2 * (nonParallelLogLikelihood - parallelLogLikelihood));
        bool converged = parallel.Converged && nonParallel.Converged;
        if (!converged) _log("the proportional-odds likelihood-ratio test's maximum-likelihood fits stopped at the iteration limit (separable classes?); its p-value is unreliable");
        return new ProportionalOddsTest(statistic, degreesOfFreedom, ChiSquare.UpperTail(statistic, degreesOfFreedom),
            parallelLogLikelihood, nonParallelLogLikelihood, converged);
    }

    /// <summary>Intercepts at the logits of the cumulative class frequencies, every slope zero.</summary>
    private Theta InterceptStart(double[] classWeights)
    {
        var start = new Theta(Boundaries, Features);
        double cumulative = 0;
        for (int k = 0; k < Boundaries; k++)
        {
            cumulative += classWeights[k];
            double q = cumulative / classWeights.Sum();
            start.Values[k * (Features + 1)] = Math.Log(q / (1 - q));
        }
        return start;
    }

    /// <summary>
    /// The fit with every penalised coefficient at zero: intercepts at the logits of the cumulative class frequencies
    /// (fitted when there is an offset), plus β_1 when it is unpenalised.
    /// </summary>
    private SolverResult NullModel(double[] classWeights, ICumulativeLogitKernel kernel, CancellationToken cancellationToken)
    {
        var start = InterceptStart(classWeights);
        // With an offset the frequencies' logits are only a start: the intercepts are fitted.
        bool anyUnpenalisedSlope = !_settings.PenalizeFirstBoundary || _settings.ProportionalOddsOnly || Rows.HasOffsets
            || Enumerable.Range(0, Features).Any(j => PenaltyFactor(j) == 0 && !_data.IsConstant(j));
        if (!anyUnpenalisedSlope)
        {
            kernel.Loss(start.Alphas(), start.Betas(), out double loss);
            return new SolverResult(start, loss, 0, true);
        }
        var fit = Solver(kernel, unpenalisedOnly: true).Solve(0, start, cancellationToken);
        if (!fit.Converged)
            throw new InvalidOperationException(
                "The proportional-odds fit did not converge: the classes are probably separable by the features. " +
                "Penalise the first boundary (PenalizeFirstBoundary = true) or remove the separating features.");
        return fit;
    }

    /// <summary>The smallest λ at which every penalised coefficient stays at zero, from the θ-gradient at the null model.</summary>
    private double LambdaMax(double[] nullGradient)
    {
        int block = Features + 1;
        double max = 0;
        for (int k = 0; k < Boundaries; k++)
        {
            if (k == 0 && !_settings.PenalizeFirstBoundary) continue;
            // With penalty factor w the coordinate stays at zero while |gradient| ≤ λ·α·w (glmnet takes α ≥ 1e-3 here,
            // so a ridge path still starts where the lasso's would end).
            double alpha = Math.Max(_settings.Alpha, 1e-3);
            for (int j = 0; j < Features; j++)
                if (!_data.IsConstant(j) && PenaltyFactor(j) > 0) max = Math.Max(max, Math.Abs(nullGradient[k * block + 1 + j]) / (PenaltyFactor(j) * alpha));
        }
        return max;
    }

    private double[] LambdaPath(double lambdaMax)
    {
        if (_settings.LambdaSequence is { } sequence) return sequence.ToArray();
        int m = _settings.NumberOfLambdas;
        if (lambdaMax <= 0) return [0];
        if (m == 1) return [lambdaMax];
        return Enumerable.Range(0, m).Select(i => lambdaMax * Math.Pow(_settings.LambdaMinRatio, i / (double)(m - 1))).ToArray();
    }

    /// <summary>Warm-started fits down <paramref name="path"/> from the null model (the solution at λ_max and above).</summary>
    private static List<SolverResult> SolvePath(CumulativeLogitSolver solver, SolverResult nullModel, double[] nullGradient, double lambdaMax, double[] path,
        CancellationToken cancellationToken, Action<int, int, double>? progress = null)
    {
        var fits = new List<SolverResult>(path.Length);
        var (warm, gradient, previousLambda) = (nullModel, nullGradient, lambdaMax);
        foreach (var lambda in path)
        {
            var fit = solver.SolveScreened(lambda, Math.Max(previousLambda, lambda), warm, gradient, out gradient, cancellationToken);
            // Only the next warm start needs the derivatives: kept for every λ, their Hessians would grow with the path.
            fits.Add(fit with { AtSolution = null });
            (warm, previousLambda) = (fit, lambda);
            progress?.Invoke(fits.Count, path.Length, fit.Loss);
        }
        return fits;
    }

    /// <summary>
    /// Held-out scores per candidate (λ-major, then γ in <paramref name="gammas"/>' order) from each fold's own path;
    /// <paramref name="alongside"/> runs in the same parallel loop.
    /// </summary>
    private (double[] Scores, double[] Errors) CrossValidate(double[] path, IReadOnlyList<double> gammas, Action alongside, CancellationToken cancellationToken)
    {
        int folds = Rows.FoldCount;
        var foldScores = new double[folds][];
        var foldWeights = new double[folds];
        // Streamed rows fit every path at once, one thread each, their kernels made first so that each pass waits for all.
        var kernels = Rows.FitsPathsTogether ? Enumerable.Range(0, folds).Select(f => Rows.Kernel(f)).ToArray() : null;
        try
        {
            if (kernels is null)
                Parallel.For(-1, folds, new ParallelOptions { CancellationToken = cancellationToken, MaxDegreeOfParallelism = Environment.ProcessorCount }, f =>
                {
                    if (f < 0) alongside();
                    else foldScores[f] = FoldScores(f, Rows.Kernel(f), path, gammas, out foldWeights[f], cancellationToken);
                });
            else
                Task.WaitAll(Enumerable.Range(-1, folds + 1).Select(f => Task.Factory.StartNew(() =>
                {
                    if (f < 0) alongside();
                    else foldScores[f] = FoldScores(f, kernels[f], path, gammas, out foldWeights[f], cancellationToken);
                }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray());
        }
        catch (AggregateException e) when (e.InnerExceptions.Count >= 1)
        {
            // Surface the fold's own message (e.g. separable classes) rather than the parallel wrapper.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
            throw;
        }
        finally
        {
            foreach (var kernel in kernels ?? []) kernel.Dispose();
        }
        double total = foldWeights.Sum();
        int candidates = path.Length * gammas.Count;
        var scores = new double[candidates];
        var errors = new double[candidates];
        for (int l = 0; l < candidates; l++)
        {
            double mean = 0;
            for (int f = 0; f < folds; f++) mean += foldScores[f][l] * foldWeights[f] / total;
            double variance = 0;
            for (int f = 0; f < folds; f++) variance += foldWeights[f] / total * Math.Pow(foldScores[f][l] - mean, 2);
            scores[l] = mean;
            errors[l] = Math.Sqrt(variance / Math.Max(folds - 1, 1));
        }
        return (scores, errors);
    }

    /// <summary>
    /// The held-out score at every λ of the path fitted without fold <paramref name="heldOutFold"/>, mixed with its
    /// relaxed refit at every γ (λ-major).
    /// </summary>
    /// <param name="heldOutFold">The fold left out.</param>
    /// <param name="kernel">The kernel over the other folds' rows; disposed once the path (and its refits) are fitted.</param>
    /// <param name="path">The λ values.</param>
    /// <param name="gammas">The relaxed-lasso mixing values; just 1 (the lasso) without relaxing.</param>
    /// <param name="heldOutWeight">The held-out fold's weight.</param>
    /// <param name="cancellationToken">Stops the fit.</param>
    private double[] FoldScores(int heldOutFold, ICumulativeLogitKernel kernel, double[] path, IReadOnlyList<double> gammas, out double heldOutWeight,
        CancellationToken cancellationToken)
    {
        List<SolverResult> fits;
        SolverResult[]? refits = null;
        using (kernel)
        {
            var solver = Solver(kernel, unpenalisedOnly: false);
            var nullModel = NullModel(Rows.ClassWeights(heldOutFold), kernel, cancellationToken);
            var nullGradient = solver.Gradient(nullModel.Theta, out _);
            fits = SolvePath(solver, nullModel, nullGradient, LambdaMax(nullGradient), path, cancellationToken);
            if (_settings.Relax) refits = Relaxed(kernel, fits, cancellationToken);
        }
        return Rows.HeldOutScores(_loss, heldOutFold, RelaxedLasso.Candidates(fits, refits, gammas), out heldOutWeight);
    }
}
