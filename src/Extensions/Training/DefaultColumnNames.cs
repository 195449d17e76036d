namespace MLExtensions.Training;

/// <summary>The column names options and catalogs default to (ML.NET's conventions), in one place.</summary>
internal static class DefaultColumnNames
{
    public const string Label = "Label";
    public const string Features = "Features";
    public const string Score = "Score";
    public const string Positions = "Positions";
    public const string AtomTypes = "AtomTypes";
    public const string PredictedVectors = "PredictedVectors";
}
