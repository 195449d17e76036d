namespace MLExtensions.Fairness;

/// <summary>What merging count tables and score histograms share: the sensitive columns must agree, and a failed addition names its table.</summary>
internal static class TableMerging
{
    /// <summary>
    /// The index of the first table that states its sensitive columns (−1 when none does), after checking that every
    /// table that states them states the same ones in the same order.
    /// </summary>
    public static int AgreedSensitiveColumns(IReadOnlyList<IReadOnlyList<string>?> columns, string tables, string paramName)
    {
        int named = -1;
        for (int i = 0; i < columns.Count; i++)
        {
            if (columns[i] is not { } these) continue;
            if (named < 0) named = i;
            else if (!these.SequenceEqual(columns[named]!, StringComparer.Ordinal))
                throw new ArgumentException($"The {tables} were counted on different sensitive columns: table {named} on {FairnessCounts.Columns(columns[named])}, " +
                                            $"table {i} on {FairnessCounts.Columns(these)}. Count every party with the same sensitive columns, in the same order.", paramName);
        }
        return named;
    }

    /// <summary>Adds table <paramref name="i"/>'s cells through <paramref name="add"/>, naming the table in an overflow or a cell that does not fit the merged columns.</summary>
    public static void AddTable(int i, string table, IReadOnlyList<string>? tableColumns, IReadOnlyList<string>? mergedColumns, string paramName, Action add)
    {
        try
        {
            add();
        }
        catch (OverflowException e)
        {
            throw new OverflowException($"Merging {table} {i}: {e.Message}", e);
        }
        catch (ArgumentException e)
        {
            // Only a table that does not state its columns gets here: its values need not split as the others' do.
            throw new ArgumentException($"Merging {table} {i} (sensitive columns {FairnessCounts.Columns(tableColumns)}) into tables counted on " +
                                        $"{FairnessCounts.Columns(mergedColumns)}: {e.Message}", paramName, e);
        }
    }
}
