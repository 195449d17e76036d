using Microsoft.ML;
using MLExtensions.Onnx.Graph;
using MLExtensions.Onnx.Runtime;
using Xunit;
using Xunit.Abstractions;

namespace MLExtensions.Tests.Onnx;

public class SessionTests(ITestOutputHelper output)
{
    private static byte[] Doubler()
    {
        var g = new OnnxGraphBuilder();
        var x = g.AddInput("x", OnnxElementType.Float, OnnxDim.Batch, 2);
        g.AddOutput(g.Mul(x, g.Scalar(2f), output: "y"), OnnxElementType.Float, OnnxDim.Batch, 2);
        return g.ToBytes();
    }

    [Fact]
    public void Cpu_sessions_report_the_cpu_provider()
    {
        using var session = OnnxModelSession.Create(Doubler(), OnnxExecutionDevice.Cpu);
        Assert.Equal("CPUExecutionProvider", session.Execution.ProviderName);
        Assert.False(session.Execution.UsesCuda);
        Assert.False(session.Execution.FellBackToCpu);
    }

    [Fact]
    public void Cuda_requests_either_run_on_cuda_or_say_why_they_fell_back()
    {
        using var session = OnnxModelSession.Create(Doubler(), OnnxExecutionDevice.CudaWithCpuFallback);
        output.WriteLine(session.Execution.ToString());
        if (session.Execution.UsesCuda)
        {
            Assert.Equal("CUDAExecutionProvider", session.Execution.ProviderName);
            Assert.Null(session.Execution.FallbackReason);
            using var strict = OnnxModelSession.Create(Doubler(), OnnxExecutionDevice.Cuda);
            Assert.True(strict.Execution.UsesCuda);
        }
        else
        {
            Assert.Equal("CPUExecutionProvider", session.Execution.ProviderName);
            Assert.False(string.IsNullOrWhiteSpace(session.Execution.FallbackReason));
            Assert.Contains("fell back", session.Execution.ToString());
            var error = Assert.Throws<InvalidOperationException>(() => OnnxModelSession.Create(Doubler(), OnnxExecutionDevice.Cuda));
            Assert.Contains("CUDA", error.Message);
        }
        Assert.Equal(session.Execution.UsesCuda, OnnxModelSession.Probe(OnnxExecutionDevice.CudaWithCpuFallback).UsesCuda);
    }
}

/// <summary>
/// ML.NET copies a loaded model's ONNX bytes to a file named by <see cref="Path.GetRandomFileName"/>; when that name ends
/// in ".ort", ONNX Runtime reads the bytes as its own format and fails. The batched loader recognises that failure and tries again.
/// </summary>
public class OrtNameClashTests
{
    [Fact]
    public void An_onnx_model_in_a_file_named_ort_fails_as_the_loader_expects()
    {
        var g = new OnnxGraphBuilder();
        var x = g.AddInput("x", OnnxElementType.Float, OnnxDim.Batch, 2);
        g.AddOutput(g.Mul(x, g.Scalar(2f), output: "y"), OnnxElementType.Float, OnnxDim.Batch, 2);
        string folder = Directory.CreateTempSubdirectory("ort-name-").FullName;
        try
        {
            string clash = Path.Combine(folder, "abcdefgh.ort"), fine = Path.Combine(folder, "abcdefgh.onn");
            File.WriteAllBytes(clash, g.ToBytes());
            File.Copy(clash, fine);
            var ml = new MLContext(1);
            var error = Assert.ThrowsAny<Exception>(() => ml.Transforms.ApplyOnnxModel("y", "x", clash));
            Assert.True(MLExtensions.Onnx.Batching.BatchedModelLoader.IsOrtFormatNameClash(error), error.ToString());
            // The same bytes under another random-looking name load (the estimator opens its session at once).
            Assert.NotNull(ml.Transforms.ApplyOnnxModel("y", "x", fine));
            Assert.False(MLExtensions.Onnx.Batching.BatchedModelLoader.IsOrtFormatNameClash(new InvalidOperationException("shape mismatch")));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
