using Microsoft.ML;
using MLExtensions.Equivariant;

namespace MLExtensions.Studies;

/// <summary>How far a trained PONITA model is from invariance on rotated and translated test frames (see <see cref="PonitaInvarianceStudy.Measure"/>).</summary>
/// <param name="EnergyMeanAbsoluteError">The test energy MAE of the unmoved frames.</param>
/// <param name="Energy">The mean |E(Rx + t) − E(x)|.</param>
/// <param name="Forces">The mean |F(Rx + t) − R·F(x)| per force component.</param>
public sealed record InvarianceError(double EnergyMeanAbsoluteError, double Energy, double Forces);

/// <summary>
/// Rotation and translation invariance of trained PONITA energies (and equivariance of their forces) against the size
/// of the orientation grid, with and without the canonical frame: the measurement behind the README's table
/// (shipped xtb ethanol frames: trained on the first 160, or 100 without forces; tested on 40 others).
/// </summary>
public static class PonitaInvarianceStudy
{
    /// <summary>A short training (hidden 16, 2 layers, batch 8, learning rate 5e-3, seed 3) on <paramref name="frames"/>.</summary>
    public static PonitaModel Train(IEnumerable<MoleculeRow> frames, int orientations, bool canonicalFrame, bool withForces, int epochs)
    {
        var ml = new MLContext(1);
        var options = new PonitaTrainer.Options
        {
            ForcesColumnName = withForces ? "Forces" : null,
            PredictedForcesColumnName = "PredictedForces",
            NumberOfOrientations = orientations,
            HiddenSize = 16,
            NumberOfLayers = 2,
            NumberOfEpochs = epochs,
            BatchSize = 8,
            LearningRate = 5e-3,
            Seed = 3,
            CanonicalFrame = canonicalFrame,
        };
        return ml.Equivariant().Trainers.Ponita(options).Fit(ml.Data.LoadFromEnumerable(frames.ToList()));
    }

    /// <summary>
    /// The model's errors on <paramref name="test"/> under <paramref name="poses"/> random rotations and translations
    /// (up to ±5 Å) of every frame, scored by ONNX Runtime (<see cref="PonitaModel.Potential"/>).
    /// </summary>
    public static InvarianceError Measure(PonitaModel model, IReadOnlyList<MoleculeRow> test, int poses = 4, int seed = 11)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(test);
        var potential = model.Potential;
        var types = test.Select(r => r.AtomTypes.Select(t => (float)t).ToArray()).ToList();
        var plain = potential.Evaluate(test.Select((r, i) => (r.Positions, types[i])).ToList());
        double mae = test.Select((r, i) => Math.Abs(plain[i].Energy - r.Label)).Average();
        var random = new Random(seed);
        double energy = 0, forces = 0;
        int components = 0;
        for (int k = 0; k < poses; k++)
        {
            var rotations = test.Select(_ => MoleculeRow.RandomRotation(random)).ToList();
            var moved = test.Select((r, i) =>
            {
                var turned = r.Rotated(rotations[i]).Positions;
                var shift = new[] { random.NextDouble() * 10 - 5, random.NextDouble() * 10 - 5, random.NextDouble() * 10 - 5 };
                for (int p = 0; p < turned.Length; p++) turned[p] += (float)shift[p % 3];
                return (turned, types[i]);
            }).ToList();
            var scored = potential.Evaluate(moved);
            for (int i = 0; i < test.Count; i++)
            {
                energy += Math.Abs(scored[i].Energy - plain[i].Energy);
                var expected = new MoleculeRow { Positions = plain[i].Forces! }.Rotated(rotations[i]).Positions;   // R·F, a rotation of vectors
                for (int c = 0; c < expected.Length; c++) forces += Math.Abs(scored[i].Forces![c] - expected[c]);
                components += expected.Length;
            }
        }
        return new InvarianceError(mae, energy / (poses * test.Count), forces / components);
    }

    /// <summary>
    /// The study: for 4, 8, 16 and 32 orientations, without and with the canonical frame, a model trained for 4 epochs
    /// with forces on the first 160 <paramref name="frames"/>, measured on frames 400..439; one line per model to
    /// <paramref name="report"/> (about 10 minutes on 2 cores).
    /// </summary>
    public static void Run(IReadOnlyList<MoleculeRow> frames, Action<string> report)
    {
        ArgumentNullException.ThrowIfNull(frames);
        ArgumentNullException.ThrowIfNull(report);
        var test = frames.Skip(400).Take(40).ToList();
        foreach (int orientations in new[] { 4, 8, 16, 32 })
            foreach (bool frame in new[] { false, true })
            {
                var watch = System.Diagnostics.Stopwatch.StartNew();
                using var model = Train(frames.Take(160), orientations, frame, withForces: true, epochs: 4);
                var e = Measure(model, test);
                report($"O={orientations} frame={frame}: MAE {e.EnergyMeanAbsoluteError:G4}, invariance {e.Energy:G4} ({100 * e.Energy / e.EnergyMeanAbsoluteError:F2} % of MAE), " +
                       $"force equivariance {e.Forces:G4}, {watch.Elapsed.TotalSeconds:F0} s");
            }
    }
}
