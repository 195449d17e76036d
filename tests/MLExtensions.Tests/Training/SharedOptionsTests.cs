using System.Reflection;
using MLExtensions.Mlp;
using MLExtensions.Nas;
using MLExtensions.Training;
using Xunit;

namespace MLExtensions.Tests.Training;

public class SharedOptionsTests
{
    [Fact]
    public void Every_shared_setting_reaches_the_inner_trainer()
    {
        using var cancel = new CancellationTokenSource();
        var outer = new NasTrainer.Options
        {
            LabelColumnName = "Y", FeatureColumnName = "X", ExampleWeightColumnName = "W", Seed = 17, Device = ComputeDevice.Cpu,
            ScoringDevice = MLExtensions.Onnx.Runtime.OnnxExecutionDevice.Cuda, NumberOfThreads = 3,
            Progress = new SynchronousProgress<TrainingProgress>(_ => { }), CancellationToken = cancel.Token,
        };
        var inner = outer.CopySharedTo(new MlpTrainer.Options());
        // Every settable property the two option classes inherit from the shared bases must have been copied.
        var shared = typeof(TorchTrainerOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite).ToArray();
        Assert.True(shared.Length >= 9);
        foreach (var property in shared) Assert.Equal(property.GetValue(outer), property.GetValue(inner));
    }
}
