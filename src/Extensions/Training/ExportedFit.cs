using Microsoft.ML;
using MLExtensions.Onnx.Scoring;
using MLExtensions.Torch;

namespace MLExtensions.Training;

/// <summary>One comparison of an ONNX export with the model it came from.</summary>
/// <param name="Output">The ONNX output compared, as named in the log and in the error.</param>
/// <param name="Report">How far apart export and model are.</param>
/// <param name="AbsoluteAllowance">Extra absolute slack (see <see cref="OnnxParity.EnsureAgrees"/>).</param>
internal sealed record ExportCheck(string Output, ParityReport Report, double AbsoluteAllowance = 0);

/// <summary>
/// The road every trainer ends on, after it has exported its model and compared the export with it on fresh inputs:
/// every comparison must agree within <see cref="OnnxParity.Tolerance"/>, the figures go to the log, and the ONNX model
/// becomes the fitted ML.NET scoring chain the trainer's model wraps.
/// </summary>
internal static class ExportedFit
{
    /// <exception cref="InvalidOperationException">An export disagrees with its model (a bug: no model is returned).</exception>
    public static OnnxScoringChain Finish(TrainingRun run, MLContext mlContext, IDataView input, OnnxScoringSpec spec, params ExportCheck[] checks)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (checks.Length == 0) throw new ArgumentException("An export must be compared with its model before it scores.", nameof(checks));
        foreach (var check in checks) OnnxParity.EnsureAgrees(check.Report, check.AbsoluteAllowance, check.Output);
        run.Info("ONNX export: " + string.Join(", ", checks.Select(c => $"{c.Output} {c.Report}")));
        return OnnxScoringChain.Fit(mlContext, input, spec);
    }
}
