using System.ComponentModel;
using System.Reflection;
using Microsoft.ML;
using MLExtensions.Mlp;
using MLExtensions.Nas;
using MLExtensions.Onnx.Scoring;
using Xunit;
using Xunit.Abstractions;

namespace MLExtensions.Tests;

/// <summary>
/// The front door: what a user sees of the three packages. Plumbing that ML.NET's save and load reach by reflection
/// (custom mappings, scoring chains, the ONNX graph builder) stays internal, no OnnxSharp type leaks into a public
/// signature, and trainers refuse a task they cannot fit when they are made, not after training.
/// </summary>
public class PublicSurfaceTests(ITestOutputHelper output)
{
    /// <summary>
    /// The most public types a user browses (those hidden with EditorBrowsableState.Never do not count): raise it only for
    /// a type a user reads or writes (116: NasRegularization, the retraining trials of a search result).
    /// </summary>
    private const int VisibleTypeLimit = 116;

    private static readonly Assembly[] Packages = [typeof(MlpTrainer).Assembly, typeof(OnnxScoredModel).Assembly, typeof(MLExtensions.Plotting.Plots).Assembly];

    private static IEnumerable<Type> Visible => Packages.SelectMany(a => a.GetExportedTypes())
        .Where(t => t.GetCustomAttribute<EditorBrowsableAttribute>()?.State != EditorBrowsableState.Never);

    [Fact]
    public void At_most_the_limit_of_public_types_is_visible()
    {
        var visible = Visible.Select(t => t.FullName!).Order().ToList();
        output.WriteLine($"{visible.Count} visible public types:\n{string.Join("\n", visible)}");
        Assert.True(visible.Count <= VisibleTypeLimit, $"{visible.Count} visible public types (at most {VisibleTypeLimit}): make plumbing internal or hide it");
    }

    [Fact]
    public void No_public_signature_exposes_OnnxSharp_types()
    {
        var onnxSharp = typeof(global::Onnx.ModelProto).Assembly;
        const BindingFlags members = BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        var leaks = new List<string>();
        foreach (var type in Packages.SelectMany(a => a.GetExportedTypes()))
        {
            IEnumerable<(string Member, Type Type)> used = type.GetMethods(members).Where(m => !m.IsSpecialName)
                .SelectMany(m => m.GetParameters().Select(p => (m.Name, p.ParameterType)).Append((m.Name, m.ReturnType)))
                .Concat(type.GetProperties(members).Select(p => (p.Name, p.PropertyType)))
                .Concat(type.GetFields(members).Select(f => (f.Name, f.FieldType)))
                .Concat(type.GetConstructors(BindingFlags.Public | BindingFlags.Instance).SelectMany(c => c.GetParameters().Select(p => (".ctor", p.ParameterType))))
                .Append(("base", type.BaseType ?? typeof(object)));
            foreach (var (member, used1) in used)
                if (Mentions(used1, onnxSharp)) leaks.Add($"{type.FullName}.{member}: {used1}");
        }
        Assert.True(leaks.Count == 0, "OnnxSharp types in public signatures:\n" + string.Join("\n", leaks));
    }

    [Fact]
    public void The_core_packages_reference_no_drawing_library()
    {
        // Charts live in MLExtensions.Plotting, so that the core carries neither ScottPlot nor SkiaSharp's native assets.
        foreach (var package in Packages.Where(a => a != typeof(MLExtensions.Plotting.Plots).Assembly))
        {
            var drawing = package.GetReferencedAssemblies().Select(a => a.Name!).Where(n => n.StartsWith("ScottPlot", StringComparison.Ordinal) || n.StartsWith("SkiaSharp", StringComparison.Ordinal)).ToList();
            Assert.True(drawing.Count == 0, $"{package.GetName().Name} references {string.Join(", ", drawing)}");
        }
        Assert.Contains(typeof(MLExtensions.Plotting.Plots).Assembly.GetReferencedAssemblies(), a => a.Name == "ScottPlot");
    }

    private static bool Mentions(Type type, Assembly assembly) =>
        type.Assembly == assembly
        || (type.HasElementType && Mentions(type.GetElementType()!, assembly))
        || (type.IsGenericType && type.GetGenericArguments().Any(a => Mentions(a, assembly)));

    public static TheoryData<PredictionKind> Untrainable => new() { PredictionKind.Outputs, (PredictionKind)42 };

    [Theory]
    [MemberData(nameof(Untrainable))]
    public void Trainers_refuse_a_kind_they_cannot_train_when_made(PredictionKind kind)
    {
        var ml = new MLContext(1);
        var mlp = Assert.Throws<ArgumentOutOfRangeException>(() => new MlpTrainer(ml, new MlpTrainer.Options(), kind));
        Assert.Equal("kind", mlp.ParamName);
        Assert.Contains("MlpTrainer", mlp.Message);
        var nas = Assert.Throws<ArgumentOutOfRangeException>(() => new NasTrainer(ml, new NasTrainer.Options(), kind));
        Assert.Equal("kind", nas.ParamName);
        foreach (var good in new[] { PredictionKind.Regression, PredictionKind.BinaryClassification, PredictionKind.MulticlassClassification })
        {
            _ = new MlpTrainer(ml, new MlpTrainer.Options(), good);
            _ = new NasTrainer(ml, new NasTrainer.Options(), good);
        }
    }
}
