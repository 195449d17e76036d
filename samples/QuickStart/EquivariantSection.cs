using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Equivariant;
using MLExtensions.Studies;

namespace MLExtensions.QuickStart;

/// <summary>PONITA energies and forces of generated molecules, tested on randomly rotated molecules.</summary>
public static class EquivariantSection
{
    public static void Run(MLContext ml)
    {
        Console.WriteLine("== Equivariant regression: mlContext.Equivariant().Trainers.Ponita (SE(3)-equivariant energies and forces) ==");
        var trainRows = SyntheticMolecules.Generate(240, seed: 1).ToList();
        var turn = new Random(3);
        var rotatedRows = SyntheticMolecules.Generate(100, seed: 2).Select(r => r.Rotated(MoleculeRow.RandomRotation(turn))).ToList();
        var train = ml.Data.LoadFromEnumerable(trainRows);
        var rotated = ml.Data.LoadFromEnumerable(rotatedRows);
        var options = new PonitaTrainer.Options
        {
            ForcesColumnName = "Forces",
            PredictedForcesColumnName = "PredictedForces",
            NumberOfOrientations = 8,
            HiddenSize = 16,
            NumberOfLayers = 2,
            NumberOfEpochs = 15,
        };
        var clock = Stopwatch.StartNew();
        using var model = ml.Equivariant().Trainers.Ponita(options).Fit(train);
        double seconds = clock.Elapsed.TotalSeconds;

        var scored = model.Transform(rotated);
        var metrics = ml.Regression.Evaluate(scored);
        var forces = scored.GetColumn<float[]>("PredictedForces").ToArray();
        var reference = model.Description.ReferenceEnergies;
        double compositionMae = rotatedRows.Average(r => Math.Abs(r.Label - r.AtomTypes.Sum(t => reference[t])));
        double forceMae = rotatedRows.SelectMany((r, i) => r.Forces.Select((f, k) => Math.Abs(f - forces[i][k]))).Average();
        double zeroForceMae = rotatedRows.Average(r => r.Forces.Average(Math.Abs));
        Console.WriteLine($"rotated test molecules: energy MAE {metrics.MeanAbsoluteError:F3} (composition-only baseline {compositionMae:F3}), " +
                          $"force MAE {forceMae:F3} (zero-force baseline {zeroForceMae:F3}); trained {options.NumberOfEpochs} epochs on {trainRows.Count} molecules in {seconds:F1} s; " +
                          $"ONNX export energy {model.ExportParity}, forces {model.ForcesExportParity}; " +
                          $"save/load identical: {(MlpSection.SameAfterReload(ml, model, rotated, scored, "Score") ? "yes" : "NO")}");
    }
}
