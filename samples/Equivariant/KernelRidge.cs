using TorchSharp;
using static TorchSharp.torch;

/// <summary>
/// The descriptor baseline of MD17 papers: kernel ridge regression of the energy on inverse pair distances (a
/// Gaussian kernel), with forces as the analytic negative gradient of the fitted energy. Works for one molecule
/// whose atoms keep their order from frame to frame, as in MD17.
/// </summary>
sealed class KernelRidge
{
    private readonly Tensor _descriptors; // [M, D] training descriptors
    private readonly Tensor _weights;     // [M]
    private readonly double _width, _mean;
    private readonly int _atoms;

    private KernelRidge(Tensor descriptors, Tensor weights, double width, double mean, int atoms) =>
        (_descriptors, _weights, _width, _mean, _atoms) = (descriptors, weights, width, mean, atoms);

    public string Settings { get; private init; } = "";

    /// <summary>Fits on frames (positions 3N each) and energies; the kernel width and ridge are chosen on a 10 % hold-out.</summary>
    public static KernelRidge Fit(IReadOnlyList<float[]> positions, IReadOnlyList<float> energies)
    {
        int atoms = positions[0].Length / 3;
        double mean = energies.Average(e => (double)e);
        var all = Descriptors(positions);
        var y = tensor(energies.Select(e => e - mean).ToArray()).to_type(ScalarType.Float64);
        int held = Math.Max(1, positions.Count / 10);
        var distances = cdist(all, all);
        double median = distances.flatten().median().item<double>();
        (double Error, double Width, double Ridge) best = (double.PositiveInfinity, 0, 0);
        foreach (double scale in new[] { 0.1, 0.2, 0.35, 0.5, 0.7, 1, 1.4, 2, 4 })
            foreach (double ridge in new[] { 1e-12, 1e-10, 1e-8, 1e-6, 1e-4, 1e-2 })
            {
                using var scope = NewDisposeScope();
                double width = scale * median;
                var k = Kernel(distances, width);
                int fit = positions.Count - held;
                var alpha = Solve(k.narrow(0, 0, fit).narrow(1, 0, fit), y.narrow(0, 0, fit), ridge);
                double error = (k.narrow(0, fit, held).narrow(1, 0, fit).matmul(alpha) - y.narrow(0, fit, held)).abs().mean().item<double>();
                if (error < best.Error) best = (error, width, ridge);
            }
        var weights = Solve(Kernel(distances, best.Width), y, best.Ridge);
        return new KernelRidge(all, weights, best.Width, mean, atoms) { Settings = $"width {best.Width:G3}, ridge {best.Ridge:G1}" };
    }

    /// <summary>Energy and forces (−∂E/∂x) of one frame.</summary>
    public (double Energy, float[] Forces) Predict(float[] positions)
    {
        using var scope = NewDisposeScope();
        var x = tensor(positions, [_atoms, 3]).to_type(ScalarType.Float64).requires_grad_();
        var d = InverseDistances(x).unsqueeze(0);
        var energy = Kernel(cdist(d, _descriptors), _width).matmul(_weights).sum() + _mean;
        energy.backward();
        return (energy.item<double>(), x.grad!.neg().to_type(ScalarType.Float32).data<float>().ToArray());
    }

    private static Tensor Kernel(Tensor distances, double width) => (distances.square() / (-2 * width * width)).exp();

    private static Tensor Solve(Tensor k, Tensor y, double ridge) =>
        linalg.solve(k + eye(k.shape[0], dtype: ScalarType.Float64) * ridge * k.diagonal().mean().item<double>(), y);

    private static Tensor Descriptors(IReadOnlyList<float[]> positions)
    {
        int atoms = positions[0].Length / 3;
        return stack(positions.Select(p => InverseDistances(tensor(p, [atoms, 3]).to_type(ScalarType.Float64))).ToList()).DetachFromDisposeScope();
    }

    /// <summary>1/r_ij for i &lt; j.</summary>
    private static Tensor InverseDistances(Tensor x)
    {
        int n = (int)x.shape[0];
        var (rows, cols) = (new List<long>(), new List<long>());
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++) { rows.Add(i); cols.Add(j); }
        var difference = x.index_select(0, tensor(rows.ToArray())) - x.index_select(0, tensor(cols.ToArray()));
        return difference.square().sum(1).sqrt().reciprocal();
    }
}
