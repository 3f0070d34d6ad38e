using System.Collections.Immutable;

namespace XdpCompiler.Core.Btf;

// BPF Type Format (Documentation/bpf/btf.rst). Types are numbered from 1 in the order they appear; 0 is void. A type
// refers to others by id, so a list of these records is the whole type section.

public enum BtfKind : byte
{
    Int = 1,
    Ptr = 2,
    Array = 3,
    Struct = 4,
    Union = 5,
    Enum = 6,
    Fwd = 7,
    Typedef = 8,
    Volatile = 9,
    Const = 10,
    Restrict = 11,
    Func = 12,
    FuncProto = 13,
    Var = 14,
    DataSec = 15,
    Float = 16,
    DeclTag = 17,
    TypeTag = 18,
    Enum64 = 19,
}

[Flags]
public enum BtfIntEncoding : byte
{
    None = 0,
    Signed = 1,
    Char = 2,
    Bool = 4,
}

public enum BtfFuncLinkage : ushort
{
    Static = 0,
    Global = 1,
    Extern = 2,
}

public enum BtfVarLinkage : uint
{
    Static = 0,
    GlobalAllocated = 1,
    GlobalExtern = 2,
}

public abstract record BtfType(BtfKind Kind, string Name);

/// <summary>An integer of <paramref name="Size"/> bytes whose value occupies <paramref name="Bits"/> bits from <paramref name="BitOffset"/>.</summary>
public sealed record BtfInt(string Name, uint Size, BtfIntEncoding Encoding, byte Bits, byte BitOffset = 0) : BtfType(BtfKind.Int, Name);

/// <summary>PTR, TYPEDEF, VOLATILE, CONST, RESTRICT and TYPE_TAG: a name (for typedef/type tag) and the type referred to.</summary>
public sealed record BtfReference(BtfKind ReferenceKind, string Name, uint Type) : BtfType(ReferenceKind, Name);

public sealed record BtfArray(uint ElementType, uint IndexType, uint Count) : BtfType(BtfKind.Array, "");

public sealed record BtfMember(string Name, uint Type, uint BitOffset, byte BitfieldSize = 0);

/// <summary>STRUCT or UNION.</summary>
public sealed record BtfComposite(bool IsUnion, string Name, uint Size, ImmutableArray<BtfMember> Members)
    : BtfType(IsUnion ? BtfKind.Union : BtfKind.Struct, Name);

public sealed record BtfEnumValue(string Name, long Value);

/// <summary>ENUM (values fit 32 bits) or ENUM64.</summary>
public sealed record BtfEnum(bool Is64, string Name, uint Size, bool IsSigned, ImmutableArray<BtfEnumValue> Values)
    : BtfType(Is64 ? BtfKind.Enum64 : BtfKind.Enum, Name);

public sealed record BtfForward(string Name, bool IsUnion) : BtfType(BtfKind.Fwd, Name);

public sealed record BtfFunc(string Name, uint Proto, BtfFuncLinkage Linkage) : BtfType(BtfKind.Func, Name);

public sealed record BtfParam(string Name, uint Type);

public sealed record BtfFuncProto(uint ReturnType, ImmutableArray<BtfParam> Params) : BtfType(BtfKind.FuncProto, "");

public sealed record BtfVar(string Name, uint Type, BtfVarLinkage Linkage) : BtfType(BtfKind.Var, Name);

public sealed record BtfVarSecInfo(uint Type, uint Offset, uint Size);

public sealed record BtfDataSec(string Name, uint Size, ImmutableArray<BtfVarSecInfo> Vars) : BtfType(BtfKind.DataSec, Name);

public sealed record BtfFloat(string Name, uint Size) : BtfType(BtfKind.Float, Name);

/// <summary>A tag on a type, or on one of its members or parameters (<paramref name="ComponentIndex"/>; -1 for the type).</summary>
public sealed record BtfDeclTag(string Name, uint Type, int ComponentIndex) : BtfType(BtfKind.DeclTag, Name);

/// <summary>A whole type section: <see cref="Types"/>[i] has id i + 1.</summary>
public sealed class BtfTypeTable
{
    public BtfTypeTable(ImmutableArray<BtfType> types) => Types = types;

    public ImmutableArray<BtfType> Types { get; }

    /// <summary>The type with this id; null for void (0).</summary>
    public BtfType? this[uint id] => id == 0 ? null : Types[(int)id - 1];

    /// <summary>Skips typedefs and qualifiers (not pointers) to the type that gives the layout.</summary>
    public uint Resolve(uint id)
    {
        for (var guard = 0; guard < 64 && this[id] is BtfReference { ReferenceKind: not BtfKind.Ptr } r; guard++)
            id = r.Type;
        return id;
    }

    /// <summary>Size in bytes of a sized type, following typedefs, qualifiers and arrays.</summary>
    public uint SizeOf(uint id) => this[Resolve(id)] switch
    {
        null => 0,
        BtfInt i => i.Size,
        BtfReference { ReferenceKind: BtfKind.Ptr } => 8,
        BtfArray a => a.Count * SizeOf(a.ElementType),
        BtfComposite c => c.Size,
        BtfEnum e => e.Size,
        BtfDataSec d => d.Size,
        BtfFloat f => f.Size,
        BtfVar v => SizeOf(v.Type),
        var t => throw new InvalidOperationException($"BTF type {id} ({t.Kind}) has no size."),
    };
}
