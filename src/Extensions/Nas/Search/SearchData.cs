using MLExtensions.Mlp;
using MLExtensions.Onnx.Scoring;
using MLExtensions.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MLExtensions.Nas;

/// <summary>
/// The search's rows as tensors on the training device, in three disjoint parts: weights are trained on
/// <see cref="Train"/>, gradient search moves α on <see cref="Validation"/>, and candidates are ranked on
/// <see cref="Ranking"/>, which neither ever saw (ranking on α's own rows favours what α overfitted). Architecture
/// search revisits the same rows many times under many paths (and PA&amp;DA draws rows by index), so they are read
/// from the <c>IDataView</c> once.
/// </summary>
internal sealed class SearchData : IDisposable
{
    private SearchData(Part train, Part? validation, Part ranking, PredictionKind kind, float labelScale)
    {
        Train = train;
        Validation = validation;
        Ranking = ranking;
        Kind = kind;
        LabelScale = labelScale.ToScalar();
    }

    /// <summary>Rows of one split.</summary>
    public sealed record Part(Tensor Features, Tensor Labels, Tensor? Weights, int Rows)
    {
        public void Dispose()
        {
            Features.Dispose();
            Labels.Dispose();
            Weights?.Dispose();
        }
    }

    /// <summary>The rows weights are trained on.</summary>
    public Part Train { get; }

    /// <summary>The rows α is trained on (gradient search only; null for single-path strategies).</summary>
    public Part? Validation { get; }

    /// <summary>The rows candidates are ranked on (the α rows when gradient search picks by α alone).</summary>
    public Part Ranking { get; }

    public PredictionKind Kind { get; }

    /// <summary>The label's standard deviation (regression losses are measured on this scale).</summary>
    public TorchSharp.Scalar LabelScale { get; }

    /// <summary>
    /// Reads <paramref name="data"/> once: rows in <paramref name="ranking"/> are ranked on; of the others, those in
    /// <paramref name="validation"/> (when given) train α and the rest train weights. Without a ranking split (gradient
    /// search that picks by α alone) the α rows also score the reported candidates.
    /// </summary>
    /// <exception cref="InvalidDataException">A split ends up empty.</exception>
    public static SearchData Load(TabularData data, ValidationSplit? ranking, ValidationSplit? validation, PredictionKind kind, float labelScale,
        Device device, CancellationToken cancellationToken)
    {
        if (ranking is null && validation is null) throw new ArgumentException("The search needs a ranking or a validation split.", nameof(ranking));
        bool IsRankingRow(long row) => ranking is not null && ranking.IsValidation(row);
        Part Read(Func<long, bool> include, string name)
        {
            var features = new List<float>();
            var labels = new List<float>();
            var weights = new List<float>();
            foreach (var batch in data.ReadBatches(4096, null, 0, include, cancellationToken))
            {
                features.AddRange(batch.Features.AsSpan(0, batch.Count * data.FeatureCount));
                labels.AddRange(batch.Labels.AsSpan(0, batch.Count));
                if (batch.Weights is not null) weights.AddRange(batch.Weights.AsSpan(0, batch.Count));
            }
            if (labels.Count == 0)
                throw new InvalidDataException($"The search's {name} split is empty; use more rows or another validation fraction.");
            return new Part(tensor(features.ToArray(), [labels.Count, data.FeatureCount], device: device), tensor(labels.ToArray(), device: device),
                data.HasWeights ? tensor(weights.ToArray(), device: device) : null, labels.Count);
        }
        bool IsArchitectureRow(long row) => validation is not null && validation.IsValidation(row);
        var parts = new List<Part>();
        try
        {
            var train = Read(row => !IsRankingRow(row) && !IsArchitectureRow(row), "weight-training");
            parts.Add(train);
            var architecture = validation is null ? null : Read(row => !IsRankingRow(row) && IsArchitectureRow(row), "architecture-validation");
            if (architecture is not null) parts.Add(architecture);
            var ranked = ranking is null ? architecture! : Read(IsRankingRow, "ranking");
            if (ranking is not null) parts.Add(ranked);
            return new SearchData(train, architecture, ranked, kind, labelScale);
        }
        catch
        {
            foreach (var part in parts) part.Dispose();
            throw;
        }
    }
    /// <summary>
    /// Weighted mean loss of <paramref name="output"/> on rows <paramref name="index"/> of a split (all rows when null).
    /// With <paramref name="importanceWeights"/> (1/(N·p) of rows drawn with probabilities p), the batch's
    /// importance-weighted sum over its size: an unbiased estimate of the split's mean loss (self-normalising by the
    /// weights' sum would not be).
    /// </summary>
    public Tensor Loss(Part part, Tensor output, Tensor? index, Tensor? importanceWeights = null)
    {
        var labels = index is null ? part.Labels : part.Labels.index_select(0, index);
        var perRow = MlpLoss.PerRow(Kind, output, labels, LabelScale);
        var weights = part.Weights is null ? null : index is null ? part.Weights : part.Weights.index_select(0, index);
        if (importanceWeights is not null)
        {
            var weighted = perRow.mul(importanceWeights);
            if (weights is not null) weighted = weighted.mul(weights).div(part.Weights!.mean());
            return weighted.mean();
        }
        return weights is null ? perRow.mean() : perRow.mul(weights).sum().div(weights.sum().clamp_min(MLExtensions.Torch.HeldScalars.Tiny));
    }

    /// <summary>The weighted mean loss of <paramref name="forward"/> on all rows of <paramref name="part"/>, in chunks without gradients.</summary>
    public double MeanLoss(Part part, Func<Tensor, Tensor> forward)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        const int chunk = 8192;
        double total = 0, weight = 0;
        for (int start = 0; start < part.Rows; start += chunk)
        {
            int count = Math.Min(chunk, part.Rows - start);
            var index = arange(start, start + count, dtype: ScalarType.Int64, device: part.Features.device);
            var perRow = MlpLoss.PerRow(Kind, forward(part.Features.index_select(0, index)), part.Labels.index_select(0, index), LabelScale);
            var w = part.Weights?.index_select(0, index);
            total += (w is null ? perRow.sum() : perRow.mul(w).sum()).item<float>();
            weight += w is null ? count : w.sum().item<float>();
        }
        return total / Math.Max(weight, 1e-12);
    }

    public void Dispose()
    {
        LabelScale.Dispose();
        Train.Dispose();
        Validation?.Dispose();
        if (!ReferenceEquals(Ranking, Validation)) Ranking.Dispose();
    }
}
