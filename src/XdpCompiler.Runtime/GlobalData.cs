using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using XdpCompiler.Core.Btf;
using XdpCompiler.Core.Objects;
using XdpCompiler.Runtime.Interop;

namespace XdpCompiler.Runtime;

/// <summary>
/// libbpf's internal maps: each global-data section becomes a one-entry <c>BPF_MAP_TYPE_ARRAY</c> (4-byte key, the
/// section as its value), created with the section's BTF DATASEC as value type, filled with the section's initial
/// contents (after load-time constants are applied) and, for <c>.rodata</c>, created read-only to programs and frozen
/// so the verifier can treat its contents as known constants.
/// </summary>
internal static class GlobalData
{
    /// <summary>BPF_F_RDONLY_PROG: programs may read but not write the map.</summary>
    internal const uint ReadOnlyProgramFlag = 0x80;

    /// <summary>BPF_F_MMAPABLE: libbpf sets it on every internal map so skeletons can mmap the variables.</summary>
    internal const uint MmapableFlag = 0x400;

    /// <summary>BPF_MAP_FREEZE (uapi enum bpf_cmd, Linux 5.2).</summary>
    private const BpfCommand MapFreeze = (BpfCommand)22;

    /// <summary>
    /// The kernel name libbpf gives the map (internal_map_name): up to 8 characters of the object's name, then the
    /// section name with its dot (<c>counter.data</c>, <c>counter.rodata</c>); a section name with a second dot
    /// (<c>.rodata.str1.1</c>) is used alone; the whole cut to 15 characters.
    /// </summary>
    internal static string MapName(string objectName, string sectionName)
    {
        const int nameLength = BpfLimits.ObjectNameLength - 1;
        var suffixLength = Math.Max(7, sectionName.Length);
        var prefixLength = sectionName.IndexOf('.', 1) >= 0 ? 0 : Math.Max(0, Math.Min(nameLength - suffixLength, objectName.Length));
        var name = objectName.Substring(0, prefixLength) + sectionName;
        return name.Length > nameLength ? name.Substring(0, nameLength) : name;
    }

    /// <summary>Each section's initial bytes with the given variables' values written over them.</summary>
    internal static Dictionary<string, byte[]> InitialContents(BpfObject obj, IReadOnlyDictionary<string, byte[]> values)
    {
        var contents = obj.DataSections.ToDictionary(s => s.Name, s => s.Contents.ToArray(), StringComparer.Ordinal);
        foreach (var (name, value) in values)
        {
            var (section, variable) = Find(obj, name)
                ?? throw new ArgumentException(
                    $"Object {obj.Name} has no global variable '{name}' to set before load (variables: {Describe(obj)}).", nameof(values));
            if (value is null || value.Length != variable.Size)
                throw new ArgumentException(
                    $"Global variable '{name}' of object {obj.Name} ({section.Name}) is {variable.Size} bytes; the value given for it is {value?.Length ?? 0} bytes.", nameof(values));
            value.CopyTo(contents[section.Name], variable.Offset);
        }
        return contents;
    }

    internal static (BpfDataSection Section, BpfGlobalVariable Variable)? Find(BpfObject obj, string name)
    {
        foreach (var section in obj.DataSections)
        {
            foreach (var variable in section.Variables)
            {
                if (variable.Name == name)
                    return (section, variable);
            }
        }
        return null;
    }

    internal static string Describe(BpfObject obj)
    {
        var all = obj.DataSections.SelectMany(s => s.Variables.Select(v => $"{v.Name} ({s.Name}, {v.Size} B)")).ToList();
        return all.Count == 0 ? "none" : string.Join(", ", all);
    }

    /// <summary>Creates, fills and (for <c>.rodata</c>) freezes the map of one section.</summary>
    internal static LoadedDataSection Create(BpfObject obj, BpfDataSection section, byte[] contents, LoadedBtf? btf)
    {
        var dataSec = 0u;
        for (var i = 0; i < obj.Types.Types.Length; i++)
        {
            if (obj.Types.Types[i] is BtfDataSec d && d.Name == section.Name)
            {
                dataSec = (uint)(i + 1);
                break;
            }
        }
        var flags = MmapableFlag | (section.IsReadOnly ? ReadOnlyProgramFlag : 0);
        var definition = new BpfMap(MapName(obj.Name, section.Name), BpfMapType.Array, 4, (uint)contents.Length, 1, flags,
            KeyType: 0, ValueType: btf is null ? 0 : dataSec);
        var map = LoadedMap.Create(definition, btf);
        try
        {
            map.Update(stackalloc byte[4], contents);
            if (section.IsReadOnly)
                Freeze(map);
            return new LoadedDataSection(section, map);
        }
        catch
        {
            map.Dispose();
            throw;
        }
    }

    private static void Freeze(LoadedMap map)
    {
        var added = false;
        map.Fd.DangerousAddRef(ref added);
        try
        {
            var attr = new MapElemAttr { MapFd = (uint)map.Fd.Value };
            var result = BpfSyscall.Invoke(MapFreeze, ref attr);
            if (result < 0)
                throw BpfErrors.Create(BpfOperationKind.MapUpdate, $"freeze map {map.Name}", map.Name, -result, "BPF_MAP_FREEZE needs Linux 5.2");
        }
        finally
        {
            if (added)
                map.Fd.DangerousRelease();
        }
    }
}

/// <summary>
/// A global-data section in the kernel: its array map (one entry, the section's bytes) and its variables.
/// <c>.rodata</c> is frozen after load: programs see constants, and user space can only read it.
/// </summary>
/// <remarks>
/// Writes go through BPF_MAP_UPDATE_ELEM of the whole section: a write of one variable rewrites the others with the
/// values just read, so it can undo a program's concurrent update of another variable in the same section.
/// </remarks>
public sealed class LoadedDataSection
{
    internal LoadedDataSection(BpfDataSection section, LoadedMap map)
    {
        Section = section;
        Map = map;
    }

    /// <summary>The section name: <c>.data</c>, <c>.rodata</c>, <c>.bss</c> (or one with a suffix).</summary>
    public string Name => Section.Name;

    /// <summary>The section as the object declared it (initial contents before load-time constants).</summary>
    public BpfDataSection Section { get; }

    /// <summary>The array map (owned by the <see cref="LoadedBpfObject"/>; its kernel name is libbpf's, e.g. <c>counter.data</c>).</summary>
    public LoadedMap Map { get; }

    /// <summary>True for <c>.rodata</c>: read-only to programs and frozen, so user space cannot change it either.</summary>
    public bool IsReadOnly => Section.IsReadOnly;

    public ImmutableArray<BpfGlobalVariable> Variables => Section.Variables;

    /// <summary>The section's current bytes.</summary>
    public byte[] Read()
    {
        var value = new byte[Map.ValueSize];
        if (!Map.TryLookup(stackalloc byte[4], value))
            throw new InvalidOperationException($"The map {Map.Name} of section {Name} has no entry 0, which an array map always has.");
        return value;
    }

    /// <summary>Replaces the section's bytes (not for <c>.rodata</c>, which is frozen).</summary>
    public void Write(ReadOnlySpan<byte> contents)
    {
        if (IsReadOnly)
            throw new InvalidOperationException(
                $"Section {Name} is frozen after load; set its variables before load with {nameof(BpfObjectLoadOptions)}.{nameof(BpfObjectLoadOptions.Constants)}.");
        if (contents.Length != Map.ValueSize)
            throw new ArgumentException($"Section {Name} is {Map.ValueSize} bytes, not {contents.Length}.", nameof(contents));
        Map.Update(stackalloc byte[4], contents);
    }

    public BpfGlobalVariable Variable(string name)
    {
        foreach (var variable in Variables)
        {
            if (variable.Name == name)
                return variable;
        }
        throw new KeyNotFoundException($"Section {Name} has no variable '{name}' (variables: {string.Join(", ", Variables.Select(v => v.Name))}).");
    }
}

/// <summary>
/// A typed view of one global variable after load (<see cref="LoadedBpfObject.Global{T}"/>): <see cref="Value"/>
/// reads it from its section's map, and for <c>.data</c> and <c>.bss</c> writes it too.
/// </summary>
public sealed class GlobalVariable<T> where T : unmanaged
{
    internal GlobalVariable(LoadedDataSection section, BpfGlobalVariable variable)
    {
        if (Unsafe.SizeOf<T>() != variable.Size)
            throw new ArgumentException(
                $"Global variable '{variable.Name}' ({section.Name}) is {variable.Size} bytes; {typeof(T).Name} is {Unsafe.SizeOf<T>()} bytes.", nameof(T));
        Section = section;
        Variable = variable;
    }

    public LoadedDataSection Section { get; }

    public BpfGlobalVariable Variable { get; }

    public string Name => Variable.Name;

    /// <summary>The current value; setting it rewrites its section (see the remarks on <see cref="LoadedDataSection"/>).</summary>
    public T Value
    {
        get => MemoryMarshal.Read<T>(Section.Read().AsSpan(Variable.Offset, Variable.Size));
        set
        {
            if (Section.IsReadOnly)
                throw new InvalidOperationException(
                    $"Global variable '{Name}' is in {Section.Name}, which is frozen after load; set it before load with {nameof(BpfObjectLoadOptions)}.{nameof(BpfObjectLoadOptions.Constants)}.");
            var contents = Section.Read();
            MemoryMarshal.Write(contents.AsSpan(Variable.Offset, Variable.Size), in value);
            Section.Write(contents);
        }
    }

    public override string ToString() => $"{Name} = {Value}";
}
