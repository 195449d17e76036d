using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;

namespace MLExtensions.Tests.Fairness;

/// <summary>Mitigator models saved by earlier versions keep loading and scoring as they did: the saved format is a promise.</summary>
public class MitigatorCompatibilityTests
{
    [Fact]
    public void A_model_saved_by_the_version_before_several_sensitive_columns_still_loads_and_scores_the_same()
    {
        // saved-mitigator-v2.zip: see TestData/README.md. Its decisions on MitigatorTests.Rows(300, 4), as that version gave them.
        const string expected = "000111110111010110010011100010000100000011011000001111010111010001011000110111001100100010100001101110110100001100100111111001111111100000101101000011100010111011110000111101111110000100101010001101010111011100011010011111111100010100110110001100110011001110100001010111010101101000110111000111011001";
        var ml = new MLContext(3);
        var data = ml.Data.LoadFromEnumerable(MitigatorTests.Rows(300, 4));
        var loaded = ml.Model.Load(Path.Combine(AppContext.BaseDirectory, "TestData", "saved-mitigator-v2.zip"), out _);
        Assert.Equal(expected, string.Concat(loaded.Transform(data).GetColumn<bool>("FairPredictedLabel").Select(d => d ? '1' : '0')));
    }
}
