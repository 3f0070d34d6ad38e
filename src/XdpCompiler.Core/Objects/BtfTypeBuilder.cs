using System.Collections.Immutable;
using XdpCompiler.Core.Btf;
using XdpCompiler.Core.Model;

namespace XdpCompiler.Core.Objects;

/// <summary>Describes C# types in BTF, each distinct type once, so bpftool can print map keys and values by field.</summary>
public sealed class BtfTypeBuilder
{
    private readonly List<BtfType> _types = new();
    private readonly Dictionary<TypeDescription, uint> _ids = new();

    public uint Add(TypeDescription description)
    {
        if (_ids.TryGetValue(description, out var existing))
            return existing;
        BtfType type = description switch
        {
            IntTypeDescription i => new BtfInt(i.Name, (uint)i.Size,
                i.IsBool ? BtfIntEncoding.Bool : i.Signed ? BtfIntEncoding.Signed : BtfIntEncoding.None, (byte)(i.Size * 8)),
            EnumTypeDescription e => new BtfEnum(e.Members.Any(m => m.Value is < int.MinValue or > uint.MaxValue), e.Name, (uint)e.Size,
                e.Signed, e.Members.Select(m => new BtfEnumValue(m.Name, m.Value)).ToImmutableArray()),
            PointerTypeDescription => new BtfReference(BtfKind.Ptr, "", 0),
            ArrayTypeDescription a => new BtfArray(Add(a.Element), Add(new IntTypeDescription("__ARRAY_SIZE_TYPE__", 4, false)), (uint)a.Count),
            StructTypeDescription s => new BtfComposite(false, s.Name, (uint)s.Size,
                s.Fields.Select(f => new BtfMember(f.Name, Add(f.Type), (uint)f.Offset * 8)).ToImmutableArray()),
            _ => throw new ArgumentOutOfRangeException(nameof(description), description.GetType().Name),
        };
        _types.Add(type);
        var id = (uint)_types.Count;
        _ids[description] = id;
        return id;
    }

    public BtfTypeTable Build() => new(_types.ToImmutableArray());
}
