using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Runtime;
using MLExtensions.Torch;
using TorchSharp;

namespace MLExtensions.Training;

/// <summary>
/// The shared frame of one training run: the seed (from the options or the <see cref="MLContext"/>), the
/// TorchSharp device and thread policy, the native heap's reuse of freed tensors (<see cref="NativeHeapScope"/>), the ML.NET log channel, progress reports and cancellation.
/// </summary>
/// <remarks>
/// Messages go to ML.NET's log (<c>mlContext.Log</c>) under the trainer's name. Seeding sets libtorch's global
/// generator, so two trainings must not run at once in one process if they are to be reproducible.
/// </remarks>
internal sealed class TrainingRun : IDisposable
{
    private readonly IChannel _channel;
    private readonly TorchThreadScope _threads;
    private readonly NativeHeapScope _heap;
    private readonly TrainingOptionsBase _options;
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    private TrainingRun(string trainer, IHost host, TrainingOptionsBase options, int widestLayer)
    {
        Trainer = trainer;
        _options = options;
        Seed = options.Seed ?? host.Rand.Next();   // the convention of Seeds, drawn from the host this run registers
        Device = TorchDevices.Resolve(options.Device);
        _channel = host.Start(trainer);
        _threads = TorchThreadScope.Enter(options.NumberOfThreads, widestLayer);
        _heap = NativeHeapScope.Enter();
        torch.random.manual_seed(Seed);
        Random = new Random(Seed);
        Info($"seed {Seed}, device {Device.type}, {_threads.Threads} thread(s)");
        foreach (var warning in options.Warnings()) Warning(warning);
    }

    /// <summary>The trainer's name, as shown in logs and progress reports.</summary>
    public string Trainer { get; }

    /// <summary>The seed in force.</summary>
    public int Seed { get; }

    /// <summary>The TorchSharp device training runs on.</summary>
    public torch.Device Device { get; }

    /// <summary>A managed random source seeded from <see cref="Seed"/> (shuffling, splits).</summary>
    public Random Random { get; }

    /// <summary>The cancellation token of the run.</summary>
    public CancellationToken CancellationToken => _options.CancellationToken;

    /// <summary>Time since the run started.</summary>
    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>Starts a run for <paramref name="trainer"/> on <paramref name="mlContext"/>.</summary>
    /// <param name="mlContext">Gives the log channel and, without an explicit seed, the seed.</param>
    /// <param name="trainer">The trainer's name.</param>
    /// <param name="options">The trainer's options.</param>
    /// <param name="widestLayer">The widest layer of the network, for the default thread policy.</param>
    public static TrainingRun Start(MLContext mlContext, string trainer, TrainingOptionsBase options, int widestLayer)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(options);
        options.CancellationToken.ThrowIfCancellationRequested();
        return new TrainingRun(trainer, ((IHostEnvironment)mlContext).Register(trainer), options, widestLayer);
    }

    /// <summary>Writes an informational message to ML.NET's log.</summary>
    public void Info(string message) => _channel.Info(MessageSensitivity.None, message);

    /// <summary>Writes a warning to ML.NET's log.</summary>
    public void Warning(string message) => _channel.Warning(MessageSensitivity.None, message);

    /// <summary>Whether the run has gone past <paramref name="deadline"/> (time since it started); never without one.</summary>
    public bool IsPast(TimeSpan? deadline) => deadline is TimeSpan d && Elapsed > d;

    /// <summary>Reports a finished epoch to the log and to <see cref="TrainingOptionsBase.Progress"/>, then checks for cancellation.</summary>
    public void ReportEpoch(TrainingProgress progress)
    {
        Info(progress.ValidationLoss is double v
            ? $"epoch {progress.Epoch}/{progress.TotalEpochs}: loss {progress.TrainingLoss:G5}, validation {v:G5}"
            : $"epoch {progress.Epoch}/{progress.TotalEpochs}: loss {progress.TrainingLoss:G5}");
        _options.Progress?.Report(progress);
        CancellationToken.ThrowIfCancellationRequested();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _threads.Dispose();
        _heap.Dispose();
        _channel.Dispose();
    }
}
