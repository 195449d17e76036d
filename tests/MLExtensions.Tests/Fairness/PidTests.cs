using MLExtensions.Fairness.Information;
using Xunit;
using Xunit.Abstractions;

namespace MLExtensions.Tests.Fairness;

public class PidTests(ITestOutputHelper output)
{
    /// <summary>p(z, ŷ, s) for independent uniform bits Z and S and ŷ = f(z, s).</summary>
    private static double[,,] FromFunction(Func<int, int, int> f)
    {
        var p = new double[2, 2, 2];
        for (int z = 0; z < 2; z++)
            for (int s = 0; s < 2; s++) p[z, f(z, s), s] += 0.25;
        return p;
    }

    [Fact]
    public void Prediction_equal_to_Z_with_independent_clients_is_purely_unique()
    {
        var r = PartialInformationDecomposition.Compute(FromFunction((z, s) => z));
        Assert.Equal(1, r.Unique, 9);
        Assert.Equal(0, r.Redundant, 9);
        Assert.Equal(0, r.Synergistic, 9);
        Assert.Equal(0, r.UniqueOther, 9);
    }

    [Fact]
    public void Prediction_equal_to_client_equal_to_Z_is_purely_redundant()
    {
        var p = new double[2, 2, 2];
        p[0, 0, 0] = p[1, 1, 1] = 0.5;
        var r = PartialInformationDecomposition.Compute(p);
        Assert.Equal(0, r.Unique, 9);
        Assert.Equal(1, r.Redundant, 9);
        Assert.Equal(0, r.Synergistic, 9);
        Assert.Equal(0, r.Gap);
    }

    [Fact]
    public void Xor_is_purely_synergistic_global_zero_local_one_bit()
    {
        var r = PartialInformationDecomposition.Compute(FromFunction((z, s) => z ^ s));
        Assert.Equal(0, r.GlobalDisparity, 9);
        Assert.Equal(1, r.LocalDisparity, 9);
        Assert.Equal(0, r.Unique, 9);
        Assert.Equal(0, r.Redundant, 9);
        Assert.Equal(1, r.Synergistic, 9);
    }

    [Fact]
    public void And_matches_the_published_decomposition()
    {
        var r = PartialInformationDecomposition.Compute(FromFunction((z, s) => z & s));
        output.WriteLine($"{r}");
        Assert.Equal(0.311278124459, r.Unique, 9);
        Assert.Equal(0, r.Redundant, 9);
        Assert.Equal(0.188721875540, r.Synergistic, 9);
        Assert.Equal(0.311278124459, r.GlobalDisparity, 9);
        Assert.Equal(0.5, r.LocalDisparity, 9);
        Assert.True(r.Gap <= 1e-9, $"gap {r.Gap}");
    }

    /// <summary>
    /// Uni(Z:Ŷ∖S) for binary Z, Ŷ, S by direct search: each 2×2 slice Q(·,·|z) with fixed margins has one free cell
    /// t_z, and I_Q(Z;Ŷ|S) is jointly convex in (t_0, t_1), so nested golden-section searches find the minimum.
    /// </summary>
    private static double BruteForceUnique(double[,,] joint)
    {
        var p = InformationMeasures.Normalised(joint);
        double Pz(int z) => p[z, 0, 0] + p[z, 0, 1] + p[z, 1, 0] + p[z, 1, 1];
        double A(int z, int y) => (p[z, y, 0] + p[z, y, 1]) / Pz(z);
        double B(int z, int s) => (p[z, 0, s] + p[z, 1, s]) / Pz(z);
        double Lo(int z) => Math.Max(0, B(z, 0) - A(z, 1));
        double Hi(int z) => Math.Min(A(z, 0), B(z, 0));
        double Objective(double t0, double t1)
        {
            var q = new double[2, 2, 2];
            double[] t = [t0, t1];
            for (int z = 0; z < 2; z++)
            {
                double w = Pz(z);
                q[z, 0, 0] = w * t[z];
                q[z, 0, 1] = w * (A(z, 0) - t[z]);
                q[z, 1, 0] = w * (B(z, 0) - t[z]);
                q[z, 1, 1] = w * (A(z, 1) - B(z, 0) + t[z]);
            }
            for (int z = 0; z < 2; z++) for (int y = 0; y < 2; y++) for (int s = 0; s < 2; s++) q[z, y, s] = Math.Max(q[z, y, s], 0);
            return InformationMeasures.ConditionalMutualInformation(q);
        }
        static double Golden(double lo, double hi, Func<double, double> f)
        {
            const double ratio = 0.6180339887498949;
            double a = lo, b = hi, c = b - ratio * (b - a), d = a + ratio * (b - a), fc = f(c), fd = f(d);
            for (int i = 0; i < 200 && b - a > 1e-15; i++)
            {
                if (fc < fd) { b = d; d = c; fd = fc; c = b - ratio * (b - a); fc = f(c); }
                else { a = c; c = d; fc = fd; d = a + ratio * (b - a); fd = f(d); }
            }
            return Math.Min(Math.Min(fc, fd), Math.Min(f(lo), f(hi)));
        }
        return Golden(Lo(0), Hi(0), t0 => Golden(Lo(1), Hi(1), t1 => Objective(t0, t1)));
    }

    [Fact]
    public void Binary_decompositions_match_a_direct_search_and_carry_a_certificate()
    {
        var random = new Random(7);
        int zeros = 0, certified = 0;
        for (int trial = 0; trial < 40; trial++)
        {
            var p = new double[2, 2, 2];
            for (int z = 0; z < 2; z++) for (int y = 0; y < 2; y++) for (int s = 0; s < 2; s++) p[z, y, s] = random.NextDouble() + 0.01;
            var r = PartialInformationDecomposition.Compute(p);
            double expected = BruteForceUnique(p);
            Assert.True(Math.Abs(r.Unique - expected) < 1e-7, $"trial {trial}: {r.Unique} vs direct search {expected}");
            // The certificate bounds the error of the answer; it closes slowly when the optimum lies on the boundary.
            Assert.True(r.Gap <= 1e-6, $"trial {trial}: gap {r.Gap}");
            Assert.True(r.Unique - expected <= r.Gap + 1e-12, $"trial {trial}: above the certified bound");
            if (r.Gap <= 1e-9) certified++;
            if (r.Unique == 0) zeros++;
        }
        output.WriteLine($"{zeros} of 40 random binary joints have zero unique information (proved by the garbling test); {certified} certified to 1e-9 bits");
        Assert.True(certified >= 35, $"only {certified} of 40 certified to 1e-9 bits");
        Assert.InRange(zeros, 1, 39);
    }

    [Fact]
    public void Terms_are_non_negative_and_add_up_on_random_distributions_with_zero_cells()
    {
        var random = new Random(42);
        double worstGap = 0;
        int certified = 0;
        for (int trial = 0; trial < 40; trial++)
        {
            int nz = 2 + trial % 3, ny = 2 + trial % 2, ns = 2 + trial % 5;
            var p = new double[nz, ny, ns];
            for (int z = 0; z < nz; z++)
                for (int y = 0; y < ny; y++)
                    for (int s = 0; s < ns; s++)
                        p[z, y, s] = random.NextDouble() < 0.15 ? 0 : random.NextDouble();
            var r = PartialInformationDecomposition.Compute(p, new PidOptions { MaximumIterations = 5_000 });
            double global = InformationMeasures.MutualInformation(InformationMeasures.Marginal01(p));
            double local = InformationMeasures.ConditionalMutualInformation(p);
            double client = InformationMeasures.MutualInformation(InformationMeasures.Marginal02(p));
            double all = InformationMeasures.JointMutualInformation(p);
            Assert.Equal(global, r.GlobalDisparity, 12);
            Assert.Equal(local, r.LocalDisparity, 12);
            Assert.Equal(global, r.Unique + r.Redundant, 9);
            Assert.Equal(local, r.Unique + r.Synergistic, 9);
            Assert.Equal(client, r.UniqueOther + r.Redundant, 9);
            Assert.Equal(all, r.Unique + r.UniqueOther + r.Redundant + r.Synergistic, 9);
            Assert.True(r.Unique >= 0 && r.UniqueOther >= 0 && r.Redundant >= 0 && r.Synergistic >= 0, r.ToString());
            Assert.True(double.IsFinite(r.Gap), r.ToString());
            if (r.Gap <= 1e-9) certified++;
            worstGap = Math.Max(worstGap, r.Gap);
        }
        // Optima on the boundary of the polytope converge slowly; the gap says how far each answer can be off.
        output.WriteLine($"{certified} of 40 certified to 1e-9 bits within 5,000 iterations; worst gap {worstGap:E2}");
    }

    [Fact]
    public void Plain_measures_are_right_on_known_tables()
    {
        Assert.Equal(1, InformationMeasures.Entropy([1, 1]), 12);
        Assert.Equal(1.5, InformationMeasures.Entropy([2, 1, 1]), 12);
        Assert.Equal(1, InformationMeasures.MutualInformation(new double[,] { { 1, 0 }, { 0, 1 } }), 12);
        Assert.Equal(0, InformationMeasures.MutualInformation(new double[,] { { 1, 1 }, { 1, 1 } }), 12);
        // XOR: I(Z;Ŷ) = 0 but I(Z;Ŷ|S) = 1, so the co-information is −1.
        Assert.Equal(-1, InformationMeasures.CoInformation(FromFunction((z, s) => z ^ s)), 12);
        Assert.Throws<ArgumentException>(() => PartialInformationDecomposition.Compute(new double[2, 2, 2]));
        var bad = new double[2, 2, 2];
        bad[0, 0, 0] = double.NaN;
        Assert.Throws<ArgumentException>(() => PartialInformationDecomposition.Compute(bad));
    }
}

/// <summary>The planar zonotope test for binary Z and Ŷ decides garbling exactly as the linear program does.</summary>
public class GarblingTests
{
    [Fact]
    public void The_zonotope_test_agrees_with_the_linear_program_inside_outside_and_on_the_boundary()
    {
        var random = new Random(5);
        int agreed = 0, inside = 0;
        for (int trial = 0; trial < 400; trial++)
        {
            int clients = 2 + random.Next(6);
            double[] Row()
            {
                var w = Enumerable.Range(0, clients).Select(_ => random.NextDouble() < 0.2 ? 0 : random.NextDouble()).ToArray();
                if (w.Sum() == 0) w[0] = 1;
                double total = w.Sum();
                return w.Select(x => x / total).ToArray();
            }
            var source = new[] { Row(), Row() };
            // A garbling k (sometimes at the box's corners, putting v on the boundary), nudged outward half of the time.
            var k = Enumerable.Range(0, clients).Select(_ => random.NextDouble() < 0.3 ? Math.Round(random.NextDouble()) : random.NextDouble()).ToArray();
            double v0 = source[0].Zip(k, (p, x) => p * x).Sum(), v1 = source[1].Zip(k, (p, x) => p * x).Sum();
            if (trial % 2 == 1) (v0, v1) = (Math.Clamp(v0 + (random.NextDouble() - 0.5) * 0.4, 0, 1), Math.Clamp(v1 + (random.NextDouble() - 0.5) * 0.4, 0, 1));
            var target = new[] { new[] { 1 - v0, v0 }, new[] { 1 - v1, v1 } };
            bool zonotope = MLExtensions.Fairness.Information.Garbling.InZonotope(target, source, 1e-11);
            bool program = MLExtensions.Fairness.Information.Garbling.ByLinearProgram(target, source, 1e-11);
            if (zonotope == program) agreed++;
            if (zonotope) inside++;
        }
        Assert.Equal(400, agreed);
        Assert.InRange(inside, 150, 350);
    }
}
