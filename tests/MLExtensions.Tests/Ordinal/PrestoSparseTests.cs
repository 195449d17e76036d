using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Ordinal;
using MLExtensions.Studies;
using Xunit;

namespace MLExtensions.Tests.Ordinal;

/// <summary>Sparse feature vectors: kept as their non-zeros through reading, kernels and cross-validation, and the memory check before a fit allocates.</summary>
public class PrestoSparseTests
{
    [Fact]
    public void The_sparse_kernel_gives_the_dense_kernels_loss_gradient_and_Hessian()
    {
        const int p = 60, boundaries = 3;
        var ml = new MLContext(1);
        var sim = SparseOrdinalSimulation.Generate(300, p, 5, boundaries + 1, seed: 2, offsetScale: 0.5);
        var options = new PrestoTrainer.Options { OffsetColumnName = "Offset", Lambda = 0.01 };
        var memory = new FitMemory(options, new PathSettings(0.01, 1, 1e-3, 5, false, false, 100, 1e-12, 1), p, boundaries + 1, crossValidates: false, sparseAllowed: true);
        var data = OrdinalTrainingSet.Load(sim.ToDataView(ml), options, problem => new SparseCumulativeLogitKernel(problem), memory, CancellationToken.None);
        var sparse = ((InMemoryOrdinalRows)data.Rows).Problem;
        Assert.NotNull(sparse.Sparse);
        using var sparseKernel = new SparseCumulativeLogitKernel(sparse);
        using var denseKernel = new ManagedCumulativeLogitKernel(sparse.Densified());

        var random = new Random(5);
        double[] alpha = [-1.2, 0.3, 1.9];
        var beta = Enumerable.Range(0, boundaries * p).Select(_ => random.NextDouble() < 0.3 ? 0.2 * (random.NextDouble() - 0.5) : 0).ToArray();
        int[] features = [0, 1, 3, 7, 8, 20, 59];
        int d = boundaries * (features.Length + 1);
        var (sparseGradient, denseGradient) = (new double[d], new double[d]);
        var (sparseHessian, denseHessian) = (new double[d * d], new double[d * d]);
        Assert.True(sparseKernel.Derivatives(alpha, beta, features, sparseGradient, sparseHessian, out double sparseLoss));
        Assert.True(denseKernel.Derivatives(alpha, beta, features, denseGradient, denseHessian, out double denseLoss));
        Assert.Equal(denseLoss, sparseLoss, 1e-12);
        for (int c = 0; c < d; c++) Assert.True(Math.Abs(denseGradient[c] - sparseGradient[c]) < 1e-12, $"gradient {c}: {denseGradient[c]} vs {sparseGradient[c]}");
        for (int c = 0; c < d * d; c++) Assert.True(Math.Abs(denseHessian[c] - sparseHessian[c]) < 1e-12, $"Hessian {c}: {denseHessian[c]} vs {sparseHessian[c]}");
        Assert.True(sparseKernel.Loss(alpha, beta, out double loss));
        Assert.Equal(denseLoss, loss, 1e-12);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_sparse_fit_equals_the_same_data_held_dense(bool relaxAndOffset)
    {
        var sim = SparseOrdinalSimulation.Generate(400, 60, 5, 4, seed: 7, offsetScale: relaxAndOffset ? 0.8 : 0);
        PrestoTrainer.Options Options(bool dense) => new()
        {
            NumberOfLambdas = 6, NumberOfFolds = 3, Seed = 3, Relax = relaxAndOffset, OffsetColumnName = relaxAndOffset ? "Offset" : null, DenseRowsOnly = dense,
        };
        var messages = new List<string>();
        var ml = new MLContext(1);
        ml.Log += (_, e) => { lock (messages) messages.Add(e.Message); };
        using var sparse = ml.Ordinal().Trainers.Presto(Options(dense: false)).Fit(sim.ToDataView(ml));
        Assert.Contains(messages, m => m.Contains("rows (sparse)"));
        using var dense = ml.Ordinal().Trainers.Presto(Options(dense: true)).Fit(sim.ToDataView(ml, dense: true));

        var (a, b) = (sparse.Parameters, dense.Parameters);
        Assert.Equal(b.LambdaPath.Count, a.LambdaPath.Count);
        for (int l = 0; l < a.LambdaPath.Count; l++) Assert.Equal(b.LambdaPath[l], a.LambdaPath[l], 1e-10);
        for (int l = 0; l < a.CrossValidationScores.Count; l++) Assert.Equal(b.CrossValidationScores[l], a.CrossValidationScores[l], 1e-8);
        Assert.Equal(b.LambdaIndex, a.LambdaIndex);
        Assert.Equal(b.Gamma, a.Gamma);
        for (int k = 0; k < a.Intercepts.Count; k++)
        {
            Assert.Equal(b.Intercepts[k], a.Intercepts[k], 1e-6);
            for (int j = 0; j < sim.Slots; j++) Assert.True(Math.Abs(b.Weights[k][j] - a.Weights[k][j]) < 1e-6, $"β[{k}][{j}]: {b.Weights[k][j]} vs {a.Weights[k][j]}");
        }
        // The strongest informative slots are found.
        Assert.All(Enumerable.Range(0, 3), j => Assert.NotEqual(0.0, a.Weights[0][j]));
    }

    [Fact]
    public void A_wide_sparse_fit_stays_within_a_memory_limit_that_dense_rows_exceed()
    {
        const int slots = 20_000;
        var sim = SparseOrdinalSimulation.Generate(2_000, slots, 10, 4, seed: 11);
        var ml = new MLContext(1);
        // A short path: below about λ_max/10 the strong rule lets thousands of noise slots (each in about one row) move, and
        // the Newton steps' Hessian spans them all.
        var options = new PrestoTrainer.Options { NumberOfLambdas = 6, LambdaMinRatio = 0.3, NumberOfFolds = 3, Seed = 1, MemoryLimit = 200L << 20 };
        using var model = ml.Ordinal().Trainers.Presto(options).Fit(sim.ToDataView(ml));
        Assert.Equal(slots, model.FeatureCount);
        Assert.All(Enumerable.Range(0, 3), j => Assert.NotEqual(0.0, model.Parameters.Weights[0][j]));
        var scored = model.Transform(sim.ToDataView(ml)).GetColumn<float[]>("Score").ToArray();
        Assert.Equal(sim.Rows, scored.Length);
        Assert.All(scored, s => Assert.Equal(1.0, s.Sum(), 1e-4));

        // The same rows dense (320 MB of features alone) are refused before they are allocated, by name.
        options.DenseRowsOnly = true;
        var error = Assert.Throws<InsufficientMemoryException>(() => ml.Ordinal().Trainers.Presto(options).Fit(sim.ToDataView(ml)));
        Assert.Contains("2,000 rows × 20,000 features", error.Message);
        Assert.Contains("held dense", error.Message);
    }

    [Fact]
    public void A_fit_over_the_memory_limit_is_refused_with_what_would_fit()
    {
        var sim = SparseOrdinalSimulation.Generate(300, 2_000, 5, 4, seed: 3);
        var ml = new MLContext(1);
        // λ paths: 4 paths × 50 λ × 3 × 2,001 coefficients, well over 1 MB; 6 λ fit.
        var options = new PrestoTrainer.Options { NumberOfLambdas = 50, NumberOfFolds = 3, MemoryLimit = 1L << 20 };
        var error = Assert.Throws<InsufficientMemoryException>(() => ml.Ordinal().Trainers.Presto(options).Fit(sim.ToDataView(ml)));
        Assert.Contains("the memory limit is 1 MB (MemoryLimit)", error.Message);
        Assert.Contains("λ paths", error.Message);
        Assert.Contains("NumberOfLambdas = ", error.Message);

        // TorchSharp takes dense rows only: refused by name, pointing at the managed backend that keeps them sparse.
        var torch = new PrestoTrainer.Options { Lambda = 0.01, Backend = OrdinalSolverBackend.TorchSharp, MemoryLimit = 4L << 20 };
        error = Assert.Throws<InsufficientMemoryException>(() => ml.Ordinal().Trainers.Presto(torch).Fit(sim.ToDataView(ml)));
        Assert.Contains("Backend = Managed", error.Message);

        // Streamed rows are read in dense blocks of 8,192 rows: 2,000 features need about 200 MB of them.
        var streamed = new PrestoTrainer.Options { NumberOfLambdas = 5, NumberOfFolds = 3, StreamData = true, MemoryLimit = 64L << 20 };
        error = Assert.Throws<InsufficientMemoryException>(() => ml.Ordinal().Trainers.Presto(streamed).Fit(sim.ToDataView(ml)));
        Assert.Contains("StreamData = false", error.Message);

        // A Newton step whose Hessians would outgrow a path's share of the limit is no longer refused with rows the kernel
        // can hand out one by one: the working-response solver takes it without a Hessian (PrestoWorkingResponseTests).

        Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ordinal().Trainers.Presto(new PrestoTrainer.Options { MemoryLimit = 0 }).Fit(sim.ToDataView(ml)));
    }
}
