namespace MLExtensions.Tests;

/// <summary>
/// Finds the project's shared real data sets (../shared/data beside the repository), falling back to the copies the
/// tests carry in TestData/ so that a clone on its own passes too.
/// </summary>
public static class SharedData
{
    public static string Path(string file)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = System.IO.Path.Combine(dir.FullName, "shared", "data", file);
            if (File.Exists(candidate)) return candidate;
        }
        var bundled = System.IO.Path.Combine(AppContext.BaseDirectory, "TestData", file);
        if (File.Exists(bundled)) return bundled;
        throw new FileNotFoundException($"shared/data/{file} was not found above {AppContext.BaseDirectory}; the tests expect the project's shared data beside the repository.");
    }
}
