using Microsoft.ML;
using MLExtensions.Ordinal;
using MLExtensions.Studies;
using Xunit;

namespace MLExtensions.Tests.Ordinal;

/// <summary>The working-response solver (block coordinate descent, no Hessian) against the Newton solver that forms it.</summary>
public class PrestoWorkingResponseTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_working_response_path_equals_the_Newton_path_and_the_switch_over_joins_them(bool sparseRows)
    {
        // Dense rows cost every slot in every sweep, so they get a smaller problem (still stored sparse: 10% of the
        // slots set) and a limit that puts the switch-over in the middle of its path too (measured: Newton steps at
        // the first 5 of 12 λ, working-response steps at the other 7).
        var (n, p, nonZerosPerRow, limit) = sparseRows ? (700, 150, 8, 200) : (600, 60, 6, 150);
        const int boundaries = 3;
        int block = p + 1;
        var ml = new MLContext(1);
        var sim = SparseOrdinalSimulation.Generate(n, p, nonZerosPerRow, boundaries + 1, seed: 5, offsetScale: 0.6);
        var options = new PrestoTrainer.Options { OffsetColumnName = "Offset", Lambda = 0.01 };
        var memory = new FitMemory(options, new PathSettings(0.01, 1, 1e-3, 5, false, false, 100, 1e-12, 1), p, boundaries + 1, crossValidates: false, sparseAllowed: true);
        var problem = ((InMemoryOrdinalRows)OrdinalTrainingSet.Load(sim.ToDataView(ml), options, pr => new SparseCumulativeLogitKernel(pr), memory, CancellationToken.None).Rows).Problem;
        Assert.NotNull(problem.Sparse);
        Assert.NotNull(problem.Offsets);
        using ICumulativeLogitKernel kernel = sparseRows ? new SparseCumulativeLogitKernel(problem) : new ManagedCumulativeLogitKernel(problem.Densified());

        var free = Enumerable.Repeat(true, boundaries * block).ToArray();
        var factor = Enumerable.Range(0, boundaries * block).Select(c => c % block == 0 ? 0.0 : 1.0).ToArray();
        CumulativeLogitSolver Solver(int newtonLimit) => new(kernel, boundaries, p, free, factor, maxIterations: 200, tolerance: 1e-12) { NewtonCoordinateLimit = newtonLimit };
        var newton = Solver(int.MaxValue);
        var workingResponse = Solver(0);
        var switching = Solver(limit);
        // The same switch-over when the Hessians (three of D × D) would exceed the memory limit at D > limit.
        var switchingByMemory = new CumulativeLogitSolver(kernel, boundaries, p, free, factor, maxIterations: 200, tolerance: 1e-12)
        {
            NewtonCoordinateLimit = int.MaxValue,
            MemoryLimit = 3L * limit * limit * sizeof(double),
        };

        var start = new Theta(boundaries, p);
        for (int k = 0; k < boundaries; k++) start.Values[k * block] = k - 1.0;
        // The null model's intercepts by Newton (the offsets move them off the class frequencies' logits).
        var nullFit = new CumulativeLogitSolver(kernel, boundaries, p, Enumerable.Range(0, boundaries * block).Select(c => c % block == 0).ToArray(), factor, 200, 1e-12)
            .Solve(0, start, CancellationToken.None);
        var gradient = newton.Gradient(nullFit.Theta, out _);
        double lambdaMax = Enumerable.Range(0, gradient.Length).Where(c => factor[c] > 0).Max(c => Math.Abs(gradient[c]));

        var solvers = new[] { newton, workingResponse, switching, switchingByMemory };
        var paths = solvers.Select(_ => (Previous: nullFit, Gradient: (double[])gradient.Clone())).ToArray();
        double previousLambda = lambdaMax;
        int hessianFree = 0, hessianFormed = 0;
        var lastStart = (Previous: nullFit, Gradient: gradient, Lambda: lambdaMax);
        SolverResult? lastWorkingResponse = null;
        double lastLambda = 0;
        foreach (var lambda in Enumerable.Range(1, 12).Select(i => lambdaMax * Math.Pow(0.01, i / 12.0)))
        {
            lastStart = (paths[1].Previous, paths[1].Gradient, previousLambda);
            var fits = new SolverResult[solvers.Length];
            for (int s = 0; s < solvers.Length; s++)
            {
                fits[s] = solvers[s].SolveScreened(lambda, previousLambda, paths[s].Previous, paths[s].Gradient, out var next, CancellationToken.None);
                Assert.True(fits[s].Converged, $"solver {s} at λ = {lambda:G4} did not converge");
                paths[s] = (fits[s], next);
            }
            // Only the Newton solver keeps the derivatives it formed at the solution.
            if (fits[2].AtSolution is null) hessianFree++;
            else hessianFormed++;
            Assert.Null(fits[1].AtSolution);
            Assert.Equal(fits[2].AtSolution is null, fits[3].AtSolution is null);

            double Objective(SolverResult fit) => fit.Loss + lambda * fit.Theta.Values.Select((v, c) => factor[c] * Math.Abs(v)).Sum();
            for (int s = 1; s < solvers.Length; s++)
            {
                Assert.Equal(Objective(fits[0]), Objective(fits[s]), 1e-10);
                for (int c = 0; c < gradient.Length; c++)
                    Assert.True(Math.Abs(fits[0].Theta.Values[c] - fits[s].Theta.Values[c]) < 1e-6,
                        $"solver {s}, λ = {lambda:G4}, coordinate {c}: {fits[0].Theta.Values[c]} vs {fits[s].Theta.Values[c]}");
            }
            // The optimality conditions of the working-response solution, from a gradient computed afresh.
            var g = newton.Gradient(fits[1].Theta, out _);
            for (int c = 0; c < g.Length; c++)
            {
                double v = fits[1].Theta.Values[c];
                double violation = factor[c] == 0 ? Math.Abs(g[c]) : v == 0 ? Math.Max(0, Math.Abs(g[c]) - lambda) : Math.Abs(g[c] + lambda * Math.Sign(v));
                Assert.True(violation < 1e-7, $"λ = {lambda:G4}, coordinate {c}: optimality violated by {violation:G3}");
            }
            previousLambda = lambda;
            (lastWorkingResponse, lastLambda) = (fits[1], lambda);
        }
        // The same data give the same bits: the last λ solved again by a fresh working-response solver.
        var again = Solver(0).SolveScreened(lastLambda, lastStart.Lambda, lastStart.Previous, lastStart.Gradient, out _, CancellationToken.None);
        Assert.Equal(lastWorkingResponse!.Theta.Values, again.Theta.Values);
        Assert.Equal(lastWorkingResponse.Loss, again.Loss);
        // Along one path the switching solver formed Hessians while the active set was small and stopped once it grew.
        Assert.True(hessianFormed >= 2 && hessianFree >= 2, $"Newton {hessianFormed}, working response {hessianFree} of 12 λ: the switch-over was not exercised");
    }
}
