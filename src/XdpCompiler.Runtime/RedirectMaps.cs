using System.Runtime.InteropServices;
using XdpCompiler.Core.Objects;
using XdpCompiler.Runtime.Interop;

namespace XdpCompiler.Runtime;

// Views of the maps whose values are kernel objects named by descriptor: programs (tail calls), interfaces (devmaps),
// CPUs (cpumaps) and AF_XDP sockets (xskmaps). The kernel takes a descriptor on update and hands back an id (or
// nothing) on lookup, so these are not plain key/value views.

/// <summary>BPF_MAP_TYPE_PROG_ARRAY: the programs <c>bpf_tail_call</c> jumps to, by index.</summary>
public sealed class ProgramArrayView
{
    internal ProgramArrayView(LoadedMap map)
    {
        map.CheckType(nameof(ProgramArrayView), BpfMapType.ProgArray);
        map.CheckSizes(nameof(ProgramArrayView), sizeof(uint), sizeof(uint));
        Map = map;
    }

    public LoadedMap Map { get; }

    public uint MaxEntries => Map.MaxEntries;

    /// <summary>
    /// Puts <paramref name="program"/> at <paramref name="index"/>. The kernel holds the program while it is there, and
    /// empties the whole array when the last descriptor of the map (and pins) is gone.
    /// </summary>
    /// <remarks>The kernel takes no update flags for program arrays: a set always replaces.</remarks>
    public void Set(uint index, LoadedProgram program)
    {
        ArgumentNullException.ThrowIfNull(program);
        DescriptorMaps.CheckIndex(Map, index);
        if (program.AttachPoint != XdpAttachPoint.Interface)
            throw new InvalidOperationException($"Program {program.Name} is a {program.AttachPoint} program; tail calls from XDP programs need XDP programs of an 'xdp' section.");
        DescriptorMaps.Update(Map, index, program.Fd, $"put program {program.Name} at index {index} of program array {Map.Name}", MapUpdateFlags.Any,
            errno => errno == Errno.EINVAL
                ? $"The kernel refused program {program.Name} for program array {Map.Name}: a tail-call target must have the program type, attach type, "
                  + "JIT and multi-buffer (xdp.frags) setting of the programs that jump through the array."
                : null);
    }

    /// <summary>Empties the slot; false when it was empty.</summary>
    public bool Delete(uint index)
    {
        DescriptorMaps.CheckIndex(Map, index);
        return Map.Delete(MapBytes.Of(ref index));
    }

    /// <summary>The id of the program at <paramref name="index"/> (the kernel returns ids, not descriptors); false when empty.</summary>
    public bool TryGetProgramId(uint index, out uint programId)
    {
        DescriptorMaps.CheckIndex(Map, index);
        programId = 0;
        return Map.TryLookup(MapBytes.Of(ref index), MapBytes.Of(ref programId));
    }
}

/// <summary>What a devmap entry holds: the interface frames go out of, and the id of the program run on them first (0: none).</summary>
public readonly record struct DevMapEntry(int InterfaceIndex, uint ProgramId);

/// <summary>What a cpumap entry holds: the queue size of the CPU's kthread, and the id of the program run there (0: none).</summary>
public readonly record struct CpuMapEntry(uint QueueSize, uint ProgramId);

/// <summary>
/// BPF_MAP_TYPE_DEVMAP (keys are indexes) and BPF_MAP_TYPE_DEVMAP_HASH (keys are any 32-bit number): the interfaces
/// <c>bpf_redirect_map</c> sends frames out of. With 8-byte values (<c>struct bpf_devmap_val</c>) an entry can also
/// name an <c>xdp/devmap</c> program that runs on each frame before it leaves.
/// </summary>
public sealed class DevMapView
{
    internal DevMapView(LoadedMap map)
    {
        map.CheckType(nameof(DevMapView), BpfMapType.DevMap, BpfMapType.DevMapHash);
        if (map.KeySize != sizeof(uint) || map.ValueSize is not (4 or 8))
            throw new InvalidOperationException($"Map {map.Name} has {map.KeySize}-byte keys and {map.ValueSize}-byte values; a devmap has 4-byte keys and 4-byte (ifindex) or 8-byte (struct bpf_devmap_val) values.");
        Map = map;
    }

    public LoadedMap Map { get; }

    /// <summary>True when entries can carry a program (the value is <c>struct bpf_devmap_val</c>).</summary>
    public bool CanHoldPrograms => Map.ValueSize == 8;

    /// <summary>Sends frames redirected to <paramref name="key"/> out of <paramref name="interfaceName"/>.</summary>
    public void Set(uint key, string interfaceName, LoadedProgram? program = null, MapUpdateFlags flags = MapUpdateFlags.Any) =>
        Set(key, NetworkInterfaces.IndexOf(interfaceName), program, flags);

    /// <summary>Sends frames redirected to <paramref name="key"/> out of the interface with this index, through <paramref name="program"/> if given.</summary>
    public void Set(uint key, int interfaceIndex, LoadedProgram? program = null, MapUpdateFlags flags = MapUpdateFlags.Any)
    {
        if (Map.Type == BpfMapType.DevMap)
            DescriptorMaps.CheckIndex(Map, key);
        if (program is not null && !CanHoldPrograms)
            throw new InvalidOperationException($"Devmap {Map.Name} has 4-byte values (an ifindex only); declare its value as struct bpf_devmap_val (8 bytes) to give entries a program.");
        if (program is not null && program.AttachPoint != XdpAttachPoint.DevMap)
            throw new InvalidOperationException($"Program {program.Name} is not a devmap program; devmap entries run programs from an 'xdp/devmap' section (BPF_XDP_DEVMAP).");
        var operation = $"point key {key} of devmap {Map.Name} at ifindex {interfaceIndex}" + (program is null ? "" : $" through program {program.Name}");
        // The kernel answers EINVAL both for an unknown ifindex and for a program it will not run here.
        DescriptorMaps.UpdatePair(Map, key, (uint)interfaceIndex, program?.Fd, operation, flags, errno => errno switch
        {
            Errno.EINVAL or Errno.ENODEV when NetworkInterfaces.NameOf(interfaceIndex) is null =>
                $"There is no interface with index {interfaceIndex} in this network namespace.",
            Errno.EINVAL when program is not null =>
                $"The kernel refused program {program.Name} for devmap {Map.Name}: it must be an xdp/devmap program with the multi-buffer (xdp.frags) setting of the programs that redirect into the map.",
            _ => null,
        });
    }

    /// <summary>The entry at <paramref name="key"/>; false when there is none.</summary>
    public bool TryGet(uint key, out DevMapEntry entry)
    {
        var value = new byte[Map.ValueSize];
        if (!Map.TryLookup(MapBytes.Of(ref key), value))
        {
            entry = default;
            return false;
        }
        entry = new DevMapEntry(BitConverter.ToInt32(value, 0), CanHoldPrograms ? BitConverter.ToUInt32(value, 4) : 0);
        return true;
    }

    public bool Delete(uint key) => Map.Delete(MapBytes.Of(ref key));

    /// <summary>The keys with an entry (for a devmap, every index is a key; only filled ones are returned).</summary>
    public IEnumerable<uint> Keys => Map.Keys().Select(MapBytes.Read<uint>).Where(k => TryGet(k, out _));
}

/// <summary>
/// BPF_MAP_TYPE_CPUMAP: the CPUs <c>bpf_redirect_map</c> hands frames to, by CPU number. Each entry starts a kernel
/// thread with a queue of <c>QueueSize</c> frames; with 8-byte values (<c>struct bpf_cpumap_val</c>) it can also run an
/// <c>xdp/cpumap</c> program there.
/// </summary>
public sealed class CpuMapView
{
    internal CpuMapView(LoadedMap map)
    {
        map.CheckType(nameof(CpuMapView), BpfMapType.CpuMap);
        if (map.KeySize != sizeof(uint) || map.ValueSize is not (4 or 8))
            throw new InvalidOperationException($"Map {map.Name} has {map.KeySize}-byte keys and {map.ValueSize}-byte values; a cpumap has 4-byte keys and 4-byte (qsize) or 8-byte (struct bpf_cpumap_val) values.");
        Map = map;
    }

    public LoadedMap Map { get; }

    public bool CanHoldPrograms => Map.ValueSize == 8;

    /// <summary>Lets frames be redirected to <paramref name="cpu"/>, queueing up to <paramref name="queueSize"/> of them.</summary>
    public void Set(uint cpu, uint queueSize, LoadedProgram? program = null, MapUpdateFlags flags = MapUpdateFlags.Any)
    {
        DescriptorMaps.CheckIndex(Map, cpu);
        if (queueSize == 0)
            throw new ArgumentOutOfRangeException(nameof(queueSize), queueSize, "A cpumap entry needs a queue; use Delete to remove the CPU.");
        if (program is not null && !CanHoldPrograms)
            throw new InvalidOperationException($"Cpumap {Map.Name} has 4-byte values (a queue size only); declare its value as struct bpf_cpumap_val (8 bytes) to give entries a program.");
        if (program is not null && program.AttachPoint != XdpAttachPoint.CpuMap)
            throw new InvalidOperationException($"Program {program.Name} is not a cpumap program; cpumap entries run programs from an 'xdp/cpumap' section (BPF_XDP_CPUMAP).");
        var operation = $"give CPU {cpu} a queue of {queueSize} in cpumap {Map.Name}" + (program is null ? "" : $" with program {program.Name}");
        DescriptorMaps.UpdatePair(Map, cpu, queueSize, program?.Fd, operation, flags, errno => errno switch
        {
            Errno.ENODEV => $"CPU {cpu} is not possible on this machine ({SystemCpus.PossibleCount} possible CPUs).",
            Errno.EOVERFLOW => $"A queue of {queueSize} frames is too large (the kernel allows at most 16384).",
            Errno.EINVAL when program is not null => $"The kernel refused program {program.Name} for cpumap {Map.Name}: it must be an xdp/cpumap program.",
            _ => null,
        });
    }

    public bool TryGet(uint cpu, out CpuMapEntry entry)
    {
        DescriptorMaps.CheckIndex(Map, cpu);
        var value = new byte[Map.ValueSize];
        if (!Map.TryLookup(MapBytes.Of(ref cpu), value))
        {
            entry = default;
            return false;
        }
        entry = new CpuMapEntry(BitConverter.ToUInt32(value, 0), CanHoldPrograms ? BitConverter.ToUInt32(value, 4) : 0);
        return true;
    }

    public bool Delete(uint cpu)
    {
        DescriptorMaps.CheckIndex(Map, cpu);
        return Map.Delete(MapBytes.Of(ref cpu));
    }
}

/// <summary>
/// BPF_MAP_TYPE_XSKMAP: AF_XDP sockets by receive-queue index, for <c>bpf_redirect_map</c>. Frames reach a socket only
/// once it is bound to that queue of the interface with a UMEM and an RX ring (older kernels refuse unbound sockets
/// here); user space cannot read entries back.
/// </summary>
public sealed class XskMapView
{
    internal XskMapView(LoadedMap map)
    {
        map.CheckType(nameof(XskMapView), BpfMapType.XskMap);
        map.CheckSizes(nameof(XskMapView), sizeof(uint), sizeof(uint));
        Map = map;
    }

    public LoadedMap Map { get; }

    /// <summary>Puts the AF_XDP socket <paramref name="socket"/> (a descriptor this process owns) at <paramref name="queue"/>.</summary>
    public void Set(uint queue, SafeHandle socket, MapUpdateFlags flags = MapUpdateFlags.Any)
    {
        ArgumentNullException.ThrowIfNull(socket);
        DescriptorMaps.CheckIndex(Map, queue);
        DescriptorMaps.Update(Map, queue, socket, $"put AF_XDP socket {socket.DangerousGetHandle()} at queue {queue} of xskmap {Map.Name}", flags,
            errno => errno switch
            {
                Errno.EOPNOTSUPP => "The socket is not an AF_XDP socket (socket(AF_XDP, SOCK_RAW, 0)), or on older kernels not yet bound to an interface queue with a UMEM and an RX ring.",
                Errno.EBADF or Errno.ENOTSOCK => "The descriptor is not an open socket.",
                _ => null,
            });
    }

    /// <summary>Empties the slot of <paramref name="queue"/> (the kernel does not say whether it held a socket).</summary>
    public void Delete(uint queue)
    {
        DescriptorMaps.CheckIndex(Map, queue);
        Map.Delete(MapBytes.Of(ref queue));
    }
}

/// <summary>Updates of maps whose values carry descriptors.</summary>
internal static class DescriptorMaps
{
    internal static void CheckIndex(LoadedMap map, uint index)
    {
        if (index >= map.MaxEntries)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"Map {map.Name} has indexes 0..{map.MaxEntries - 1}.");
    }

    /// <summary>An update whose 4-byte value is <paramref name="handle"/>'s descriptor, kept open across the call.</summary>
    internal static void Update(LoadedMap map, uint key, SafeHandle handle, string operation, MapUpdateFlags flags, Func<int, string?> hint)
    {
        var added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            var fd = (uint)handle.DangerousGetHandle().ToInt64();
            if (!map.TryUpdate(MapBytes.Of(ref key), MapBytes.Of(ref fd), flags, out var errno))
                throw Error(map, operation, errno, flags, hint);
        }
        finally
        {
            if (added)
                handle.DangerousRelease();
        }
    }

    /// <summary>
    /// An update of a 4-byte value (<paramref name="first"/>) or of an 8-byte one whose second word is
    /// <paramref name="program"/>'s descriptor (-1 for none: <c>bpf_devmap_val</c> and <c>bpf_cpumap_val</c> take an fd
    /// and report an id).
    /// </summary>
    internal static void UpdatePair(LoadedMap map, uint key, uint first, SafeHandle? program, string operation, MapUpdateFlags flags, Func<int, string?> hint)
    {
        var added = false;
        try
        {
            Span<byte> value = stackalloc byte[map.ValueSize];
            BitConverter.TryWriteBytes(value, first);
            if (map.ValueSize == 8)
            {
                var fd = -1;
                if (program is not null)
                {
                    program.DangerousAddRef(ref added);
                    fd = (int)program.DangerousGetHandle().ToInt64();
                }
                BitConverter.TryWriteBytes(value[4..], fd);
            }
            if (!map.TryUpdate(MapBytes.Of(ref key), value, flags, out var errno))
                throw Error(map, operation, errno, flags, hint);
        }
        finally
        {
            if (added)
                program!.DangerousRelease();
        }
    }

    private static BpfException Error(LoadedMap map, string operation, int errno, MapUpdateFlags flags, Func<int, string?> hint) =>
        hint(errno) is { } specific
            ? new BpfException(BpfOperationKind.MapUpdate, operation, errno, map.Name, specific)
            : BpfErrors.Create(BpfOperationKind.MapUpdate, operation, map.Name, errno, $"{map.Type}, flags {flags}");
}
