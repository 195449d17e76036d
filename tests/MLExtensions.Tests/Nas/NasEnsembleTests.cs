using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Mlp;
using MLExtensions.Nas;
using MLExtensions.Onnx.Scoring;
using MLExtensions.Torch;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MLExtensions.Tests.Nas;

/// <summary><c>NasTrainer.Options.EnsembleSize</c>: greedy ensemble selection of retrained candidates, exported as one graph.</summary>
public class NasEnsembleTests(ITestOutputHelper output)
{
    private static NasTrainer.Options Small(string label, int ensembleSize)
    {
        var options = Small(label);
        options.EnsembleSize = ensembleSize;
        return options;
    }

    /// <summary>Without <see cref="NasTrainer.Options.EnsembleSize"/>.</summary>
    private static NasTrainer.Options Small(string label) => new()
    {
        LabelColumnName = label,
        Depths = [1, 2],
        Widths = [16, 32],
        Activations = [MlpActivation.Relu, MlpActivation.Tanh],
        SearchEpochs = 3,
        BatchSize = 32,
        LearningRate = 3e-3,
        RetrainEpochs = 25,
        TopK = 3,
        EnsembleSelectionFraction = 0.25,
        Seed = 4,
    };

    [Fact]
    public void Greedy_selection_with_replacement_weights_members_that_cancel_and_drops_the_useless_one()
    {
        var labels = Enumerable.Range(0, 20).Select(i => (float)Math.Sin(i)).ToArray();
        double[] Shifted(double by) => labels.Select(y => y + by).ToArray();
        // A and B err by ±1 (their mean is exact), C by 3; A and B tie alone, so the better-ranked A goes first.
        var outcome = EnsembleSelection.Select(PredictionKind.Regression, [Shifted(1), Shifted(-1), Shifted(3)], labels, null);
        Assert.Equal([1, 1, 0], outcome.Counts);
        Assert.Equal([0.5, 0.5, 0], outcome.Weights);
        Assert.Equal(0, outcome.Loss, 12);
        Assert.Equal([1, 1, 9], outcome.MemberLosses.Select(l => Math.Round(l, 9)));

        // An exact member alone is kept alone: the best prefix is the first round.
        var alone = EnsembleSelection.Select(PredictionKind.Regression, [Shifted(0.5), Shifted(0), Shifted(-2)], labels, null);
        Assert.Equal([0, 1, 0], alone.Counts);

        // Binary log-loss: two over-confident members that are wrong on different rows beat either alone when mixed.
        var binary = new float[] { 1, 0, 1, 0 };
        var outcomeBinary = EnsembleSelection.Select(PredictionKind.BinaryClassification,
            [[0.99, 0.01, 0.001, 0.01], [0.001, 0.01, 0.99, 0.01]], binary, null);
        Assert.True(outcomeBinary.Counts.All(c => c > 0), string.Join(",", outcomeBinary.Counts));
        Assert.True(outcomeBinary.Loss < outcomeBinary.MemberLosses.Min());
    }

    [Theory]
    [InlineData(PredictionKind.Regression)]
    [InlineData(PredictionKind.BinaryClassification)]
    [InlineData(PredictionKind.MulticlassClassification)]
    public void The_ensemble_graph_scores_the_weighted_mean_of_its_members(PredictionKind kind)
    {
        random.manual_seed(11);
        int outputs = kind == PredictionKind.MulticlassClassification ? 3 : 1;
        float shift = kind == PredictionKind.Regression ? 10 : 0, scale = kind == PredictionKind.Regression ? 4 : 1;
        using var a = new MlpNetwork(4, new MlpArchitecture([8], MlpActivation.Relu), outputs, outputShift: shift, outputScale: scale);
        using var b = new MlpNetwork(4, new MlpArchitecture([6, 5], MlpActivation.Tanh, true), outputs, outputShift: shift, outputScale: scale);
        using var c = new MlpNetwork(4, new MlpArchitecture([], MlpActivation.Relu), outputs, outputShift: shift, outputScale: scale);
        MlpNetwork[] members = [a, b, c];
        double[] weights = [0.5, 0.3, 0.2];
        var ensemble = new MlpEnsemble(members, weights, kind);
        var onnx = ensemble.Export("Features", kind == PredictionKind.MulticlassClassification ? ["x", "y", "z"] : null, null);

        // Wide inputs give large logits: the binary combination must stay finite and exact there.
        var generator = new Random(3);
        var values = Enumerable.Range(0, 40 * 4).Select(_ => (float)(generator.NextDouble() * 40 - 20)).ToArray();
        ParityInput[] inputs = [new("Features", values, [40, 4])];
        string compared = kind == PredictionKind.MulticlassClassification ? OnnxOutputHeads.ClassProbabilities : OnnxOutputHeads.RawScore;
        var parity = OnnxParity.Compare(x => ensemble.Forward(x[0]), onnx, inputs, compared);
        Assert.True(parity.RelativeError <= OnnxParity.Tolerance, parity.ToString());

        // Independently of Forward: the members' own outputs, combined in managed double arithmetic.
        var perMember = members.Select(m => Outputs(m, values)).ToArray();
        float[] Expected(IReadOnlyList<ParityInput> _)
        {
            var expected = new float[40 * outputs];
            for (int r = 0; r < 40; r++)
            {
                if (kind == PredictionKind.MulticlassClassification)
                {
                    for (int m = 0; m < members.Length; m++)
                    {
                        var logits = perMember[m].AsSpan(r * outputs, outputs).ToArray();
                        double max = logits.Max(), total = logits.Sum(z => Math.Exp(z - max));
                        for (int k = 0; k < outputs; k++) expected[r * outputs + k] += (float)(weights[m] * Math.Exp(logits[k] - max) / total);
                    }
                }
                else
                {
                    expected[r] = (float)Enumerable.Range(0, members.Length).Sum(m => weights[m] *
                        (kind == PredictionKind.Regression ? perMember[m][r] : 1 / (1 + Math.Exp(-perMember[m][r]))));
                }
            }
            return expected;
        }
        string meaning = kind switch
        {
            PredictionKind.Regression => OnnxOutputHeads.RawScore,
            PredictionKind.BinaryClassification => OnnxOutputHeads.RawProbability,
            _ => OnnxOutputHeads.ClassProbabilities,
        };
        var mean = OnnxParity.Compare(Expected, onnx, inputs, meaning);
        Assert.True(mean.RelativeError <= 1e-5, mean.ToString());
    }

    private static float[] Outputs(MlpNetwork network, float[] values)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return network.forward(tensor(values, [values.Length / network.Inputs, network.Inputs])).data<float>().ToArray();
    }

    [Fact]
    public void Size_one_is_the_model_without_the_option()
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(Synthetic.Rows(150, 21));
        var plain = Small(nameof(Synthetic.Row.Target));
        var withOption = Small(nameof(Synthetic.Row.Target), 1);
        withOption.EnsembleSelectionFraction = 0.5; // unused by a single network
        (withOption.RetrainEpochs, plain.RetrainEpochs) = (3, 3);
        using var without = ml.Nas().Trainers.Regression(plain).Fit(data);
        using var with = ml.Nas().Trainers.Regression(withOption).Fit(data);
        Assert.Equal(without.GetOnnxModel(), with.GetOnnxModel());
        Assert.Null(with.Search.EnsembleMembers);
        Assert.Null(with.Search.EnsembleSelectionLoss);
        // The stored result of a single network says nothing of ensembles, as models saved before the option.
        Assert.DoesNotContain("Ensemble", with.Search.ToJson());
        Assert.DoesNotContain("SelectionLoss", with.Search.ToJson());
    }

    public sealed class Scored { public float Score { get; set; } }

    [Fact]
    public void A_regression_ensemble_weighs_retrained_members_on_rows_none_trained_on_and_round_trips()
    {
        var ml = new MLContext(1);
        var rows = Synthetic.Rows(500, 22);
        var data = ml.Data.LoadFromEnumerable(rows);
        var test = ml.Data.LoadFromEnumerable(Synthetic.Rows(300, 23));
        var options = Small(nameof(Synthetic.Row.Target), 3);
        options.RetrainEpochs = 60;
        using var model = ml.Nas().Trainers.Regression(options).Fit(data);
        var search = model.Search;

        var members = Assert.IsAssignableFrom<IReadOnlyList<RankedArchitecture>>(search.EnsembleMembers);
        Assert.Equal(3, members.Count);
        Assert.Equal(0, search.EnsembleMembersSkipped);
        Assert.Equal(members.Count, members.Select(m => m.Architecture).Distinct().Count());
        Assert.Equal(search.TopArchitectures.Take(3).Select(t => t.Architecture), members.Select(m => m.Architecture));
        Assert.Equal(search.Architecture, model.Architecture);
        var weights = members.Select(m => m.EnsembleWeight ?? double.NaN).ToArray();
        Assert.All(weights, w => Assert.InRange(w, 0, 1));
        Assert.Equal(1, weights.Sum(), 12);
        // With this seed and data the selection mixes members, so the graph of several networks is what was checked.
        Assert.True(weights.Count(w => w > 0) >= 2, string.Join(", ", weights));
        // Weights are counts over the selection rounds.
        Assert.All(weights, w => Assert.Equal(Math.Round(w * EnsembleSelection.Rounds), w * EnsembleSelection.Rounds, 6));
        Assert.True(model.ExportParity.RelativeError <= 1e-5, model.ExportParity.ToString());

        // Members differ, and the ensemble is never worse than the best of them on the selection rows.
        var losses = members.Select(m => m.SelectionLoss ?? double.NaN).ToArray();
        Assert.Equal(losses.Length, losses.Distinct().Count());
        Assert.True(search.EnsembleSelectionLoss <= losses.Min() + 1e-12, $"{search.EnsembleSelectionLoss} against {string.Join(", ", losses)}");

        // The exported graph scores the selection rows with the loss the selection reported.
        var selection = NasTrainer.EnsembleSelectionSplit(options, options.Seed!.Value);
        var held = rows.Where((_, i) => selection.IsValidation(i)).ToArray();
        var heldScores = ml.Data.CreateEnumerable<Scored>(model.Transform(ml.Data.LoadFromEnumerable(held)), false).Select(s => (double)s.Score).ToArray();
        double heldMse = held.Select((r, i) => Math.Pow(heldScores[i] - r.Target, 2)).Average();
        Assert.Equal(search.EnsembleSelectionLoss!.Value, heldMse, search.EnsembleSelectionLoss.Value * 1e-4);

        var metrics = ml.Regression.Evaluate(model.Transform(test), nameof(Synthetic.Row.Target));
        output.WriteLine($"selection MSE: ensemble {search.EnsembleSelectionLoss:F4}, members {string.Join(", ", losses.Select(l => l.ToString("F4")))}; " +
            $"weights {string.Join(", ", weights)}; test MSE {metrics.MeanSquaredError:F4}, R² {metrics.RSquared:F3}");
        Assert.True(metrics.RSquared > 0.8, $"R² {metrics.RSquared}");

        var direct = ml.Data.CreateEnumerable<Scored>(model.Transform(test), false).Select(s => s.Score).ToArray();
        Assert.Equal(direct, ModelRoundTrip.SaveLoadAndScore<float>(model, test, "Score"));
        var path = Path.Combine(Path.GetTempPath(), $"nas-ensemble-{Guid.NewGuid():N}.zip");
        try
        {
            ml.Model.Save(model, data.Schema, path);
            var stored = NasSearchResult.FromSavedModel(path)!;
            Assert.Equal(members, stored.EnsembleMembers);
            Assert.Equal(search.EnsembleSelectionLoss, stored.EnsembleSelectionLoss);
        }
        finally
        {
            File.Delete(path);
        }

        using var again = ml.Nas().Trainers.Regression(options).Fit(data);
        Assert.Equal(model.GetOnnxModel(), again.GetOnnxModel());
    }

    [Fact]
    public void Binary_and_multiclass_ensembles_evaluate_with_ml_net_and_round_trip()
    {
        var ml = new MLContext(2);
        var rows = Synthetic.Rows(400, 24);
        var test = Synthetic.Rows(200, 25);
        using var binary = ml.Nas().Trainers.BinaryClassification(Small(nameof(Synthetic.Row.Positive), 3)).Fit(ml.Data.LoadFromEnumerable(rows));
        var binaryTest = ml.Data.LoadFromEnumerable(test);
        var auc = ml.BinaryClassification.Evaluate(binary.Transform(binaryTest), nameof(Synthetic.Row.Positive)).AreaUnderRocCurve;
        Assert.True(auc > 0.8, $"AUC {auc}");
        Assert.Equal(1, binary.Search.EnsembleMembers!.Sum(m => m.EnsembleWeight!.Value), 12);
        Assert.True(binary.ExportParity.RelativeError <= 1e-5, binary.ExportParity.ToString());
        Assert.Equal(binary.Transform(binaryTest).GetColumn<float>("Probability").ToArray(), ModelRoundTrip.SaveLoadAndScore<float>(binary, binaryTest, "Probability"));

        using var multiclass = ml.Nas().Trainers.MulticlassClassification(Small("Label", 3)).Fit(Synthetic.Keyed(ml, rows));
        var keyedTest = Synthetic.Keyed(ml, test);
        var accuracy = ml.MulticlassClassification.Evaluate(multiclass.Transform(keyedTest)).MacroAccuracy;
        Assert.True(accuracy > 0.5, $"macro accuracy {accuracy}");
        Assert.Equal(1, multiclass.Search.EnsembleMembers!.Sum(m => m.EnsembleWeight!.Value), 12);
        Assert.True(multiclass.Search.EnsembleSelectionLoss <= multiclass.Search.EnsembleMembers!.Min(m => m.SelectionLoss!.Value) + 1e-12);
        output.WriteLine($"binary AUC {auc:F3}, weights {string.Join(", ", binary.Search.EnsembleMembers!.Select(m => m.EnsembleWeight))}; " +
            $"multiclass macro accuracy {accuracy:F3}, weights {string.Join(", ", multiclass.Search.EnsembleMembers!.Select(m => m.EnsembleWeight))}");
    }

    [Fact]
    public void Members_the_time_budget_leaves_no_time_for_are_skipped_and_counted()
    {
        var ml = new MLContext(3);
        var options = Small(nameof(Synthetic.Row.Target), 3);
        // The search takes a fraction of the budget; the pick then retrains until the budget is spent (no epoch limit or
        // early stop), which leaves the other members no time.
        (options.SearchEpochs, options.RetrainEpochs, options.EarlyStoppingPatience) = (1, 100_000, 100_000);
        options.TimeBudget = TimeSpan.FromSeconds(4);
        using var model = ml.Nas().Trainers.Regression(options).Fit(ml.Data.LoadFromEnumerable(Synthetic.Rows(200, 26)));
        Assert.True(model.Search.TopArchitectures.Count >= 3, "the ranking was cut short: the machine is too loaded for this test");
        Assert.Equal(2, model.Search.EnsembleMembersSkipped);
        var member = Assert.Single(model.Search.EnsembleMembers!);
        Assert.Equal(1, member.EnsembleWeight);
        Assert.Equal(model.Search.Architecture, member.Architecture);
    }

    [Theory]
    [InlineData(0, 0.1, nameof(NasTrainer.Options.EnsembleSize))]
    [InlineData(4, 0.1, nameof(NasTrainer.Options.EnsembleSize))]
    [InlineData(2, 0.0, nameof(NasTrainer.Options.EnsembleSelectionFraction))]
    [InlineData(2, 1.0, nameof(NasTrainer.Options.EnsembleSelectionFraction))]
    public void Bad_ensemble_options_are_refused_by_name(int size, double fraction, string name)
    {
        var options = Small(nameof(Synthetic.Row.Target), size);
        options.EnsembleSelectionFraction = fraction;
        Assert.Equal(name, Assert.Throws<ArgumentOutOfRangeException>(() => new MLContext(1).Nas().Trainers.Regression(options)).ParamName);
    }
}
