namespace MLExtensions.Training;

/// <summary>One progress report of a training run, sent to <see cref="TrainingOptionsBase.Progress"/> after every epoch.</summary>
/// <param name="Trainer">The trainer's name.</param>
/// <param name="Epoch">The epoch just finished (1-based).</param>
/// <param name="TotalEpochs">The most epochs the run will take.</param>
/// <param name="TrainingLoss">The mean training loss over the epoch (example-weighted).</param>
/// <param name="ValidationLoss">The loss on the held-out rows, or null without a validation split.</param>
/// <param name="Elapsed">Time since training started.</param>
public sealed record TrainingProgress(string Trainer, int Epoch, int TotalEpochs, double TrainingLoss, double? ValidationLoss, TimeSpan Elapsed);
