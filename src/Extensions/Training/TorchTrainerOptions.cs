using MLExtensions.Onnx.Runtime;

namespace MLExtensions.Training;

/// <summary>
/// Options every MLExtensions trainer shares, whatever its input columns: label, seed, devices, threads, progress
/// and cancellation.
/// </summary>
public abstract class TrainingOptionsBase
{
    /// <summary>The label column. Default: "Label".</summary>
    public string LabelColumnName { get; set; } = DefaultColumnNames.Label;

    /// <summary>
    /// The random seed for initialisation, shuffling and splits. Default: null, which draws one from the
    /// <c>MLContext</c>, so <c>new MLContext(seed)</c> makes training reproducible.
    /// </summary>
    public int? Seed { get; set; }

    /// <summary>Where TorchSharp trains. Default: <see cref="ComputeDevice.Auto"/>.</summary>
    public ComputeDevice Device { get; set; } = ComputeDevice.Auto;

    /// <summary>Where ONNX Runtime scores the fitted model. Default: <see cref="OnnxExecutionDevice.Cpu"/>.</summary>
    public OnnxExecutionDevice ScoringDevice { get; set; } = OnnxExecutionDevice.Cpu;

    /// <summary>
    /// TorchSharp's intra-op threads during training. Default: null, which uses one thread for models whose
    /// layers are at most 512 wide (faster on small hosts, where thread hand-offs dwarf the work) and TorchSharp's
    /// default otherwise.
    /// </summary>
    public int? NumberOfThreads { get; set; }

    /// <summary>Receives a report after every epoch. Default: null.</summary>
    public IProgress<TrainingProgress>? Progress { get; set; }

    /// <summary>Stops training between steps; <c>Fit</c> then throws <see cref="OperationCanceledException"/>. Default: none.</summary>
    public CancellationToken CancellationToken { get; set; }

    /// <summary>
    /// Checks the options; every message names the option and its value. Trainers call it when they are built and again
    /// when they fit or promise a schema, so a setting changed after the trainer was built is checked as well.
    /// </summary>
    /// <exception cref="ArgumentException">An option is out of range or names no usable column.</exception>
    internal virtual void Validate()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(LabelColumnName, nameof(LabelColumnName));
        if (NumberOfThreads is int threads) ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1, nameof(NumberOfThreads));
    }

    /// <summary>
    /// Settings that are legal but probably not what the user meant (e.g. a warm-up longer than the training), one
    /// message each; <see cref="TrainingRun"/> writes them to the log as warnings when a fit starts.
    /// </summary>
    internal virtual IEnumerable<string> Warnings() => [];

    /// <summary>
    /// Copies the settings every trainer shares onto <paramref name="target"/> (a trainer that runs another one, as NAS
    /// runs the MLP): an option added here reaches the inner trainer without another field-by-field copy.
    /// </summary>
    internal virtual T CopySharedTo<T>(T target) where T : TrainingOptionsBase
    {
        (target.LabelColumnName, target.Seed, target.Device, target.ScoringDevice) = (LabelColumnName, Seed, Device, ScoringDevice);
        (target.NumberOfThreads, target.Progress, target.CancellationToken) = (NumberOfThreads, Progress, CancellationToken);
        return target;
    }
}

/// <summary>Options of the trainers that read a tabular feature vector per row (MLP, NAS, PRESTO).</summary>
public abstract class TorchTrainerOptions : TrainingOptionsBase
{
    /// <summary>The feature column: a known-size vector of <see cref="float"/> (or a single <see cref="float"/>). Default: "Features".</summary>
    public string FeatureColumnName { get; set; } = DefaultColumnNames.Features;

    /// <summary>An optional column of non-negative <see cref="float"/> example weights. Default: null (all rows weigh 1).</summary>
    public string? ExampleWeightColumnName { get; set; }

    internal override void Validate()
    {
        base.Validate();
        ArgumentException.ThrowIfNullOrWhiteSpace(FeatureColumnName, nameof(FeatureColumnName));
        if (ExampleWeightColumnName is not null) ArgumentException.ThrowIfNullOrWhiteSpace(ExampleWeightColumnName, nameof(ExampleWeightColumnName));
    }

    internal override T CopySharedTo<T>(T target)
    {
        base.CopySharedTo(target);
        if (target is TorchTrainerOptions tabular) (tabular.FeatureColumnName, tabular.ExampleWeightColumnName) = (FeatureColumnName, ExampleWeightColumnName);
        return target;
    }
}
