using System.Collections.Immutable;
using XdpCompiler.Core.Btf;
using XdpCompiler.Core.Objects;

namespace XdpCompiler.Core.Elf;

/// <summary>
/// Appends to the object's own types what libbpf and the kernel need beside them: the BTF-defined map definitions
/// (libbpf's <c>__uint</c>/<c>__type</c> encoding), the <c>.maps</c> DATASEC, one FUNC per program, and the VARs and
/// DATASECs of global data.
/// Types the object already has are reused where an equal one exists, so ids of <see cref="BpfObject.Types"/> never change.
/// </summary>
internal sealed class ObjectBtfBuilder
{
    private readonly List<BtfType> _types;
    private readonly Dictionary<BtfType, uint> _shared = new();
    private uint _int;
    private uint _arrayIndex;
    private uint _char;
    private uint _funcProto;
    private uint _voidCtxProto;

    public ObjectBtfBuilder(BtfTypeTable existing)
    {
        _types = new List<BtfType>(existing.Types);
        for (var i = 0; i < _types.Count; i++)
        {
            if (IsShareable(_types[i]) && !_shared.ContainsKey(_types[i]))
                _shared[_types[i]] = (uint)(i + 1);
        }
    }

    public BtfTypeTable ToTable() => new(_types.ToImmutableArray());

    /// <summary>
    /// Builds the map definition struct, VAR and the DATASEC; returns each map's size in <c>.maps</c>: its definition
    /// plus, for a program array with initial programs, one 8-byte slot per initial entry after it (the flexible
    /// <c>values</c> array, which relocations against the programs fill).
    /// </summary>
    public ImmutableArray<uint> AddMaps(ImmutableArray<BpfMap> maps)
    {
        var sizes = ImmutableArray.CreateBuilder<uint>(maps.Length);
        var vars = ImmutableArray.CreateBuilder<BtfVarSecInfo>(maps.Length);
        uint offset = 0;
        foreach (var map in maps)
        {
            var members = new List<(string Name, uint Type)> { (BpfElf.MapMember.Type, Integer((uint)map.Type)) };
            AddKeyOrValue(members, map, map.KeyType, map.KeySize, BpfElf.MapMember.Key, BpfElf.MapMember.KeySize);
            AddKeyOrValue(members, map, map.ValueType, map.ValueSize, BpfElf.MapMember.Value, BpfElf.MapMember.ValueSize);
            members.Add((BpfElf.MapMember.MaxEntries, Integer(map.MaxEntries)));
            if (map.Flags != 0)
                members.Add((BpfElf.MapMember.MapFlags, Integer(map.Flags)));
            if (map.Pinning != BpfMapPinning.None)
                members.Add((BpfElf.MapMember.Pinning, Integer((uint)map.Pinning)));
            var slots = map.HasInitialPrograms ? (uint)map.InitialPrograms.Length : 0;
            // Every member is a pointer, so the definition is an array of 8-byte slots (libbpf never reads the data).
            var definitionSize = (uint)members.Count * 8;
            if (slots > 0)
            {
                // libbpf's __array(values, int (void *)): a flexible array of function pointers, the struct's last member.
                var function = Shared(new BtfReference(BtfKind.Ptr, "", VoidCtxProto()));
                members.Add((BpfElf.MapMember.Values, Shared(new BtfArray(function, ArrayIndex(), 0))));
            }

            var size = definitionSize + slots * 8;
            var definition = Append(new BtfComposite(false, "", definitionSize,
                members.Select((m, i) => new BtfMember(m.Name, m.Type, (uint)i * 64)).ToImmutableArray()));
            var variable = Append(new BtfVar(map.Name, definition, BtfVarLinkage.GlobalAllocated));
            vars.Add(new BtfVarSecInfo(variable, offset, size));
            sizes.Add(size);
            offset += size;
        }
        if (maps.Length > 0)
            Append(new BtfDataSec(BpfElf.MapsSection, offset, vars.MoveToImmutable()));
        return sizes.MoveToImmutable();
    }

    /// <summary>
    /// One global-allocated VAR per variable (its own type, or an unsigned integer or byte array of its size when it
    /// has none) and one DATASEC per section with the section's size and the variables sorted by offset, as libbpf
    /// leaves them after its fix-up and the kernel checks them.
    /// </summary>
    public void AddDataSections(ImmutableArray<BpfDataSection> sections)
    {
        foreach (var section in sections)
        {
            var vars = ImmutableArray.CreateBuilder<BtfVarSecInfo>();
            foreach (var variable in section.Variables.IsDefault ? ImmutableArray<BpfGlobalVariable>.Empty : section.Variables.OrderBy(v => v.Offset).ToImmutableArray())
            {
                var type = variable.Type != 0 ? variable.Type : SizedType((uint)variable.Size);
                var id = Append(new BtfVar(variable.Name, type, BtfVarLinkage.GlobalAllocated));
                vars.Add(new BtfVarSecInfo(id, (uint)variable.Offset, (uint)variable.Size));
            }
            Append(new BtfDataSec(section.Name, (uint)section.Size, vars.ToImmutable()));
        }
    }

    /// <summary>
    /// The <c>XDP_RUN_CONFIG</c> structs, VARs and their DATASEC, in the shape clang gives the C macro: an anonymous
    /// struct of <c>int (*name)[value]</c> members (the map definition encoding), <c>priority</c> first, then every
    /// XDP action with 1 or 0, so libxdp's defaults never decide what a config means. Returns each struct's size.
    /// </summary>
    public ImmutableArray<uint> AddRunConfigs(ImmutableArray<BpfRunConfig> configs)
    {
        var sizes = ImmutableArray.CreateBuilder<uint>(configs.Length);
        var vars = ImmutableArray.CreateBuilder<BtfVarSecInfo>(configs.Length);
        uint offset = 0;
        foreach (var config in configs)
        {
            var members = new List<(string Name, uint Type)> { (BpfRunConfig.PriorityMember, Integer(config.Priority)) };
            for (var action = 0; action < BpfRunConfig.ActionNames.Length; action++)
                members.Add((BpfRunConfig.ActionNames[action], Integer(config.ChainsOn(action) ? 1u : 0u)));
            var size = (uint)members.Count * 8;
            var definition = Append(new BtfComposite(false, "", size,
                members.Select((m, i) => new BtfMember(m.Name, m.Type, (uint)i * 64)).ToImmutableArray()));
            var variable = Append(new BtfVar(config.SymbolName, definition, BtfVarLinkage.GlobalAllocated));
            vars.Add(new BtfVarSecInfo(variable, offset, size));
            sizes.Add(size);
            offset += size;
        }
        if (configs.Length > 0)
            Append(new BtfDataSec(BpfElf.RunConfigSection, offset, vars.MoveToImmutable()));
        return sizes.MoveToImmutable();
    }

    private void AddKeyOrValue(List<(string, uint)> members, BpfMap map, uint type, uint size, string typeMember, string sizeMember)
    {
        if (type != 0)
            members.Add((typeMember, Shared(new BtfReference(BtfKind.Ptr, "", type))));
        else if (size == 0)
            return; // ring buffers, queues' keys: nothing to describe
        else if (AcceptsBtfKeyValue(map.Type))
            members.Add((typeMember, Shared(new BtfReference(BtfKind.Ptr, "", SizedType(size)))));
        else
            members.Add((sizeMember, Integer(size)));
    }

    /// <summary>
    /// Map types whose kernel maps take BTF key/value types. The others (prog/dev/cpu/xsk/sock maps, perf event
    /// arrays, map-in-map, …) are created without BTF ids (libbpf drops them or retries without them), so for those a
    /// key or value known only by size is written as <c>key_size</c>/<c>value_size</c>, as C programs declare them,
    /// and a loader reading the object back finds no type ids to pass.
    /// </summary>
    private static bool AcceptsBtfKeyValue(BpfMapType type) => type is BpfMapType.Hash or BpfMapType.Array
        or BpfMapType.PerCpuHash or BpfMapType.PerCpuArray or BpfMapType.LruHash or BpfMapType.LruPerCpuHash
        or BpfMapType.LpmTrie or BpfMapType.SkStorage or BpfMapType.CgroupStorage or BpfMapType.PerCpuCgroupStorage;

    /// <summary>An unsigned integer of 1, 2, 4 or 8 bytes, else an array of bytes, for a key or value known only by size.</summary>
    private uint SizedType(uint size) => size switch
    {
        1 => Shared(new BtfInt("unsigned char", 1, BtfIntEncoding.None, 8)),
        2 => Shared(new BtfInt("unsigned short", 2, BtfIntEncoding.None, 16)),
        4 => Shared(new BtfInt("unsigned int", 4, BtfIntEncoding.None, 32)),
        8 => Shared(new BtfInt("unsigned long long", 8, BtfIntEncoding.None, 64)),
        _ => Shared(new BtfArray(Shared(new BtfInt("unsigned char", 1, BtfIntEncoding.None, 8)), ArrayIndex(), size)),
    };

    /// <summary>
    /// <c>int (*name)[value]</c>: libbpf reads the array's element count. The kernel refuses arrays larger than 4 GiB,
    /// so counts that would overflow with 4-byte ints use 1-byte chars.
    /// </summary>
    private uint Integer(uint value)
    {
        var element = value > uint.MaxValue / 4 ? Char() : Int();
        return Shared(new BtfReference(BtfKind.Ptr, "", Shared(new BtfArray(element, ArrayIndex(), value))));
    }

    private uint Int() => _int != 0 ? _int : _int = Shared(new BtfInt("int", 4, BtfIntEncoding.Signed, 32));

    private uint Char() => _char != 0 ? _char : _char = Shared(new BtfInt("char", 1, BtfIntEncoding.Signed, 8));

    private uint ArrayIndex() => _arrayIndex != 0
        ? _arrayIndex
        : _arrayIndex = Shared(new BtfInt(BpfElf.ArraySizeTypeName, 4, BtfIntEncoding.None, 32));

    /// <summary>
    /// The program's BTF FUNC: one the object already declares under the program's name, else a global
    /// <c>int name(struct xdp_md *ctx)</c> (or <c>void *ctx</c> for other program types).
    /// </summary>
    public uint AddFunction(BpfProgram program)
    {
        for (var i = 0; i < _types.Count; i++)
        {
            if (_types[i] is BtfFunc f && f.Name == program.Name)
                return (uint)(i + 1);
        }
        // A .text subprogram is static, as clang makes a static __noinline function: the kernel verifies a global one
        // on its own, against its BTF argument types, which a made-up prototype could not satisfy.
        var linkage = program.Section == BpfElf.TextSection ? BtfFuncLinkage.Static : BtfFuncLinkage.Global;
        return Append(new BtfFunc(program.Name, program.IsXdp ? XdpProto() : VoidCtxProto(), linkage));
    }

    private uint XdpProto()
    {
        if (_funcProto != 0)
            return _funcProto;
        var xdpMd = FindStruct("xdp_md") ?? AppendXdpMd();
        var ctx = Shared(new BtfReference(BtfKind.Ptr, "", xdpMd));
        return _funcProto = Append(new BtfFuncProto(Int(), ImmutableArray.Create(new BtfParam("ctx", ctx))));
    }

    private uint VoidCtxProto()
    {
        if (_voidCtxProto != 0)
            return _voidCtxProto;
        var ctx = Shared(new BtfReference(BtfKind.Ptr, "", 0));
        return _voidCtxProto = Append(new BtfFuncProto(Int(), ImmutableArray.Create(new BtfParam("ctx", ctx))));
    }

    /// <summary><c>struct xdp_md</c> as in the kernel's uapi <c>linux/bpf.h</c>: six <c>__u32</c> fields.</summary>
    private uint AppendXdpMd()
    {
        var u32 = Shared(new BtfReference(BtfKind.Typedef, "__u32", Shared(new BtfInt("unsigned int", 4, BtfIntEncoding.None, 32))));
        string[] fields = ["data", "data_end", "data_meta", "ingress_ifindex", "rx_queue_index", "egress_ifindex"];
        return Append(new BtfComposite(false, "xdp_md", (uint)fields.Length * 4,
            fields.Select((name, i) => new BtfMember(name, u32, (uint)i * 32)).ToImmutableArray()));
    }

    private uint? FindStruct(string name)
    {
        for (var i = 0; i < _types.Count; i++)
        {
            if (_types[i] is BtfComposite { IsUnion: false } c && c.Name == name)
                return (uint)(i + 1);
        }
        return null;
    }

    private static bool IsShareable(BtfType type) => type is BtfInt or BtfReference or BtfArray or BtfFloat or BtfForward;

    /// <summary>Returns an equal existing type's id (value-equal records only) or appends the type.</summary>
    private uint Shared(BtfType type) => _shared.TryGetValue(type, out var id) ? id : Append(type);

    private uint Append(BtfType type)
    {
        _types.Add(type);
        var id = (uint)_types.Count;
        if (IsShareable(type) && !_shared.ContainsKey(type))
            _shared[type] = id;
        return id;
    }
}
