using Microsoft.ML.OnnxRuntime;
using MLExtensions.Equivariant;
using MLExtensions.Onnx.Graph;
using Xunit;

namespace MLExtensions.Tests.Equivariant;

/// <summary>Runs self-contained graphs (positions, types, cell in; named outputs out) on ONNX Runtime.</summary>
internal static class SelfContainedRuns
{
    /// <summary>Every output of <paramref name="onnx"/> for one system, by name, as float32 (int64 outputs converted).</summary>
    public static Dictionary<string, float[]> Run(byte[] onnx, float[] positions, float[]? types, float[]? cell, string positionsName = PonitaSelfContainedOptions.Positions)
    {
        using var session = new InferenceSession(onnx);
        return Run(session, positions, types, cell, positionsName);
    }

    /// <summary>The same on an open session: a test that runs one graph many times opens it once (about a second each in Debug).</summary>
    public static Dictionary<string, float[]> Run(InferenceSession session, float[] positions, float[]? types, float[]? cell, string positionsName = PonitaSelfContainedOptions.Positions)
    {
        var inputs = new List<NamedOnnxValue> { NamedOnnxValue.CreateFromTensor(positionsName, new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(positions, [positions.Length / 3, 3])) };
        if (types is not null) inputs.Add(NamedOnnxValue.CreateFromTensor(PonitaSelfContainedOptions.Types, new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(types, [types.Length])));
        if (cell is not null) inputs.Add(NamedOnnxValue.CreateFromTensor(PonitaSelfContainedOptions.Cell, new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(cell, [3, 3])));
        using var results = session.Run(inputs);
        return results.Where(r => !r.Name.StartsWith("mlnet.", StringComparison.Ordinal)).ToDictionary(r => r.Name, r => r.Value switch
        {
            Microsoft.ML.OnnxRuntime.Tensors.Tensor<float> f => f.ToArray(),
            Microsoft.ML.OnnxRuntime.Tensors.Tensor<long> l => l.ToArray().Select(v => (float)v).ToArray(),
            _ => throw new InvalidOperationException($"output {r.Name}: unexpected type"),
        });
    }

    /// <summary>max |a − b| / max |b| (absolute when b is all zero).</summary>
    public static double RelativeError(float[] actual, float[] expected)
    {
        Assert.Equal(expected.Length, actual.Length);
        double error = 0, scale = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            error = Math.Max(error, Math.Abs((double)actual[i] - expected[i]));
            scale = Math.Max(scale, Math.Abs((double)expected[i]));
        }
        return scale > 0 ? error / scale : error;
    }

    /// <summary>A diamond lattice of cubic edge <paramref name="a"/> repeated <paramref name="repeat"/> times each way (8 atoms per cube), some atoms moved out by a lattice vector.</summary>
    public static (float[] Positions, float[] Cell) Diamond(float a, int repeat)
    {
        float[][] basis = [[0, 0, 0], [0, 0.5f, 0.5f], [0.5f, 0, 0.5f], [0.5f, 0.5f, 0], [0.25f, 0.25f, 0.25f], [0.25f, 0.75f, 0.75f], [0.75f, 0.25f, 0.75f], [0.75f, 0.75f, 0.25f]];
        var x = new List<float>();
        float edge = a * repeat;
        for (int i = 0; i < repeat; i++)
            for (int j = 0; j < repeat; j++)
                for (int k = 0; k < repeat; k++)
                    foreach (var b in basis)
                    {
                        int atom = x.Count / 3;
                        float shift = atom % 5 == 0 ? edge : atom % 7 == 0 ? -edge : 0;   // unwrapped atoms: the wrap is exercised
                        x.AddRange([(i + b[0]) * a + shift, (j + b[1]) * a, (k + b[2]) * a - shift]);
                    }
        return ([.. x], [edge, 0, 0, 0, edge, 0, 0, 0, edge]);
    }
}

/// <summary>The radius graph built inside an ONNX graph (<see cref="PonitaOnnxNeighbours"/>) against <see cref="RadiusGraph"/>.</summary>
public class InGraphRadiusGraphTests
{
    /// <summary>The in-graph edges of one system: senders, receivers and (with a cell) the shifts.</summary>
    private static (long[] Senders, long[] Receivers, float[]? Shifts) InGraph(float[] x, float[]? cell, double cutoff, int? maximumNeighbors, bool selfLoops)
    {
        var g = new OnnxGraphBuilder("edges");
        var positions = g.AddInput("x", OnnxElementType.Float, "n", 3);
        var geometry = cell is null ? null : PonitaOnnxCell.Of(g, g.AddInput(PonitaSelfContainedOptions.Cell, OnnxElementType.Float, 3, 3), cutoff);
        var edges = PonitaOnnxNeighbours.Build(g, positions, geometry, cutoff, maximumNeighbors, selfLoops);
        g.AddOutput(g.Identity(edges.Senders, "senders"), OnnxElementType.Int64, "e");
        g.AddOutput(g.Identity(edges.Receivers, "receivers"), OnnxElementType.Int64, "e");
        if (edges.Shifts is { } shifts) g.AddOutput(g.Identity(shifts, "shifts"), OnnxElementType.Float, "e", 3);
        var outputs = SelfContainedRuns.Run(g.ToBytes(), x, null, cell, "x");
        return (outputs["senders"].Select(v => (long)v).ToArray(), outputs["receivers"].Select(v => (long)v).ToArray(), outputs.GetValueOrDefault("shifts"));
    }

    private static void AssertSameEdges(float[] x, float[]? cell, double cutoff, int? maximumNeighbors, bool selfLoops, int atLeast)
    {
        var (senders, receivers, shifts) = InGraph(x, cell, cutoff, maximumNeighbors, selfLoops);
        if (cell is null)
        {
            var (s, r) = RadiusGraph.Build(x, cutoff, maximumNeighbors, selfLoops);
            Assert.True(s.Length >= atLeast, $"only {s.Length} edges");
            Assert.Equal(r, receivers);
            Assert.Equal(s, senders);
            Assert.Null(shifts);
            return;
        }
        var expected = RadiusGraph.BuildPeriodic(x, cell, cutoff, maximumNeighbors, selfLoops);
        Assert.True(expected.Senders.Length >= atLeast, $"only {expected.Senders.Length} edges");
        Assert.Equal(expected.Receivers, receivers);
        Assert.Equal(expected.Senders, senders);
        Assert.Equal(expected.Shifts, shifts!);
    }

    [Theory]
    [InlineData(1, 3.0, 4.0, 6, null, true)]      // thinner than twice the cutoff: several images of one neighbour, self-images
    [InlineData(2, 2.2, 3.1, 3, null, false)]     // thinner than the cutoff itself: two images each way
    [InlineData(3, 6.5, 3.0, 30, null, false)]    // thick
    [InlineData(4, 3.0, 4.0, 6, 5, true)]         // the neighbour limit binds among images
    public void Triclinic_cells_give_the_managed_edges_in_order(int seed, double size, double cutoff, int atoms, int? maximumNeighbors, bool selfLoops)
    {
        var random = new Random(seed);
        var cell = PeriodicCells.Triclinic(random, size);
        var x = PeriodicCells.Atoms(random, cell, atoms);
        AssertSameEdges(x, cell, cutoff, maximumNeighbors, selfLoops, atLeast: atoms);
    }

    [Theory]
    [InlineData(new[] { 2 })]       // a slab: c open
    [InlineData(new[] { 0 })]       // a slab: a open, so the completion is not the last row
    [InlineData(new[] { 1, 2 })]    // a wire along a
    [InlineData(new[] { 0, 1, 2 })] // no periodic direction: the open cluster's edges, zero shifts
    public void Cells_with_zero_lattice_vectors_give_the_managed_edges(int[] open)
    {
        var random = new Random(11 + open.Sum() * 3 + open.Length);
        var cell = PeriodicCells.Triclinic(random, 3.5);
        var x = PeriodicCells.Atoms(random, cell, 8);
        foreach (int k in open) cell[3 * k] = cell[3 * k + 1] = cell[3 * k + 2] = 0;
        AssertSameEdges(x, cell, 3.0, null, false, atLeast: 8);
        AssertSameEdges(x, cell, 3.0, 3, true, atLeast: 8);
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData(6, true)]   // the limit binds: most points have more than 6 neighbours
    public void Open_clouds_give_the_managed_edges_the_cell_list_path_included(int? maximumNeighbors, bool selfLoops)
    {
        var random = new Random(5);
        var x = Enumerable.Range(0, 3 * 70).Select(_ => (float)(4.5 * random.NextDouble())).ToArray();   // 70 points: above RadiusGraph's pair-by-pair size
        var (s, _) = RadiusGraph.Build(x, 2.0);
        if (maximumNeighbors is int k) Assert.True(s.Length > 70 * k, $"the limit does not bind: {s.Length} edges");
        AssertSameEdges(x, null, 2.0, maximumNeighbors, selfLoops, atLeast: 70);
    }

    [Fact]
    public void Ties_under_the_neighbour_limit_go_to_the_lower_sender_and_image_as_in_the_managed_search()
    {
        // A diamond lattice of edge 4 Å holds every nearest-neighbour distance √3 Å exactly tied; a limit of 2 keeps 2 of 4.
        var (x, cell) = SelfContainedRuns.Diamond(4f, 2);
        var (_, receivers, _) = InGraph(x, cell, 2.0, 2, false);
        Assert.Equal(2 * x.Length / 3, receivers.Length);
        AssertSameEdges(x, cell, 2.0, 2, false, atLeast: 2 * 64);
        AssertSameEdges(x, cell, 2.0, null, true, atLeast: 4 * 64);
        // In a cell of one cube (thinner than twice the cutoff of 3 Å: 16 neighbours at 2.83 Å, through several images), a limit of 10.
        var (small, smallCell) = SelfContainedRuns.Diamond(4f, 1);
        AssertSameEdges(small, smallCell, 3.0, 10, true, atLeast: 8 * 11);
        // Not vacuous: every atom has exactly 4 neighbours within 2 Å, at the same distance to the last bit (integer
        // coordinates), so which 2 are kept is decided by the tie rule alone.
        var all = RadiusGraph.BuildPeriodic(x, cell, 2.0);
        Assert.Equal(4 * 64, all.Senders.Length);
    }
}
