namespace MLExtensions.Bench;

/// <summary>Receives training progress on the training thread (unlike <see cref="Progress{T}"/>, which posts elsewhere).</summary>
internal sealed class Reporter(Action<MLExtensions.Training.TrainingProgress> report) : IProgress<MLExtensions.Training.TrainingProgress>
{
    public void Report(MLExtensions.Training.TrainingProgress value) => report(value);
}
