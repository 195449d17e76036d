using Microsoft.ML;
using Microsoft.ML.Data;
using MLExtensions.Training;

namespace MLExtensions.Equivariant;

/// <summary>One checked training row: positions (3N), per-point features (N·F: one-hot types or the user's features), energy, forces (3N) when given.</summary>
internal sealed record PointCloud(float[] Positions, float[] Features, float Energy, float[]? Forces)
{
    public int Count => Positions.Length / 3;
}

/// <summary>The point clouds of a training set and how their per-point inputs were encoded.</summary>
/// <param name="Clouds">Every row, checked.</param>
/// <param name="FeatureCount">F: per-point features the network sees (the number of types for type indices).</param>
/// <param name="TypesAreIndices">True when the types column held type indices (one-hot encoded here).</param>
/// <param name="KnownTypes">With type indices: which indices occur in the training data (a type never seen is refused at scoring).</param>
internal sealed record PointCloudSet(List<PointCloud> Clouds, int FeatureCount, bool TypesAreIndices, bool[]? KnownTypes);

/// <summary>
/// Reads and checks point clouds from an <see cref="IDataView"/>: positions (a vector of 3N <see cref="float"/>), atom
/// types (N type indices as <see cref="float"/> or <see cref="int"/>, or N·F features), a <see cref="float"/> energy
/// label and optional forces (3N <see cref="float"/>). Rows may differ in N.
/// </summary>
internal static class PointCloudData
{
    /// <summary>Checks the columns of an estimator's input shape (types only: sizes are per row).</summary>
    public static void CheckShape(SchemaShape input, PonitaTrainer.Options o)
    {
        CheckVector(ColumnChecks.Require(input, o.PositionsColumnName, "positions"), NumberDataViewType.Single);
        var types = ColumnChecks.Require(input, o.AtomTypesColumnName, "atom types");
        if (types.Kind == SchemaShape.Column.VectorKind.Scalar || types.IsKey || !(types.ItemType == NumberDataViewType.Single || (o.FeaturesPerAtom is null && types.ItemType == NumberDataViewType.Int32)))
            throw WrongTypes(types.Name, o, Describe(types));
        ColumnChecks.CheckLabel(ColumnChecks.Require(input, o.LabelColumnName, "label"), LabelKind.Real);
        if (o.ForcesColumnName is { } forces) CheckVector(ColumnChecks.Require(input, forces, "forces"), NumberDataViewType.Single);
    }

    /// <summary>Reads every row, checking each; throws <see cref="InvalidDataException"/> naming the column and row of the first bad value.</summary>
    public static PointCloudSet Read(IDataView data, PonitaTrainer.Options o, CancellationToken cancellationToken)
    {
        var schema = data.Schema;
        var positionsColumn = ColumnChecks.Require(schema, o.PositionsColumnName, "positions");
        var typesColumn = ColumnChecks.Require(schema, o.AtomTypesColumnName, "atom types");
        var labelColumn = ColumnChecks.Require(schema, o.LabelColumnName, "label");
        var forcesColumn = o.ForcesColumnName is { } name ? ColumnChecks.Require(schema, name, "forces") : (DataViewSchema.Column?)null;
        CheckVector(positionsColumn, NumberDataViewType.Single);
        ColumnChecks.CheckLabel(labelColumn, LabelKind.Real);
        if (forcesColumn is { } f) CheckVector(f, NumberDataViewType.Single);
        var typeItem = (typesColumn.Type as VectorDataViewType)?.ItemType;
        bool intTypes = typeItem == NumberDataViewType.Int32;
        if (typeItem is null || !(typeItem == NumberDataViewType.Single || (intTypes && o.FeaturesPerAtom is null)))
            throw WrongTypes(typesColumn.Name, o, typesColumn.Type.ToString() ?? "unknown");

        var columns = new List<DataViewSchema.Column> { positionsColumn, typesColumn, labelColumn };
        if (forcesColumn is { } fc) columns.Add(fc);
        var raw = new List<(float[] Positions, float[] Types, float Energy, float[]? Forces)>();
        using (var cursor = data.GetRowCursor(columns))
        {
            var getPositions = cursor.GetGetter<VBuffer<float>>(positionsColumn);
            var getSingleTypes = intTypes ? null : cursor.GetGetter<VBuffer<float>>(typesColumn);
            var getIntTypes = intTypes ? cursor.GetGetter<VBuffer<int>>(typesColumn) : null;
            var getLabel = cursor.GetGetter<float>(labelColumn);
            var getForces = forcesColumn is { } fcol ? cursor.GetGetter<VBuffer<float>>(fcol) : null;
            VBuffer<float> positions = default, singleTypes = default, forces = default;
            VBuffer<int> intValues = default;
            float label = 0;
            long row = -1;
            while (cursor.MoveNext())
            {
                row++;
                if ((row & 255) == 0) cancellationToken.ThrowIfCancellationRequested();
                getPositions(ref positions);
                var p = positions.DenseValues().ToArray();
                int n = PointCloudChecks.ValidatePositions(p, row, positionsColumn.Name);
                float[] t;
                if (intTypes)
                {
                    getIntTypes!(ref intValues);
                    t = intValues.DenseValues().Select(v => (float)v).ToArray();
                }
                else
                {
                    getSingleTypes!(ref singleTypes);
                    t = singleTypes.DenseValues().ToArray();
                }
                if (o.FeaturesPerAtom is int perAtom) PointCloudChecks.ValidateFeatures(t, n, perAtom, row, typesColumn.Name, positionsColumn.Name);
                else PointCloudChecks.ValidateTypes(t, n, null, row, typesColumn.Name, positionsColumn.Name);
                getLabel(ref label);
                if (!float.IsFinite(label)) throw PointCloudChecks.Bad(labelColumn.Name, row, $"label {label}");
                float[]? rowForces = null;
                if (getForces is not null)
                {
                    getForces(ref forces);
                    rowForces = forces.DenseValues().ToArray();
                    PointCloudChecks.ValidateVectors(rowForces, n, row, forcesColumn!.Value.Name, positionsColumn.Name);
                }
                raw.Add((p, t, label, rowForces));
            }
        }
        if (raw.Count == 0) throw new InvalidDataException($"The training data has no rows (columns '{positionsColumn.Name}', '{typesColumn.Name}', '{labelColumn.Name}').");
        if (o.FeaturesPerAtom is int features)
            return new PointCloudSet(raw.Select(r => new PointCloud(r.Positions, r.Types, r.Energy, r.Forces)).ToList(), features, false, null);
        int typeCount = (int)raw.Max(r => r.Types.Max()) + 1;
        var known = new bool[typeCount];
        foreach (var r in raw)
            foreach (var t in r.Types) known[(int)t] = true;
        return new PointCloudSet(raw.Select(r => new PointCloud(r.Positions, OneHot(r.Types, typeCount), r.Energy, r.Forces)).ToList(), typeCount, true, known);
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

    private static ArgumentException WrongTypes(string column, PonitaTrainer.Options o, string actual) => new(o.FeaturesPerAtom is int f
        ? $"Atom types column '{column}' must be a vector of Single holding {f} features per point (FeaturesPerAtom = {f}), but it is {actual}."
        : $"Atom types column '{column}' must be a vector of Single or Int32 type indices (one per point), but it is {actual}. " +
          $"Convert it with mlContext.Transforms.Conversion.ConvertType(\"{column}\", outputKind: DataKind.Single), or set FeaturesPerAtom for per-point feature vectors.");

    private static string Describe(SchemaShape.Column column) =>
        (column.Kind == SchemaShape.Column.VectorKind.Scalar ? column.ItemType.ToString() : $"Vector<{column.ItemType}>") + (column.IsKey ? " (key)" : "");
}
