using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using MLExtensions.Equivariant;
using MLExtensions.Onnx.Scoring;
using MLExtensions.Studies;
using Xunit;

namespace MLExtensions.Tests.Equivariant;

/// <summary>Settings that cannot work on the data are refused with a message naming the setting; data in any unit is accepted.</summary>
public class PonitaReliabilityTests
{
    private readonly MLContext _ml = new(1);
    private readonly List<MoleculeRow> _rows = SyntheticMolecules.Generate(24, 1).ToList();

    private static PonitaTrainer.Options Options() => new()
    {
        NumberOfOrientations = 4,
        HiddenSize = 8,
        NumberOfLayers = 1,
        NumberOfEpochs = 1,
        Seed = 1,
    };

    [Fact]
    public void A_model_saved_before_the_memory_guard_counted_points_loads_and_scores_on_both_paths()
    {
        // TestData/saved-ponita.zip: saved by the version before the input contract carried the full memory cost.
        var path = Path.Combine(AppContext.BaseDirectory, "TestData", "saved-ponita.zip");
        var data = _ml.Data.LoadFromEnumerable(SyntheticMolecules.Generate(6, 2).ToList());
        var perRow = _ml.Model.Load(path, out _);
        var batched = _ml.LoadWithBatchedScoring(path, out _);
        try
        {
            var energies = perRow.Transform(data).GetColumn<float>("Score").ToArray();
            Assert.All(energies, e => Assert.True(float.IsFinite(e)));
            Assert.Equal(energies, batched.Transform(data).GetColumn<float>("Score").ToArray());
            var forces = perRow.Transform(data).GetColumn<float[]>("PredictedForces").ToArray();
            Assert.All(forces, f => Assert.All(f, v => Assert.True(float.IsFinite(v))));
            // Saved before the canonical frame: its graph has none, and its description says so.
            Assert.False(PonitaDescription.FromSavedModel(path)!.CanonicalFrame);
        }
        finally
        {
            (perRow as IDisposable)?.Dispose();
            (batched as IDisposable)?.Dispose();
        }
    }

    [Fact]
    public void A_cutoff_below_every_distance_is_refused_naming_the_cutoff_and_the_typical_spacing()
    {
        var options = Options();
        options.Cutoff = 1e-6;
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => _ml.Equivariant().Trainers.Ponita(options).Fit(_ml.Data.LoadFromEnumerable(_rows)));
        Assert.Equal("Cutoff", error.ParamName);
        Assert.Contains("no two points of the training clouds interact", error.Message);
        Assert.Matches(@"nearest neighbour is \d", error.Message);

        var vectors = new PonitaVectorTrainer.Options { NumberOfOrientations = 4, HiddenSize = 8, NumberOfLayers = 1, NumberOfEpochs = 1, Seed = 1, LabelColumnName = "Forces", Cutoff = 1e-6 };
        Assert.Equal("Cutoff", Assert.Throws<ArgumentOutOfRangeException>(() => _ml.Equivariant().Trainers.PonitaVectors(vectors).Fit(_ml.Data.LoadFromEnumerable(_rows))).ParamName);
    }

    [Fact]
    public void Many_isolated_points_are_reported_as_a_warning_in_the_log()
    {
        // Two atoms far from every other in each molecule: a fifth or more of the points have no neighbour.
        var rows = _rows.Select(r => new MoleculeRow
        {
            Positions = [.. r.Positions, 60, 0, 0, 0, 60, 0],
            AtomTypes = [.. r.AtomTypes, 0, 1],
            Label = r.Label,
        }).ToList();
        var warnings = new List<string>();
        _ml.Log += (_, e) =>
        {
            if (e.Kind == ChannelMessageKind.Warning) lock (warnings) warnings.Add(e.Message);
        };
        var options = Options();
        options.Cutoff = 3;
        using var model = _ml.Equivariant().Trainers.Ponita(options).Fit(_ml.Data.LoadFromEnumerable(rows));
        Assert.Contains(warnings, w => w.Contains("have no neighbour within Cutoff = 3") && w.Contains("nearest neighbour"));

        warnings.Clear();
        using var plain = _ml.Equivariant().Trainers.Ponita(Options()).Fit(_ml.Data.LoadFromEnumerable(_rows));
        Assert.DoesNotContain(warnings, w => w.Contains("no neighbour"));
    }

    [Fact]
    public void A_kernel_scale_far_below_the_cutoff_is_refused_naming_the_kernel_scale()
    {
        var options = Options();
        options.KernelScale = 1e-9;
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => _ml.Equivariant().Trainers.Ponita(options).Fit(_ml.Data.LoadFromEnumerable(_rows)));
        Assert.Equal("KernelScale", error.ParamName);
        Assert.StartsWith("KernelScale (1E-09) is", error.Message);
        Assert.Contains("nearest-neighbour distance", error.Message);
    }

    [Fact]
    public void Positions_in_metres_are_accepted_and_true_duplicates_are_refused_with_row_and_points()
    {
        // The same molecules in metres: bonds of about 1e-10.
        var metres = _rows.Select(r => new MoleculeRow { Positions = r.Positions.Select(p => p * 1e-10f).ToArray(), AtomTypes = r.AtomTypes, Label = r.Label }).ToList();
        using var model = _ml.Equivariant().Trainers.Ponita(Options()).Fit(_ml.Data.LoadFromEnumerable(metres));
        Assert.InRange(model.Description.Cutoff, 1e-11, 1e-9);
        Assert.All(model.Transform(_ml.Data.LoadFromEnumerable(metres)).GetColumn<float>("Score"), s => Assert.True(float.IsFinite(s)));

        var duplicate = metres[2];
        var rows = metres.Take(4).Append(new MoleculeRow { Positions = [.. duplicate.Positions, .. duplicate.Positions[3..6]], AtomTypes = [.. duplicate.AtomTypes, 0] }).ToList();
        var error = Assert.Throws<InvalidDataException>(() => _ml.Equivariant().Trainers.Ponita(Options()).Fit(_ml.Data.LoadFromEnumerable(rows)));
        Assert.Contains("Column 'Positions', row 4", error.Message);
        Assert.Contains($"points 1 and {duplicate.AtomTypes.Length} coincide", error.Message);
    }
}
