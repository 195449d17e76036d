using System.Diagnostics;
using System.Text;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using MLExtensions.Equivariant;
using MLExtensions.Fairness;
using MLExtensions.Mlp;
using MLExtensions.Nas;
using MLExtensions.Onnx.Batching;
using MLExtensions.Onnx.Scoring;
using MLExtensions.Ordinal;
using MLExtensions.Studies;

namespace MLExtensions.Bench;

/// <summary>
/// The probe list of issue #21, re-run through the public API the way a careless user would call it, each probe in its
/// own try/catch, printed as a Markdown table (probe | outcome | verdict). PASS means the intended behaviour: a clear
/// exception of the expected type whose message names the column, row, option or file, or correct output. Probes that
/// once crashed the process natively (use after dispose) run in-process because they now throw
/// <see cref="ObjectDisposedException"/>; should one regress, this mode dies with it, which is a FAIL too.
/// </summary>
internal static class ReliabilityProbes
{
    private const int FeatureCount = 5;

    private sealed class Row
    {
        [VectorType(FeatureCount)] public float[] Features { get; set; } = [];
        public float Target { get; set; }
        public bool Positive { get; set; }
        public string Class { get; set; } = "";
        public float Weight { get; set; } = 1;
    }

    private sealed class Prediction
    {
        public float Score { get; set; }
    }

    private sealed class Decision
    {
        public string Group { get; set; } = "";
        public string Client { get; set; } = "";
        public string Predicted { get; set; } = "";
        public string Truth { get; set; } = "";
    }

    private sealed class MitigatorRow
    {
        public string Client { get; set; } = "";
        public string Sensitive { get; set; } = "";
        public bool Label { get; set; }
        public float Probability { get; set; }
        public bool PredictedLabel { get; set; }
        public string Id { get; set; } = "";
    }

    private sealed record Result(string Probe, string Outcome, bool Pass, Exception? Error = null);

    private static readonly List<Result> Results = [];

    /// <summary>Runs every probe, prints the table and returns whether all passed.</summary>
    public static bool Run()
    {
        var total = Stopwatch.StartNew();
        var ml = new MLContext(1);
        Console.WriteLine($"MLExtensions reliability probes (issue #21), {Environment.ProcessorCount} cores");
        Console.WriteLine();

        UseAfterDispose(ml);
        Memory(ml);
        Saving(ml);
        Counts(ml);
        NonFiniteScoring(ml);
        RunawayLearningRates(ml);
        OptionsChangedAfterConstruction(ml);
        LegalButUseless(ml);
        UnclearErrors(ml);
        Minor(ml);

        Console.WriteLine("| probe | outcome | verdict |");
        Console.WriteLine("|---|---|---|");
        foreach (var r in Results) Console.WriteLine($"| {Cell(r.Probe)} | {Cell(r.Outcome)} | {(r.Pass ? "PASS" : "**FAIL**")} |");
        int failed = Results.Count(r => !r.Pass);
        Console.WriteLine();
        Console.WriteLine($"{Results.Count - failed} of {Results.Count} probes pass, {failed} fail ({total.Elapsed.TotalSeconds:F0} s).");
        foreach (var r in Results.Where(r => !r.Pass && r.Error is not null))
        {
            Console.WriteLine();
            Console.WriteLine($"FAIL {r.Probe}:");
            Console.WriteLine(r.Error);
        }
        return failed == 0;
    }

    // ---- The two helpers: an expected exception, or a check that returns what it verified. ----

    /// <summary>
    /// Runs <paramref name="act"/> and expects an exception of type <typeparamref name="T"/> (itself or one it wraps)
    /// whose message contains every one of <paramref name="words"/>.
    /// </summary>
    private static void Expect<T>(string probe, Action act, params string[] words) where T : Exception =>
        ExpectWithin<T>(probe, null, act, words);

    /// <summary><see cref="Expect{T}"/>, and the exception must come within <paramref name="limit"/> (the time is reported).</summary>
    private static void ExpectWithin<T>(string probe, TimeSpan? limit, Action act, params string[] words) where T : Exception
    {
        var clock = Stopwatch.StartNew();
        try
        {
            act();
        }
        catch (Exception error)
        {
            clock.Stop();
            string timing = limit is null ? "" : $" [{clock.Elapsed.TotalSeconds:F2} s]";
            var expected = Chain(error).OfType<T>().FirstOrDefault();
            var missing = expected is null ? words : words.Where(w => !expected.Message.Contains(w, StringComparison.Ordinal)).ToArray();
            string wrapped = expected is not null && !ReferenceEquals(expected, error) ? $"{error.GetType().Name} wrapping " : "";
            string outcome = wrapped + Describe(expected ?? error) + timing;
            bool late = limit is not null && clock.Elapsed > limit;
            if (expected is null) outcome += $" (expected {typeof(T).Name})";
            else if (missing.Length > 0) outcome += $" (message lacks {string.Join(", ", missing.Select(w => $"\"{w}\""))})";
            if (late) outcome += $" (slower than {limit!.Value.TotalSeconds:F0} s)";
            bool pass = expected is not null && missing.Length == 0 && !late;
            Results.Add(new Result(probe, outcome, pass, pass ? null : error));
            return;
        }
        Results.Add(new Result(probe, $"no exception (expected {typeof(T).Name})", false));
    }

    /// <summary>Runs <paramref name="check"/>, which returns what it verified or throws; PASS when it returns.</summary>
    private static void Check(string probe, Func<string> check)
    {
        try
        {
            Results.Add(new Result(probe, "ok: " + check(), true));
        }
        catch (Exception error)
        {
            Results.Add(new Result(probe, Describe(error), false, error));
        }
    }

    private static IEnumerable<Exception> Chain(Exception? error)
    {
        for (; error is not null; error = error.InnerException) yield return error;
    }

    private static string Describe(Exception error) => $"{error.GetType().Name}: {OneLine(error.Message)}";

    /// <summary>The text on one line, cut after 140 characters.</summary>
    private static string OneLine(string text)
    {
        var line = string.Join(" ", text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries).Select(l => l.Trim()));
        return line.Length > 140 ? line[..140] + "…" : line;
    }

    private static string Cell(string text) => text.Replace("|", "\\|");

    private static void Assert(bool condition, string failure)
    {
        if (!condition) throw new InvalidOperationException(failure);
    }

    // ---- Data ----

    /// <summary>A nonlinear target of the first three features; binary and three-class labels from it.</summary>
    private static Row[] Rows(int n, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, n).Select(_ =>
        {
            var x = Enumerable.Range(0, FeatureCount).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
            float y = MathF.Sin(x[0]) * 2 + x[1] * x[1] - 1.3f + 0.5f * x[2];
            return new Row { Features = x, Target = y + 10, Positive = y > 0, Class = y < -0.5f ? "low" : y < 0.8f ? "mid" : "high" };
        }).ToArray();
    }

    private static IDataView View(MLContext ml, Row[] rows) => ml.Data.LoadFromEnumerable(rows);

    private static MlpTrainer.Options Mlp(string label) => new() { LabelColumnName = label, HiddenLayerSizes = [8], NumberOfEpochs = 2, Seed = 1 };

    private static NasTrainer.Options Nas() => new()
    {
        LabelColumnName = nameof(Row.Target), Depths = [1], Widths = [4, 8], Activations = [MlpActivation.Relu], SearchResidual = false,
        SearchEpochs = 2, RetrainEpochs = 2, BatchSize = 32, Seed = 3,
    };

    private static PonitaTrainer.Options Ponita() => new()
    {
        NumberOfOrientations = 4, HiddenSize = 8, NumberOfLayers = 1, NumberOfEpochs = 1, Seed = 1,
        ForcesColumnName = "Forces", PredictedForcesColumnName = "PredictedForces",
    };

    private static List<MoleculeRow> Molecules(int count, int seed) => SyntheticMolecules.Generate(count, seed).ToList();

    private static float[] Types(MoleculeRow molecule) => molecule.AtomTypes.Select(t => (float)t).ToArray();

    private static OrdinalSimulationData Ordinal(int rows, int seed, int features) =>
        OrdinalSimulation.Generate(OrdinalDifferences.Sparse, rows, features, [0, 3.5, 5.5], seed);

    private static PrestoModel Presto(MLContext ml, int features) =>
        ml.Ordinal().Trainers.Presto(new PrestoTrainer.Options { Lambda = 0.01, Seed = 1 }).Fit(Ordinal(150, 1, features).ToDataView(ml));

    /// <summary>Reads every visible column of every row, as saving the scores or evaluating would.</summary>
    private static int ReadAll(IDataView view)
    {
        using var cursor = view.GetRowCursor(view.Schema);
        var readers = view.Schema.Where(c => !c.IsHidden).Select(c => (Action)typeof(ReliabilityProbes)
            .GetMethod(nameof(Reader), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
            .MakeGenericMethod(c.Type.RawType).Invoke(null, [cursor, c])!).ToArray();
        int rows = 0;
        for (; cursor.MoveNext(); rows++)
            foreach (var read in readers) read();
        return rows;
    }

    private static Action Reader<T>(DataViewRowCursor cursor, DataViewSchema.Column column)
    {
        var getter = cursor.GetGetter<T>(column);
        T value = default!;
        return () => getter(ref value);
    }

    // ---- 1. Use after Dispose ----

    private static void UseAfterDispose(MLContext ml)
    {
        var data = View(ml, Rows(64, 1));
        var molecules = Molecules(8, 1);
        var molecule = molecules[0];

        Expect<ObjectDisposedException>("PONITA: `model.Potential.Evaluate(...)` after `model.Dispose()`", () =>
        {
            var model = ml.Equivariant().Trainers.Ponita(Ponita()).Fit(ml.Data.LoadFromEnumerable(molecules));
            model.Dispose();
            model.Potential.Evaluate(molecule.Positions, Types(molecule));
        }, "PonitaModel");

        Expect<ObjectDisposedException>("PONITA: a `Potential` taken before `Dispose`, evaluated after it", () =>
        {
            var model = ml.Equivariant().Trainers.Ponita(Ponita()).Fit(ml.Data.LoadFromEnumerable(molecules));
            var potential = model.Potential;
            model.Dispose();
            potential.Evaluate(molecule.Positions, Types(molecule));
        });

        Expect<ObjectDisposedException>("MLP: reading a `Transform` result made before `Dispose`", () =>
        {
            var model = ml.Nas().Trainers.MlpRegression(Mlp(nameof(Row.Target))).Fit(data);
            var scored = model.Transform(data);
            model.Dispose();
            scored.GetColumn<float>("Score").ToArray();
        });

        Expect<ObjectDisposedException>("PONITA: reading a `Transform` result made before `Dispose`", () =>
        {
            var model = ml.Equivariant().Trainers.Ponita(Ponita()).Fit(ml.Data.LoadFromEnumerable(molecules));
            var scored = model.Transform(ml.Data.LoadFromEnumerable(molecules));
            model.Dispose();
            scored.GetColumn<float>("Score").ToArray();
        });

        Expect<ObjectDisposedException>("MLP: `PredictionEngine` (OwnsTransformer = false) after its model was disposed", () =>
        {
            var model = ml.Nas().Trainers.MlpRegression(Mlp(nameof(Row.Target))).Fit(data);
            var engine = ml.Model.CreatePredictionEngine<Row, Prediction>(model, new PredictionEngineOptions { OwnsTransformer = false });
            engine.Predict(Rows(1, 2)[0]);
            model.Dispose();
            engine.Predict(Rows(1, 3)[0]);
        });

        Check("MLP + PONITA: `Dispose` while 4 threads score (Transform, TransformPerRow, PredictionEngine, Potential)", () =>
        {
            var big = View(ml, Rows(2000, 4));
            var mlp = ml.Nas().Trainers.MlpRegression(Mlp(nameof(Row.Target))).Fit(data);
            var ponita = ml.Equivariant().Trainers.Ponita(Ponita()).Fit(ml.Data.LoadFromEnumerable(molecules));
            var types = Types(molecule);
            int completed = 0, disposed = 0;
            var others = new List<string>();
            using var started = new CountdownEvent(4);
            void Repeat(Action score)
            {
                started.Signal();
                try
                {
                    for (int i = 0; i < 100_000; i++)
                    {
                        score();
                        Interlocked.Increment(ref completed);
                    }
                }
                catch (ObjectDisposedException)
                {
                    Interlocked.Increment(ref disposed);
                }
                catch (Exception error)
                {
                    lock (others) others.Add(Describe(error));
                }
            }
            var row = Rows(1, 5)[0];
            var workers = new[]
            {
                Task.Run(() => Repeat(() => mlp.Transform(big).GetColumn<float>("Score").Sum())),
                Task.Run(() => Repeat(() => mlp.TransformPerRow(big).GetColumn<float>("Score").Sum())),
                Task.Run(() =>
                {
                    PredictionEngine<Row, Prediction>? engine = null;
                    Repeat(() => (engine ??= ml.Model.CreatePredictionEngine<Row, Prediction>(mlp, new PredictionEngineOptions { OwnsTransformer = false })).Predict(row));
                }),
                Task.Run(() => Repeat(() => ponita.Potential.Evaluate(molecule.Positions, types))),
            };
            started.Wait();
            Thread.Sleep(300);
            mlp.Dispose();
            ponita.Dispose();
            Assert(Task.WaitAll(workers, TimeSpan.FromSeconds(60)), "scoring threads still running 60 s after Dispose");
            Assert(others.Count == 0, string.Join("; ", others));
            Assert(disposed == 4, $"{disposed} of 4 threads saw ObjectDisposedException");
            return $"{completed:N0} calls completed, then ObjectDisposedException on all 4 threads, no other exception";
        });
    }

    // ---- 2. Memory ----

    private static void Memory(MLContext ml)
    {
        var molecules = ml.Data.LoadFromEnumerable(Molecules(24, 1));
        ExpectWithin<InsufficientMemoryException>("PONITA NumberOfOrientations = 10000 on 24 small molecules", TimeSpan.FromSeconds(5), () =>
        {
            var options = Ponita();
            options.NumberOfOrientations = 10000;
            options.HiddenSize = 32;
            options.NumberOfLayers = 3;
            using var model = ml.Equivariant().Trainers.Ponita(options).Fit(molecules);
        }, "NumberOfOrientations (10000", "GiB");
    }

    // ---- 3. Saving ----

    private static void Saving(MLContext ml)
    {
        var folder = Directory.CreateTempSubdirectory("mlx-probes-");
        try
        {
            var data = View(ml, Rows(40, 1));
            using var model = ml.Nas().Trainers.MlpRegression(Mlp(nameof(Row.Target))).Fit(data);
            var zip = Path.Combine(folder.FullName, "model.zip");
            var expected = model.Transform(data).GetColumn<float>("Score").ToArray();

            Check("MLP: `Model.Save` to model.zip, then again to the same path; reload and score", () =>
            {
                ml.Model.Save(model, data.Schema, zip);
                long first = new FileInfo(zip).Length;
                ml.Model.Save(model, data.Schema, zip);
                var loaded = ml.Model.Load(zip, out _);
                try
                {
                    var scores = loaded.Transform(data).GetColumn<float>("Score").ToArray();
                    Assert(scores.SequenceEqual(expected), "the reloaded model scores differently");
                }
                finally
                {
                    (loaded as IDisposable)?.Dispose();
                }
                return $"model.zip still loads ({new FileInfo(zip).Length:N0} bytes, first save {first:N0}) and scores the {expected.Length} rows identically";
            });

            Check("MLP: `SaveOnnx` over an existing model.onnx", () =>
            {
                var onnx = Path.Combine(folder.FullName, "model.onnx");
                File.WriteAllText(onnx, "an older model");
                model.SaveOnnx(onnx);
                var bytes = File.ReadAllBytes(onnx);
                Assert(bytes.AsSpan().SequenceEqual(model.GetOnnxModel()), "model.onnx is not the model's ONNX bytes");
                var left = Directory.GetFiles(folder.FullName).Select(Path.GetFileName).Order().ToArray();
                Assert(left.SequenceEqual(["model.onnx", "model.zip"]), $"files beside it: {string.Join(", ", left)}");
                return $"model.onnx replaced whole ({bytes.Length:N0} bytes, the model's own), nothing left beside it";
            });
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    // ---- 4. Federated counts ----

    private const string Header = "client,sensitive,prediction,label,count\n";

    private static string Json(string cells) =>
        $"{{\"format\":\"mlextensions.fairness-counts/1\",\"hasLabels\":false,\"positivePrediction\":null,\"cells\":[{cells}]}}";

    private static string JsonCell(string client, string sensitive, string prediction, long count) =>
        $"{{\"client\":\"{client}\",\"sensitive\":\"{sensitive}\",\"prediction\":\"{prediction}\",\"label\":null,\"count\":{count}}}";

    private static void Counts(MLContext ml)
    {
        Expect<OverflowException>("Counts: merging a cell of long.MaxValue with an honest 100", () =>
        {
            var honest = new FairnessCounts();
            honest.Add("bank", "F", "1", null, 100);
            honest.Add("bank", "M", "0", null, 100);
            var hostile = new FairnessCounts();
            hostile.Add("bank", "F", "1", null, long.MaxValue);
            FairnessCounts.Merge(honest, hostile);
        }, "client 'bank'", "sensitive 'F'", "prediction '1'");

        Expect<InvalidDataException>("Counts: the same cell twice in `FromJson`", () =>
            FairnessCounts.FromJson(Json(JsonCell("A", "F", "1", 3) + "," + JsonCell("A", "M", "1", 4) + "," + JsonCell("A", "F", "1", 3))),
            "cells 0 and 2");

        Expect<InvalidDataException>("Counts: a JSON cell without `count`", () =>
            FairnessCounts.FromJson(Json(JsonCell("A", "F", "1", 3) + ",{\"client\":\"A\",\"sensitive\":\"M\",\"prediction\":\"1\",\"label\":null}")),
            "cell 1", "count");

        Expect<InvalidDataException>("Counts: `\"cells\":[null]`", () => FairnessCounts.FromJson(Json("null")), "cell 0");

        Expect<ArgumentNullException>("Counts: `FairnessCounts.Merge(a, null)`", () =>
        {
            var a = new FairnessCounts();
            a.Add("A", "F", "1", null);
            FairnessCounts.Merge(a, null!);
        }, "tables", "index 1");

        Check("Counts: positive prediction \"no\" through CSV and JSON (`Fairness().Report`)", () =>
        {
            var random = new Random(5);
            var decisions = Enumerable.Range(0, 200).Select(i =>
            {
                string group = i % 3 == 0 ? "f" : "m";
                bool no = random.NextDouble() < (group == "f" ? 0.7 : 0.4);
                return new Decision { Group = group, Client = i % 2 == 0 ? "north" : "south", Predicted = no ? "no" : "yes", Truth = random.NextDouble() < 0.8 == no ? "no" : "yes" };
            }).ToArray();
            var counts = ml.Fairness().Audit("Group", "Predicted", "Client", "Truth", positivePrediction: "no").Count(ml.Data.LoadFromEnumerable(decisions));
            var viaJson = ml.Fairness().Report(FairnessCounts.FromJson(counts.ToJson()), bootstrapSamples: 0);
            var csv = FairnessCounts.FromCsv(new StringReader(counts.ToCsv()));
            var viaCsv = ml.Fairness().Report(csv, bootstrapSamples: 0);
            Assert(csv.PositivePrediction == "no", $"CSV read back positive prediction '{csv.PositivePrediction}'");
            Assert(viaJson.StatisticalParityDifference == viaCsv.StatisticalParityDifference,
                $"parity difference {viaJson.StatisticalParityDifference} via JSON, {viaCsv.StatisticalParityDifference} via CSV");
            return $"positive 'no' kept; parity difference {viaJson.StatisticalParityDifference:F4} via JSON and via CSV";
        });

        Check("Counts: CSV file with a UTF-8 byte-order mark", () =>
        {
            var bytes = Encoding.UTF8.GetPreamble().Concat(Encoding.UTF8.GetBytes(Header + "A,F,1,,3\r\nA,M,0,,4\r\n")).ToArray();
            var counts = FairnessCounts.FromCsv(new StringReader(Encoding.UTF8.GetString(bytes)));
            Assert(counts.Rows == 7 && counts.Cells.Count == 2, $"{counts.Rows} rows in {counts.Cells.Count} cells");
            return "read as 7 rows in 2 cells";
        });

        Check("Counts: sensitive values \"True\", \"true\", \"true \" (Add and CSV)", () =>
        {
            var counts = new FairnessCounts();
            counts.Add("A", "True", "1", null, 1);
            counts.Add("A", "true", "1", null, 2);
            counts.Add("A", "true ", "1", null, 3);
            var csv = FairnessCounts.FromCsv(new StringReader(Header + "A,True,1,,1\nA,true,0,,2\nA,true ,0,,3\n"), positivePrediction: "1");
            var groups = counts.Cells.Keys.Select(k => k.Sensitive).Concat(csv.Cells.Keys.Select(k => k.Sensitive)).Distinct().ToArray();
            Assert(groups.Length == 1, $"groups: {string.Join(", ", groups.Select(g => $"'{g}'"))}");
            return $"one group '{groups[0]}' ({counts.Rows} rows added, {csv.Rows} read from CSV)";
        });
    }

    // ---- 5. NaN and ∞ features at scoring ----

    private static void NonFiniteScoring(MLContext ml)
    {
        using var binary = ml.Nas().Trainers.MlpBinaryClassification(Mlp(nameof(Row.Positive))).Fit(View(ml, Rows(80, 1)));
        IDataView Tabular(float bad)
        {
            var rows = Rows(12, 2);
            rows[7].Features[2] = bad;
            return View(ml, rows);
        }
        Expect<InvalidDataException>("MLP binary: `Transform` of a row with a NaN feature", () => ReadAll(binary.Transform(Tabular(float.NaN))),
            "Column 'Features'", "slot 2 at row 7");
        Expect<InvalidDataException>("MLP binary: `Transform` of a row with a +∞ feature", () => ReadAll(binary.Transform(Tabular(float.PositiveInfinity))),
            "Column 'Features'", "slot 2 at row 7");
        Expect<InvalidDataException>("MLP binary: `TransformPerRow` of a row with a NaN feature", () => ReadAll(binary.TransformPerRow(Tabular(float.NaN))),
            "NaN or infinite");

        const int p = 4;
        using var presto = Presto(ml, p);
        IDataView Ordinal(float bad)
        {
            var sim = ReliabilityProbes.Ordinal(12, 2, p);
            sim.Features[7 * p + 2] = bad;
            return sim.ToDataView(ml);
        }
        Expect<InvalidDataException>("PRESTO: `Transform` of a row with a NaN feature", () => ReadAll(presto.Transform(Ordinal(float.NaN))),
            "Column 'Features'", "slot 2 at row 7");
        Expect<InvalidDataException>("PRESTO: `Transform` of a row with a +∞ feature", () => ReadAll(presto.Transform(Ordinal(float.PositiveInfinity))),
            "Column 'Features'", "slot 2 at row 7");
        Expect<InvalidDataException>("PRESTO: `TransformPerRow` of a row with a +∞ feature", () => ReadAll(presto.TransformPerRow(Ordinal(float.PositiveInfinity))),
            "NaN or infinite");
    }

    // ---- 6. Runaway learning rates ----

    private static void RunawayLearningRates(MLContext ml)
    {
        var data = View(ml, Rows(200, 1));
        foreach (double rate in new[] { 10.0, 1e6 })
        {
            Expect<InvalidOperationException>($"MLP regression LearningRate = {rate:G}", () =>
            {
                var options = Mlp(nameof(Row.Target));
                options.LearningRate = rate;
                options.NumberOfEpochs = 3;
                options.Seed = 2;
                using var model = ml.Nas().Trainers.MlpRegression(options).Fit(data);
            }, $"LearningRate ({rate})");
            Expect<InvalidOperationException>($"NAS regression LearningRate = {rate:G}", () =>
            {
                var options = Nas();
                options.LearningRate = rate;
                options.RetrainEpochs = 3;
                options.Seed = 2;
                using var model = ml.Nas().Trainers.Regression(options).Fit(data);
            }, $"LearningRate ({rate})");
        }
    }

    // ---- 7. Options changed after the trainer is built ----

    private static void OptionsChangedAfterConstruction(MLContext ml)
    {
        var tabular = View(ml, Rows(40, 1));
        var molecules = ml.Data.LoadFromEnumerable(Molecules(12, 1));
        var ordinal = Ordinal(60, 1, 3).ToDataView(ml);

        void Spoilt<TOptions>(string probe, TOptions options, Func<TOptions, IEstimator<ITransformer>> build, Action<TOptions> spoil, IDataView data, string option)
        {
            Expect<ArgumentException>(probe, () =>
            {
                var trainer = build(options);
                spoil(options);
                using var model = trainer.Fit(data) as IDisposable;
            }, option);
        }

        Spoilt("MLP: NumberOfEpochs = 0 after the trainer is built", Mlp(nameof(Row.Target)), o => ml.Nas().Trainers.MlpRegression(o), o => o.NumberOfEpochs = 0, tabular, "NumberOfEpochs");
        Spoilt("MLP: LearningRate = 0 after the trainer is built", Mlp(nameof(Row.Target)), o => ml.Nas().Trainers.MlpRegression(o), o => o.LearningRate = 0, tabular, "LearningRate");
        Spoilt("NAS: SearchEpochs = 0 after the trainer is built", Nas(), o => ml.Nas().Trainers.Regression(o), o => o.SearchEpochs = 0, tabular, "SearchEpochs");
        Spoilt("PONITA: NumberOfOrientations = 1 after the trainer is built", Ponita(), o => ml.Equivariant().Trainers.Ponita(o), o => o.NumberOfOrientations = 1, molecules, "NumberOfOrientations");
        Spoilt("PONITA: PredictedForcesColumnName = \"Positions\" after the trainer is built", Ponita(), o => ml.Equivariant().Trainers.Ponita(o), o => o.PredictedForcesColumnName = "Positions", molecules, "PredictedForcesColumnName");
        Spoilt("PRESTO: Lambda = −1 after the trainer is built", new PrestoTrainer.Options { Seed = 1 }, o => ml.Ordinal().Trainers.Presto(o), o => o.Lambda = -1, ordinal, "Lambda");
        Spoilt("PRESTO: NumberOfFolds = 1 after the trainer is built", new PrestoTrainer.Options { Seed = 1 }, o => ml.Ordinal().Trainers.Presto(o), o => o.NumberOfFolds = 1, ordinal, "NumberOfFolds");
        Spoilt("PRESTO: Alpha = 5 after the trainer is built", new PrestoTrainer.Options { Seed = 1 }, o => ml.Ordinal().Trainers.Presto(o), o => o.Alpha = 5, ordinal, "Alpha");
    }

    // ---- 8. Legal but useless ----

    private static void LegalButUseless(MLContext ml)
    {
        Expect<InvalidDataException>("MLP: every example weight 0", () =>
        {
            var rows = Rows(20, 1);
            foreach (var row in rows) row.Weight = 0;
            var options = Mlp(nameof(Row.Target));
            options.ExampleWeightColumnName = nameof(Row.Weight);
            using var model = ml.Nas().Trainers.MlpRegression(options).Fit(View(ml, rows));
        }, "'Weight'", "sum to 0");

        var molecules = ml.Data.LoadFromEnumerable(Molecules(24, 1));
        Expect<ArgumentOutOfRangeException>("PONITA: Cutoff = 1e-6", () =>
        {
            var options = Ponita();
            options.Cutoff = 1e-6;
            using var model = ml.Equivariant().Trainers.Ponita(options).Fit(molecules);
        }, "Cutoff", "no two points");

        Check("PONITA: WarmupEpochs = 1e9 (warning in `mlContext.Log`)", () =>
        {
            var logged = new MLContext(1);
            var warnings = new List<string>();
            logged.Log += (_, e) =>
            {
                if (e.Kind == ChannelMessageKind.Warning) lock (warnings) warnings.Add(e.Message);
            };
            var options = Ponita();
            options.WarmupEpochs = 1e9;
            using var model = logged.Equivariant().Trainers.Ponita(options).Fit(logged.Data.LoadFromEnumerable(Molecules(12, 1)));
            var warning = warnings.FirstOrDefault(w => w.Contains("WarmupEpochs", StringComparison.Ordinal));
            Assert(warning is not null, $"trained without a warning naming WarmupEpochs ({warnings.Count} other warnings)");
            return "trained, warned: " + OneLine(warning!);
        });

        Expect<InvalidDataException>("PRESTO: 10 folds on 6 rows", () =>
        {
            var data = new OrdinalSimulationData([0, 1, 2, 3, 4, 5], [0, 0, 1, 1, 2, 2], new double[18], [], [], 1, 3).ToDataView(ml);
            using var model = ml.Ordinal().Trainers.Presto(new PrestoTrainer.Options { NumberOfFolds = 10, Seed = 1 }).Fit(data);
        }, "NumberOfFolds (10)", "6 training row");

        Expect<ArgumentException>("PRESTO: Tolerance = ∞", () =>
        {
            using var model = ml.Ordinal().Trainers.Presto(new PrestoTrainer.Options { Tolerance = double.PositiveInfinity, Seed = 1 }).Fit(Ordinal(60, 1, 3).ToDataView(ml));
        }, "Tolerance");

        Expect<ArgumentOutOfRangeException>("Mitigator: CrossFitFolds = 10,000 on 500 rows", () =>
        {
            var random = new Random(3);
            var rows = Enumerable.Range(0, 500).Select(i =>
            {
                string client = random.NextDouble() < 0.5 ? "A" : "B", group = random.NextDouble() < 0.6 ? "m" : "f";
                double p = 1 / (1 + Math.Exp(-(2 * random.NextDouble() - 1 + ((client == "A") == (group == "m") ? 1 : -1))));
                return new MitigatorRow { Client = client, Sensitive = group, Label = random.NextDouble() < p, Probability = (float)p, PredictedLabel = p >= 0.5, Id = $"row-{i}" };
            }).ToList();
            ml.Fairness().Mitigate(new FairnessMitigator.Options
            {
                SensitiveColumnName = "Sensitive", ClientColumnName = "Client", LabelColumnName = "Label", ScoreColumnName = "Probability",
                RowKeyColumnName = "Id", CrossFitFolds = 10_000, Seed = 1,
            }).Fit(ml.Data.LoadFromEnumerable(rows));
        }, "CrossFitFolds", "500 rows");
    }

    // ---- 9. Errors that used to be unclear ----

    private sealed class HugeRow
    {
        [VectorType(2)] public float[] Features { get; set; } = [];
        public float Target { get; set; }
    }

    private static void UnclearErrors(MLContext ml)
    {
        Expect<InvalidDataException>("MLP: a feature of 1.5e38", () =>
        {
            var rows = Enumerable.Range(0, 20).Select(i => new HugeRow { Features = [i, i == 7 ? 1.5e38f : i], Target = i }).ToList();
            using var model = ml.Nas().Trainers.MlpRegression(Mlp(nameof(HugeRow.Target))).Fit(ml.Data.LoadFromEnumerable(rows));
        }, "Column 'Features', row 7", "float32");

        var data = View(ml, Rows(50, 1));
        Check("MLP: BatchSize = ShuffleBufferRows = int.MaxValue", () =>
        {
            var options = Mlp(nameof(Row.Target));
            options.BatchSize = int.MaxValue;
            options.ShuffleBufferRows = int.MaxValue;
            options.ValidationFraction = 0.2;
            using var model = ml.Nas().Trainers.MlpRegression(options).Fit(data);
            var scores = model.Transform(data).GetColumn<float>("Score").ToArray();
            Assert(scores.All(float.IsFinite), "non-finite scores");
            return $"trained on all 50 rows as one batch, {scores.Length} finite scores";
        });

        Check("MLP: `Transform(data, new BatchScoringOptions { BlockSize = int.MaxValue })`", () =>
        {
            using var model = ml.Nas().Trainers.MlpRegression(Mlp(nameof(Row.Target))).Fit(data);
            long before = GC.GetTotalAllocatedBytes();
            try
            {
                var scores = model.Transform(data, new BatchScoringOptions { BlockSize = int.MaxValue }).GetColumn<float>("Score").ToArray();
                var expected = model.Transform(data).GetColumn<float>("Score").ToArray();
                Assert(scores.SequenceEqual(expected), "scores differ from the default block size");
                return $"scored the {scores.Length} rows identically to the default block size, {(GC.GetTotalAllocatedBytes() - before) / 1e6:F1} MB allocated";
            }
            catch (ArgumentException error) when (error.Message.Contains("BlockSize", StringComparison.Ordinal))
            {
                return "refused: " + Describe(error);
            }
        });

        var ponitaMolecules = Molecules(24, 1);
        using var ponita = ml.Equivariant().Trainers.Ponita(Ponita()).Fit(ml.Data.LoadFromEnumerable(ponitaMolecules));
        var molecule = ponitaMolecules[3];
        var types = Types(molecule);
        int atoms = types.Length;
        (double, float[]) Potential(float[] x)
        {
            var result = ponita.Potential.Evaluate(x, types);
            return (result.Energy, result.Forces!);
        }
        double[] Masses() => molecule.AtomTypes.Select(t => new[] { 12.0, 14.0, 16.0 }[t]).ToArray();

        Expect<ArgumentException>($"MolecularDynamics: {atoms - 1} masses for {atoms} atoms", () =>
            MolecularDynamics.VelocityVerlet(Potential, molecule.Positions, Masses()[1..], new double[3 * (atoms - 1)], 0.5, 10), "masses", $"{3 * atoms} values");
        Expect<ArgumentOutOfRangeException>("MolecularDynamics: a negative mass (atom 1)", () =>
        {
            var masses = Masses();
            masses[1] = -12;
            MolecularDynamics.VelocityVerlet(Potential, molecule.Positions, masses, new double[3 * atoms], 0.5, 10);
        }, "atom 1", "masses");
        Expect<InvalidOperationException>("MolecularDynamics: a 1e6 fs time step", () =>
        {
            var masses = Masses();
            MolecularDynamics.VelocityVerlet(Potential, molecule.Positions, masses, MolecularDynamics.ThermalVelocities(masses, 300, new Random(1)), 1e6, 10);
        }, "timeStep = 1E+06 fs", "step 1 of 10");

        Expect<ArgumentException>("NAS: Widths = []", () => ml.Nas().Trainers.Regression(new NasTrainer.Options { Widths = [] }), "Widths");

        Expect<InvalidDataException>("MLP multiclass on empty data", () =>
        {
            var empty = ml.Data.LoadFromEnumerable(Array.Empty<Row>());
            var pipeline = ml.Transforms.Conversion.MapValueToKey("Label", nameof(Row.Class))
                .Append(ml.Nas().Trainers.MlpMulticlassClassification(new MlpTrainer.Options { NumberOfEpochs = 2, Seed = 1 }));
            pipeline.Fit(empty);
        }, "no rows");

        Expect<ArgumentOutOfRangeException>("PONITA: KernelScale = 1e-9", () =>
        {
            var options = Ponita();
            options.KernelScale = 1e-9;
            using var model = ml.Equivariant().Trainers.Ponita(options).Fit(ml.Data.LoadFromEnumerable(ponitaMolecules));
        }, "KernelScale");
    }

    // ---- 10. Minor ----

    private static void Minor(MLContext ml)
    {
        Check("NAS: ONNX bytes of two fits with the same seed", () =>
        {
            var data = View(ml, Rows(100, 1));
            using var first = ml.Nas().Trainers.Regression(Nas()).Fit(data);
            using var second = ml.Nas().Trainers.Regression(Nas()).Fit(data);
            byte[] a = first.GetOnnxModel(), b = second.GetOnnxModel();
            Assert(a.AsSpan().SequenceEqual(b), $"{a.Length:N0} and {b.Length:N0} bytes differ");
            return $"identical ({a.Length:N0} bytes, {first.Architecture})";
        });

        Check("PONITA: molecules scaled by 1e-9", () =>
        {
            var scaled = Molecules(24, 1).Select(r => new MoleculeRow
            {
                Positions = r.Positions.Select(v => v * 1e-9f).ToArray(), AtomTypes = r.AtomTypes, Label = r.Label, Forces = r.Forces,
            }).ToList();
            var data = ml.Data.LoadFromEnumerable(scaled);
            var options = Ponita();
            options.ForcesColumnName = null;
            options.PredictedForcesColumnName = null;
            using var model = ml.Equivariant().Trainers.Ponita(options).Fit(data);
            var scores = model.Transform(data).GetColumn<float>("Score").ToArray();
            Assert(scores.All(float.IsFinite), "non-finite energies");
            return $"trained and scored {scores.Length} finite energies, cutoff {model.Description.Cutoff:G3}";
        });
    }
}
