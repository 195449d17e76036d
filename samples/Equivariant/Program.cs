// Equivariant sample: PONITA energies and forces of generated molecules (Morse pairs plus angular three-body terms,
// exact forces), evaluated on the test molecules as generated and randomly rotated, against the composition-only
// baseline (reference energy per atom type) and a non-equivariant model (ML.NET FastTree on raw coordinates).
//   dotnet run -c Release --project samples/Equivariant [-- --train 1000] [--epochs 30] [--hidden 32]
using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Equivariant;

int Arg(string name, int fallback) => args.SkipWhile(a => a != name).Skip(1).Select(int.Parse).DefaultIfEmpty(fallback).First();
int trainCount = Arg("--train", 1000), epochs = Arg("--epochs", 30), hidden = Arg("--hidden", 32);
const int MaxAtoms = 8;

var ml = new MLContext(seed: 1);
var trainRows = SyntheticMolecules.Generate(trainCount, seed: 1, maxAtoms: MaxAtoms).ToList();
var testRows = SyntheticMolecules.Generate(500, seed: 2, maxAtoms: MaxAtoms).ToList();
var turn = new Random(3);
var rotatedRows = testRows.Select(r => r.Rotated(SyntheticMolecules.RandomRotation(turn))).ToList();
var train = ml.Data.LoadFromEnumerable(trainRows);
Console.WriteLine($"Generated molecules of 3..{MaxAtoms} atoms, {SyntheticMolecules.TypeCount} types: {trainRows.Count} for training, {testRows.Count} for testing (also randomly rotated)");

var options = new PonitaTrainer.Options
{
    ForcesColumnName = "Forces",
    PredictedForcesColumnName = "PredictedForces",
    HiddenSize = hidden,
    NumberOfEpochs = epochs,
    Seed = 1,
};
var clock = Stopwatch.StartNew();
using var ponita = ml.Equivariant().Trainers.Ponita(options).Fit(train);
double ponitaSeconds = clock.Elapsed.TotalSeconds;
Console.WriteLine($"PONITA: {options.NumberOfOrientations} orientations, hidden {hidden}, {options.NumberOfLayers} layers, cutoff {ponita.Description.Cutoff:F2}; " +
                  $"{epochs} epochs in {ponitaSeconds:F0} s ({ponitaSeconds / epochs:F2} s/epoch); ONNX export: energy {ponita.ExportParity}, forces {ponita.ForcesExportParity}");

var pnitaOptions = new PonitaTrainer.Options { ForcesColumnName = "Forces", PredictedForcesColumnName = "PredictedForces", HiddenSize = hidden, NumberOfEpochs = epochs, Seed = 1, PositionOnly = true };
clock.Restart();
using var pnita = ml.Equivariant().Trainers.Ponita(pnitaOptions).Fit(train);
double pnitaSeconds = clock.Elapsed.TotalSeconds;

// The non-equivariant baseline sees the raw coordinates and one-hot types of up to MaxAtoms atoms, zero-padded.
clock.Restart();
var fastTree = ml.Regression.Trainers.FastTree(numberOfTrees: 500).Fit(ml.Data.LoadFromEnumerable(trainRows.Select(Flat)));
double treeSeconds = clock.Elapsed.TotalSeconds;

var reference = ponita.Description.ReferenceEnergies;
double Composition(MoleculeRow r) => r.AtomTypes.Sum(t => reference[t]);

Console.WriteLine();
Console.WriteLine("| model | energy MAE (test) | energy MAE (rotated test) | force MAE (test) | force MAE (rotated test) | fit time |");
Console.WriteLine("|---|---|---|---|---|---|");
Console.WriteLine($"| composition only (reference energy per type), forces 0 | {testRows.Average(r => Math.Abs(r.Label - Composition(r))):F4} | " +
                  $"{rotatedRows.Average(r => Math.Abs(r.Label - Composition(r))):F4} | {testRows.Average(r => r.Forces.Average(Math.Abs)):F4} | {rotatedRows.Average(r => r.Forces.Average(Math.Abs)):F4} | |");
Console.WriteLine($"| FastTree on raw coordinates (not equivariant) | {TreeMae(testRows):F4} | {TreeMae(rotatedRows):F4} | – | – | {treeSeconds:F0} s |");
Ponita("PNITA (position only)", pnita, pnitaSeconds);
Ponita("PONITA", ponita, ponitaSeconds);

// Scoring speed through the ML.NET chain (ONNX Runtime, one point cloud per call), energy and forces.
var testData = ml.Data.LoadFromEnumerable(testRows);
clock.Restart();
var scored = ponita.Transform(testData).GetColumn<float>("Score").Count();
Console.WriteLine();
Console.WriteLine($"Scoring through ML.NET + ONNX Runtime (energy and forces): {scored / clock.Elapsed.TotalSeconds:F0} molecules/s");

void Ponita(string name, PonitaModel model, double seconds)
{
    var (energy, forces) = Errors(model, testRows);
    var (rotatedEnergy, rotatedForces) = Errors(model, rotatedRows);
    Console.WriteLine($"| {name} | {energy:F4} | {rotatedEnergy:F4} | {forces:F4} | {rotatedForces:F4} | {seconds:F0} s |");
}

(double Energy, double Forces) Errors(PonitaModel model, List<MoleculeRow> rows)
{
    var scoredRows = model.Transform(ml.Data.LoadFromEnumerable(rows));
    var energies = scoredRows.GetColumn<float>("Score").ToArray();
    var forces = scoredRows.GetColumn<float[]>("PredictedForces").ToArray();
    double energyError = rows.Select((r, i) => Math.Abs(r.Label - energies[i])).Average();
    double forceError = rows.SelectMany((r, i) => r.Forces.Select((f, k) => Math.Abs(f - forces[i][k]))).Average();
    return (energyError, forceError);
}

double TreeMae(List<MoleculeRow> rows)
{
    var predicted = fastTree.Transform(ml.Data.LoadFromEnumerable(rows.Select(Flat))).GetColumn<float>("Score").ToArray();
    return rows.Select((r, i) => Math.Abs(r.Label - predicted[i])).Average();
}

static FlatRow Flat(MoleculeRow r)
{
    var features = new float[MaxAtoms * (3 + SyntheticMolecules.TypeCount)];
    for (int i = 0; i < r.AtomTypes.Length; i++)
    {
        Array.Copy(r.Positions, 3 * i, features, 3 * i, 3);
        features[3 * MaxAtoms + i * SyntheticMolecules.TypeCount + r.AtomTypes[i]] = 1;
    }
    return new FlatRow { Features = features, Label = r.Label };
}

sealed class FlatRow
{
    [VectorType(8 * (3 + 3))] // MaxAtoms × (x, y, z and a one-hot type)
    public float[] Features { get; set; } = [];

    public float Label { get; set; }
}
