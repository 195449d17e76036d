namespace MLExtensions.Tests;

/// <summary>Finds the project's shared real data sets (../shared/data beside the repository).</summary>
public static class SharedData
{
    public static string Path(string file)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = System.IO.Path.Combine(dir.FullName, "shared", "data", file);
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException($"shared/data/{file} was not found above {AppContext.BaseDirectory}; the tests expect the project's shared data beside the repository.");
    }
}
