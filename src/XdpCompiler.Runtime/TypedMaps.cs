using System.Collections;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using XdpCompiler.Core.Objects;

namespace XdpCompiler.Runtime;

// Typed views over a LoadedMap. Keys and values are unmanaged structs copied byte for byte, so their layout must match
// the program's (the view checks the sizes against the map when it is created).

/// <summary>BPF_MAP_TYPE_ARRAY: every index 0..MaxEntries-1 always exists.</summary>
public sealed class ArrayMapView<T> : IEnumerable<T> where T : unmanaged
{
    internal ArrayMapView(LoadedMap map)
    {
        map.CheckType(nameof(ArrayMapView<T>), BpfMapType.Array);
        map.CheckSizes($"{nameof(ArrayMapView<T>)}<{typeof(T).Name}>", sizeof(uint), Unsafe.SizeOf<T>());
        Map = map;
    }

    public LoadedMap Map { get; }

    public uint MaxEntries => Map.MaxEntries;

    public T this[uint index]
    {
        get => Lookup(index);
        set => Update(index, value);
    }

    public T Lookup(uint index)
    {
        CheckIndex(index);
        T value = default;
        if (!Map.TryLookup(MapBytes.Of(ref index), MapBytes.Of(ref value)))
            throw new InvalidOperationException($"Array map {Map.Name} has no index {index}.");
        return value;
    }

    public void Update(uint index, T value, MapUpdateFlags flags = MapUpdateFlags.Any)
    {
        CheckIndex(index);
        Map.Update(MapBytes.Of(ref index), MapBytes.Of(ref value), flags);
    }

    /// <summary>Every value, by index, read with BPF_MAP_LOOKUP_BATCH (element by element where the kernel lacks it).</summary>
    public T[] LookupBatch(int batchSize = 256)
    {
        var values = new T[MaxEntries];
        foreach (var (key, value) in Map.LookupBatch(batchSize))
            values[MapBytes.Read<uint>(key)] = MapBytes.Read<T>(value);
        return values;
    }

    /// <summary>Writes <paramref name="values"/> at <paramref name="indexes"/> in one BPF_MAP_UPDATE_BATCH (see <see cref="LoadedMap.UpdateBatch"/> for flags).</summary>
    public void UpdateBatch(ReadOnlySpan<uint> indexes, ReadOnlySpan<T> values, MapUpdateFlags flags = MapUpdateFlags.Any)
    {
        if (indexes.Length != values.Length)
            throw new ArgumentException($"{indexes.Length} indexes but {values.Length} values.", nameof(values));
        foreach (var index in indexes)
            CheckIndex(index);
        Map.UpdateBatch(MemoryMarshal.AsBytes(indexes), MemoryMarshal.AsBytes(values), flags);
    }

    public IEnumerator<T> GetEnumerator()
    {
        for (uint i = 0; i < MaxEntries; i++)
            yield return Lookup(i);
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private void CheckIndex(uint index)
    {
        if (index >= MaxEntries)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"Array map {Map.Name} has indexes 0..{MaxEntries - 1}.");
    }
}

/// <summary>BPF_MAP_TYPE_PERCPU_ARRAY: one value per possible CPU at each index.</summary>
public sealed class PerCpuArrayMap<T> where T : unmanaged
{
    internal PerCpuArrayMap(LoadedMap map)
    {
        map.CheckType(nameof(PerCpuArrayMap<T>), BpfMapType.PerCpuArray);
        map.CheckSizes($"{nameof(PerCpuArrayMap<T>)}<{typeof(T).Name}>", sizeof(uint), Unsafe.SizeOf<T>());
        Map = map;
    }

    public LoadedMap Map { get; }

    public uint MaxEntries => Map.MaxEntries;

    /// <summary>The value on each possible CPU, indexed by CPU number.</summary>
    public T[] Lookup(uint index)
    {
        CheckIndex(index);
        var buffer = new byte[Map.ValueBufferSize];
        if (!Map.TryLookup(MapBytes.Of(ref index), buffer))
            throw new InvalidOperationException($"Per-CPU array map {Map.Name} has no index {index}.");
        return MapBytes.SplitPerCpu<T>(buffer, Map.PerCpuValueStride);
    }

    /// <summary>Sets the value on each CPU (<paramref name="perCpu"/> has one value per possible CPU).</summary>
    public void Update(uint index, ReadOnlySpan<T> perCpu, MapUpdateFlags flags = MapUpdateFlags.Any)
    {
        CheckIndex(index);
        Map.Update(MapBytes.Of(ref index), MapBytes.JoinPerCpu(perCpu, Map.PerCpuValueStride, Map.Name), flags);
    }

    /// <summary>Sets the same value on every CPU.</summary>
    public void Update(uint index, T value, MapUpdateFlags flags = MapUpdateFlags.Any) =>
        Update(index, Enumerable.Repeat(value, SystemCpus.PossibleCount).ToArray(), flags);

    private void CheckIndex(uint index)
    {
        if (index >= MaxEntries)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"Per-CPU array map {Map.Name} has indexes 0..{MaxEntries - 1}.");
    }
}

/// <summary>
/// BPF_MAP_TYPE_HASH and BPF_MAP_TYPE_LRU_HASH; also an LPM trie through its whole key struct (prefix length first):
/// lookups find the longest stored prefix, updates and deletes are exact (<see cref="LpmTrieView{TData, TValue}"/> splits
/// the key for you).
/// </summary>
public sealed class HashMapView<TKey, TValue> : IEnumerable<KeyValuePair<TKey, TValue>> where TKey : unmanaged where TValue : unmanaged
{
    internal HashMapView(LoadedMap map)
    {
        map.CheckType(nameof(HashMapView<TKey, TValue>), BpfMapType.Hash, BpfMapType.LruHash, BpfMapType.LpmTrie);
        map.CheckSizes($"{nameof(HashMapView<TKey, TValue>)}<{typeof(TKey).Name}, {typeof(TValue).Name}>", Unsafe.SizeOf<TKey>(), Unsafe.SizeOf<TValue>());
        Map = map;
    }

    public LoadedMap Map { get; }

    public TValue this[TKey key]
    {
        get => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException($"Key {key} is not in map {Map.Name}.");
        set => Update(key, value);
    }

    public bool TryGetValue(TKey key, out TValue value)
    {
        value = default;
        return Map.TryLookup(MapBytes.Of(ref key), MapBytes.Of(ref value));
    }

    public void Update(TKey key, TValue value, MapUpdateFlags flags = MapUpdateFlags.Any) =>
        Map.Update(MapBytes.Of(ref key), MapBytes.Of(ref value), flags);

    /// <summary>Adds the key only if it is absent (BPF_NOEXIST); false if it was there.</summary>
    public bool TryAdd(TKey key, TValue value)
    {
        if (Map.TryUpdate(MapBytes.Of(ref key), MapBytes.Of(ref value), MapUpdateFlags.NoExist, out var errno))
            return true;
        if (errno == Interop.Errno.EEXIST)
            return false;
        throw BpfErrors.Create(BpfOperationKind.MapUpdate, $"add a key to map {Map.Name}", Map.Name, errno, "flags NoExist");
    }

    public bool Delete(TKey key) => Map.Delete(MapBytes.Of(ref key));

    public IEnumerable<TKey> Keys => Map.Keys().Select(MapBytes.Read<TKey>);

    /// <summary>Every entry, read with BPF_MAP_LOOKUP_BATCH (element by element where the kernel lacks it).</summary>
    public IReadOnlyList<KeyValuePair<TKey, TValue>> LookupBatch(int batchSize = 256) => Typed(Map.LookupBatch(batchSize));

    /// <summary>Every entry, removed as it is read (BPF_MAP_LOOKUP_AND_DELETE_BATCH): drains the map.</summary>
    public IReadOnlyList<KeyValuePair<TKey, TValue>> LookupAndDeleteBatch(int batchSize = 256) => Typed(Map.LookupAndDeleteBatch(batchSize));

    /// <summary>Writes the pairs in one BPF_MAP_UPDATE_BATCH (see <see cref="LoadedMap.UpdateBatch"/> for flags).</summary>
    public void UpdateBatch(ReadOnlySpan<TKey> keys, ReadOnlySpan<TValue> values, MapUpdateFlags flags = MapUpdateFlags.Any)
    {
        if (keys.Length != values.Length)
            throw new ArgumentException($"{keys.Length} keys but {values.Length} values.", nameof(values));
        Map.UpdateBatch(MemoryMarshal.AsBytes(keys), MemoryMarshal.AsBytes(values), flags);
    }

    /// <summary>Deletes the keys in BPF_MAP_DELETE_BATCH calls, skipping absent ones; returns how many were deleted.</summary>
    public int DeleteBatch(ReadOnlySpan<TKey> keys) => Map.DeleteBatch(MemoryMarshal.AsBytes(keys));

    private static List<KeyValuePair<TKey, TValue>> Typed(IReadOnlyList<(byte[] Key, byte[] Value)> entries) =>
        entries.Select(e => new KeyValuePair<TKey, TValue>(MapBytes.Read<TKey>(e.Key), MapBytes.Read<TValue>(e.Value))).ToList();

    /// <summary>The entries present while iterating (a key deleted meanwhile is skipped).</summary>
    public IEnumerator<KeyValuePair<TKey, TValue>> GetEnumerator()
    {
        foreach (var key in Keys)
        {
            if (TryGetValue(key, out var value))
                yield return new(key, value);
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>BPF_MAP_TYPE_PERCPU_HASH and BPF_MAP_TYPE_LRU_PERCPU_HASH: one value per possible CPU for each key.</summary>
public sealed class PerCpuHashMapView<TKey, TValue> where TKey : unmanaged where TValue : unmanaged
{
    internal PerCpuHashMapView(LoadedMap map)
    {
        map.CheckType(nameof(PerCpuHashMapView<TKey, TValue>), BpfMapType.PerCpuHash, BpfMapType.LruPerCpuHash);
        map.CheckSizes($"{nameof(PerCpuHashMapView<TKey, TValue>)}<{typeof(TKey).Name}, {typeof(TValue).Name}>", Unsafe.SizeOf<TKey>(), Unsafe.SizeOf<TValue>());
        Map = map;
    }

    public LoadedMap Map { get; }

    /// <summary>The value on each possible CPU, or false when the key is absent.</summary>
    public bool TryGetValue(TKey key, out TValue[] perCpu)
    {
        var buffer = new byte[Map.ValueBufferSize];
        if (!Map.TryLookup(MapBytes.Of(ref key), buffer))
        {
            perCpu = [];
            return false;
        }
        perCpu = MapBytes.SplitPerCpu<TValue>(buffer, Map.PerCpuValueStride);
        return true;
    }

    public TValue[] Lookup(TKey key) =>
        TryGetValue(key, out var perCpu) ? perCpu : throw new KeyNotFoundException($"Key {key} is not in map {Map.Name}.");

    public void Update(TKey key, ReadOnlySpan<TValue> perCpu, MapUpdateFlags flags = MapUpdateFlags.Any) =>
        Map.Update(MapBytes.Of(ref key), MapBytes.JoinPerCpu(perCpu, Map.PerCpuValueStride, Map.Name), flags);

    public void Update(TKey key, TValue value, MapUpdateFlags flags = MapUpdateFlags.Any) =>
        Update(key, Enumerable.Repeat(value, SystemCpus.PossibleCount).ToArray(), flags);

    public bool Delete(TKey key) => Map.Delete(MapBytes.Of(ref key));

    public IEnumerable<TKey> Keys => Map.Keys().Select(MapBytes.Read<TKey>);
}

/// <summary>
/// The key of an LPM trie (<c>struct bpf_lpm_trie_key_u8</c>): a prefix length in bits, then the data it applies to
/// (an IPv4 address as 4 bytes, an IPv6 address as 16, in network order), packed with no padding between them.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public readonly struct LpmKey<TData> : IEquatable<LpmKey<TData>> where TData : unmanaged
{
    public LpmKey(uint prefixLength, TData data)
    {
        var bits = (uint)Unsafe.SizeOf<TData>() * 8;
        if (prefixLength > bits)
            throw new ArgumentOutOfRangeException(nameof(prefixLength), prefixLength, $"A prefix of {typeof(TData).Name} data is at most {bits} bits.");
        PrefixLength = prefixLength;
        Data = data;
    }

    public uint PrefixLength { get; }

    public TData Data { get; }

    /// <summary>A key covering all of <paramref name="data"/>: looking it up finds the longest prefix that matches.</summary>
    public static LpmKey<TData> Exact(TData data) => new((uint)Unsafe.SizeOf<TData>() * 8, data);

    public bool Equals(LpmKey<TData> other) => PrefixLength == other.PrefixLength && MapBytes.Of(ref Unsafe.AsRef(in other)).SequenceEqual(MapBytes.Of(ref Unsafe.AsRef(in this)));

    public override bool Equals(object? obj) => obj is LpmKey<TData> other && Equals(other);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.AddBytes(MapBytes.Of(ref Unsafe.AsRef(in this)));
        return hash.ToHashCode();
    }

    public override string ToString() => $"{Data}/{PrefixLength}";
}

/// <summary>
/// BPF_MAP_TYPE_LPM_TRIE: prefixes of <typeparamref name="TData"/> mapped to values; a lookup finds the longest
/// stored prefix that covers the key (routing-table style).
/// </summary>
public sealed class LpmTrieView<TData, TValue> : IEnumerable<KeyValuePair<LpmKey<TData>, TValue>> where TData : unmanaged where TValue : unmanaged
{
    internal LpmTrieView(LoadedMap map)
    {
        map.CheckType(nameof(LpmTrieView<TData, TValue>), BpfMapType.LpmTrie);
        map.CheckSizes($"{nameof(LpmTrieView<TData, TValue>)}<{typeof(TData).Name}, {typeof(TValue).Name}> (key: 4-byte prefix length + data)",
            Unsafe.SizeOf<LpmKey<TData>>(), Unsafe.SizeOf<TValue>());
        Map = map;
    }

    public LoadedMap Map { get; }

    /// <summary>Stores <paramref name="value"/> for the prefix <paramref name="key"/>.</summary>
    public void Update(LpmKey<TData> key, TValue value, MapUpdateFlags flags = MapUpdateFlags.Any) =>
        Map.Update(MapBytes.Of(ref key), MapBytes.Of(ref value), flags);

    /// <summary>The value of the longest stored prefix covering <paramref name="key"/> (its data, up to its prefix length).</summary>
    public bool TryMatch(LpmKey<TData> key, out TValue value)
    {
        value = default;
        return Map.TryLookup(MapBytes.Of(ref key), MapBytes.Of(ref value));
    }

    /// <summary>The value of the longest stored prefix covering all of <paramref name="data"/>.</summary>
    public bool TryMatch(TData data, out TValue value) => TryMatch(LpmKey<TData>.Exact(data), out value);

    /// <summary>Removes exactly this prefix; false when it was not stored.</summary>
    public bool Delete(LpmKey<TData> key) => Map.Delete(MapBytes.Of(ref key));

    public IEnumerable<LpmKey<TData>> Keys => Map.Keys().Select(MapBytes.Read<LpmKey<TData>>);

    /// <summary>The stored prefixes and their values (each looked up by its own prefix, which matches itself exactly).</summary>
    public IEnumerator<KeyValuePair<LpmKey<TData>, TValue>> GetEnumerator()
    {
        foreach (var key in Keys)
        {
            if (TryMatch(key, out var value))
                yield return new(key, value);
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>Sums of per-CPU values (the usual way to read per-CPU counters).</summary>
public static class PerCpuMapExtensions
{
    /// <summary>The sum over all CPUs of the value at <paramref name="index"/> (wrapping on overflow, as the counters do).</summary>
    public static T Sum<T>(this PerCpuArrayMap<T> map, uint index) where T : unmanaged, INumberBase<T> => SumOf(map.Lookup(index));

    /// <summary>The sum over all CPUs of the value of <paramref name="key"/>; zero when the key is absent.</summary>
    public static TValue Sum<TKey, TValue>(this PerCpuHashMapView<TKey, TValue> map, TKey key)
        where TKey : unmanaged where TValue : unmanaged, INumberBase<TValue> =>
        map.TryGetValue(key, out var perCpu) ? SumOf(perCpu) : TValue.Zero;

    private static T SumOf<T>(T[] values) where T : INumberBase<T>
    {
        var sum = T.Zero;
        foreach (var v in values)
            sum = unchecked(sum + v);
        return sum;
    }
}

internal static class MapBytes
{
    internal static Span<byte> Of<T>(ref T value) where T : unmanaged => MemoryMarshal.AsBytes(MemoryMarshal.CreateSpan(ref value, 1));

    internal static T Read<T>(byte[] bytes) where T : unmanaged => MemoryMarshal.Read<T>(bytes);

    internal static T[] SplitPerCpu<T>(ReadOnlySpan<byte> buffer, int stride) where T : unmanaged
    {
        var result = new T[buffer.Length / stride];
        for (var cpu = 0; cpu < result.Length; cpu++)
            result[cpu] = MemoryMarshal.Read<T>(buffer.Slice(cpu * stride));
        return result;
    }

    internal static byte[] JoinPerCpu<T>(ReadOnlySpan<T> perCpu, int stride, string mapName) where T : unmanaged
    {
        var cpus = SystemCpus.PossibleCount;
        if (perCpu.Length != cpus)
            throw new ArgumentException($"Per-CPU map {mapName} needs one value for each of the {cpus} possible CPUs, not {perCpu.Length}.", nameof(perCpu));
        var buffer = new byte[cpus * stride];
        for (var cpu = 0; cpu < cpus; cpu++)
        {
            var value = perCpu[cpu];
            MemoryMarshal.Write(buffer.AsSpan(cpu * stride), in value);
        }
        return buffer;
    }
}
