namespace XdpCompiler.Core.Model;

/// <summary>
/// A C# type as BTF will describe it (map keys and values), reduced to plain data: names, sizes and member offsets.
/// </summary>
public abstract record TypeDescription(string Name, int Size);

public sealed record IntTypeDescription(string Name, int Size, bool Signed, bool IsBool = false) : TypeDescription(Name, Size);

public sealed record EnumTypeDescription(string Name, int Size, bool Signed, EquatableArray<EnumMemberDescription> Members)
    : TypeDescription(Name, Size);

public sealed record EnumMemberDescription(string Name, long Value);

public sealed record PointerTypeDescription(string Name) : TypeDescription(Name, 8);

public sealed record ArrayTypeDescription(TypeDescription Element, int Count) : TypeDescription("", Element.Size * Count);

public sealed record StructTypeDescription(string Name, int Size, EquatableArray<FieldDescription> Fields) : TypeDescription(Name, Size);

public sealed record FieldDescription(string Name, int Offset, TypeDescription Type);
