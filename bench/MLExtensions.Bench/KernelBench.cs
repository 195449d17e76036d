using System.Diagnostics;
using MLExtensions.Ordinal;

namespace MLExtensions.Bench;

/// <summary>Time of one likelihood-derivatives evaluation per backend: what decides the solver backend.</summary>
public static class KernelBench
{
    [System.Runtime.InteropServices.DllImport("libc")]
    private static extern int mallopt(int parameter, int value);

    public static void Run(bool tuneAllocator)
    {
        if (tuneAllocator)
        {
            // glibc: M_MMAP_THRESHOLD (-3) and M_TRIM_THRESHOLD (-1), so large tensors reuse heap memory.
            mallopt(-3, 256 << 20);
            mallopt(-1, 512 << 20);
        }
        Console.WriteLine($"Cumulative-logit derivatives (gradient + Hessian), K = 4, ms per evaluation{(tuneAllocator ? ", glibc allocator tuned" : "")}");
        TorchSharp.torch.set_num_threads(1);
        foreach (var (n, p) in new[] { (1_000, 5), (2_500, 10), (10_000, 10), (20_000, 20), (100_000, 50) })
        {
            var random = new Random(1);
            var x = Enumerable.Range(0, n * p).Select(_ => random.NextDouble() * 2 - 1).ToArray();
            var y = Enumerable.Range(0, n).Select(_ => random.Next(4)).ToArray();
            var problem = new OrdinalProblem(x, y, Enumerable.Repeat(1.0, n).ToArray(), p, 4);
            double[] alpha = [-1, 0, 1];
            var beta = Enumerable.Range(0, 3 * p).Select(i => 0.01 * Math.Sin(i)).ToArray();
            int d = 3 * (p + 1);
            var g = new double[d];
            var h = new double[d * d];
            string Time(ICumulativeLogitKernel kernel)
            {
                kernel.Derivatives(alpha, beta, Enumerable.Range(0, p).ToArray(), g, h, out _);
                var clock = Stopwatch.StartNew();
                int reps = 0;
                while (clock.ElapsedMilliseconds < 500) { kernel.Derivatives(alpha, beta, Enumerable.Range(0, p).ToArray(), g, h, out _); reps++; }
                return $"{clock.Elapsed.TotalMilliseconds / reps,8:F3}";
            }
            using var managed = new ManagedCumulativeLogitKernel(problem);
            using var torch = new TorchCumulativeLogitKernel(problem, TorchSharp.torch.CPU);
            Console.WriteLine($"n = {n,7:N0}, p = {p,2}: managed {Time(managed)}   TorchSharp {Time(torch)}   (n·(p+1)² = {(long)n * (p + 1) * (p + 1):N0})");
        }
    }
}
