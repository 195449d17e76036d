using Microsoft.ML;
using MLExtensions.Onnx.Scoring;
using MLExtensions.Training;

namespace MLExtensions.Mlp;

public sealed partial class MlpTrainer
{
    /// <summary>
    /// Starts a run with this trainer's settings (seed, device, threads) under <paramref name="name"/>: the frame in
    /// which the NAS ensemble logs and scores its members.
    /// </summary>
    internal TrainingRun StartRun(string name, int widestLayer) => TrainingRun.Start(_mlContext, name, _options, widestLayer);

    /// <summary>
    /// Exports the members of positive weight as one ONNX graph (<see cref="MlpEnsemble"/>), compares it with the
    /// members combined in TorchSharp on fresh rows, and builds the scoring chain. A lone member of weight 1 is exported
    /// as a plain network. The model's architecture, history and seed are the first member's (the search's pick).
    /// </summary>
    /// <param name="input">The training data (for the scoring chain's schema).</param>
    /// <param name="members">The trained networks, the search's pick first.</param>
    /// <param name="weights">Each member's weight (0 leaves it out), summing to 1.</param>
    /// <param name="metadata">Asked for before the export; goes into the ONNX model.</param>
    internal TrainedMlp FinishEnsemble(IDataView input, IReadOnlyList<TrainedNetwork> members, IReadOnlyList<double> weights,
        Func<IReadOnlyDictionary<string, string>>? metadata)
    {
        ArgumentNullException.ThrowIfNull(members);
        ArgumentNullException.ThrowIfNull(weights);
        if (members.Count == 0 || members.Count != weights.Count)
            throw new ArgumentException($"{members.Count} members and {weights.Count} weights: one weight per member, at least one member.", nameof(weights));
        var chosen = Enumerable.Range(0, members.Count).Where(i => weights[i] > 0).ToArray();
        var first = members[0];
        using var run = TrainingRun.Start(_mlContext, nameof(MlpTrainer), _options, members.Max(m => m.Architecture.WidestLayer));
        if (chosen.Length == 1)
        {
            var lone = ExportAndFinish(run, input, members[chosen[0]], metadata);
            return lone with { Architecture = first.Architecture, History = first.History };
        }

        var ensemble = new MlpEnsemble(chosen.Select(i => members[i].Network).ToArray(), chosen.Select(i => weights[i]).ToArray(), _kind);
        var onnx = ensemble.Export(_options.FeatureColumnName, first.Classes?.Names, metadata?.Invoke());
        var output = _kind == PredictionKind.MulticlassClassification ? OnnxOutputHeads.ClassProbabilities : OnnxOutputHeads.RawScore;
        var parity = CheckExport(ensemble.Forward, first.Network.Inputs, onnx, output, first.Summary, run.Seed);
        var scoring = Finish(run, input, onnx, first.Classes, parity);
        return new TrainedMlp(scoring, first.Architecture, first.Network.Inputs, first.Classes, first.History, parity.Report, run.Seed);
    }
}
