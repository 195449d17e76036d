using MLExtensions.Probes;

// Usage: MLExtensions.Probes <scenario>. Exit code 0 and a last line "OK <scenario>" when the scenario behaved;
// anything else (an exception, a native crash) is a failure the calling test reports.
if (args.Length != 1 || !Scenarios.All.TryGetValue(args[0], out var scenario))
{
    Console.Error.WriteLine($"usage: MLExtensions.Probes <{string.Join("|", Scenarios.All.Keys)}>");
    return 2;
}
scenario();
Console.WriteLine($"OK {args[0]}");
return 0;
