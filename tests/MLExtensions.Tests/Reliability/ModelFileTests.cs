using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Onnx;
using MLExtensions.Onnx.Runtime;
using MLExtensions.Onnx.Scoring;
using MLExtensions.Tests.Onnx;
using Xunit;

namespace MLExtensions.Tests.Reliability;

/// <summary>
/// Saving never loses a file and never stores another model: models keep their ONNX bytes in memory and ML.NET reads
/// those (on Linux through a sealed memory file nothing in the temp folder can touch); loaded models leave no copy in
/// the temp folder; <c>SaveOnnx</c> replaces a file whole or not at all.
/// </summary>
public class ModelFileTests
{
    private static OnnxScoredModel Fit(MLContext ml, out IDataView data)
    {
        data = ml.Data.LoadFromEnumerable(LinearModels.Rows(20, 1));
        return LinearModels.Fit(ml, data, PredictionKind.Regression);
    }

    [Fact]
    public void On_Linux_the_model_ML_NET_reads_is_a_sealed_memory_file_no_one_can_replace()
    {
        if (!OperatingSystem.IsLinux()) return;
        var ml = new MLContext(1);
        using var model = Fit(ml, out var data);
        var path = model.ModelFile.Path;
        Assert.StartsWith("/proc/self/fd/", path);
        var write = Assert.ThrowsAny<Exception>(() => File.WriteAllBytes(path, [1, 2, 3]));
        Assert.True(write is IOException or UnauthorizedAccessException, write.ToString());
        Assert.ThrowsAny<Exception>(() => File.Delete(path));
        Assert.Equal(model.GetOnnxModel(), SavedOnnx(ml, model, data));
    }

    [Fact]
    public void A_temp_file_model_that_something_deleted_or_replaced_is_restored_before_ML_NET_saves_it()
    {
        var bytes = LinearModels.Model(PredictionKind.Regression);
        using var file = ModelFile.CreateTempFile(bytes);
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(LinearModels.Rows(5, 1));
        using var transformer = ml.Transforms.ApplyOnnxModel([OnnxOutputHeads.RawScore], ["Features"], file.Path).Fit(data);

        File.Delete(file.Path);
        file.Restore(bytes);
        Assert.Equal(bytes, SavedOnnx(ml, transformer, data));

        File.WriteAllBytes(file.Path, LinearModels.Model(PredictionKind.BinaryClassification));
        file.Restore(bytes);
        Assert.Equal(bytes, SavedOnnx(ml, transformer, data));
        file.Dispose();
        Assert.False(File.Exists(file.Path));
    }

    [Fact]
    public void A_model_loaded_with_batched_scoring_leaves_nothing_in_the_temp_folder_and_saves_from_memory()
    {
        var temp = Directory.CreateTempSubdirectory("mlx-load-");
        try
        {
            var ml = new MLContext(1) { TempFilePath = temp.FullName };
            using var model = Fit(ml, out var data);
            using var saved = new MemoryStream();
            ml.Model.Save(model, data.Schema, saved);

            saved.Position = 0;
            var plain = ml.Model.Load(saved, out _);
            Assert.Single(Directory.GetFiles(temp.FullName)); // ML.NET's own loader copy, deleted on Dispose
            (plain as IDisposable)!.Dispose();
            Assert.Empty(Directory.GetFiles(temp.FullName));

            saved.Position = 0;
            var batched = ml.LoadWithBatchedScoring(saved, out _);
            try
            {
                Assert.Empty(Directory.GetFiles(temp.FullName));
                Assert.Equal(model.Transform(data).GetColumn<float>("Score"), batched.Transform(data).GetColumn<float>("Score"));
                Assert.Equal(model.GetOnnxModel(), SavedOnnx(ml, batched, data));
            }
            finally
            {
                (batched as IDisposable)!.Dispose();
            }
            Assert.Throws<ObjectDisposedException>(() => batched.Transform(data));
        }
        finally
        {
            temp.Delete(recursive: true);
        }
    }

    [Fact]
    public void ML_NET_loader_copies_of_our_models_are_recognised_and_nothing_else_is()
    {
        var ours = LinearModels.Model(PredictionKind.Regression);
        Assert.True(ExitCleanup.IsMLExtensionsModel(ours));
        Assert.False(ExitCleanup.IsMLExtensionsModel("client,sensitive\n"u8));
        Assert.False(ExitCleanup.IsMLExtensionsModel(ours.AsSpan(0, 8)));
    }

    [Fact]
    public void SaveOnnx_replaces_a_file_whole_and_leaves_nothing_beside_it_when_it_fails()
    {
        var ml = new MLContext(1);
        using var model = Fit(ml, out _);
        var folder = Directory.CreateTempSubdirectory("mlx-save-");
        try
        {
            var path = Path.Combine(folder.FullName, "model.onnx");
            File.WriteAllText(path, "an older model");
            model.SaveOnnx(path);
            Assert.Equal(model.GetOnnxModel(), File.ReadAllBytes(path));
            Assert.Single(Directory.GetFiles(folder.FullName));

            Assert.Throws<DirectoryNotFoundException>(() => model.SaveOnnx(Path.Combine(folder.FullName, "missing", "model.onnx")));
            var directory = Directory.CreateDirectory(Path.Combine(folder.FullName, "a-directory.onnx"));
            Assert.ThrowsAny<IOException>(() => model.SaveOnnx(directory.FullName));
            Assert.Single(Directory.GetFiles(folder.FullName));
            Assert.Equal(model.GetOnnxModel(), File.ReadAllBytes(path));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    /// <summary>The ONNX model inside what <c>mlContext.Model.Save</c> writes for <paramref name="model"/>.</summary>
    private static byte[] SavedOnnx(MLContext ml, ITransformer model, IDataView data)
    {
        using var stream = new MemoryStream();
        ml.Model.Save(model, data.Schema, stream);
        stream.Position = 0;
        return OnnxModelInfo.ReadFromSavedModel(stream).Single().Model;
    }
}
