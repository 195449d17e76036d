// Equivariant sample: PONITA on quantum-chemistry data with the MD17 protocol. The frames are GFN2-xTB energies and
// forces (kcal/mol, kcal/mol/Å) of a 500 K molecular-dynamics run, made by bench/xtb/make-md17.sh; the shipped set is
// ethanol (600 frames). Training takes --train random frames (MD17: 1,000; here at most all but 100), the rest are the
// test set, scored as they are and randomly rotated. Baselines: the mean energy with zero forces, and kernel ridge
// regression on inverse pair distances (forces as its analytic gradient). Ends with a short constant-energy molecular
// dynamics run driven by the exported model.
//   dotnet run -c Release --project samples/Equivariant [-- --data file.extxyz.gz] [--train 1000] [--epochs 30]
//     [--cutoff 5] [--self] [--every-layer] [--force-weight 3] [--fixed-grid]
using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Equivariant;

string Text(string name, string fallback) => args.SkipWhile(a => a != name).Skip(1).DefaultIfEmpty(fallback).First();
int Arg(string name, int fallback) => int.Parse(Text(name, fallback.ToString()));
var path = Text("--data", Path.Combine(AppContext.BaseDirectory, "data", "ethanol-xtb.extxyz.gz"));
int epochs = Arg("--epochs", 30);

var frames = ExtendedXyz.Read(path);
int trainCount = Math.Min(Arg("--train", 1000), frames.Count - 100);
var order = Enumerable.Range(0, frames.Count).ToArray();
new Random(1).Shuffle(order);
var trainRows = order.Take(trainCount).Select(i => frames[i]).ToList();
var testRows = order.Skip(trainCount).Select(i => frames[i]).ToList();
var turn = new Random(3);
var rotatedRows = testRows.Select(r => r.Rotated(MoleculeRow.RandomRotation(turn))).ToList();
Console.WriteLine($"{Path.GetFileName(path)}: {frames.Count} frames of {frames[0].AtomTypes.Length} atoms; {trainRows.Count} for training, {testRows.Count} for testing (also randomly rotated)");

var ml = new MLContext(seed: 1);
var options = new PonitaTrainer.Options
{
    ForcesColumnName = "Forces",
    PredictedForcesColumnName = "PredictedForces",
    NumberOfEpochs = epochs,
    Seed = 1,
    Cutoff = args.Contains("--cutoff") ? double.Parse(Text("--cutoff", "5"), System.Globalization.CultureInfo.InvariantCulture) : null,
    SelfInteraction = args.Contains("--self"),
    ReadoutFromEveryLayer = args.Contains("--every-layer"),
    CanonicalFrame = !args.Contains("--fixed-grid"),
    Progress = new Progress(p => Console.WriteLine($"  epoch {p.Epoch}/{p.TotalEpochs}: loss {p.TrainingLoss:G4}, {p.Elapsed.TotalSeconds:F0} s")),
};
if (args.Contains("--force-weight")) options.ForceLossWeight = double.Parse(Text("--force-weight", ""), System.Globalization.CultureInfo.InvariantCulture);
var clock = Stopwatch.StartNew();
using var ponita = ml.Equivariant().Trainers.Ponita(options).Fit(ml.Data.LoadFromEnumerable(trainRows));
double ponitaSeconds = clock.Elapsed.TotalSeconds;
var last = ponita.Validation.LastOrDefault();
Console.WriteLine($"PONITA: {options.NumberOfOrientations} orientations, hidden {options.HiddenSize}, {options.NumberOfLayers} layers, cutoff {ponita.Description.Cutoff:F2} Å; " +
                  $"{epochs} epochs in {ponitaSeconds:F0} s ({ponitaSeconds / epochs:F1} s/epoch); validation MAE energy {last?.EnergyMeanAbsoluteError:F3}, forces {last?.ForceMeanAbsoluteError:F3}; " +
                  $"ONNX export: energy {ponita.ExportParity}, forces {ponita.ForcesExportParity}");

clock.Restart();
var kernel = KernelRidge.Fit(trainRows.Select(r => r.Positions).ToList(), trainRows.Select(r => r.Label).ToList());
double kernelSeconds = clock.Elapsed.TotalSeconds;
double meanEnergy = trainRows.Average(r => (double)r.Label);

Console.WriteLine();
Console.WriteLine("| model | energy MAE (test) | energy MAE (rotated test) | force MAE (test) | force MAE (rotated test) | fit time |");
Console.WriteLine("|---|---|---|---|---|---|");
Console.WriteLine($"| mean energy, zero forces | {testRows.Average(r => Math.Abs(r.Label - meanEnergy)):F3} | {rotatedRows.Average(r => Math.Abs(r.Label - meanEnergy)):F3} | " +
                  $"{testRows.Average(r => r.Forces.Average(Math.Abs)):F3} | {rotatedRows.Average(r => r.Forces.Average(Math.Abs)):F3} | |");
Row($"kernel ridge on inverse distances ({kernel.Settings})", Kernel(testRows), Kernel(rotatedRows), kernelSeconds);
Row("PONITA", Errors(testRows), Errors(rotatedRows), ponitaSeconds);

clock.Restart();
int scored = ponita.Transform(ml.Data.LoadFromEnumerable(testRows)).GetColumn<float[]>("PredictedForces").Count();
Console.WriteLine();
Console.WriteLine($"Scoring through model.Transform (ONNX Runtime, energy and forces): {scored / clock.Elapsed.TotalSeconds:F0} molecules/s");

// Molecular dynamics with the exported model: velocity-Verlet NVE from a test frame, 1 ps of 0.5 fs steps.
var start = testRows[0];
var kinds = start.AtomTypes.Select(t => (float)t).ToArray();
var masses = start.AtomTypes.Select(MolecularDynamics.Mass).ToArray();
clock.Restart();
var md = MolecularDynamics.VelocityVerlet(x =>
{
    var result = ponita.Potential.Evaluate(x, kinds);
    return (result.Energy, result.Forces!);
}, start.Positions, masses, MolecularDynamics.ThermalVelocities(masses, 500, new Random(4)), timeStep: 0.5, steps: 2000, sampleEvery: 10);
Console.WriteLine($"NVE molecular dynamics with the ONNX model's forces (1 ps, 0.5 fs steps, started at 500 K): mean temperature {md.Temperature:F0} K, " +
                  $"total-energy drift {md.DriftPerAtomPerPicosecond:E2} kcal/mol/atom/ps, total-energy range {md.Total.Max() - md.Total.Min():F3} kcal/mol " +
                  $"(kinetic energy range {md.Kinetic.Max() - md.Kinetic.Min():F1}); {2000 / clock.Elapsed.TotalSeconds:F0} steps/s");

void Row(string name, (double Energy, double Forces) plain, (double Energy, double Forces) rotated, double seconds) =>
    Console.WriteLine($"| {name} | {plain.Energy:F3} | {rotated.Energy:F3} | {plain.Forces:F3} | {rotated.Forces:F3} | {seconds:F0} s |");

(double Energy, double Forces) Kernel(List<MoleculeRow> rows)
{
    var predictions = rows.Select(r => kernel.Predict(r.Positions)).ToList();
    return (rows.Select((r, i) => Math.Abs(r.Label - predictions[i].Energy)).Average(),
        rows.SelectMany((r, i) => r.Forces.Select((f, k) => (double)Math.Abs(f - predictions[i].Forces[k]))).Average());
}

(double Energy, double Forces) Errors(List<MoleculeRow> rows)
{
    var scoredRows = ponita.Transform(ml.Data.LoadFromEnumerable(rows));
    var energies = scoredRows.GetColumn<float>("Score").ToArray();
    var forces = scoredRows.GetColumn<float[]>("PredictedForces").ToArray();
    return (rows.Select((r, i) => (double)Math.Abs(r.Label - energies[i])).Average(),
        rows.SelectMany((r, i) => r.Forces.Select((f, k) => (double)Math.Abs(f - forces[i][k]))).Average());
}

sealed class Progress(Action<MLExtensions.Training.TrainingProgress> report) : IProgress<MLExtensions.Training.TrainingProgress>
{
    public void Report(MLExtensions.Training.TrainingProgress value) => report(value);
}
