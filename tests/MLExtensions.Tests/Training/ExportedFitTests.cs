using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Mlp;
using MLExtensions.Onnx.Scoring;
using MLExtensions.Torch;
using MLExtensions.Training;
using Xunit;

namespace MLExtensions.Tests.Training;

public class ExportedFitTests
{
    private static TrainingRun Start(MLContext ml) => TrainingRun.Start(ml, "test", new MlpTrainer.Options { Seed = 1 }, widestLayer: 1);

    [Fact]
    public void An_export_that_disagrees_with_its_model_is_refused_naming_the_output()
    {
        var ml = new MLContext(1);
        using var run = Start(ml);
        var data = ml.Data.LoadFromEnumerable(Synthetic.Rows(10, 1));
        var spec = new OnnxScoringSpec { Model = [], Kind = PredictionKind.Regression, InputColumns = ["Features"] };
        var agrees = new ExportCheck("energy", new ParityReport(1e-7, 1, 3));
        var off = new ExportCheck("forces", new ParityReport(2e-5, 1, 3));

        var error = Assert.Throws<InvalidOperationException>(() => ExportedFit.Finish(run, ml, data, spec, agrees, off));
        Assert.Contains("'forces'", error.Message);
        Assert.Throws<ArgumentException>(() => ExportedFit.Finish(run, ml, data, spec));
        // The allowance is absolute slack on top of the relative tolerance.
        Assert.Throws<InvalidOperationException>(() => ExportedFit.Finish(run, ml, data, spec, new ExportCheck("energy", new ParityReport(0.01, 100, 1))));
        Assert.Equal(0.01, OnnxParity.EnsureAgrees(new ParityReport(0.01, 100, 1), absoluteAllowance: 0.01).MaxAbsoluteError);
    }

    [Fact]
    public void An_export_within_its_absolute_allowance_becomes_a_scoring_chain()
    {
        var ml = new MLContext(1);
        using var run = Start(ml);
        var data = ml.Data.LoadFromEnumerable(MLExtensions.Tests.Onnx.LinearModels.Rows(10, 1));
        var spec = new OnnxScoringSpec
        {
            Model = MLExtensions.Tests.Onnx.LinearModels.Model(PredictionKind.Regression), Kind = PredictionKind.Regression, InputColumns = ["Features"],
        };
        // 0.01 off at a scale of 100 is 1e-4 relative: refused without the allowance (above), accepted with it.
        using var chain = ExportedFit.Finish(run, ml, data, spec, new ExportCheck("energy", new ParityReport(0.01, 100, 1), AbsoluteAllowance: 0.01));
        Assert.Equal(10, chain.Transformer.Transform(data).GetColumn<float>("Score").Count());
    }
}
