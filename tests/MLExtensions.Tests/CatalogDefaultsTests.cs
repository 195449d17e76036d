using System.Reflection;
using MLExtensions.Equivariant;
using MLExtensions.Nas;
using MLExtensions.Ordinal;
using Xunit;

namespace MLExtensions.Tests;

/// <summary>A catalog method's default arguments are its trainer's option defaults: the two cannot drift apart.</summary>
public class CatalogDefaultsTests
{
    public static TheoryData<Type> TrainerCatalogs => new() { typeof(OrdinalTrainers), typeof(NasTrainers), typeof(EquivariantTrainers) };

    [Theory]
    [MemberData(nameof(TrainerCatalogs))]
    public void Every_defaulted_argument_matches_the_option_of_the_same_name(Type catalog)
    {
        int compared = 0;
        foreach (var method in catalog.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly))
        {
            var optionsType = method.ReturnType.GetNestedType("Options");
            if (optionsType is null || optionsType.GetConstructor(Type.EmptyTypes) is null) continue;
            var defaults = Activator.CreateInstance(optionsType)!;
            foreach (var parameter in method.GetParameters().Where(p => p.HasDefaultValue))
            {
                var option = optionsType.GetProperty(char.ToUpperInvariant(parameter.Name![0]) + parameter.Name[1..]);
                if (option is null) continue;
                var expected = option.GetValue(defaults);
                // An array cannot be a default argument: null there stands for the option's default.
                if (parameter.DefaultValue is null && expected is Array) continue;
                var actual = parameter.ParameterType.IsEnum && parameter.DefaultValue is not null ? Enum.ToObject(parameter.ParameterType, parameter.DefaultValue) : parameter.DefaultValue;
                Assert.True(Equals(expected, actual), $"{catalog.Name}.{method.Name}({parameter.Name} = {actual}) but {optionsType.DeclaringType!.Name}.Options.{option.Name} defaults to {expected}");
                compared++;
            }
        }
        Assert.True(compared >= 2, $"only {compared} defaulted arguments of {catalog.Name} have an option of the same name");
    }
}
