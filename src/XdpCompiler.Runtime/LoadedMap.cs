using System.Text;
using XdpCompiler.Core.Objects;
using XdpCompiler.Runtime.Interop;

namespace XdpCompiler.Runtime;

/// <summary>The flags of BPF_MAP_UPDATE_ELEM.</summary>
public enum MapUpdateFlags : ulong
{
    /// <summary>BPF_ANY: create or replace.</summary>
    Any = 0,
    /// <summary>BPF_NOEXIST: only create (fails with EEXIST if the key is there).</summary>
    NoExist = 1,
    /// <summary>BPF_EXIST: only replace (fails with ENOENT if the key is missing).</summary>
    Exist = 2,
    /// <summary>BPF_F_LOCK: update under the value's bpf_spin_lock.</summary>
    Lock = 4,
}

/// <summary>
/// A map in the kernel, with byte-level operations. Per-CPU maps take and return one value per possible CPU, each
/// <see cref="PerCpuValueStride"/> bytes. <see cref="AsArray{T}"/> and its siblings give typed views.
/// </summary>
public sealed unsafe partial class LoadedMap : IDisposable
{
    private LoadedMap(BpfFd fd, BpfMap definition, bool hasBtf, string? btfWarning)
    {
        Fd = fd;
        Definition = definition;
        HasBtf = hasBtf;
        BtfWarning = btfWarning;
    }

    public BpfFd Fd { get; }

    /// <summary>The definition the map was created from.</summary>
    public BpfMap Definition { get; }

    public string Name => Definition.Name;

    public BpfMapType Type => Definition.Type;

    public int KeySize => (int)Definition.KeySize;

    public int ValueSize => (int)Definition.ValueSize;

    public uint MaxEntries => Definition.MaxEntries;

    /// <summary>True when the kernel has the map's BTF key and value types (bpftool map dump shows fields).</summary>
    public bool HasBtf { get; }

    /// <summary>Set when BTF types were given but the kernel refused them, so the map was created without.</summary>
    public string? BtfWarning { get; }

    public bool IsPerCpu => IsPerCpuType(Type);

    /// <summary>Bytes per CPU in a per-CPU value: the value size rounded up to 8.</summary>
    public int PerCpuValueStride => (ValueSize + 7) & ~7;

    /// <summary>The size of the buffer a lookup fills: the value size, or for per-CPU maps one stride per possible CPU.</summary>
    public int ValueBufferSize => IsPerCpu ? PerCpuValueStride * SystemCpus.PossibleCount : ValueSize;

    internal static bool IsPerCpuType(BpfMapType type) =>
        type is BpfMapType.PerCpuArray or BpfMapType.PerCpuHash or BpfMapType.LruPerCpuHash or BpfMapType.PerCpuCgroupStorage;

    /// <summary>
    /// BPF_MAP_CREATE. With <paramref name="btf"/> the map gets the definition's BTF key/value type ids; if the kernel
    /// refuses those, the map is created without them and <see cref="BtfWarning"/> says why.
    /// </summary>
    public static LoadedMap Create(BpfMap definition, LoadedBtf? btf = null)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var operation = $"create map {definition.Name}";
        var useBtf = btf is not null && (definition.KeyType != 0 || definition.ValueType != 0);
        string? warning = null;
        if (useBtf)
        {
            var withBtf = CreateRaw(definition, btf);
            if (withBtf >= 0)
                return new LoadedMap(new BpfFd(withBtf), definition, hasBtf: true, null);
            if (-withBtf is Errno.EPERM or Errno.ENOMEM or Errno.EMFILE or Errno.ENFILE)
                throw Failure(definition, operation, -withBtf);
            warning = $"The kernel refused the BTF types of map {definition.Name} (key type {definition.KeyType}, value type {definition.ValueType}: "
                + $"{Errno.Name(-withBtf)}); it was created without them, so tools show raw bytes.";
        }
        var fd = CreateRaw(definition, null);
        if (fd < 0)
            throw Failure(definition, operation, -fd);
        return new LoadedMap(new BpfFd(fd), definition, hasBtf: false, warning);
    }

    /// <summary>
    /// BPF_OBJ_GET: opens the map pinned at <paramref name="path"/> and checks that it matches
    /// <paramref name="definition"/> (type, key and value size, max_entries, flags).
    /// </summary>
    public static LoadedMap OpenPinned(string path, BpfMap definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var fd = KernelObjects.OpenPin(path, $"open the map {definition.Name} pinned at {path}", definition.Name);
        try
        {
            var info = ObjectInfo.Get<MapInfo>(fd, $"read the info of the map pinned at {path}", definition.Name);
            var d = definition;
            if (info.Type != (uint)d.Type || info.KeySize != d.KeySize || info.ValueSize != d.ValueSize || info.MaxEntries != d.MaxEntries || info.MapFlags != d.Flags)
            {
                throw new InvalidOperationException(
                    $"The map pinned at {path} (type {(BpfMapType)info.Type}, key {info.KeySize} B, value {info.ValueSize} B, max_entries {info.MaxEntries}, flags 0x{info.MapFlags:x}) "
                    + $"does not match map {d.Name} (type {d.Type}, key {d.KeySize} B, value {d.ValueSize} B, max_entries {d.MaxEntries}, flags 0x{d.Flags:x}). "
                    + $"Remove the pin (rm {path}) or change the definition.");
            }
            return new LoadedMap(fd, definition, hasBtf: false, null) { PinnedPath = path };
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    /// <summary>
    /// BPF_OBJ_GET: opens the map pinned at <paramref name="path"/> whatever its definition, which is read from the
    /// kernel (name, type, sizes, max_entries, flags). Fails clearly when the pin is a program or link.
    /// </summary>
    public static LoadedMap OpenPinned(string path)
    {
        var fd = KernelObjects.OpenPin(path, BpfObjectKind.Map, "map");
        try
        {
            var info = ObjectInfo.Get<MapInfo>(fd, $"read the info of the map pinned at {path}", path);
            var name = KernelNames.Read(info.Name);
            var definition = new BpfMap(name.Length == 0 ? Path.GetFileName(path) : name, (BpfMapType)info.Type, info.KeySize, info.ValueSize, info.MaxEntries, info.MapFlags);
            return new LoadedMap(fd, definition, hasBtf: false, null) { PinnedPath = path };
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    /// <summary>Where the map is pinned, when it was opened from or pinned to a bpffs path by this object.</summary>
    public string? PinnedPath { get; private set; }

    private static BpfException Failure(BpfMap d, string operation, int errno) =>
        BpfErrors.Create(BpfOperationKind.MapCreate, operation, d.Name, errno,
            $"type {d.Type}, key {d.KeySize} bytes, value {d.ValueSize} bytes, max_entries {d.MaxEntries}, flags 0x{d.Flags:x}");

    private static int CreateRaw(BpfMap d, LoadedBtf? btf)
    {
        var attr = new MapCreateAttr
        {
            MapType = (uint)d.Type,
            KeySize = d.KeySize,
            ValueSize = d.ValueSize,
            MaxEntries = d.MaxEntries,
            MapFlags = d.Flags,
        };
        KernelNames.Write(d.Name, attr.MapName);
        var added = false;
        try
        {
            if (btf is not null)
            {
                btf.Fd.DangerousAddRef(ref added);
                attr.BtfFd = (uint)btf.Fd.Value;
                attr.BtfKeyTypeId = d.KeyType;
                attr.BtfValueTypeId = d.ValueType;
            }
            return BpfSyscall.Invoke(BpfCommand.MapCreate, ref attr);
        }
        finally
        {
            if (added)
                btf!.Fd.DangerousRelease();
        }
    }

    /// <summary>Copies the value of <paramref name="key"/> into <paramref name="value"/>; false when the key is absent.</summary>
    public bool TryLookup(ReadOnlySpan<byte> key, Span<byte> value)
    {
        CheckKey(key);
        if (value.Length != ValueBufferSize)
            throw new ArgumentException($"Map {Name} needs a {ValueBufferSize}-byte value buffer{PerCpuNote}, not {value.Length} bytes.", nameof(value));
        fixed (byte* k = key)
        fixed (byte* v = value)
        {
            var attr = new MapElemAttr { Key = (ulong)k, Value = (ulong)v };
            var result = Call(BpfCommand.MapLookupElem, ref attr);
            if (result == -Errno.ENOENT)
                return false;
            if (result < 0)
                throw BpfErrors.Create(BpfOperationKind.MapLookup, $"look up a key in map {Name}", Name, -result, Describe());
            return true;
        }
    }

    /// <summary>The value of <paramref name="key"/>, or null when the key is absent.</summary>
    public byte[]? Lookup(ReadOnlySpan<byte> key)
    {
        var value = new byte[ValueBufferSize];
        return TryLookup(key, value) ? value : null;
    }

    /// <summary>BPF_MAP_UPDATE_ELEM; per-CPU maps take <see cref="ValueBufferSize"/> bytes (one stride per CPU).</summary>
    public void Update(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, MapUpdateFlags flags = MapUpdateFlags.Any)
    {
        if (!TryUpdate(key, value, flags, out var errno))
            throw BpfErrors.Create(BpfOperationKind.MapUpdate, $"update a key in map {Name}", Name, errno, $"{Describe()}, flags {flags}");
    }

    /// <summary>As <see cref="Update"/>, but returns false (with the errno) instead of throwing.</summary>
    public bool TryUpdate(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, MapUpdateFlags flags, out int errno)
    {
        CheckKey(key);
        if (value.Length != ValueBufferSize)
            throw new ArgumentException($"Map {Name} takes a {ValueBufferSize}-byte value{PerCpuNote}, not {value.Length} bytes.", nameof(value));
        fixed (byte* k = key)
        fixed (byte* v = value)
        {
            var attr = new MapElemAttr { Key = (ulong)k, Value = (ulong)v, Flags = (ulong)flags };
            var result = Call(BpfCommand.MapUpdateElem, ref attr);
            errno = result < 0 ? -result : 0;
            return result >= 0;
        }
    }

    /// <summary>BPF_MAP_DELETE_ELEM; false when the key was absent.</summary>
    public bool Delete(ReadOnlySpan<byte> key)
    {
        CheckKey(key);
        fixed (byte* k = key)
        {
            var attr = new MapElemAttr { Key = (ulong)k };
            var result = Call(BpfCommand.MapDeleteElem, ref attr);
            if (result == -Errno.ENOENT)
                return false;
            if (result < 0)
                throw BpfErrors.Create(BpfOperationKind.MapDelete, $"delete a key from map {Name}", Name, -result, Describe());
            return true;
        }
    }

    /// <summary>
    /// BPF_MAP_GET_NEXT_KEY: the key after <paramref name="key"/>, or the first key when <paramref name="key"/> is
    /// empty. False at the end.
    /// </summary>
    public bool TryGetNextKey(ReadOnlySpan<byte> key, Span<byte> nextKey)
    {
        if (!key.IsEmpty)
            CheckKey(key);
        if (nextKey.Length != KeySize)
            throw new ArgumentException($"Map {Name} has {KeySize}-byte keys; the next-key buffer is {nextKey.Length} bytes.", nameof(nextKey));
        fixed (byte* k = key)
        fixed (byte* n = nextKey)
        {
            var attr = new MapElemAttr { Key = key.IsEmpty ? 0 : (ulong)k, Value = (ulong)n };
            var result = Call(BpfCommand.MapGetNextKey, ref attr);
            if (result == -Errno.ENOENT)
                return false;
            if (result < 0)
                throw BpfErrors.Create(BpfOperationKind.MapIterate, $"iterate the keys of map {Name}", Name, -result, Describe());
            return true;
        }
    }

    /// <summary>
    /// Every key, by BPF_MAP_GET_NEXT_KEY. Keys deleted while iterating can make a hash map start over (the kernel's
    /// rule), so delete after collecting when that matters.
    /// </summary>
    public IEnumerable<byte[]> Keys()
    {
        var current = Array.Empty<byte>();
        while (true)
        {
            var next = new byte[KeySize];
            if (!TryGetNextKey(current, next))
                yield break;
            yield return next;
            current = next;
        }
    }

    /// <summary>A view of an array map with <typeparamref name="T"/> values.</summary>
    public ArrayMapView<T> AsArray<T>() where T : unmanaged => new(this);

    /// <summary>A view of a per-CPU array map with <typeparamref name="T"/> values.</summary>
    public PerCpuArrayMap<T> AsPerCpuArray<T>() where T : unmanaged => new(this);

    /// <summary>A view of a hash or LRU hash map.</summary>
    public HashMapView<TKey, TValue> AsHash<TKey, TValue>() where TKey : unmanaged where TValue : unmanaged => new(this);

    /// <summary>A view of a per-CPU hash or LRU per-CPU hash map.</summary>
    public PerCpuHashMapView<TKey, TValue> AsPerCpuHash<TKey, TValue>() where TKey : unmanaged where TValue : unmanaged => new(this);

    /// <summary>A view of an LPM trie with <typeparamref name="TData"/> key data (an address) and <typeparamref name="TValue"/> values.</summary>
    public LpmTrieView<TData, TValue> AsLpmTrie<TData, TValue>() where TData : unmanaged where TValue : unmanaged => new(this);

    /// <summary>A view of a program array (tail-call targets).</summary>
    public ProgramArrayView AsProgramArray() => new(this);

    /// <summary>A view of a devmap or devmap hash.</summary>
    public DevMapView AsDevMap() => new(this);

    /// <summary>A view of a cpumap.</summary>
    public CpuMapView AsCpuMap() => new(this);

    /// <summary>A view of an xskmap (AF_XDP sockets).</summary>
    public XskMapView AsXskMap() => new(this);

    /// <summary>Maps this ring buffer map for reading (see <see cref="RingBuffer"/>); dispose the reader when done.</summary>
    public RingBuffer OpenRingBuffer() => RingBuffer.Open(this);

    /// <summary>The kernel's id of the map (as bpftool map show lists it).</summary>
    public uint Id
    {
        get
        {
            var info = ObjectInfo.Get<MapInfo>(Fd, $"read the info of map {Name}", Name);
            return info.Id;
        }
    }

    /// <summary>BPF_OBJ_PIN: keeps the map alive at <paramref name="path"/> on a bpffs mount after this process closes it.</summary>
    public void Pin(string path)
    {
        ObjectInfo.Pin(Fd, path, $"pin map {Name}", Name);
        PinnedPath = path;
    }

    /// <summary>Removes the map's pin (made by <see cref="Pin"/> or the one it was opened from); the map lives on while anything else holds it.</summary>
    public void Unpin() => PinnedPath = ObjectInfo.Unpin(PinnedPath, $"map {Name}");

    public void Dispose() => Fd.Dispose();

    public override string ToString() => $"{Type} map {Name} (key {KeySize} B, value {ValueSize} B, {MaxEntries} entries)";

    internal void CheckType(string view, params BpfMapType[] types)
    {
        if (Array.IndexOf(types, Type) < 0)
            throw new InvalidOperationException($"Map {Name} is a {Type} map; {view} needs {string.Join(" or ", types)}.");
    }

    internal void CheckSizes(string view, int keySize, int valueSize)
    {
        if (keySize != KeySize || valueSize != ValueSize)
            throw new InvalidOperationException(
                $"Map {Name} has {KeySize}-byte keys and {ValueSize}-byte values; {view} has {keySize}-byte keys and {valueSize}-byte values.");
    }

    private string PerCpuNote => IsPerCpu ? $" ({SystemCpus.PossibleCount} possible CPUs × {PerCpuValueStride} bytes)" : "";

    private string Describe() => $"{Type}, key {KeySize} B, value {ValueSize} B, max_entries {MaxEntries}";

    private void CheckKey(ReadOnlySpan<byte> key)
    {
        if (key.Length != KeySize)
            throw new ArgumentException($"Map {Name} has {KeySize}-byte keys, not {key.Length} bytes.", nameof(key));
    }

    private int Call(BpfCommand command, ref MapElemAttr attr)
    {
        var added = false;
        Fd.DangerousAddRef(ref added);
        try
        {
            attr.MapFd = (uint)Fd.Value;
            return BpfSyscall.Invoke(command, ref attr);
        }
        finally
        {
            if (added)
                Fd.DangerousRelease();
        }
    }
}

/// <summary>BPF_OBJ_GET_INFO_BY_FD and BPF_OBJ_PIN, shared by maps, programs and links.</summary>
internal static unsafe class ObjectInfo
{
    internal static T Get<T>(BpfFd fd, string operation, string name) where T : unmanaged
    {
        var info = default(T);
        var added = false;
        fd.DangerousAddRef(ref added);
        try
        {
            var attr = new ObjInfoAttr { BpfFd = (uint)fd.Value, InfoLen = (uint)sizeof(T), Info = (ulong)&info };
            var result = BpfSyscall.Invoke(BpfCommand.ObjGetInfoByFd, ref attr);
            if (result < 0)
                throw BpfErrors.Create(BpfOperationKind.ObjectInfo, operation, name, -result);
            return info;
        }
        finally
        {
            if (added)
                fd.DangerousRelease();
        }
    }

    /// <summary>Unlinks a pin made or opened by an object (bpffs pins are files); returns null for the object to forget it.</summary>
    internal static string? Unpin(string? path, string what)
    {
        if (path is null)
            throw new InvalidOperationException($"The {what} is not pinned by this object; remove another pin with File.Delete.");
        try
        {
            File.Delete(path);
        }
        catch (IOException e)
        {
            throw new IOException($"Could not unpin the {what} at {path}: {e.Message}", e);
        }
        return null;
    }

    internal static void Pin(BpfFd fd, string path, string operation, string name)
    {
        var bytes = Encoding.UTF8.GetBytes(path + "\0");
        var added = false;
        fd.DangerousAddRef(ref added);
        try
        {
            fixed (byte* p = bytes)
            {
                var attr = new ObjPinAttr { Pathname = (ulong)p, BpfFd = (uint)fd.Value };
                var result = BpfSyscall.Invoke(BpfCommand.ObjPin, ref attr);
                if (result < 0)
                    throw BpfErrors.Create(BpfOperationKind.Pin, $"{operation} at {path}", name, -result, path);
            }
        }
        finally
        {
            if (added)
                fd.DangerousRelease();
        }
    }
}
