// PonitaAseMd sample: ASE drives molecular dynamics with a trained PONITA model through the i-PI socket protocol.
// By default it trains PONITA on the shipped ethanol frames (GFN2-xTB, kcal/mol); with --data it trains on any extended
// XYZ file, periodic ones included (cells, stress), e.g. the LAMMPS silicon that run.sh --silicon generates. It reports
// the held-out errors (--test FILE, or the last 100 frames, a fifth of a small file), for a periodic model the lattice checks and one evaluation
// of a ~10,000-atom cell, then starts ase_md.py (ASE's SocketIOCalculator listening on /tmp/ipi_NAME) and serves the
// model to it with PonitaPotential.ServeIpi("unix:NAME", types) until ASE sends EXIT. ASE runs NVE (energy drift) and
// Langevin NVT and reports the energy it saw for the first frame, compared here with the model's own.
//   samples/PonitaAseMd/run.sh [--silicon] [--model ponita.onnx] [--epochs N] [--orientations N] [--steps N] [--temperature K] [--timestep FS]
//   dotnet run --project samples/PonitaAseMd -- [--data train.extxyz.gz [--test test.extxyz.gz] --unit eV] [--python PATH] ...
// (run.sh installs Debian's python3-ase when ASE is missing, and for --silicon LAMMPS, and generates the data.)
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.ML;
using MLExtensions.Equivariant;

string Text(string name, string fallback) => args.SkipWhile(a => a != name).Skip(1).DefaultIfEmpty(fallback).First();
int Arg(string name, int fallback) => int.Parse(Text(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
string python = Text("--python", File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
string? modelPath = args.Contains("--model") ? Text("--model", "ponita.onnx") : null;
string dataPath = Text("--data", Path.Combine(AppContext.BaseDirectory, "data", "ethanol-xtb.extxyz.gz"));
var unit = Text("--unit", "kcal/mol").ToLowerInvariant() switch
{
    "kcal/mol" => PonitaEnergyUnit.KilocaloriePerMole,
    "ev" => PonitaEnergyUnit.ElectronVolt,
    "hartree" => PonitaEnergyUnit.Hartree,
    "kj/mol" => PonitaEnergyUnit.KilojoulePerMole,
    var other => throw new ArgumentException($"--unit '{other}': use kcal/mol, eV, hartree or kJ/mol."),
};
// eV per unit of the model's energies (CODATA 2018, as the library converts), for the comparison with what ASE saw.
double eVPerUnit = unit switch
{
    PonitaEnergyUnit.ElectronVolt => 1,
    PonitaEnergyUnit.Hartree => 27.211386245988,
    PonitaEnergyUnit.KilojoulePerMole => 27.211386245988 / 2625.4996394799,
    _ => 27.211386245988 / 627.509474,
};
string unitName = unit == PonitaEnergyUnit.ElectronVolt ? "eV" : unit == PonitaEnergyUnit.Hartree ? "Eh" : unit == PonitaEnergyUnit.KilojoulePerMole ? "kJ/mol" : "kcal/mol";

var frames = ExtendedXyz.Read(dataPath);
int held = Math.Min(100, frames.Count / 5);   // without --test: the last frames (100, or a fifth of a small file)
var test = args.Contains("--test") ? ExtendedXyz.Read(Text("--test", "")) : frames.Skip(frames.Count - held).ToList();
var train = args.Contains("--test") ? frames : frames.Take(frames.Count - held).ToList();
bool periodic = frames.Any(f => f.Cell.Length == 9);
var start = test[^1];   // never used for training
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
        CellColumnName = periodic ? "Cell" : null,
        StressColumnName = periodic && frames.Any(f => f.Stress.Length > 0) ? "Stress" : null,
        PredictedStressColumnName = periodic ? "PredictedStress" : null,
        EnergyUnit = unit,
        NumberOfEpochs = epochs,
        NumberOfOrientations = Arg("--orientations", 16),
        Seed = 1,
    }).Fit(ml.Data.LoadFromEnumerable(train));
    var last = model.Validation.LastOrDefault();
    Console.WriteLine($"Trained PONITA on {train.Count} frames of {Path.GetFileName(dataPath)}, {epochs} epochs in {clock.Elapsed.TotalSeconds:F0} s; " +
                      $"validation MAE energy {last?.EnergyMeanAbsoluteError:F3} {unitName}, forces {last?.ForceMeanAbsoluteError:F3} {unitName}/Å");
    if (modelPath is not null)
    {
        model.SaveOnnx(modelPath);
        Console.WriteLine($"Saved {modelPath} (--model {modelPath} loads it next time)");
    }
    potential = model.Potential;
}

float[] TypesOf(MoleculeRow row) => row.AtomTypes.Select(t => (float)t).ToArray();
float[]? CellOf(MoleculeRow row) => row.Cell.Length == 9 ? row.Cell : null;
ReportTestErrors(potential, test);
if (periodic) LatticeChecks(potential, start);

// The protocol sends positions only: the types are fixed here, in the order of ASE's atoms (the model's types are
// atomic numbers, as ExtendedXyz reads them, so they are ASE's atoms.numbers).
var types = TypesOf(start);
string work = Directory.CreateTempSubdirectory("ponita-ase-").FullName;
string startFile = Path.Combine(work, "start.json");
File.WriteAllText(startFile, JsonSerializer.Serialize(new { numbers = start.AtomTypes, positions = start.Positions, cell = start.Cell }));
string socketName = $"ponita-{Environment.ProcessId}";

var ase = new ProcessStartInfo(python) { RedirectStandardOutput = true };
foreach (string a in new[] { Path.Combine(AppContext.BaseDirectory, "ase_md.py"), "--socket", socketName, "--start", startFile,
             "--steps", Text("--steps", "1000"), "--temperature", Text("--temperature", "300"), "--timestep", Text("--timestep", "0.5") })
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
                  $"({evaluations / served.Elapsed.TotalSeconds:F1} per second)");
process.WaitForExit();
if (process.ExitCode != 0) throw new InvalidOperationException($"ase_md.py failed with exit code {process.ExitCode}.");

// The socket converts through the hartree (CODATA 2018).
double modelEnergy = potential.Evaluate(start.Positions, types, CellOf(start)).Energy * eVPerUnit;
Console.WriteLine($"First frame: ASE saw {aseEnergy:F6} eV, the model says {modelEnergy:F6} eV " +
                  $"(relative difference {Math.Abs((aseEnergy ?? double.NaN) - modelEnergy) / Math.Abs(modelEnergy):E1}; ASE 3.22 converts with CODATA 2014's hartree and bohr)");
if (model is null) potential.Dispose();
else model.Dispose();   // and its potential
Directory.Delete(work, recursive: true);

// Mean absolute errors on the held-out frames: energy per atom, force components, stress components (periodic data).
void ReportTestErrors(PonitaPotential p, List<MoleculeRow> rows)
{
    double energy = 0, force = 0, stress = 0;
    long forceCount = 0, stressCount = 0;
    foreach (var row in rows)
    {
        var e = p.Evaluate(row.Positions, TypesOf(row), CellOf(row));
        energy += Math.Abs(e.Energy - row.Label) / row.AtomTypes.Length;
        for (int i = 0; e.Forces is not null && i < row.Forces.Length; i++, forceCount++) force += Math.Abs(e.Forces[i] - row.Forces[i]);
        for (int i = 0; e.Stress is not null && i < row.Stress.Length; i++, stressCount++) stress += Math.Abs(e.Stress[i] - row.Stress[i]);
    }
    Console.WriteLine($"Test ({rows.Count} frames never trained on): MAE energy {1000 * energy / rows.Count:F2} m{unitName}/atom, " +
                      $"forces {force / Math.Max(1, forceCount):F4} {unitName}/Å" +
                      (stressCount > 0 ? $", stress {stress / stressCount:F5} {unitName}/Å³" : ""));
}

// A periodic model's promises: moving atoms by lattice vectors changes nothing, a 2x1x1 supercell doubles the energy
// and keeps the stress; and the time of one evaluation of a cell of about 10,000 atoms.
void LatticeChecks(PonitaPotential p, MoleculeRow row)
{
    var types0 = TypesOf(row);
    var reference = p.Evaluate(row.Positions, types0, row.Cell);
    var random = new Random(7);
    var moved = (float[])row.Positions.Clone();
    for (int i = 0; i < row.AtomTypes.Length; i++)
        for (int v = 0; v < 3; v++)
        {
            int n = random.Next(-2, 3);
            for (int k = 0; k < 3; k++) moved[3 * i + k] += n * row.Cell[3 * v + k];
        }
    var shifted = p.Evaluate(moved, types0, row.Cell);
    var (superPositions, superTypes, superCell) = Supercell(row, 2, 1, 1);
    var doubled = p.Evaluate(superPositions, superTypes, superCell);
    double stressChange = reference.Stress is null || doubled.Stress is null ? double.NaN
        : reference.Stress.Zip(doubled.Stress, (a, b) => Math.Abs(a - b)).Max();
    Console.WriteLine($"Atoms moved by random lattice vectors: energy {reference.Energy:F4} -> {shifted.Energy:F4} {unitName}; " +
                      $"2x1x1 supercell: energy x {doubled.Energy / reference.Energy:F6}, largest stress change {stressChange:E1} {unitName}/Å³");

    // The fewest copies, near a cube, that hold at least 10,000 atoms (for 216-atom cells 4 x 4 x 3: 10,368).
    double needed = 10_000.0 / row.AtomTypes.Length;
    int side = Math.Max(1, (int)Math.Ceiling(Math.Cbrt(needed))), third = Math.Max(1, (int)Math.Ceiling(needed / (side * side)));
    var (bigPositions, bigTypes, bigCell) = Supercell(row, side, side, third);
    try
    {
        p.Evaluate(bigPositions, bigTypes, bigCell);   // warm-up
    }
    catch (InsufficientMemoryException e)
    {
        Console.WriteLine($"{bigTypes.Length:N0}-atom cell: not evaluated here ({e.Message})");
        return;
    }
    var seconds = new List<double>();
    for (int r = 0; r < 3; r++)
    {
        var clock = Stopwatch.StartNew();
        p.Evaluate(bigPositions, bigTypes, bigCell);
        seconds.Add(clock.Elapsed.TotalSeconds);
    }
    seconds.Sort();
    Console.WriteLine($"{bigTypes.Length:N0}-atom cell ({side}x{side}x{third} copies): energy + forces + stress in {seconds[1]:F2} s " +
                      $"(median of 3; best {seconds[0]:F2} s) on {Environment.ProcessorCount} cores");
}

static (float[] Positions, float[] Types, float[] Cell) Supercell(MoleculeRow row, int na, int nb, int nc)
{
    int n = row.AtomTypes.Length;
    var positions = new List<float>(3 * n * na * nb * nc);
    var types = new List<float>(n * na * nb * nc);
    for (int a = 0; a < na; a++)
        for (int b = 0; b < nb; b++)
            for (int c = 0; c < nc; c++)
                for (int i = 0; i < n; i++)
                {
                    for (int k = 0; k < 3; k++)
                        positions.Add(row.Positions[3 * i + k] + a * row.Cell[k] + b * row.Cell[3 + k] + c * row.Cell[6 + k]);
                    types.Add(row.AtomTypes[i]);
                }
    var cell = new float[9];
    for (int k = 0; k < 3; k++) { cell[k] = na * row.Cell[k]; cell[3 + k] = nb * row.Cell[3 + k]; cell[6 + k] = nc * row.Cell[6 + k]; }
    return (positions.ToArray(), types.ToArray(), cell);
}
