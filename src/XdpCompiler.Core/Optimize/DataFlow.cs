namespace XdpCompiler.Core.Optimize;

/// <summary>The meet of the forward analyses over predecessors: facts hold on entry to a block when every way in agrees.</summary>
internal static class DataFlow
{
    /// <summary>The entries every map holds with equal values; null when there is no map to meet (no predecessor reached yet).</summary>
    public static Dictionary<TKey, TValue>? Intersect<TKey, TValue>(IEnumerable<Dictionary<TKey, TValue>> maps, Func<TValue, TValue, bool> equal)
        where TKey : notnull
    {
        Dictionary<TKey, TValue>? result = null;
        foreach (var map in maps)
        {
            if (result is null)
            {
                result = new Dictionary<TKey, TValue>(map);
                continue;
            }

            foreach (var key in result.Keys.ToList())
            {
                if (!map.TryGetValue(key, out var other) || !equal(other, result[key]))
                    result.Remove(key);
            }
        }

        return result;
    }

    /// <summary>The elements every set holds; null when there is no set to meet (no predecessor reached yet).</summary>
    public static HashSet<T>? Intersect<T>(IEnumerable<HashSet<T>> sets)
    {
        HashSet<T>? result = null;
        foreach (var set in sets)
        {
            if (result is null)
                result = new HashSet<T>(set);
            else
                result.IntersectWith(set);
        }

        return result;
    }
}
