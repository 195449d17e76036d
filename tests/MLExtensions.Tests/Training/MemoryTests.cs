using MLExtensions.Mlp;
using Microsoft.ML;
using MLExtensions.Nas;
using Xunit;

namespace MLExtensions.Tests.Training;

public class MemoryTests
{
    private static long LiveTensorsAfterTraining(int epochs)
    {
        var ml = new MLContext(0);
        var data = ml.Data.LoadFromEnumerable(Synthetic.Rows(400, 1));
        long before = TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        var options = new MlpTrainer.Options
        {
            LabelColumnName = "Target", HiddenLayerSizes = [16, 16], NumberOfEpochs = epochs, BatchSize = 8, Seed = 1,
            ValidationFraction = 0.2, EarlyStoppingPatience = 1000,
        };
        using (ml.Nas().Trainers.MlpRegression(options).Fit(data)) { }
        return TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount - before;
    }

    [Fact]
    public void Training_for_many_steps_leaves_no_tensors_behind()
    {
        // 1 epoch is 40 optimiser steps, 15 epochs 600 steps (plus validation passes and best-state copies).
        long shortRun = LiveTensorsAfterTraining(1);
        long longRun = LiveTensorsAfterTraining(15);
        Assert.Equal(shortRun, longRun);
        Assert.True(longRun <= 0, $"{longRun} tensors outlived training");
    }
}
