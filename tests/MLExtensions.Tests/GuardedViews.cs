using Microsoft.ML;
using MLExtensions.Onnx.Lifetimes;

namespace MLExtensions.Tests;

/// <summary>Sees through the disposal guards models put around what they return, to check how it is scored.</summary>
public static class GuardedViews
{
    public static IDataView Unwrap(IDataView view)
    {
        while (view is GuardedDataView guarded) view = guarded.Inner;
        return view;
    }
}
