using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Training;

namespace MLExtensions.Equivariant;

/// <summary>
/// One checked training row: positions (3N), per-point features (N·F: one-hot types or the user's features), energy,
/// per-point target vectors (3N: forces, or the vector trainer's label) and input vectors (3N, e.g. velocities) when given,
/// and the periodic cell (9 values, lattice vectors as rows; null or empty when the cloud is not periodic).
/// </summary>
internal sealed record PointCloud(float[] Positions, float[] Features, double Energy, float[]? Forces, float[]? InputVectors = null, float[]? Cell = null)
{
    /// <summary>The stress label, 9 values row-major (energy unit/Å³, ASE's sign), or null when the row has none.</summary>
    public float[]? Stress { get; init; }

    public int Count => Positions.Length / 3;
}

/// <summary>The point clouds of a training set and how their per-point inputs were encoded.</summary>
/// <param name="Clouds">Every row, checked.</param>
/// <param name="FeatureCount">F: per-point features the network sees (the number of types for type indices).</param>
/// <param name="TypesAreIndices">True when the types column held type indices (one-hot encoded here).</param>
/// <param name="KnownTypes">With type indices: which indices occur in the training data (a type never seen is refused at scoring).</param>
internal sealed record PointCloudSet(List<PointCloud> Clouds, int FeatureCount, bool TypesAreIndices, bool[]? KnownTypes);

/// <summary>The columns a trainer reads: the point clouds of its options, and its own targets.</summary>
/// <param name="Options">Positions, types and features per point.</param>
/// <param name="EnergyLabel">A <see cref="float"/> label per row (the energy), or null.</param>
/// <param name="PointTargets">A 3N <see cref="float"/> target per row (forces, or target vectors), or null.</param>
/// <param name="InputVectors">A 3N <see cref="float"/> input per row (e.g. velocities), or null.</param>
internal sealed record PointCloudColumns(PonitaOptionsBase Options, string? EnergyLabel, string? PointTargets, string? InputVectors)
{
    /// <summary>A stress label per row (9 or 6 <see cref="float"/>, or none), read only with a cell column.</summary>
    public string? Stress { get; init; }
}

/// <summary>
/// Reads and checks point clouds from an <see cref="IDataView"/>: positions (a vector of 3N <see cref="float"/>), atom
/// types (N type indices as <see cref="float"/> or <see cref="int"/>, or N·F features), a <see cref="float"/> energy
/// label and optional forces (3N <see cref="float"/>). Rows may differ in N.
/// </summary>
internal static class PointCloudData
{
    /// <summary>Checks the columns of an estimator's input shape (types only: sizes are per row).</summary>
    public static void CheckShape(SchemaShape input, PointCloudColumns columns)
    {
        var o = columns.Options;
        CheckVector(ColumnChecks.Require(input, o.PositionsColumnName, "positions"), NumberDataViewType.Single);
        var types = ColumnChecks.Require(input, o.AtomTypesColumnName, "atom types");
        if (types.Kind == SchemaShape.Column.VectorKind.Scalar || types.IsKey || !(types.ItemType == NumberDataViewType.Single || (o.FeaturesPerAtom is null && types.ItemType == NumberDataViewType.Int32)))
            throw WrongTypes(types.Name, o, Describe(types));
        if (columns.EnergyLabel is { } label)
        {
            var labelColumn = ColumnChecks.Require(input, label, "label");
            // Double labels keep large totals (a DFT energy of −4×10⁵ kcal/mol) to their last digits until the baseline is removed.
            if (!(labelColumn.Kind == SchemaShape.Column.VectorKind.Scalar && labelColumn.ItemType == NumberDataViewType.Double && !labelColumn.IsKey))
                ColumnChecks.CheckLabel(labelColumn, LabelKind.Real);
        }
        if (o.CellColumnName is { } cell) CheckVector(ColumnChecks.Require(input, cell, "cell"), NumberDataViewType.Single);
        if (columns.PointTargets is { } targets) CheckVector(ColumnChecks.Require(input, targets, "per-point targets"), NumberDataViewType.Single);
        if (columns.InputVectors is { } vectors) CheckVector(ColumnChecks.Require(input, vectors, "input vectors"), NumberDataViewType.Single);
        if (columns.Stress is { } stress) CheckVector(ColumnChecks.Require(input, stress, "stress"), NumberDataViewType.Single);
    }

    /// <summary>Reads every row, checking each; throws <see cref="InvalidDataException"/> naming the column and row of the first bad value.</summary>
    public static PointCloudSet Read(IDataView data, PointCloudColumns columns, CancellationToken cancellationToken)
    {
        var o = columns.Options;
        var schema = data.Schema;
        var positionsColumn = ColumnChecks.Require(schema, o.PositionsColumnName, "positions");
        var typesColumn = ColumnChecks.Require(schema, o.AtomTypesColumnName, "atom types");
        var labelColumn = columns.EnergyLabel is { } label ? ColumnChecks.Require(schema, label, "label") : (DataViewSchema.Column?)null;
        var targetsColumn = columns.PointTargets is { } name ? ColumnChecks.Require(schema, name, "per-point targets") : (DataViewSchema.Column?)null;
        var vectorsColumn = columns.InputVectors is { } vectors ? ColumnChecks.Require(schema, vectors, "input vectors") : (DataViewSchema.Column?)null;
        var cellColumn = o.CellColumnName is { } cellName ? ColumnChecks.Require(schema, cellName, "cell") : (DataViewSchema.Column?)null;
        var stressColumn = columns.Stress is { } stressName ? ColumnChecks.Require(schema, stressName, "stress") : (DataViewSchema.Column?)null;
        CheckVector(positionsColumn, NumberDataViewType.Single);
        bool doubleLabel = labelColumn?.Type == NumberDataViewType.Double;
        if (labelColumn is { } l && !doubleLabel) ColumnChecks.CheckLabel(l, LabelKind.Real);
        if (cellColumn is { } cc) CheckVector(cc, NumberDataViewType.Single);
        if (targetsColumn is { } t) CheckVector(t, NumberDataViewType.Single);
        if (vectorsColumn is { } v) CheckVector(v, NumberDataViewType.Single);
        if (stressColumn is { } sc) CheckVector(sc, NumberDataViewType.Single);
        var typeItem = (typesColumn.Type as VectorDataViewType)?.ItemType;
        bool intTypes = typeItem == NumberDataViewType.Int32;
        if (typeItem is null || !(typeItem == NumberDataViewType.Single || (intTypes && o.FeaturesPerAtom is null)))
            throw WrongTypes(typesColumn.Name, o, typesColumn.Type.ToString() ?? "unknown");

        var needed = new List<DataViewSchema.Column> { positionsColumn, typesColumn };
        foreach (var column in new[] { labelColumn, targetsColumn, vectorsColumn, cellColumn, stressColumn })
            if (column is { } c) needed.Add(c);
        var raw = new List<(float[] Positions, float[] Types, double Energy, float[]? Targets, float[]? Vectors, float[]? Cell, float[]? Stress)>();
        using (var cursor = data.GetRowCursor(needed))
        {
            var getPositions = cursor.GetGetter<VBuffer<float>>(positionsColumn);
            var getSingleTypes = intTypes ? null : cursor.GetGetter<VBuffer<float>>(typesColumn);
            var getIntTypes = intTypes ? cursor.GetGetter<VBuffer<int>>(typesColumn) : null;
            var getLabel = labelColumn is { } lc && !doubleLabel ? cursor.GetGetter<float>(lc) : null;
            var getDoubleLabel = labelColumn is { } dc && doubleLabel ? cursor.GetGetter<double>(dc) : null;
            var getCell = cellColumn is { } cellC ? cursor.GetGetter<VBuffer<float>>(cellC) : null;
            var getStress = stressColumn is { } stressC ? cursor.GetGetter<VBuffer<float>>(stressC) : null;
            VBuffer<float> cellBuffer = default, stressBuffer = default;
            double doubleEnergy = 0;
            var getTargets = targetsColumn is { } tc ? cursor.GetGetter<VBuffer<float>>(tc) : null;
            var getVectors = vectorsColumn is { } vc ? cursor.GetGetter<VBuffer<float>>(vc) : null;
            VBuffer<float> positions = default, singleTypes = default, buffer = default;
            VBuffer<int> intValues = default;
            float energy = 0;
            long row = -1;
            float[]? Vectors(ValueGetter<VBuffer<float>>? getter, DataViewSchema.Column? column, int n)
            {
                if (getter is null) return null;
                getter(ref buffer);
                var values = buffer.DenseValues().ToArray();
                PointCloudChecks.ValidateVectors(values, n, row, column!.Value.Name, positionsColumn.Name);
                return values;
            }
            while (cursor.MoveNext())
            {
                row++;
                if ((row & 255) == 0) cancellationToken.ThrowIfCancellationRequested();
                getPositions(ref positions);
                var p = positions.DenseValues().ToArray();
                int n = PointCloudChecks.ValidatePositions(p, row, positionsColumn.Name);
                float[] types;
                if (intTypes)
                {
                    getIntTypes!(ref intValues);
                    types = intValues.DenseValues().Select(value => (float)value).ToArray();
                }
                else
                {
                    getSingleTypes!(ref singleTypes);
                    types = singleTypes.DenseValues().ToArray();
                }
                if (o.FeaturesPerAtom is int perAtom) PointCloudChecks.ValidateFeatures(types, n, perAtom, row, typesColumn.Name, positionsColumn.Name);
                else PointCloudChecks.ValidateTypes(types, n, null, row, typesColumn.Name, positionsColumn.Name);
                if (getLabel is not null)
                {
                    getLabel(ref energy);
                    if (!float.IsFinite(energy)) throw PointCloudChecks.Bad(labelColumn!.Value.Name, row, $"label {energy}");
                    doubleEnergy = energy;
                }
                if (getDoubleLabel is not null)
                {
                    getDoubleLabel(ref doubleEnergy);
                    if (!double.IsFinite(doubleEnergy)) throw PointCloudChecks.Bad(labelColumn!.Value.Name, row, $"label {doubleEnergy}");
                }
                float[]? cell = null;
                if (getCell is not null)
                {
                    getCell(ref cellBuffer);
                    cell = PointCloudChecks.ValidateCell(cellBuffer.DenseValues().ToArray(), row, cellColumn!.Value.Name);
                }
                float[]? stress = null;
                if (getStress is not null)
                {
                    getStress(ref stressBuffer);
                    stress = PointCloudChecks.ValidateStress(stressBuffer.DenseValues().ToArray(), cell, row, stressColumn!.Value.Name, cellColumn?.Name ?? "cell");
                }
                raw.Add((p, types, doubleEnergy, Vectors(getTargets, targetsColumn, n), Vectors(getVectors, vectorsColumn, n), cell, stress));
            }
        }
        if (raw.Count == 0) throw new InvalidDataException($"The training data has no rows (columns '{positionsColumn.Name}', '{typesColumn.Name}').");
        if (o.FeaturesPerAtom is int features)
            return new PointCloudSet(raw.Select(r => new PointCloud(r.Positions, r.Types, r.Energy, r.Targets, r.Vectors, r.Cell) { Stress = r.Stress }).ToList(), features, false, null);
        int typeCount = (int)raw.Max(r => r.Types.Max()) + 1;
        var known = new bool[typeCount];
        foreach (var r in raw)
            foreach (var type in r.Types) known[(int)type] = true;
        return new PointCloudSet(raw.Select(r => new PointCloud(r.Positions, OneHot(r.Types, typeCount), r.Energy, r.Targets, r.Vectors, r.Cell) { Stress = r.Stress }).ToList(), typeCount, true, known);
    }

    /// <summary>Type indices → N·T one-hot features.</summary>
    public static float[] OneHot(IReadOnlyList<float> types, int typeCount)
    {
        var features = new float[types.Count * typeCount];
        for (int i = 0; i < types.Count; i++) features[i * typeCount + (int)types[i]] = 1f;
        return features;
    }

    private static void CheckVector(DataViewSchema.Column column, DataViewType item)
    {
        if (column.Type is not VectorDataViewType vector || vector.ItemType != item)
            throw new ArgumentException($"Column '{column.Name}' must be a vector of {item} (variable or known size), but it is {column.Type}. {ConversionHint(column.Name)}");
    }

    private static void CheckVector(SchemaShape.Column column, DataViewType item)
    {
        if (column.Kind == SchemaShape.Column.VectorKind.Scalar || column.IsKey || column.ItemType != item)
            throw new ArgumentException($"Column '{column.Name}' must be a vector of {item} (variable or known size), but it is {Describe(column)}. {ConversionHint(column.Name)}");
    }

    private static string ConversionHint(string column) =>
        $"Convert numbers with mlContext.Transforms.Conversion.ConvertType(\"{column}\", outputKind: DataKind.Single); one point cloud per row, x, y, z of each point in turn.";

    private static ArgumentException WrongTypes(string column, PonitaOptionsBase o, string actual) => new(o.FeaturesPerAtom is int f
        ? $"Atom types column '{column}' must be a vector of Single holding {f} features per point (FeaturesPerAtom = {f}), but it is {actual}."
        : $"Atom types column '{column}' must be a vector of Single or Int32 type indices (one per point), but it is {actual}. " +
          $"Convert it with mlContext.Transforms.Conversion.ConvertType(\"{column}\", outputKind: DataKind.Single), or set FeaturesPerAtom for per-point feature vectors.");

    private static string Describe(SchemaShape.Column column) =>
        (column.Kind == SchemaShape.Column.VectorKind.Scalar ? column.ItemType.ToString() : $"Vector<{column.ItemType}>") + (column.IsKey ? " (key)" : "");
}
