using MLExtensions.Ordinal;
using MLExtensions.Studies;
using Xunit;

namespace MLExtensions.Tests.Ordinal;

public class PrestoSolverTests
{
    [Fact]
    public void Screening_by_the_strong_rule_gives_the_unscreened_solution_at_every_lambda()
    {
        // 10 informative features and 30 of noise, so that the strong rule leaves most features out at large λ.
        const int p = 40, boundaries = 3, block = p + 1;
        var sim = OrdinalSimulation.Generate(OrdinalDifferences.Sparse, 600, 10, [0, 2, 4], seed: 11);
        var random = new Random(4);
        var x = new double[sim.Rows * p];
        for (int i = 0; i < sim.Rows; i++)
            for (int j = 0; j < p; j++) x[i * p + j] = j < 10 ? sim.Features[i * 10 + j] : random.NextDouble() * 2 - 1;
        var problem = new OrdinalProblem(x, sim.Labels, Enumerable.Repeat(1.0, sim.Rows).ToArray(), p, boundaries + 1);
        using var kernel = new ManagedCumulativeLogitKernel(problem);
        var free = Enumerable.Repeat(true, boundaries * block).ToArray();
        var factor = Enumerable.Range(0, boundaries * block).Select(c => c % block == 0 ? 0.0 : 1.0).ToArray();
        var solver = new CumulativeLogitSolver(kernel, boundaries, p, free, factor, maxIterations: 100, tolerance: 1e-12);

        // The null model: intercepts at the logits of the cumulative class frequencies, every difference zero.
        var start = new Theta(boundaries, p);
        double cumulative = 0;
        for (int k = 0; k < boundaries; k++)
        {
            cumulative += sim.Labels.Count(y => y == k) / (double)sim.Rows;
            start.Values[k * block] = Math.Log(cumulative / (1 - cumulative));
        }
        var gradient = solver.Gradient(start, out double nullLoss);
        double lambdaMax = Enumerable.Range(0, gradient.Length).Where(c => factor[c] > 0).Max(c => Math.Abs(gradient[c]));
        var previous = new SolverResult(start, nullLoss, 0, true);
        double previousLambda = lambdaMax;
        int restricted = 0;
        foreach (var lambda in Enumerable.Range(0, 15).Select(i => lambdaMax * Math.Pow(0.01, i / 14.0)))
        {
            var screened = solver.SolveScreened(lambda, previousLambda, previous, gradient, out gradient, CancellationToken.None);
            if (screened.AtSolution is { } at && at.Features.Length < p) restricted++;
            var unscreened = solver.Solve(lambda, new SolverResult(previous.Theta, double.NaN, 0, false), null, CancellationToken.None);
            Assert.True(screened.Converged && unscreened.Converged);

            double Objective(SolverResult fit) => fit.Loss + lambda * fit.Theta.Values.Select((v, c) => factor[c] * Math.Abs(v)).Sum();
            Assert.Equal(Objective(unscreened), Objective(screened), 1e-10);
            for (int c = 0; c < gradient.Length; c++) Assert.Equal(unscreened.Theta.Values[c], screened.Theta.Values[c], 1e-6);

            // The optimality conditions of the whole problem, from a gradient computed afresh.
            var g = solver.Gradient(screened.Theta, out _);
            for (int c = 0; c < g.Length; c++)
            {
                double v = screened.Theta.Values[c];
                if (factor[c] == 0) Assert.True(Math.Abs(g[c]) < 1e-7, $"intercept {c}: {g[c]}");
                else if (v == 0) Assert.True(Math.Abs(g[c]) <= lambda * (1 + 1e-7), $"λ = {lambda:G4}, zero coordinate {c}: |g| = {Math.Abs(g[c]):G6}");
                else Assert.True(Math.Abs(g[c] + lambda * Math.Sign(v)) < 1e-7, $"λ = {lambda:G4}, active coordinate {c}: {g[c] + lambda * Math.Sign(v):G3}");
            }
            (previous, previousLambda) = (screened, lambda);
        }
        Assert.True(restricted >= 3, $"the strong rule restricted only {restricted} of 15 solves to fewer features, so the test shows little");

        // A screen that is wrong on purpose: every λ straight from the null model, as if the previous λ were this one,
        // keeps only the coordinates already past the threshold there; the optimality check must add the rest.
        foreach (var lambda in new[] { 0.5, 0.2, 0.05 }.Select(f => f * lambdaMax))
        {
            var screened = solver.SolveScreened(lambda, lambda, new SolverResult(start, nullLoss, 0, true), solver.Gradient(start, out _), out _, CancellationToken.None);
            var unscreened = solver.Solve(lambda, start, CancellationToken.None);
            double Objective(SolverResult fit) => fit.Loss + lambda * fit.Theta.Values.Select((v, c) => factor[c] * Math.Abs(v)).Sum();
            Assert.Equal(Objective(unscreened), Objective(screened), 1e-10);
        }
    }

    [Fact]
    public void Collinear_dummy_features_still_meet_the_optimality_conditions_along_the_path()
    {
        // Survey-like features: two dummy-coded factors (levels drawn per row) and a near copy of one dummy, which make
        // coordinate descent slow and lean on the exact solve of each sign pattern.
        const int n = 800, p = 8, boundaries = 3, block = p + 1;
        var random = new Random(9);
        var x = new double[n * p];
        var labels = new int[n];
        for (int i = 0; i < n; i++)
        {
            int a = random.Next(4), b = random.Next(4);
            for (int l = 1; l < 4; l++) x[i * p + l - 1] = a == l ? 1 : 0;
            for (int l = 1; l < 4; l++) x[i * p + 2 + l] = b == l ? 1 : 0;
            x[i * p + 6] = x[i * p] + 0.01 * (random.NextDouble() - 0.5);
            x[i * p + 7] = random.NextDouble();
            double eta = 0.8 * a - 0.5 * b + (random.NextDouble() - 0.5) * 3;
            labels[i] = eta < -0.5 ? 0 : eta < 1 ? 1 : eta < 2.5 ? 2 : 3;
        }
        // Standardised as the trainer would.
        for (int j = 0; j < p; j++)
        {
            double mean = Enumerable.Range(0, n).Average(i => x[i * p + j]);
            double sd = Math.Sqrt(Enumerable.Range(0, n).Average(i => (x[i * p + j] - mean) * (x[i * p + j] - mean)));
            for (int i = 0; i < n; i++) x[i * p + j] = (x[i * p + j] - mean) / sd;
        }
        var problem = new OrdinalProblem(x, labels, Enumerable.Repeat(1.0, n).ToArray(), p, boundaries + 1);
        using var kernel = new ManagedCumulativeLogitKernel(problem);
        var factor = Enumerable.Range(0, boundaries * block).Select(c => c % block == 0 ? 0.0 : 1.0).ToArray();
        var solver = new CumulativeLogitSolver(kernel, boundaries, p, Enumerable.Repeat(true, boundaries * block).ToArray(), factor, 100, 1e-12);
        var start = new Theta(boundaries, p);
        double cumulative = 0;
        for (int k = 0; k < boundaries; k++)
        {
            cumulative += labels.Count(y => y == k) / (double)n;
            start.Values[k * block] = Math.Log(cumulative / (1 - cumulative));
        }
        var gradient = solver.Gradient(start, out double nullLoss);
        double lambdaMax = Enumerable.Range(0, gradient.Length).Where(c => factor[c] > 0).Max(c => Math.Abs(gradient[c]));
        var previous = new SolverResult(start, nullLoss, 0, true);
        double previousLambda = lambdaMax;
        foreach (var lambda in Enumerable.Range(0, 12).Select(i => lambdaMax * Math.Pow(0.001, i / 11.0)))
        {
            var fit = solver.SolveScreened(lambda, previousLambda, previous, gradient, out gradient, CancellationToken.None);
            Assert.True(fit.Converged, $"λ = {lambda:G4} did not converge");
            var g = solver.Gradient(fit.Theta, out _);
            for (int c = 0; c < g.Length; c++)
            {
                double v = fit.Theta.Values[c];
                double violation = factor[c] == 0 ? Math.Abs(g[c]) : v == 0 ? Math.Max(0, Math.Abs(g[c]) - lambda) : Math.Abs(g[c] + lambda * Math.Sign(v));
                Assert.True(violation < 1e-6, $"λ = {lambda:G4}, coordinate {c}: optimality violated by {violation:G3}");
            }
            (previous, previousLambda) = (fit, lambda);
        }
    }
}
