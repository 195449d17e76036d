using System.Globalization;

namespace MLExtensions.Equivariant;

/// <summary>
/// The memory check of a PONITA training run, made before the network exists: the weights and optimiser state, plus
/// the largest of a training step (the BatchSize clouds with the most edges and points, together), a validation pass,
/// and the ONNX export with its copies of the spherical kernels and its check.
/// </summary>
/// <param name="Options">The trainer's options (for the message).</param>
/// <param name="Orientations">Orientations of the network (1 for the position-only variant).</param>
/// <param name="Features">Per-point input features.</param>
/// <param name="Step">What a training step computes.</param>
/// <param name="Validation">What a validation pass computes.</param>
/// <param name="ValidationBatch">Clouds per validation pass.</param>
/// <param name="ScoringForces">Whether the exported graph computes forces.</param>
internal sealed record PonitaTrainingMemory(PonitaOptionsBase Options, int Orientations, int Features, PonitaPass Step, PonitaPass Validation, int ValidationBatch,
    bool ScoringForces)
{
    /// <summary>Clouds the export check scores together.</summary>
    private const int ExportCheckClouds = 3;

    /// <summary>A training step's memory model.</summary>
    public PonitaMemoryCost StepCost => Torch(Step);

    /// <summary>Bytes held throughout the run: the weights and the optimiser state.</summary>
    public double Weights => PonitaMemory.Weights(Options.HiddenSize, Options.NumberOfLayers, Features);

    private double ExportCopies => PonitaMemory.Export(Orientations, Options.HiddenSize, Options.NumberOfLayers);

    private PonitaMemoryCost Torch(PonitaPass pass) => PonitaMemory.Torch(Orientations, Options.HiddenSize, Options.NumberOfLayers, Features, pass);

    /// <summary>Refuses, before any radius graph is built, settings whose part independent of the clouds is already too large.</summary>
    public void CheckFixed(double cutoff) => _ = Check(StepCost.Fixed, null, null, ExportCopies, cutoff);

    /// <summary>What to lower when one training cloud alone has too many edges.</summary>
    public string Advice(double cutoff) => Advise(sphereFirst: false, cutoff);

    /// <summary>
    /// Refuses the run when its peak would need more than the budget: the weights and optimiser state, plus the
    /// largest of a training step, a validation pass, and the export with its check.
    /// </summary>
    /// <returns>The estimated peak in bytes.</returns>
    public double Check(IReadOnlyList<GraphSample> training, IReadOnlyList<GraphSample> validation, double cutoff)
    {
        var step = Largest(training, Options.BatchSize);
        double? held = null;
        if (validation.Count > 0)
        {
            var batch = Largest(validation, ValidationBatch);
            held = Torch(Validation).Bytes(batch.Edges, batch.Points);
        }
        var exportCheck = Largest([.. training, .. validation], ExportCheckClouds);
        var scoring = PonitaMemory.Scoring(Orientations, Options.HiddenSize, Options.NumberOfLayers, ScoringForces);
        double export = ExportCopies + Torch(ScoringForces ? PonitaPass.Forces : PonitaPass.Energy).Bytes(exportCheck.Edges, exportCheck.Points)
            + scoring.Bytes(exportCheck.Edges, exportCheck.Points);
        return Check(StepCost.Bytes(step.Edges, step.Points), step, held, export, cutoff);
    }

    /// <summary>The summed edges and points of the <paramref name="count"/> clouds with the most of each (an upper bound for any <paramref name="count"/> of them together).</summary>
    private static (long Edges, long Points) Largest(IReadOnlyList<GraphSample> samples, int count) =>
        (samples.Select(s => (long)s.Edges.Count).OrderDescending().Take(count).Sum(), samples.Select(s => (long)s.Cloud.Count).OrderDescending().Take(count).Sum());

    private double Check(double step, (long Edges, long Points)? batch, double? validation, double export, double cutoff)
    {
        double peak = Weights + Math.Max(step, Math.Max(validation ?? 0, export));
        if (peak <= PonitaMemoryBudget.Budget) return peak;
        double stepSphere = StepCost.Fixed, exportSphere = ExportCopies;
        string GiB(double bytes) => PonitaMemory.GiB(bytes);
        string pairs = $"{Orientations:N0} × {Orientations:N0} orientation pairs";
        string stepText = batch is { } b
            ? $"a training step on the {Options.BatchSize} largest clouds together ({b.Edges:N0} edges, {b.Points:N0} points) {GiB(step)} GiB, {GiB(stepSphere)} GiB of it for the kernels over the {pairs}"
            : $"a training step's kernels over the {pairs} alone {GiB(step)} GiB";
        string validationText = validation is double v ? $"; a validation pass {GiB(v)} GiB" : "";
        bool sphereFirst = stepSphere + exportSphere >= step - stepSphere;
        throw new InsufficientMemoryException(
            $"PONITA training would need about {GiB(peak)} GiB at its peak, {PonitaMemoryBudget.MoreThanAvailable()}. " +
            $"The upper estimate: the weights and optimiser state {GiB(Weights)} GiB, plus the largest of {stepText}{validationText}; " +
            $"the ONNX export with its check {GiB(export)} GiB, {GiB(exportSphere)} GiB of it for copies of the spherical kernels. {Advise(sphereFirst, cutoff)}");
    }

    private string Advise(bool sphereFirst, double cutoff)
    {
        var o = Options;
        string network = $"NumberOfOrientations ({Orientations}{(Orientations > 1 ? "; the spherical kernels grow with its square" : "")}), HiddenSize ({o.HiddenSize}) or NumberOfLayers ({o.NumberOfLayers})";
        string pairs = $"BatchSize ({o.BatchSize}), the Cutoff ({cutoff.ToString("G4", CultureInfo.InvariantCulture)}) or MaximumNeighbors ({(o.MaximumNeighbors?.ToString(CultureInfo.InvariantCulture) ?? "none")}) so that fewer pairs interact";
        return sphereFirst ? $"Lower {network}; then {pairs}." : $"Lower {pairs}; or {network}.";
    }
}
