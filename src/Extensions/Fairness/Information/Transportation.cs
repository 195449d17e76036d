namespace MLExtensions.Fairness.Information;

/// <summary>
/// The transportation problem <c>min Σ c_ij x_ij</c> subject to row sums = supply, column sums = demand, x ≥ 0,
/// solved exactly with <see cref="DenseSimplex"/>. It serves the Frank–Wolfe duality gap of the unique-information
/// solver, one table per value of the sensitive attribute.
/// </summary>
internal static class Transportation
{
    public static double MinimumCost(double[,] cost, double[] supply, double[] demand)
    {
        // Rows or columns with nothing to ship cannot carry mass: leave them out.
        var rows = Enumerable.Range(0, supply.Length).Where(i => supply[i] > 0).ToArray();
        var columns = Enumerable.Range(0, demand.Length).Where(j => demand[j] > 0).ToArray();
        if (rows.Length == 0 || columns.Length == 0) return 0;
        if (rows.Length == 2) return TwoRows(cost, rows, columns, supply, demand);
        int n = rows.Length * columns.Length;
        var a = new List<double[]>();
        var b = new List<double>();
        for (int r = 0; r < rows.Length; r++)
        {
            var line = new double[n];
            for (int c = 0; c < columns.Length; c++) line[r * columns.Length + c] = 1;
            a.Add(line);
            b.Add(supply[rows[r]]);
        }
        for (int c = 0; c < columns.Length; c++)
        {
            var line = new double[n];
            for (int r = 0; r < rows.Length; r++) line[r * columns.Length + c] = 1;
            a.Add(line);
            b.Add(demand[columns[c]]);
        }
        var costs = new double[n];
        for (int r = 0; r < rows.Length; r++)
            for (int c = 0; c < columns.Length; c++) costs[r * columns.Length + c] = cost[rows[r], columns[c]];
        return DenseSimplex.Minimize(a, b, costs, 1e-9);
    }

    /// <summary>
    /// Two rows (binary predictions): ship everything by the second row, then move the first row's supply to the
    /// columns where that saves most. Exact, O(S log S).
    /// </summary>
    private static double TwoRows(double[,] cost, int[] rows, int[] columns, double[] supply, double[] demand)
    {
        int first = rows[0], second = rows[1];
        double total = 0, left = supply[first];
        foreach (var j in columns) total += cost[second, j] * demand[j];
        foreach (var j in columns.OrderBy(j => cost[first, j] - cost[second, j]))
        {
            if (left <= 0) break;
            double amount = Math.Min(left, demand[j]);
            total += (cost[first, j] - cost[second, j]) * amount;
            left -= amount;
        }
        return total;
    }
}
