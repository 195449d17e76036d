using MLExtensions.Onnx.Scoring;
using MLExtensions.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MLExtensions.Nas;

/// <summary>
/// The search's training and validation rows as tensors on the training device: architecture search revisits the
/// same rows many times under many paths (and PA&amp;DA draws rows by index), so they are read from the
/// <c>IDataView</c> once.
/// </summary>
internal sealed class SearchData : IDisposable
{
    private SearchData(Part train, Part validation, PredictionKind kind, float labelScale)
    {
        Train = train;
        Validation = validation;
        Kind = kind;
        LabelScale = labelScale.ToScalar();
    }

    /// <summary>Rows of one split.</summary>
    public sealed record Part(Tensor Features, Tensor Labels, Tensor? Weights, int Rows);

    public Part Train { get; }

    public Part Validation { get; }

    public PredictionKind Kind { get; }

    /// <summary>The label's standard deviation (regression losses are measured on this scale).</summary>
    public TorchSharp.Scalar LabelScale { get; }

    /// <summary>Reads <paramref name="data"/> once, splitting rows by <paramref name="split"/>.</summary>
    /// <exception cref="InvalidDataException">A split ends up empty.</exception>
    public static SearchData Load(TabularData data, ValidationSplit split, PredictionKind kind, float labelScale, Device device, CancellationToken cancellationToken)
    {
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
        var train = Read(split.IsTraining, "training");
        try
        {
            return new SearchData(train, Read(split.IsValidation, "validation"), kind, labelScale);
        }
        catch
        {
            train.Features.Dispose();
            train.Labels.Dispose();
            train.Weights?.Dispose();
            throw;
        }
    }
    /// <summary>Weighted mean loss of <paramref name="output"/> on rows <paramref name="index"/> of a split (all rows when null).</summary>
    public Tensor Loss(Part part, Tensor output, Tensor? index, Tensor? rowWeights = null)
    {
        var labels = index is null ? part.Labels : part.Labels.index_select(0, index);
        var perRow = MlpLoss.PerRow(Kind, output, labels, LabelScale);
        var weights = part.Weights is null ? null : index is null ? part.Weights : part.Weights.index_select(0, index);
        if (rowWeights is not null) weights = weights is null ? rowWeights : weights * rowWeights;
        return weights is null ? perRow.mean() : perRow.mul(weights).sum().div(weights.sum().clamp_min(MLExtensions.Torch.HeldScalars.Tiny));
    }

    /// <summary>The validation loss of <paramref name="forward"/>, evaluated in chunks without gradients.</summary>
    public double ValidationLoss(Func<Tensor, Tensor> forward)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        const int chunk = 8192;
        double total = 0, weight = 0;
        for (int start = 0; start < Validation.Rows; start += chunk)
        {
            int count = Math.Min(chunk, Validation.Rows - start);
            var index = arange(start, start + count, dtype: ScalarType.Int64, device: Validation.Features.device);
            var perRow = MlpLoss.PerRow(Kind, forward(Validation.Features.index_select(0, index)), Validation.Labels.index_select(0, index), LabelScale);
            var w = Validation.Weights?.index_select(0, index);
            total += (w is null ? perRow.sum() : perRow.mul(w).sum()).item<float>();
            weight += w is null ? count : w.sum().item<float>();
        }
        return total / Math.Max(weight, 1e-12);
    }

    public void Dispose()
    {
        LabelScale.Dispose();
        foreach (var part in new[] { Train, Validation })
        {
            part.Features.Dispose();
            part.Labels.Dispose();
            part.Weights?.Dispose();
        }
    }
}
