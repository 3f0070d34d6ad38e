using System.Runtime.InteropServices;

namespace XdpCompiler;

/// <summary>Flags of a map update (<c>BPF_ANY</c>, <c>BPF_NOEXIST</c>, <c>BPF_EXIST</c>).</summary>
public enum MapUpdate : ulong
{
    /// <summary>Create the entry or replace it.</summary>
    Any = 0,

    /// <summary>Create the entry only if it does not exist (-EEXIST otherwise).</summary>
    NoExist = 1,

    /// <summary>Replace the entry only if it exists (-ENOENT otherwise).</summary>
    Exist = 2,
}

/// <summary>Kernel error numbers the map operations return (negated), as in the kernel's helpers.</summary>
internal static class MapErrors
{
    public const int NoEntry = -2;
    public const int TooBig = -7;
    public const int Exists = -17;
    public const int Invalid = -22;
}

/// <summary>
/// The .NET side of an array map: one zero-filled array of <typeparamref name="T"/>. Per-CPU maps keep one copy here,
/// as a program sees only its own CPU's copy anyway.
/// </summary>
public abstract unsafe class ArrayMapBase<T> where T : unmanaged
{
    private readonly T* _values;

    private protected ArrayMapBase(uint maxEntries)
    {
        if (maxEntries == 0)
            throw new ArgumentOutOfRangeException(nameof(maxEntries), "A map needs at least one entry.");
        MaxEntries = maxEntries;
        // Never freed: maps live in static fields for the life of the process, like the kernel object they stand for.
        var bytes = checked((int)(maxEntries * (uint)sizeof(T)));
        _values = (T*)Marshal.AllocHGlobal(bytes);
        new Span<byte>(_values, bytes).Clear();
    }

    public uint MaxEntries { get; }

    /// <summary><c>bpf_map_lookup_elem</c>: the value at <paramref name="index"/>, or null when out of range.</summary>
    public T* Lookup(uint index) => index < MaxEntries ? _values + index : null;

    /// <summary><c>bpf_map_update_elem</c>: 0, or -E2BIG out of range, -EEXIST with <see cref="MapUpdate.NoExist"/> (array entries always exist).</summary>
    public int Update(uint index, T value, MapUpdate flags = MapUpdate.Any)
    {
        if ((ulong)flags > 2)
            return MapErrors.Invalid;
        if (index >= MaxEntries)
            return MapErrors.TooBig;
        if (flags == MapUpdate.NoExist)
            return MapErrors.Exists;
        _values[index] = value;
        return 0;
    }

    /// <summary><c>bpf_map_delete_elem</c>: array entries cannot be deleted (-EINVAL), as in the kernel.</summary>
    public int Delete(uint index) => MapErrors.Invalid;

    /// <summary>Sets every value back to zero (for tests; not available to programs).</summary>
    public void Clear() => new Span<T>(_values, (int)MaxEntries).Clear();
}

/// <summary><c>BPF_MAP_TYPE_ARRAY</c>: a fixed array of values indexed from 0, shared by all CPUs.</summary>
public sealed class ArrayMap<T> : ArrayMapBase<T> where T : unmanaged
{
    public ArrayMap(uint maxEntries)
        : base(maxEntries)
    {
    }
}

/// <summary>
/// <c>BPF_MAP_TYPE_PERCPU_ARRAY</c>: a fixed array with one copy of each value per CPU, so counters need no atomics in
/// the kernel.
/// </summary>
public sealed class PerCpuArray<T> : ArrayMapBase<T> where T : unmanaged
{
    public PerCpuArray(uint maxEntries)
        : base(maxEntries)
    {
    }
}

/// <summary>The .NET side of a hash map: entries by key, each value at a stable address as in the kernel.</summary>
public abstract unsafe class HashMapBase<TKey, TValue> where TKey : unmanaged where TValue : unmanaged
{
    private readonly Dictionary<TKey, IntPtr> _entries = new();

    private protected HashMapBase(uint maxEntries)
    {
        if (maxEntries == 0)
            throw new ArgumentOutOfRangeException(nameof(maxEntries), "A map needs at least one entry.");
        MaxEntries = maxEntries;
    }

    public uint MaxEntries { get; }

    public int Count => _entries.Count;

    /// <summary><c>bpf_map_lookup_elem</c>: the value stored under <paramref name="key"/>, or null.</summary>
    public TValue* Lookup(TKey key) => _entries.TryGetValue(key, out var value) ? (TValue*)value : null;

    /// <summary><c>bpf_map_update_elem</c>: 0, -EEXIST / -ENOENT against the flags, -E2BIG when a new key finds the map full.</summary>
    public int Update(TKey key, TValue value, MapUpdate flags = MapUpdate.Any)
    {
        if ((ulong)flags > 2)
            return MapErrors.Invalid;
        var exists = _entries.TryGetValue(key, out var slot);
        if (exists && flags == MapUpdate.NoExist)
            return MapErrors.Exists;
        if (!exists && flags == MapUpdate.Exist)
            return MapErrors.NoEntry;
        if (!exists)
        {
            if (_entries.Count >= MaxEntries)
                return MapErrors.TooBig;
            // Values outlive Delete (a program may still hold the pointer, as kernel values outlive it until RCU ends).
            slot = Marshal.AllocHGlobal(sizeof(TValue));
            _entries[key] = slot;
        }

        *(TValue*)slot = value;
        return 0;
    }

    /// <summary><c>bpf_map_delete_elem</c>: 0, or -ENOENT when the key is absent.</summary>
    public int Delete(TKey key) => _entries.Remove(key) ? 0 : MapErrors.NoEntry;

    /// <summary>Removes every entry (for tests; not available to programs).</summary>
    public void Clear() => _entries.Clear();

    /// <summary>A snapshot of the entries (for tests and tools; not available to programs).</summary>
    public IReadOnlyList<KeyValuePair<TKey, TValue>> Entries =>
        _entries.Select(e => new KeyValuePair<TKey, TValue>(e.Key, *(TValue*)e.Value)).ToList();
}

/// <summary><c>BPF_MAP_TYPE_HASH</c>: entries by key, up to a fixed number, shared by all CPUs.</summary>
public sealed class HashMap<TKey, TValue> : HashMapBase<TKey, TValue> where TKey : unmanaged where TValue : unmanaged
{
    public HashMap(uint maxEntries)
        : base(maxEntries)
    {
    }
}

/// <summary><c>BPF_MAP_TYPE_PERCPU_HASH</c>: entries by key with one value per CPU.</summary>
public sealed class PerCpuHashMap<TKey, TValue> : HashMapBase<TKey, TValue> where TKey : unmanaged where TValue : unmanaged
{
    public PerCpuHashMap(uint maxEntries)
        : base(maxEntries)
    {
    }
}

/// <summary>
/// <c>BPF_MAP_TYPE_DEVMAP</c>: interfaces a program can redirect packets to, by slot; user space fills the slots with
/// interface indexes (programs cannot change them). In .NET, <see cref="Set"/> fills a slot.
/// </summary>
public sealed class DevMap
{
    private const ulong ActionMask = 3;
    private const ulong Broadcast = 8;
    private const ulong ExcludeIngress = 16;

    private readonly uint[] _interfaces;

    public DevMap(uint maxEntries)
    {
        if (maxEntries == 0)
            throw new ArgumentOutOfRangeException(nameof(maxEntries), "A map needs at least one entry.");
        MaxEntries = maxEntries;
        _interfaces = new uint[maxEntries];
    }

    public uint MaxEntries { get; }

    /// <summary>
    /// <c>bpf_redirect_map</c>: redirect to the interface in slot <paramref name="key"/>; return the result from the
    /// program. An empty or missing slot gives the action in the low two bits of <paramref name="flags"/> instead
    /// (Aborted by default, e.g. <c>(ulong)XdpAction.Pass</c> to pass); unknown flags give Aborted; with
    /// BPF_F_BROADCAST (8) the packet goes to every interface in the map.
    /// </summary>
    public XdpAction Redirect(uint key, ulong flags = 0)
    {
        if ((flags & ~(ActionMask | Broadcast | ExcludeIngress)) != 0)
            return XdpAction.Aborted;
        // A broadcast goes to every interface in the map, whatever the slot, so it never falls back.
        if ((flags & Broadcast) != 0)
            return XdpAction.Redirect;
        return key < MaxEntries && _interfaces[key] != 0 ? XdpAction.Redirect : (XdpAction)(flags & ActionMask);
    }

    /// <summary>Fills a slot with an interface index, 0 to empty it (for tests; user space does this for the kernel map).</summary>
    public void Set(uint key, uint interfaceIndex) => _interfaces[key] = interfaceIndex;
}
