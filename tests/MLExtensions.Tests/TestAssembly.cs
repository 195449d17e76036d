using Xunit;

// Trainings seed libtorch's process-wide generator (TrainingRun), so two running at once would draw from each other's
// stream and break the same-seed-same-model tests; tests run one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
