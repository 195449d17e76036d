// MLExtensions QuickStart: every method of the pack on built-in generated data, in well under a minute.
// Each section trains, evaluates, and checks that the saved model scores identically after loading.
using System.Diagnostics;
using Microsoft.ML;
using MLExtensions.QuickStart;

var clock = Stopwatch.StartNew();
var mlContext = new MLContext(seed: 1);
Console.WriteLine("MLExtensions QuickStart");
Console.WriteLine();

MlpSection.Run(mlContext);
Console.WriteLine();
NasSection.Run(mlContext);
Console.WriteLine();
OrdinalSection.Run(mlContext);
Console.WriteLine();
FairnessSection.Run(mlContext);
Console.WriteLine();
EquivariantSection.Run(mlContext);

Console.WriteLine();
Console.WriteLine($"Done in {clock.Elapsed.TotalSeconds:F1} s.");
