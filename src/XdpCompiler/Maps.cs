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
    public const int TryAgain = -11;
    public const int NoSpace = -28;
}

/// <summary>
/// <c>map_flags</c> of a map definition (<c>BPF_F_*</c> in <c>include/uapi/linux/bpf.h</c>), set with
/// <c>[Map(Flags = …)]</c>. The kernel checks which flags a map type accepts when the object is loaded.
/// </summary>
[Flags]
public enum MapFlags : uint
{
    None = 0,

    /// <summary><c>BPF_F_NO_PREALLOC</c>: allocate hash entries on update instead of up front (always set for <see cref="LpmTrie{TKey, TValue}"/>; LRU maps refuse it).</summary>
    NoPrealloc = 1,

    /// <summary><c>BPF_F_NO_COMMON_LRU</c>: one LRU list per CPU instead of a shared one (LRU maps only).</summary>
    NoCommonLru = 2,

    /// <summary><c>BPF_F_RDONLY_PROG</c>: programs may only read the map (the verifier refuses writes).</summary>
    ReadOnlyProgram = 1 << 7,

    /// <summary><c>BPF_F_WRONLY_PROG</c>: programs may only write the map.</summary>
    WriteOnlyProgram = 1 << 8,

    /// <summary><c>BPF_F_MMAPABLE</c>: user space may mmap an array map's values.</summary>
    Mmapable = 1 << 10,
}

/// <summary>libbpf's <c>LIBBPF_PIN_*</c>: whether the loader pins the map in bpffs and reuses a map pinned there.</summary>
public enum MapPinning : uint
{
    /// <summary>Not pinned: every load creates a fresh map.</summary>
    None = 0,

    /// <summary>
    /// <c>LIBBPF_PIN_BY_NAME</c>: pinned as <c>&lt;pin root&gt;/&lt;map name&gt;</c> (libbpf's root is
    /// <c>/sys/fs/bpf</c>); a later load reuses the pinned map when its definition matches.
    /// </summary>
    ByName = 1,
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

    // Recency order for LRU maps, least recently used first; null for plain hash maps.
    private readonly LinkedList<TKey>? _recency;
    private readonly Dictionary<TKey, LinkedListNode<TKey>>? _recencyNodes;

    private protected HashMapBase(uint maxEntries, bool leastRecentlyUsed = false)
    {
        if (maxEntries == 0)
            throw new ArgumentOutOfRangeException(nameof(maxEntries), "A map needs at least one entry.");
        MaxEntries = maxEntries;
        if (leastRecentlyUsed)
        {
            _recency = new LinkedList<TKey>();
            _recencyNodes = new Dictionary<TKey, LinkedListNode<TKey>>();
        }
    }

    public uint MaxEntries { get; }

    public int Count => _entries.Count;

    /// <summary><c>bpf_map_lookup_elem</c>: the value stored under <paramref name="key"/>, or null.</summary>
    public TValue* Lookup(TKey key)
    {
        if (!_entries.TryGetValue(key, out var value))
            return null;
        Touch(key);
        return (TValue*)value;
    }

    private void Touch(TKey key)
    {
        if (_recency is null)
            return;
        if (_recencyNodes!.TryGetValue(key, out var node))
            _recency.Remove(node);
        _recencyNodes[key] = _recency.AddLast(key);
    }

    private void Forget(TKey key)
    {
        if (_recencyNodes is not null && _recencyNodes.TryGetValue(key, out var node))
        {
            _recency!.Remove(node);
            _recencyNodes.Remove(key);
        }
    }

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
            if (_entries.Count >= MaxEntries && _recency is not null)
            {
                // An LRU map makes room by evicting its least recently used entry instead of failing.
                var oldest = _recency.First!.Value;
                _entries.Remove(oldest);
                Forget(oldest);
            }

            if (_entries.Count >= MaxEntries)
                return MapErrors.TooBig;
            // Values outlive Delete (a program may still hold the pointer, as kernel values outlive it until RCU ends).
            slot = Marshal.AllocHGlobal(sizeof(TValue));
            _entries[key] = slot;
        }

        *(TValue*)slot = value;
        Touch(key);
        return 0;
    }

    /// <summary><c>bpf_map_delete_elem</c>: 0, or -ENOENT when the key is absent.</summary>
    public int Delete(TKey key)
    {
        if (!_entries.Remove(key))
            return MapErrors.NoEntry;
        Forget(key);
        return 0;
    }

    /// <summary>Removes every entry (for tests; not available to programs).</summary>
    public void Clear()
    {
        _entries.Clear();
        _recency?.Clear();
        _recencyNodes?.Clear();
    }

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
/// <c>BPF_MAP_TYPE_LRU_HASH</c>: a hash map that, when full, makes room for a new key by evicting an entry it has not
/// used recently, instead of failing. The kernel's eviction is approximate (per-CPU free lists, reference bits; it may
/// evict before the map is full when <c>max_entries</c> is small); the .NET map evicts exactly the least recently
/// looked-up or updated entry, and only when full. Everything else is as <see cref="HashMap{TKey, TValue}"/>.
/// </summary>
public sealed class LruHashMap<TKey, TValue> : HashMapBase<TKey, TValue> where TKey : unmanaged where TValue : unmanaged
{
    public LruHashMap(uint maxEntries)
        : base(maxEntries, leastRecentlyUsed: true)
    {
    }
}

/// <summary><c>BPF_MAP_TYPE_LRU_PERCPU_HASH</c>: <see cref="LruHashMap{TKey, TValue}"/> with one value per CPU.</summary>
public sealed class LruPerCpuHashMap<TKey, TValue> : HashMapBase<TKey, TValue> where TKey : unmanaged where TValue : unmanaged
{
    public LruPerCpuHashMap(uint maxEntries)
        : base(maxEntries, leastRecentlyUsed: true)
    {
    }
}

/// <summary>
/// <c>BPF_MAP_TYPE_LPM_TRIE</c>: longest-prefix match, e.g. routes or address blocks. <typeparamref name="TKey"/> is a
/// struct whose first field is the <c>uint</c> prefix length in bits, followed by the data the prefix applies to, in
/// network order (most significant bit first), as the kernel's <c>struct bpf_lpm_trie_key_u8</c>:
/// <code>struct Ipv4Prefix { public uint PrefixLength; public uint AddressNetworkOrder; }</code>
/// <see cref="Lookup"/> finds the entry with the longest prefix that matches the first
/// <c>PrefixLength</c> bits of the key's data; <see cref="Update"/> and <see cref="Delete"/> name an entry exactly (prefix
/// length and the prefix's bits; bits after the prefix do not matter). The object always declares it with
/// <c>BPF_F_NO_PREALLOC</c>, which the kernel requires.
/// </summary>
public sealed unsafe class LpmTrie<TKey, TValue> where TKey : unmanaged where TValue : unmanaged
{
    private const int PrefixBytes = 4;
    private readonly List<Entry> _entries = new();

    public LpmTrie(uint maxEntries)
    {
        if (maxEntries == 0)
            throw new ArgumentOutOfRangeException(nameof(maxEntries), "A map needs at least one entry.");
        if (sizeof(TKey) <= PrefixBytes)
            throw new ArgumentException($"The key {typeof(TKey).Name} needs a uint prefix length and at least one byte of data.", nameof(TKey));
        MaxEntries = maxEntries;
    }

    public uint MaxEntries { get; }

    public int Count => _entries.Count;

    /// <summary>The longest prefix length a key can have: 8 bits per data byte.</summary>
    public uint MaxPrefixLength => (uint)(sizeof(TKey) - PrefixBytes) * 8;

    /// <summary>
    /// <c>bpf_map_lookup_elem</c>: the value of the entry with the longest prefix (at most the key's prefix length)
    /// that matches the key's data, or null when none does.
    /// </summary>
    public TValue* Lookup(TKey key)
    {
        var (length, data) = Split(key);
        length = Math.Min(length, MaxPrefixLength);
        Entry? best = null;
        foreach (var entry in _entries)
        {
            if (entry.PrefixLength <= length && (best is null || entry.PrefixLength > best.PrefixLength) && Matches(entry.Data, data, entry.PrefixLength))
                best = entry;
        }

        return best is null ? null : (TValue*)best.Value;
    }

    /// <summary>
    /// <c>bpf_map_update_elem</c>: 0; -EINVAL for a prefix longer than the data or unknown flags, -EEXIST / -ENOENT
    /// against the flags, -ENOSPC when a new prefix finds the trie full (the kernel's code, not -E2BIG).
    /// </summary>
    public int Update(TKey key, TValue value, MapUpdate flags = MapUpdate.Any)
    {
        var (length, data) = Split(key);
        if ((ulong)flags > 2 || length > MaxPrefixLength)
            return MapErrors.Invalid;
        var index = Find(length, data);
        if (index >= 0 && flags == MapUpdate.NoExist)
            return MapErrors.Exists;
        if (index < 0 && flags == MapUpdate.Exist)
            return MapErrors.NoEntry;
        if (index < 0 && _entries.Count >= MaxEntries)
            return MapErrors.NoSpace;
        // The kernel replaces the node, so a value pointer looked up before keeps the old value; so does this one.
        var slot = Marshal.AllocHGlobal(sizeof(TValue));
        *(TValue*)slot = value;
        var entry = new Entry(length, data, slot);
        if (index >= 0)
            _entries[index] = entry;
        else
            _entries.Add(entry);
        return 0;
    }

    /// <summary><c>bpf_map_delete_elem</c>: 0, -ENOENT when no entry has exactly this prefix, -EINVAL for a prefix longer than the data.</summary>
    public int Delete(TKey key)
    {
        var (length, data) = Split(key);
        if (length > MaxPrefixLength)
            return MapErrors.Invalid;
        var index = Find(length, data);
        if (index < 0)
            return MapErrors.NoEntry;
        _entries.RemoveAt(index);
        return 0;
    }

    /// <summary>Removes every entry (for tests; not available to programs).</summary>
    public void Clear() => _entries.Clear();

    /// <summary>A snapshot of the entries with the keys as last written (for tests and tools; not available to programs).</summary>
    public IReadOnlyList<KeyValuePair<TKey, TValue>> Entries => _entries.Select(e => new KeyValuePair<TKey, TValue>(e.Key(), *(TValue*)e.Value)).ToList();

    private int Find(uint length, byte[] data) =>
        _entries.FindIndex(e => e.PrefixLength == length && Matches(e.Data, data, length));

    private static (uint Length, byte[] Data) Split(TKey key)
    {
        var bytes = new byte[sizeof(TKey)];
        fixed (byte* destination = bytes)
            *(TKey*)destination = key;
        var length = (uint)(bytes[0] | bytes[1] << 8 | bytes[2] << 16 | bytes[3] << 24);
        return (length, bytes.AsSpan(PrefixBytes).ToArray());
    }

    /// <summary>True when the first <paramref name="bits"/> bits of both, most significant bit of each byte first, are equal.</summary>
    private static bool Matches(byte[] a, byte[] b, uint bits)
    {
        var whole = (int)(bits / 8);
        for (var i = 0; i < whole; i++)
        {
            if (a[i] != b[i])
                return false;
        }

        var rest = (int)(bits % 8);
        if (rest == 0)
            return true;
        var mask = (byte)(0xFF << (8 - rest));
        return (a[whole] & mask) == (b[whole] & mask);
    }

    private sealed class Entry(uint prefixLength, byte[] data, IntPtr value)
    {
        public uint PrefixLength { get; } = prefixLength;

        public byte[] Data { get; } = data;

        public IntPtr Value { get; } = value;

        public TKey Key()
        {
            var bytes = new byte[sizeof(TKey)];
            bytes[0] = (byte)PrefixLength;
            bytes[1] = (byte)(PrefixLength >> 8);
            bytes[2] = (byte)(PrefixLength >> 16);
            bytes[3] = (byte)(PrefixLength >> 24);
            Data.CopyTo(bytes, PrefixBytes);
            fixed (byte* source = bytes)
                return *(TKey*)source;
        }
    }
}

/// <summary>What <c>bpf_redirect_map</c> does with its flags, for every map type it takes.</summary>
internal static class RedirectFlags
{
    public const ulong ActionMask = 3;
    public const ulong Broadcast = 8;
    public const ulong ExcludeIngress = 16;

    /// <summary>
    /// The kernel's <c>__bpf_xdp_redirect_map</c>: unknown flags give Aborted; a found target gives Redirect; otherwise
    /// the action in the low two bits (broadcast, for device maps, never falls back).
    /// </summary>
    public static XdpAction Resolve(ulong flags, bool broadcastAllowed, bool found)
    {
        var allowed = ActionMask | (broadcastAllowed ? Broadcast | ExcludeIngress : 0);
        if ((flags & ~allowed) != 0)
            return XdpAction.Aborted;
        if (found || (flags & Broadcast) != 0)
            return XdpAction.Redirect;
        return (XdpAction)(flags & ActionMask);
    }
}

/// <summary>
/// <c>BPF_MAP_TYPE_DEVMAP</c>: interfaces a program can redirect packets to, by slot; user space fills the slots with
/// interface indexes (programs cannot change them). In .NET, <see cref="Set"/> fills a slot. With
/// <c>withPrograms: true</c> the value is the kernel's <c>struct bpf_devmap_val</c> (interface index and the fd of an
/// <c>xdp/devmap</c> program to run on the way out, 8 bytes) instead of a bare interface index (4 bytes).
/// </summary>
public sealed class DevMap
{
    private readonly uint[] _interfaces;

    public DevMap(uint maxEntries, bool withPrograms = false)
    {
        if (maxEntries == 0)
            throw new ArgumentOutOfRangeException(nameof(maxEntries), "A map needs at least one entry.");
        MaxEntries = maxEntries;
        WithPrograms = withPrograms;
        _interfaces = new uint[maxEntries];
    }

    public uint MaxEntries { get; }

    /// <summary>Whether each entry can carry a devmap program (value <c>struct bpf_devmap_val</c>).</summary>
    public bool WithPrograms { get; }

    /// <summary>
    /// <c>bpf_redirect_map</c>: redirect to the interface in slot <paramref name="key"/>; return the result from the
    /// program. An empty or missing slot gives the action in the low two bits of <paramref name="flags"/> instead
    /// (Aborted by default, e.g. <c>(ulong)XdpAction.Pass</c> to pass); unknown flags give Aborted; with
    /// BPF_F_BROADCAST (8) the packet goes to every interface in the map.
    /// </summary>
    public XdpAction Redirect(uint key, ulong flags = 0) =>
        RedirectFlags.Resolve(flags, broadcastAllowed: true, found: key < MaxEntries && _interfaces[key] != 0);

    /// <summary>Fills a slot with an interface index, 0 to empty it (for tests; user space does this for the kernel map).</summary>
    public void Set(uint key, uint interfaceIndex) => _interfaces[key] = interfaceIndex;
}

/// <summary>
/// <c>BPF_MAP_TYPE_DEVMAP_HASH</c>: as <see cref="DevMap"/>, but entries are found by any <c>uint</c> key (often the
/// interface index itself) instead of a dense slot number.
/// </summary>
public sealed class DevMapHash
{
    private readonly Dictionary<uint, uint> _interfaces = new();

    public DevMapHash(uint maxEntries, bool withPrograms = false)
    {
        if (maxEntries == 0)
            throw new ArgumentOutOfRangeException(nameof(maxEntries), "A map needs at least one entry.");
        MaxEntries = maxEntries;
        WithPrograms = withPrograms;
    }

    public uint MaxEntries { get; }

    /// <summary>Whether each entry can carry a devmap program (value <c>struct bpf_devmap_val</c>).</summary>
    public bool WithPrograms { get; }

    /// <summary><c>bpf_redirect_map</c>, as <see cref="DevMap.Redirect"/>: the entry under <paramref name="key"/> or the fallback action.</summary>
    public XdpAction Redirect(uint key, ulong flags = 0) =>
        RedirectFlags.Resolve(flags, broadcastAllowed: true, found: _interfaces.ContainsKey(key));

    /// <summary>Adds or replaces an entry, or removes it with interface index 0 (for tests; user space fills the kernel map).</summary>
    public void Set(uint key, uint interfaceIndex)
    {
        if (interfaceIndex == 0)
        {
            _interfaces.Remove(key);
            return;
        }

        if (!_interfaces.ContainsKey(key) && _interfaces.Count >= MaxEntries)
            throw new InvalidOperationException($"The map is full ({MaxEntries} entries).");
        _interfaces[key] = interfaceIndex;
    }
}

/// <summary>
/// <c>BPF_MAP_TYPE_CPUMAP</c>: redirects a packet to another CPU, which builds the SKB there (spreading the network
/// stack's work). The key is a CPU number; the value is the kernel's <c>struct bpf_cpumap_val</c> (queue size and the fd
/// of an optional <c>xdp/cpumap</c> program), written by user space. In .NET, <see cref="Set"/> fills a slot.
/// </summary>
public sealed class CpuMap
{
    private readonly uint[] _queueSizes;

    public CpuMap(uint maxEntries)
    {
        if (maxEntries == 0)
            throw new ArgumentOutOfRangeException(nameof(maxEntries), "A map needs at least one entry.");
        MaxEntries = maxEntries;
        _queueSizes = new uint[maxEntries];
    }

    public uint MaxEntries { get; }

    /// <summary>
    /// <c>bpf_redirect_map</c>: send the packet to CPU <paramref name="cpu"/>; return the result from the program. An
    /// empty slot gives the action in the low two bits of <paramref name="flags"/>; any other flag gives Aborted.
    /// </summary>
    public XdpAction Redirect(uint cpu, ulong flags = 0) =>
        RedirectFlags.Resolve(flags, broadcastAllowed: false, found: cpu < MaxEntries && _queueSizes[cpu] != 0);

    /// <summary>Sets a slot's queue size, 0 to empty it (for tests; user space does this for the kernel map).</summary>
    public void Set(uint cpu, uint queueSize) => _queueSizes[cpu] = queueSize;
}

/// <summary>
/// <c>BPF_MAP_TYPE_XSKMAP</c>: AF_XDP sockets by receive queue; redirecting into it hands the packet to user space
/// without the network stack. User space puts socket fds into the slots. In .NET, <see cref="Set"/> marks a slot bound.
/// </summary>
public sealed class XskMap
{
    private readonly bool[] _bound;

    public XskMap(uint maxEntries)
    {
        if (maxEntries == 0)
            throw new ArgumentOutOfRangeException(nameof(maxEntries), "A map needs at least one entry.");
        MaxEntries = maxEntries;
        _bound = new bool[maxEntries];
    }

    public uint MaxEntries { get; }

    /// <summary>
    /// <c>bpf_redirect_map</c>: hand the packet to the socket in slot <paramref name="queue"/> (usually
    /// <c>ctx.RxQueueIndex</c>); an empty slot gives the action in the low two bits of <paramref name="flags"/>.
    /// </summary>
    public XdpAction Redirect(uint queue, ulong flags = 0) =>
        RedirectFlags.Resolve(flags, broadcastAllowed: false, found: queue < MaxEntries && _bound[queue]);

    /// <summary>Marks a slot as holding a socket or empty (for tests; user space does this for the kernel map).</summary>
    public void Set(uint queue, bool bound) => _bound[queue] = bound;
}

/// <summary>The signature of an XDP program method, for <see cref="ProgramArray"/> slots.</summary>
public delegate XdpAction XdpProgramMethod(XdpContext ctx);

/// <summary>
/// <c>BPF_MAP_TYPE_PROG_ARRAY</c>: programs by slot, for tail calls (<see cref="TailCall"/>). Initial slots are set
/// with an indexer initializer naming [XdpProgram] methods of the same class; the loader fills them once the programs
/// are loaded:
/// <code>[Map] static readonly ProgramArray Next = new(maxEntries: 4) { [0] = ParseIpv4, [1] = ParseIpv6 };</code>
/// In .NET the slots hold the methods themselves, and tests may change them with the indexer.
/// </summary>
public sealed class ProgramArray
{
    /// <summary>The kernel's <c>MAX_TAIL_CALL_CNT</c>: how many tail calls one packet may chain.</summary>
    public const int MaxTailCalls = 33;

    [ThreadStatic]
    private static int t_depth;

    private readonly XdpProgramMethod?[] _programs;

    public ProgramArray(uint maxEntries)
    {
        if (maxEntries == 0)
            throw new ArgumentOutOfRangeException(nameof(maxEntries), "A map needs at least one entry.");
        MaxEntries = maxEntries;
        _programs = new XdpProgramMethod?[maxEntries];
    }

    public uint MaxEntries { get; }

    /// <summary>The program in a slot, or null; setting it is what user space does with the program's fd.</summary>
    public XdpProgramMethod? this[uint index]
    {
        get => _programs[index];
        set => _programs[index] = value;
    }

    /// <summary>
    /// <c>bpf_tail_call</c>: continue with the program in slot <paramref name="index"/>, on the same packet, and never
    /// come back: its verdict is the packet's. When the slot is empty or out of range, or the packet has already made
    /// <see cref="MaxTailCalls"/> tail calls, nothing happens and the program returns <paramref name="ifMissing"/>.
    /// Allowed only as <c>return Map.TailCall(ctx, index, ifMissing);</c> in the program method itself.
    /// </summary>
    public XdpAction TailCall(XdpContext ctx, uint index, XdpAction ifMissing)
    {
        if (index >= MaxEntries || _programs[index] is not { } target || t_depth >= MaxTailCalls)
            return ifMissing;
        t_depth++;
        try
        {
            return target(ctx);
        }
        finally
        {
            t_depth--;
        }
    }
}

/// <summary>
/// <c>BPF_MAP_TYPE_RINGBUF</c>: records a program sends to user space, in order. <c>maxEntries</c> is the buffer's size
/// in bytes: a power of 2 and a multiple of the 4096-byte page. Each record takes an 8-byte header plus its data
/// rounded up to 8 bytes until user space consumes it; a record that does not fit is refused (as in the kernel, the
/// pending records may use at most size - 1 bytes). In .NET the records stay in memory: <see cref="Records"/> shows what
/// was submitted and <see cref="Consume"/> takes it, freeing the space.
/// </summary>
public sealed unsafe class RingBuffer
{
    private const int PageSize = 4096;
    private const int HeaderSize = 8;
    private const ulong NoWakeup = 1, ForceWakeup = 2;

    private readonly List<Record> _pending = new();
    private long _pendingBytes;

    public RingBuffer(uint maxEntries)
    {
        if (maxEntries < PageSize || (maxEntries & (maxEntries - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(maxEntries), maxEntries, "A ring buffer's size is a power of 2 and a multiple of 4096 bytes.");
        MaxEntries = maxEntries;
    }

    /// <summary>The buffer's size in bytes.</summary>
    public uint MaxEntries { get; }

    /// <summary>
    /// <c>bpf_ringbuf_output</c>: copies <paramref name="data"/> into a new record. Returns 0, -EAGAIN (-11) when it does
    /// not fit, -EINVAL for flags other than BPF_RB_NO_WAKEUP (1) and BPF_RB_FORCE_WAKEUP (2).
    /// </summary>
    public long Output<T>(in T data, ulong flags = 0) where T : unmanaged
    {
        if ((flags & ~(NoWakeup | ForceWakeup)) != 0)
            return MapErrors.Invalid;
        var record = Allocate(sizeof(T));
        if (record is null)
            return MapErrors.TryAgain;
        *(T*)record.Data = data;
        record.State = RecordState.Submitted;
        return 0;
    }

    /// <summary>
    /// <c>bpf_ringbuf_reserve</c>: room for one <typeparamref name="T"/> in the buffer, or null when it does not fit. The
    /// program must pass the pointer to <see cref="Submit{T}"/> or <see cref="Discard{T}"/> on every path (the verifier
    /// checks); until then the record holds up the ones after it.
    /// </summary>
    public T* Reserve<T>() where T : unmanaged
    {
        var record = Allocate(sizeof(T));
        return record is null ? null : (T*)record.Data;
    }

    /// <summary><c>bpf_ringbuf_submit</c>: publishes a reserved record.</summary>
    public void Submit<T>(T* data, ulong flags = 0) where T : unmanaged => Commit((byte*)data, RecordState.Submitted);

    /// <summary><c>bpf_ringbuf_discard</c>: drops a reserved record (its space is freed when user space consumes past it).</summary>
    public void Discard<T>(T* data, ulong flags = 0) where T : unmanaged => Commit((byte*)data, RecordState.Discarded);

    /// <summary>The submitted records not yet consumed, oldest first (for tests; not available to programs).</summary>
    public IReadOnlyList<byte[]> Records =>
        _pending.Where(r => r.State == RecordState.Submitted).Select(r => new ReadOnlySpan<byte>(r.Data, r.Length).ToArray()).ToList();

    /// <summary>
    /// Takes the submitted records, oldest first, as a user-space consumer would: it stops at the first record still
    /// reserved, and the space of everything before it is free again (for tests; not available to programs).
    /// </summary>
    public IReadOnlyList<byte[]> Consume()
    {
        var taken = new List<byte[]>();
        var done = 0;
        for (; done < _pending.Count && _pending[done].State != RecordState.Reserved; done++)
        {
            var record = _pending[done];
            if (record.State == RecordState.Submitted)
                taken.Add(new ReadOnlySpan<byte>(record.Data, record.Length).ToArray());
            _pendingBytes -= Footprint(record.Length);
        }

        _pending.RemoveRange(0, done);
        return taken;
    }

    private Record? Allocate(int length)
    {
        var footprint = Footprint(length);
        // The kernel refuses a record once producer - consumer would exceed size - 1 (its mask).
        if (footprint > MaxEntries || _pendingBytes + footprint > MaxEntries - 1)
            return null;
        // Never freed: a program may keep the pointer, and records are few in a test.
        var data = (byte*)Marshal.AllocHGlobal(Math.Max(length, 1));
        new Span<byte>(data, length).Clear();
        var record = new Record(data, length);
        _pending.Add(record);
        _pendingBytes += footprint;
        return record;
    }

    private void Commit(byte* data, RecordState state)
    {
        var record = _pending.FirstOrDefault(r => r.Data == data && r.State == RecordState.Reserved)
            ?? throw new InvalidOperationException("The pointer is not a record reserved in this ring buffer (or it was already submitted or discarded).");
        record.State = state;
    }

    private static long Footprint(int length) => (length + HeaderSize + 7) & ~7L;

    private enum RecordState
    {
        Reserved,
        Submitted,
        Discarded,
    }

    private sealed class Record(byte* data, int length)
    {
        public byte* Data { get; } = data;

        public int Length { get; } = length;

        public RecordState State { get; set; }
    }
}
