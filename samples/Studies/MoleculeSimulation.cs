using TorchSharp;
using static TorchSharp.torch;

namespace MLExtensions.Studies;

/// <summary>One generated molecule: positions (3N), atom types (N), energy and exact forces (3N).</summary>
/// <param name="Positions">x, y, z of every atom (3N values).</param>
/// <param name="Types">The type index of every atom, 0 to <see cref="MoleculeSimulation.TypeCount"/> − 1 (N values).</param>
/// <param name="Energy">The potential energy.</param>
/// <param name="Forces">The exact force on every atom, −∂E/∂x (3N values).</param>
public sealed record SimulatedMolecule(float[] Positions, int[] Types, double Energy, float[] Forces);

/// <summary>
/// Small molecule-like point clouds with an analytic potential that has angular terms, so that an invariant model must
/// see more than distances: Morse pair terms per type pair plus three-body terms k·(cos θ_jik − cos θ₀)² damped by the
/// two bond lengths. Energies and forces (−∂E/∂x, exact by automatic differentiation in double precision).
/// </summary>
/// <remarks>
/// <see cref="SyntheticMolecules"/> gives the same molecules as rows for <c>PonitaTrainer</c>.
/// </remarks>
public static class MoleculeSimulation
{
    /// <summary>The number of atom types (indices 0, 1, 2).</summary>
    public const int TypeCount = 3;

    // Scalars held for the life of the process: TorchSharp 0.107 passes on-the-fly scalars (also the hidden alpha = 1
    // of a + b) to libtorch by handle only, and a garbage collection on another thread can free them mid-call. The
    // library's training code does the same (src/Extensions/Torch/HeldScalars.cs; README, "TorchSharp on Debian 12").
    private static readonly Scalar One = 1.0.ToScalar();
    private static readonly Scalar MinusOne = (-1.0).ToScalar();

    private static readonly double[] Depth = [1.0, 0.8, 1.2, 0.8, 0.6, 1.0, 1.2, 1.0, 1.5];
    private static readonly double[] Equilibrium = [1.0, 1.2, 1.1, 1.2, 1.4, 1.3, 1.1, 1.3, 1.2];
    private static readonly double[] Stiffness = [0.6, 0.9, 0.4];
    private static readonly double[] RestAngleCosine = [-0.33, -0.5, 0.0];

    /// <summary><paramref name="count"/> molecules of <paramref name="minAtoms"/>..<paramref name="maxAtoms"/> atoms.</summary>
    public static IEnumerable<SimulatedMolecule> Generate(int count, int seed, int minAtoms = 3, int maxAtoms = 8)
    {
        var random = new Random(seed);
        for (int m = 0; m < count; m++)
        {
            int n = random.Next(minAtoms, maxAtoms + 1);
            var positions = Place(n, random);
            var types = Enumerable.Range(0, n).Select(_ => random.Next(TypeCount)).ToArray();
            var (energy, forces) = EnergyAndForces(positions, types);
            yield return new SimulatedMolecule(positions.Select(v => (float)v).ToArray(), types, energy, forces.Select(v => (float)v).ToArray());
        }
    }

    /// <summary>Random positions with no two atoms closer than 0.8, in a cloud that grows with the atom count.</summary>
    private static double[] Place(int n, Random random)
    {
        var positions = new double[3 * n];
        double size = 1.2 * Math.Cbrt(n);
        for (int i = 0; i < n; i++)
            for (int attempt = 0; ; attempt++)
            {
                for (int d = 0; d < 3; d++) positions[3 * i + d] = (random.NextDouble() * 2 - 1) * size;
                bool clear = true;
                for (int j = 0; j < i && clear; j++)
                {
                    double dx = positions[3 * i] - positions[3 * j], dy = positions[3 * i + 1] - positions[3 * j + 1], dz = positions[3 * i + 2] - positions[3 * j + 2];
                    clear = dx * dx + dy * dy + dz * dz >= 0.64;
                }
                if (clear || attempt > 1000) break;
            }
        return positions;
    }

    /// <summary>The potential's energy and forces −∂E/∂x for flat positions (3N) and types (N).</summary>
    public static (double Energy, double[] Forces) EnergyAndForces(double[] positions, int[] types)
    {
        using var scope = NewDisposeScope();
        int n = types.Length;
        var x = tensor(positions, [n, 3], ScalarType.Float64).requires_grad_();
        var energy = Energy(x, types);
        energy.backward();
        return (energy.item<double>(), x.grad!.neg().data<double>().ToArray());
    }

    /// <summary>The potential of positions [N, 3] (differentiable).</summary>
    public static Tensor Energy(Tensor x, int[] types)
    {
        int n = types.Length;
        var total = zeros(1, ScalarType.Float64);
        var bond = new Tensor?[n, n];
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
            {
                var difference = Minus(x[j], x[i]);
                var r = difference.mul(difference).sum().sqrt();
                int pair = types[i] * TypeCount + types[j];
                using var depth = Depth[pair].ToScalar();
                using var width = 1.5.ToScalar();
                var stretch = Minus(r, full(1, Equilibrium[pair], ScalarType.Float64)).mul(width).neg().exp().neg().add(One, One);
                total = Plus(total, Minus(stretch.mul(stretch), full(1, 1.0, ScalarType.Float64)).mul(depth));
                bond[i, j] = bond[j, i] = difference;
            }
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                for (int k = j + 1; k < n; k++)
                {
                    if (j == i || k == i) continue;
                    var a = i < j ? bond[i, j]! : bond[j, i]!.neg();
                    var b = i < k ? bond[i, k]! : bond[k, i]!.neg();
                    var ra2 = a.mul(a).sum();
                    var rb2 = b.mul(b).sum();
                    var cosine = a.mul(b).sum().div(ra2.mul(rb2).sqrt());
                    using var stiffness = Stiffness[types[i]].ToScalar();
                    using var restCosine = RestAngleCosine[types[i]].ToScalar();
                    var bend = cosine.add(restCosine, MinusOne);
                    var damping = Plus(ra2, rb2).neg().exp();
                    total = Plus(total, bend.mul(bend).mul(damping).mul(stiffness));
                }
        return total.sum();
    }

    private static Tensor Plus(Tensor a, Tensor b) => a.add(b, One);

    private static Tensor Minus(Tensor a, Tensor b) => a.add(b, MinusOne);
}
