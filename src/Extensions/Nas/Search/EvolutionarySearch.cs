using MLExtensions.Mlp;

namespace MLExtensions.Nas;

/// <summary>
/// SPOS's evolutionary search over a space too large to rank whole: a population drawn uniformly per decision, then
/// generations whose children are half mutations of the best parents (each decision redrawn with probability
/// <see cref="MutationProbability"/>) and half crossovers of two of them (each decision from either). Genes are the
/// decisions of an <see cref="ArchitecturePath"/>, widths of all <c>MaximumDepth</c> layers included, so a depth
/// mutation keeps the deeper layers' inherited widths. Every architecture is scored once; the search stops after
/// <c>evaluations</c> distinct ones, or when <c>stop</c> says so, or when no unseen child turns up.
/// </summary>
internal static class EvolutionarySearch
{
    /// <summary>SPOS's population.</summary>
    public const int PopulationSize = 50;

    /// <summary>SPOS's number of parents.</summary>
    public const int Parents = 10;

    /// <summary>SPOS's per-decision mutation probability.</summary>
    public const double MutationProbability = 0.1;

    /// <summary>Every scored architecture with its loss, in scoring order.</summary>
    public static List<(MlpArchitecture Architecture, double Loss)> Run(NasSearchSpace space, int evaluations, Func<MlpArchitecture, double> score,
        Func<bool> stop, Random random)
    {
        int[] sizes = [space.Depths.Length, .. Enumerable.Repeat(space.Widths.Length, space.MaximumDepth), .. Enumerable.Repeat(space.Activations.Length, space.ActivationDecisions),
            space.ResidualChoices.Length];
        var scored = new List<(MlpArchitecture Architecture, double Loss)>();
        var genes = new List<int[]>();
        var seen = new HashSet<MlpArchitecture>();
        int population = Math.Max(2, Math.Min(PopulationSize, evaluations / 4));
        int parents = Math.Max(2, Math.Min(Parents, population / 5));
        bool Done() => scored.Count >= evaluations || stop();

        // Scores the gene when its architecture is new; false when the search must stop.
        bool Try(int[] gene)
        {
            var architecture = ToPath(gene, space).ToArchitecture(space);
            if (!seen.Add(architecture)) return true;
            scored.Add((architecture, score(architecture)));
            genes.Add(gene);
            return !Done();
        }

        int attempts = 0, limit = 50 * population;
        while (scored.Count < population && attempts++ < limit)
            if (!Try(RandomGene(sizes, random))) return scored;
        while (!Done())
        {
            var best = Enumerable.Range(0, scored.Count).OrderBy(i => scored[i].Loss).ThenBy(i => i).Take(parents).Select(i => genes[i]).ToArray();
            int before = scored.Count;
            for (int child = 0, tries = 0; child < population && tries < limit; tries++)
            {
                int[] gene;
                if (child < population / 2)
                {
                    var parent = best[random.Next(best.Length)];
                    gene = parent.Select((g, d) => random.NextDouble() < MutationProbability ? random.Next(sizes[d]) : g).ToArray();
                }
                else
                {
                    var (a, b) = (best[random.Next(best.Length)], best[random.Next(best.Length)]);
                    gene = a.Select((g, d) => random.Next(2) == 0 ? g : b[d]).ToArray();
                }
                int count = scored.Count;
                if (!Try(gene)) return scored;
                if (scored.Count > count) child++;
            }
            if (scored.Count > before) continue;
            // The parents' neighbourhood is exhausted: a generation of random newcomers, or the end when none is new.
            for (int tries = 0; tries < limit && scored.Count < before + population; tries++)
                if (!Try(RandomGene(sizes, random))) return scored;
            if (scored.Count == before) break;
        }
        return scored;
    }

    private static int[] RandomGene(int[] sizes, Random random) => sizes.Select(n => random.Next(n)).ToArray();

    private static ArchitecturePath ToPath(int[] gene, NasSearchSpace space) =>
        new(gene[0], gene[1..(1 + space.MaximumDepth)], gene[(1 + space.MaximumDepth)..^1], gene[^1]);
}
