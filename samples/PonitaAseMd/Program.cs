// PonitaAseMd sample: ASE drives molecular dynamics with a trained PONITA model through the i-PI socket protocol.
// Trains PONITA on the shipped ethanol frames (GFN2-xTB, kcal/mol; or loads --model, an ONNX file this sample saved),
// starts ase_md.py (ASE's SocketIOCalculator listening on /tmp/ipi_NAME), and serves the model to it with
// PonitaPotential.ServeIpi("unix:NAME", types) until ASE sends EXIT. ASE runs NVE (energy drift) and Langevin NVT, and
// reports the energy it saw for the first frame, compared here with the model's own.
//   samples/PonitaAseMd/run.sh [--model ponita.onnx] [--epochs 20] [--steps 1000] [--temperature 300]
// (run.sh installs Debian's python3-ase when ASE is missing; or dotnet run --project samples/PonitaAseMd -- --python PATH ...)
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.ML;
using MLExtensions.Equivariant;

string Text(string name, string fallback) => args.SkipWhile(a => a != name).Skip(1).DefaultIfEmpty(fallback).First();
int Arg(string name, int fallback) => int.Parse(Text(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
string python = Text("--python", File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
string? modelPath = args.Contains("--model") ? Text("--model", "ponita.onnx") : null;
int steps = Arg("--steps", 1000);
string temperature = Text("--temperature", "300");

var frames = ExtendedXyz.Read(Path.Combine(AppContext.BaseDirectory, "data", "ethanol-xtb.extxyz.gz"));
var start = frames[^1];   // never used for training below
PonitaPotential potential;
PonitaModel? model = null;
if (modelPath is not null && File.Exists(modelPath))
{
    potential = PonitaPotential.FromOnnx(File.ReadAllBytes(modelPath));
    Console.WriteLine($"Loaded {modelPath}");
}
else
{
    var ml = new MLContext(seed: 1);
    int epochs = Arg("--epochs", 20);
    var clock = Stopwatch.StartNew();
    model = ml.Equivariant().Trainers.Ponita(new PonitaTrainer.Options
    {
        ForcesColumnName = "Forces",
        PredictedForcesColumnName = "PredictedForces",
        NumberOfEpochs = epochs,
        Seed = 1,
    }).Fit(ml.Data.LoadFromEnumerable(frames.Take(frames.Count - 100).ToList()));
    var last = model.Validation.LastOrDefault();
    Console.WriteLine($"Trained PONITA on {frames.Count - 100} ethanol frames, {epochs} epochs in {clock.Elapsed.TotalSeconds:F0} s; " +
                      $"validation MAE energy {last?.EnergyMeanAbsoluteError:F2} kcal/mol, forces {last?.ForceMeanAbsoluteError:F2} kcal/mol/Å");
    if (modelPath is not null)
    {
        model.SaveOnnx(modelPath);
        Console.WriteLine($"Saved {modelPath} (--model {modelPath} loads it next time)");
    }
    potential = model.Potential;
}

// The protocol sends positions only: the types are fixed here, in the order of ASE's atoms (the model's types are
// atomic numbers, as ExtendedXyz reads them, so they are ASE's atoms.numbers).
var types = start.AtomTypes.Select(t => (float)t).ToArray();
string work = Directory.CreateTempSubdirectory("ponita-ase-").FullName;
string startFile = Path.Combine(work, "start.json");
File.WriteAllText(startFile, JsonSerializer.Serialize(new { numbers = start.AtomTypes, positions = start.Positions }));
string socketName = $"ponita-{Environment.ProcessId}";

var ase = new ProcessStartInfo(python) { RedirectStandardOutput = true };
foreach (string a in new[] { Path.Combine(AppContext.BaseDirectory, "ase_md.py"), "--socket", socketName, "--start", startFile,
             "--steps", steps.ToString(CultureInfo.InvariantCulture), "--temperature", temperature })
    ase.ArgumentList.Add(a);
double? aseEnergy = null;
using var process = Process.Start(ase) ?? throw new InvalidOperationException($"Could not start {python}.");
process.OutputDataReceived += (_, e) =>
{
    if (e.Data is null) return;
    if (e.Data.StartsWith("first-energy-eV ", StringComparison.Ordinal))
        aseEnergy = double.Parse(e.Data["first-energy-eV ".Length..], CultureInfo.InvariantCulture);
    else Console.WriteLine(e.Data);
};
process.BeginOutputReadLine();

// ASE creates its socket once Python has imported it: wait for the file, then serve until ASE sends EXIT.
string socketPath = "/tmp/ipi_" + socketName;
var waited = Stopwatch.StartNew();
while (!File.Exists(socketPath))
{
    if (process.HasExited) throw new InvalidOperationException($"{python} ase_md.py exited (code {process.ExitCode}) before listening; is ASE installed? (run.sh installs it)");
    if (waited.Elapsed > TimeSpan.FromMinutes(2)) throw new TimeoutException($"ASE did not create {socketPath} within 2 minutes.");
    Thread.Sleep(100);
}
var served = Stopwatch.StartNew();
int evaluations = potential.ServeIpi("unix:" + socketName, types);
Console.WriteLine($"Served {evaluations} energy-and-forces evaluations over unix:{socketName} in {served.Elapsed.TotalSeconds:F1} s " +
                  $"({evaluations / served.Elapsed.TotalSeconds:F0} per second)");
process.WaitForExit();
if (process.ExitCode != 0) throw new InvalidOperationException($"ase_md.py failed with exit code {process.ExitCode}.");

// kcal/mol → eV through the hartree, as the socket converts (CODATA 2018).
double modelEnergy = potential.Evaluate(start.Positions, types).Energy / 627.509474 * 27.211386245988;
Console.WriteLine($"First frame: ASE saw {aseEnergy:F6} eV, the model says {modelEnergy:F6} eV " +
                  $"(relative difference {Math.Abs((aseEnergy ?? double.NaN) - modelEnergy) / Math.Abs(modelEnergy):E1}; ASE 3.22 converts with CODATA 2014's hartree and bohr)");
if (model is null) potential.Dispose();
else model.Dispose();   // and its potential
Directory.Delete(work, recursive: true);
