using System.Runtime.InteropServices;

namespace MLExtensions.Onnx.Runtime;

/// <summary>
/// Turns ONNX Runtime's usage telemetry off for this process unless the user has set <c>ORT_DISABLE_TELEMETRY</c>.
/// </summary>
/// <remarks>
/// ONNX Runtime 1.31 sends usage events to Microsoft from Linux too and keeps a session file (<c>.ses</c>) in the temp
/// folder from the moment its environment is created; a library inside enterprise services should do neither
/// unasked. The switch is the environment variable, read by the native library when its environment is created, so it
/// is set (natively, where .NET keeps its own copy of the environment) when this assembly loads, before any session.
/// Set <c>ORT_DISABLE_TELEMETRY=0</c> before the process starts to keep ONNX Runtime's default.
/// </remarks>
internal static class OnnxRuntimeTelemetry
{
    public const string Variable = "ORT_DISABLE_TELEMETRY";

    /// <summary>Sets the variable to 1 unless it is set already; never throws.</summary>
    public static void DisableUnlessAsked()
    {
        try
        {
            if (Environment.GetEnvironmentVariable(Variable) is not null) return;
            Environment.SetEnvironmentVariable(Variable, "1");
            if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS()) _ = setenv(Variable, "1", 0);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or System.Security.SecurityException)
        {
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int setenv(string name, string value, int overwrite);
}
