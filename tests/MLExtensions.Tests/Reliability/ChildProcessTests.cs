using System.Diagnostics;
using Xunit;

namespace MLExtensions.Tests.Reliability;

/// <summary>
/// Scenarios run in a child process (tests/MLExtensions.Probes): a regression there would crash the process (a freed
/// ONNX Runtime session used after <c>Dispose</c>), or can only be judged once it has ended (what it left in its temp
/// folder after a normal exit, an unhandled exception, or use without <c>Dispose</c>).
/// </summary>
public class ChildProcessTests
{
    [Fact]
    public void Objects_made_from_a_disposed_model_throw_ObjectDisposedException_instead_of_crashing()
    {
        var (exitCode, output, _) = Run("use-after-dispose");
        Assert.True(exitCode == 0, output);
        Assert.Contains("OK use-after-dispose", output);
    }

    [Fact]
    public void Disposing_while_other_threads_score_neither_crashes_nor_corrupts_the_heap()
    {
        var (exitCode, output, _) = Run("dispose-while-scoring");
        Assert.True(exitCode == 0, output);
        Assert.Contains("OK dispose-while-scoring", output);
    }

    [Fact]
    public void Models_fitted_saved_and_loaded_but_never_disposed_leave_no_file_after_a_normal_exit()
    {
        var (exitCode, output, leftBehind) = Run("leave-undisposed");
        Assert.True(exitCode == 0, output);
        Assert.True(leftBehind.Length == 0, string.Join(", ", leftBehind) + "\n" + output);
    }

    [Fact]
    public void Models_alive_when_an_unhandled_exception_ends_the_process_leave_no_file()
    {
        var (exitCode, output, leftBehind) = Run("unhandled-exception");
        Assert.NotEqual(0, exitCode);
        Assert.Contains("probe: unhandled", output);
        Assert.True(leftBehind.Length == 0, string.Join(", ", leftBehind) + "\n" + output);
    }

    /// <summary>Runs a scenario with a fresh temp folder (TMPDIR); returns its exit code, output and what it left there.</summary>
    private static (int ExitCode, string Output, string[] LeftBehind) Run(string scenario)
    {
        var temp = Directory.CreateTempSubdirectory("mlx-probe-");
        try
        {
            var start = new ProcessStartInfo("dotnet", [ProbePath(), scenario])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            start.Environment["TMPDIR"] = temp.FullName;
            start.Environment["DOTNET_DbgEnableMiniDump"] = "0";
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            // Only a hang should fail here: on an idle CI machine the slowest probe takes about 35 s, on a loaded one several minutes.
            if (!process.WaitForExit(TimeSpan.FromMinutes(10)))
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
                throw new TimeoutException($"The probe '{scenario}' did not finish in 10 minutes. Its output so far:\n{stdout.Result}{stderr.Result}");
            }
            var output = stdout.Result + stderr.Result;
            var left = Directory.EnumerateFileSystemEntries(temp.FullName, "*", SearchOption.AllDirectories).ToArray();
            return (process.ExitCode, output, left);
        }
        finally
        {
            temp.Delete(recursive: true);
        }
    }

    /// <summary>The probe console, built beside this test project with the same configuration.</summary>
    private static string ProbePath()
    {
        var testBin = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string framework = testBin.Name, configuration = testBin.Parent!.Name;
        var path = Path.Combine(testBin.Parent.Parent!.Parent!.Parent!.FullName, "MLExtensions.Probes", "bin", configuration, framework, "MLExtensions.Probes.dll");
        Assert.True(File.Exists(path), $"The probe console was not built: {path}");
        return path;
    }
}
