namespace MLExtensions.Fairness.Tradeoff;

/// <summary>
/// The linear equalities E·x = 0 that a zero budget becomes in <see cref="RocTradeoffBarrier"/>'s variables (each cell
/// k's false and true positive rates at 2k and 2k + 1), over the label cells of positive mass.
/// </summary>
internal static class ZeroBudgetEqualities
{
    /// <summary>Zero global budget: every group's rate equals the first group's, per constrained label.</summary>
    /// <param name="cells">The cells.</param>
    /// <param name="mass">Each cell's mass per label, [cell, label].</param>
    /// <param name="labels">The constrained labels (1 alone under equal opportunity).</param>
    public static IEnumerable<double[]> EqualGroupRates(IReadOnlyList<TradeoffCell> cells, double[,] mass, int[] labels)
    {
        int variables = 2 * cells.Count;
        foreach (int y in labels)
        {
            var groups = cells.Select((c, k) => (c.Group, k)).Where(p => mass[p.k, y] > 0).GroupBy(p => p.Group).ToArray();
            if (groups.Length < 2) continue;
            double[] Row(IGrouping<int, (int Group, int k)> group)
            {
                var row = new double[variables];
                double total = group.Sum(p => mass[p.k, y]);
                foreach (var (_, k) in group) row[2 * k + y] = mass[k, y] / total;
                return row;
            }
            var first = Row(groups[0]);
            foreach (var group in groups.Skip(1))
            {
                var row = Row(group);
                for (int j = 0; j < row.Length; j++) row[j] -= first[j];
                yield return row;
            }
        }
    }

    /// <summary>Zero local budget: within each client, every cell's rate equals the client's first cell's, per constrained label.</summary>
    /// <param name="byClient">Each client's cells.</param>
    /// <param name="mass">Each cell's mass per label, [cell, label].</param>
    /// <param name="labels">The constrained labels.</param>
    /// <param name="variables">The number of rate variables, twice the cells.</param>
    public static IEnumerable<double[]> EqualClientRates(int[][] byClient, double[,] mass, int[] labels, int variables)
    {
        foreach (var cells in byClient)
            foreach (int y in labels)
            {
                var massive = cells.Where(k => mass[k, y] > 0).ToArray();
                for (int i = 1; i < massive.Length; i++)
                {
                    var row = new double[variables];
                    row[2 * massive[i] + y] = 1;
                    row[2 * massive[0] + y] = -1;
                    yield return row;
                }
            }
    }
}
