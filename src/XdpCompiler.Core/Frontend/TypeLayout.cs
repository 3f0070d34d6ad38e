using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using XdpCompiler.Core.Model;

namespace XdpCompiler.Core.Frontend;

/// <summary>How a scalar C# value lives in a register: its size in memory, signedness, and whether it is a pointer.</summary>
internal readonly record struct Scalar(int Size, bool Signed, bool IsPointer, bool IsBool, ITypeSymbol Type)
{
    public int Bits => Size * 8;

    /// <summary>Values of 4 bytes or less are kept as canonical 32-bit values (upper half zero), others use all 64 bits.</summary>
    public IR.Width Width => Size == 8 ? IR.Width.W64 : IR.Width.W32;

    public ITypeSymbol? Pointee => (Type as IPointerTypeSymbol)?.PointedAtType;
}

/// <summary>A struct's layout as the kernel will see it in memory.</summary>
internal sealed record StructLayoutInfo(int Size, int Alignment, ImmutableDictionary<IFieldSymbol, int> Offsets);

/// <summary>
/// Sizes and layouts of the unmanaged types a program touches. Source types honour [StructLayout(Pack, Size)] and
/// [FieldOffset]. Roslyn does not expose those pseudo-attributes for types from referenced assemblies, so those are laid
/// out sequentially with natural alignment, except the XdpCompiler API's own headers, which are packed (and naturally
/// aligned anyway).
/// </summary>
internal sealed class TypeLayout
{
    private readonly Dictionary<ITypeSymbol, StructLayoutInfo> _structs = new(SymbolEqualityComparer.Default);

    public static bool TryGetScalar(ITypeSymbol type, out Scalar scalar)
    {
        if (type is INamedTypeSymbol { TypeKind: TypeKind.Enum, EnumUnderlyingType: { } underlying })
        {
            var ok = TryGetScalar(underlying, out var u);
            scalar = u with { Type = type };
            return ok;
        }

        (int size, bool signed, bool ptr, bool isBool)? info = type.SpecialType switch
        {
            SpecialType.System_Boolean => (1, false, false, true),
            SpecialType.System_SByte => (1, true, false, false),
            SpecialType.System_Byte => (1, false, false, false),
            SpecialType.System_Int16 => (2, true, false, false),
            SpecialType.System_UInt16 => (2, false, false, false),
            SpecialType.System_Char => (2, false, false, false),
            SpecialType.System_Int32 => (4, true, false, false),
            SpecialType.System_UInt32 => (4, false, false, false),
            SpecialType.System_Int64 => (8, true, false, false),
            SpecialType.System_UInt64 => (8, false, false, false),
            SpecialType.System_IntPtr => (8, true, false, false),
            SpecialType.System_UIntPtr => (8, false, false, false),
            _ => type.TypeKind == TypeKind.Pointer ? (8, false, true, false) : null,
        };
        scalar = info is { } i ? new Scalar(i.size, i.signed, i.ptr, i.isBool, type) : default;
        return info is not null;
    }

    public static bool IsFloatingPoint(ITypeSymbol type) =>
        type.SpecialType is SpecialType.System_Single or SpecialType.System_Double or SpecialType.System_Decimal;

    /// <summary>Size of a value of this type in memory, or null when it has no unmanaged layout we support.</summary>
    public int? SizeOf(ITypeSymbol type)
    {
        if (TryGetScalar(type, out var s))
            return s.Size;
        return GetStruct(type)?.Size;
    }

    public int AlignmentOf(ITypeSymbol type) =>
        TryGetScalar(type, out var s) ? s.Size : GetStruct(type)?.Alignment ?? 1;

    public StructLayoutInfo? GetStruct(ITypeSymbol type)
    {
        // Primitives (double, decimal, …) are structs to Roslyn but have no layout of ours.
        if (type is not INamedTypeSymbol { TypeKind: TypeKind.Struct, IsUnmanagedType: true, SpecialType: SpecialType.None } named)
            return null;
        if (_structs.TryGetValue(named, out var cached))
            return cached;

        var (pack, explicitLayout, fixedSize) = ReadLayoutAttribute(named);
        var offsets = ImmutableDictionary.CreateBuilder<IFieldSymbol, int>(SymbolEqualityComparer.Default);
        int size = 0, alignment = 1;
        foreach (var field in named.GetMembers().OfType<IFieldSymbol>().Where(f => !f.IsStatic && !f.IsConst))
        {
            var (fieldSize, fieldAlign) = FieldSizeAndAlignment(field);
            if (fieldSize is null)
                return null;
            var align = Math.Min(fieldAlign, pack);
            int offset;
            if (explicitLayout)
                offset = ReadFieldOffset(field) ?? 0;
            else
                offset = (size + align - 1) / align * align;
            offsets[field] = offset;
            size = Math.Max(size, offset + fieldSize.Value);
            alignment = Math.Max(alignment, align);
        }

        size = (size + alignment - 1) / alignment * alignment;
        if (fixedSize is { } explicitSize && explicitSize > size)
            size = explicitSize;
        var layout = new StructLayoutInfo(Math.Max(size, 1), alignment, offsets.ToImmutable());
        _structs[named] = layout;
        return layout;
    }

    private (int? Size, int Alignment) FieldSizeAndAlignment(IFieldSymbol field)
    {
        if (field.IsFixedSizeBuffer && field.Type is IPointerTypeSymbol p)
        {
            var element = SizeOf(p.PointedAtType);
            return (element * field.FixedSize, AlignmentOf(p.PointedAtType));
        }

        return (SizeOf(field.Type), AlignmentOf(field.Type));
    }

    private static (int Pack, bool Explicit, int? Size) ReadLayoutAttribute(INamedTypeSymbol type)
    {
        var pack = type.ContainingAssembly?.Name == "XdpCompiler" ? 1 : 8;
        var isExplicit = false;
        int? size = null;
        var attribute = type.GetAttributes().FirstOrDefault(a =>
            a.AttributeClass?.ToDisplayString() == "System.Runtime.InteropServices.StructLayoutAttribute");
        if (attribute is null)
            return (pack, isExplicit, size);
        if (attribute.ConstructorArguments.Length == 1 && attribute.ConstructorArguments[0].Value is int kind)
            isExplicit = kind == 2; // LayoutKind.Explicit
        foreach (var named in attribute.NamedArguments)
        {
            if (named.Key == "Pack" && named.Value.Value is int p && p > 0)
                pack = p;
            if (named.Key == "Size" && named.Value.Value is int s && s > 0)
                size = s;
        }

        return (pack, isExplicit, size);
    }

    private static int? ReadFieldOffset(IFieldSymbol field) => field.GetAttributes()
        .FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == "System.Runtime.InteropServices.FieldOffsetAttribute")
        ?.ConstructorArguments.FirstOrDefault().Value as int?;

    /// <summary>The type as BTF should describe it (for map keys and values).</summary>
    public TypeDescription? Describe(ITypeSymbol type)
    {
        if (type is INamedTypeSymbol { TypeKind: TypeKind.Enum } e && TryGetScalar(e, out var es))
        {
            var members = e.GetMembers().OfType<IFieldSymbol>().Where(f => f.HasConstantValue)
                .Select(f => new EnumMemberDescription(f.Name, Convert.ToInt64(f.ConstantValue)))
                .ToEquatableArray();
            return new EnumTypeDescription(e.Name, es.Size, es.Signed, members);
        }

        if (TryGetScalar(type, out var s))
        {
            return s.IsPointer
                ? new PointerTypeDescription(type.ToDisplayString())
                : new IntTypeDescription(type.ToDisplayString(), s.Size, s.Signed, s.IsBool);
        }

        var layout = GetStruct(type);
        if (layout is null)
            return null;
        var fields = new List<FieldDescription>();
        foreach (var pair in layout.Offsets.OrderBy(p => p.Value))
        {
            var field = pair.Key;
            TypeDescription? fieldType;
            if (field.IsFixedSizeBuffer && field.Type is IPointerTypeSymbol p)
                fieldType = Describe(p.PointedAtType) is { } element ? new ArrayTypeDescription(element, field.FixedSize) : null;
            else
                fieldType = Describe(field.Type);
            if (fieldType is null)
                return null;
            fields.Add(new FieldDescription(field.Name, pair.Value, fieldType));
        }

        return new StructTypeDescription(type.Name, layout.Size, fields.ToEquatableArray());
    }
}
