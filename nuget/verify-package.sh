#!/usr/bin/env bash
# Packs MLExtensions and checks what a NuGet consumer gets: XML docs, README, the buildTransitive targets,
# and TorchSharp loading in a fresh consumer project (the native fix applied by the package's targets).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
version="0.0.0-verify.$(date +%s)"
trap 'rm -rf "$work" "${NUGET_PACKAGES:-$HOME/.nuget/packages}/mlextensions/$version" "${NUGET_PACKAGES:-$HOME/.nuget/packages}/mlextensions.onnx/$version" "${NUGET_PACKAGES:-$HOME/.nuget/packages}/mlextensions.plotting/$version"' EXIT

dotnet pack "$root/MLExtensions.sln" -c Release -o "$work/feed" -p:Version="$version" --nologo -v q

listing="$(unzip -l "$work/feed/MLExtensions.$version.nupkg")"
for entry in lib/net10.0/MLExtensions.dll lib/net10.0/MLExtensions.xml README.md \
             buildTransitive/MLExtensions.targets buildTransitive/WeakenElfVersionNeeds.cs; do
  grep -q " $entry\$" <<<"$listing" || { echo "package lacks $entry" >&2; exit 1; }
done
# Listings are captured before grep: `unzip | grep -q` under pipefail fails at random when grep's early exit
# sends unzip SIGPIPE.
# The core package carries no drawing library: charts are the MLExtensions.Plotting package's.
core_nuspec="$(unzip -p "$work/feed/MLExtensions.$version.nupkg" MLExtensions.nuspec)"
if grep -qiE 'id="(ScottPlot|SkiaSharp)' <<<"$core_nuspec"; then echo "MLExtensions depends on a drawing library" >&2; exit 1; fi
plotting_listing="$(unzip -l "$work/feed/MLExtensions.Plotting.$version.nupkg")"
grep -q " lib/net10.0/MLExtensions.Plotting.xml\$" <<<"$plotting_listing" \
  || { echo "MLExtensions.Plotting package lacks its XML docs" >&2; exit 1; }
plotting_nuspec="$(unzip -p "$work/feed/MLExtensions.Plotting.$version.nupkg" MLExtensions.Plotting.nuspec)"
grep -q 'id="ScottPlot"' <<<"$plotting_nuspec" || { echo "MLExtensions.Plotting does not depend on ScottPlot" >&2; exit 1; }
onnx_listing="$(unzip -l "$work/feed/MLExtensions.Onnx.$version.nupkg")"
grep -q " lib/net10.0/MLExtensions.Onnx.xml\$" <<<"$onnx_listing" \
  || { echo "MLExtensions.Onnx package lacks its XML docs" >&2; exit 1; }

mkdir -p "$work/consumer"
cat > "$work/consumer/nuget.config" <<XML
<configuration><packageSources><add key="local" value="$work/feed" /></packageSources></configuration>
XML
cat > "$work/consumer/Consumer.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><OutputType>Exe</OutputType><TargetFramework>net10.0</TargetFramework><ImplicitUsings>enable</ImplicitUsings></PropertyGroup>
  <ItemGroup><PackageReference Include="MLExtensions" Version="$version" /></ItemGroup>
</Project>
XML
cat > "$work/consumer/Program.cs" <<'CS'
using var t = TorchSharp.torch.ones(3) * 2;
var ml = new Microsoft.ML.MLContext(1);
Console.WriteLine($"consumer ok: sum {t.sum().item<float>()}, catalog {MLExtensions.Nas.NasCatalogExtensions.Nas(ml).GetType().Name}");
CS
# The consumer sits outside this repository, so only the package's own targets can fix the native library.
dotnet run --project "$work/consumer" --nologo -v q
