using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;
using XdpCompiler.Core.Diagnostics;
using XdpCompiler.Core.Model;
using XdpCompiler.Core.Objects;

namespace XdpCompiler.Core.Frontend;

/// <summary>A map declared as a static field, as plain data: what the object's <c>.maps</c> section will say.</summary>
public sealed record MapSpec(
    string Name,
    BpfMapType Type,
    int KeySize,
    int ValueSize,
    uint MaxEntries,
    TypeDescription Key,
    TypeDescription Value,
    string View = "")
{
    /// <summary>The definition's <c>map_flags</c>.</summary>
    public uint Flags { get; init; }

    /// <summary>libbpf's <c>pinning</c> (0 none, 1 by name).</summary>
    public uint Pinning { get; init; }

    /// <summary>
    /// A program array's initial slots: the ELF symbol of the program in each slot up to the last one set, "" where a
    /// slot is empty.
    /// </summary>
    public EquatableArray<string> InitialPrograms { get; init; } = EquatableArray<string>.Empty;
}

/// <summary>How the generated skeleton reaches a map: the runtime view's C# type and the LoadedMap call that makes it.</summary>
public static class MapViews
{
    public static string For(BpfMapType type, string key, string value) => type switch
    {
        BpfMapType.PerCpuArray => $"PerCpuArrayMap<{value}>|AsPerCpuArray<{value}>()",
        BpfMapType.Array => $"ArrayMapView<{value}>|AsArray<{value}>()",
        BpfMapType.Hash or BpfMapType.LruHash => $"HashMapView<{key}, {value}>|AsHash<{key}, {value}>()",
        BpfMapType.PerCpuHash or BpfMapType.LruPerCpuHash => $"PerCpuHashMapView<{key}, {value}>|AsPerCpuHash<{key}, {value}>()",
        // The program's LPM key struct (prefix length first) is the whole kernel key: exact update/delete, longest match on lookup.
        BpfMapType.LpmTrie => $"HashMapView<{key}, {value}>|AsHash<{key}, {value}>()",
        BpfMapType.ProgArray => "ProgramArrayView|AsProgramArray()",
        BpfMapType.DevMap or BpfMapType.DevMapHash => "DevMapView|AsDevMap()",
        BpfMapType.CpuMap => "CpuMapView|AsCpuMap()",
        BpfMapType.XskMap => "XskMapView|AsXskMap()",
        // A consumer holds mmaps and descriptors of its own: the skeleton hands out the map, OpenRingBuffer() the reader.
        BpfMapType.RingBuf => "LoadedMap|",
        _ => "",
    };
}

/// <summary>Finds and validates the [Map] fields of an object class.</summary>
internal static class MapCatalog
{
    public const string MapAttribute = "XdpCompiler.MapAttribute";
    private const string ProgramAttribute = "XdpCompiler.XdpProgramAttribute";

    /// <summary>BPF_F_NO_PREALLOC: the kernel creates LPM tries only with it.</summary>
    private const uint NoPrealloc = 1;

    /// <summary>The kernel's LPM_DATA_SIZE_MAX: at most 256 bytes of data after the prefix length.</summary>
    private const int LpmMaxData = 256;

    private const uint PageSize = 4096;

    /// <summary>How a key or value of a map type is given: a type argument, or fixed by the map type.</summary>
    private enum Part
    {
        FirstTypeArgument,
        SecondTypeArgument,
        UInt32,
        /// <summary>4 bytes, or 8 (<c>struct bpf_devmap_val</c>) when the map is created <c>withPrograms</c>.</summary>
        DevMapValue,
        /// <summary><c>struct bpf_cpumap_val</c>: queue size and program fd, 8 bytes.</summary>
        CpuMapValue,
        None,
    }

    private sealed record Kind(BpfMapType Type, Part Key, Part Value);

    private static readonly Dictionary<string, Kind> MapTypes = new()
    {
        ["XdpCompiler.PerCpuArray<T>"] = new(BpfMapType.PerCpuArray, Part.UInt32, Part.FirstTypeArgument),
        ["XdpCompiler.ArrayMap<T>"] = new(BpfMapType.Array, Part.UInt32, Part.FirstTypeArgument),
        ["XdpCompiler.HashMap<TKey, TValue>"] = new(BpfMapType.Hash, Part.FirstTypeArgument, Part.SecondTypeArgument),
        ["XdpCompiler.PerCpuHashMap<TKey, TValue>"] = new(BpfMapType.PerCpuHash, Part.FirstTypeArgument, Part.SecondTypeArgument),
        ["XdpCompiler.LruHashMap<TKey, TValue>"] = new(BpfMapType.LruHash, Part.FirstTypeArgument, Part.SecondTypeArgument),
        ["XdpCompiler.LruPerCpuHashMap<TKey, TValue>"] = new(BpfMapType.LruPerCpuHash, Part.FirstTypeArgument, Part.SecondTypeArgument),
        ["XdpCompiler.LpmTrie<TKey, TValue>"] = new(BpfMapType.LpmTrie, Part.FirstTypeArgument, Part.SecondTypeArgument),
        ["XdpCompiler.DevMap"] = new(BpfMapType.DevMap, Part.UInt32, Part.DevMapValue),
        ["XdpCompiler.DevMapHash"] = new(BpfMapType.DevMapHash, Part.UInt32, Part.DevMapValue),
        ["XdpCompiler.CpuMap"] = new(BpfMapType.CpuMap, Part.UInt32, Part.CpuMapValue),
        ["XdpCompiler.XskMap"] = new(BpfMapType.XskMap, Part.UInt32, Part.UInt32),
        ["XdpCompiler.ProgramArray"] = new(BpfMapType.ProgArray, Part.UInt32, Part.UInt32),
        ["XdpCompiler.RingBuffer"] = new(BpfMapType.RingBuf, Part.None, Part.None),
    };

    public static bool IsMapType(ITypeSymbol type) =>
        type is INamedTypeSymbol named && MapTypes.ContainsKey(named.OriginalDefinition.ToDisplayString());

    public static IReadOnlyList<MapSpec> Collect(INamedTypeSymbol owner, Compilation compilation, TypeLayout layout,
        List<XdpDiagnostic> diagnostics, CancellationToken cancellationToken)
    {
        var maps = new List<MapSpec>();
        foreach (var field in owner.GetMembers().OfType<IFieldSymbol>())
        {
            var attribute = field.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == MapAttribute);
            if (attribute is null && !IsMapType(field.Type))
                continue;
            var location = Locations.Of(field);
            void Invalid(string why, SourceSpan? at = null) =>
                diagnostics.Add(XdpDiagnostic.Create(DiagnosticCatalog.InvalidMap, at ?? location, field.Name, why));

            if (!IsMapType(field.Type))
            {
                Invalid($"type '{field.Type.ToDisplayString()}' is not a map type (supported: {string.Join(", ", MapTypes.Keys.Select(k => k.Substring(12)))})");
                continue;
            }

            if (!field.IsStatic || !field.IsReadOnly)
            {
                Invalid("a map must be a 'static readonly' field");
                continue;
            }

            var named = (INamedTypeSymbol)field.Type;
            var kind = MapTypes[named.OriginalDefinition.ToDisplayString()];
            var creation = ReadCreation(field, compilation, cancellationToken);
            var maxEntries = ConstantArgument(creation, "maxEntries") is { } constant and not bool ? System.Convert.ToInt64(constant) : 0;
            if (maxEntries <= 0 || maxEntries > uint.MaxValue)
            {
                Invalid("initialise it with 'new(maxEntries: N)' where N is a constant greater than 0");
                continue;
            }

            var entries = (uint)maxEntries;
            var withPrograms = ConstantArgument(creation, "withPrograms") is true;
            if (Describe(kind.Key, named, layout, withPrograms) is not { } key)
            {
                Invalid($"key type '{named.TypeArguments[0].ToDisplayString()}' has no fixed unmanaged layout");
                continue;
            }

            if (Describe(kind.Value, named, layout, withPrograms) is not { } value)
            {
                Invalid($"value type '{named.TypeArguments[kind.Value == Part.SecondTypeArgument ? 1 : 0].ToDisplayString()}' has no fixed unmanaged layout");
                continue;
            }

            var flags = attribute?.NamedArguments.FirstOrDefault(a => a.Key == "Flags").Value.Value is { } f ? System.Convert.ToUInt32(f) : 0u;
            var pinning = attribute?.NamedArguments.FirstOrDefault(a => a.Key == "Pinning").Value.Value is { } p ? System.Convert.ToUInt32(p) : 0u;
            var sizeAt = creation?.Arguments.FirstOrDefault(a => a.Parameter?.Name == "maxEntries") is { } sizeArgument ? Locations.Of(sizeArgument.Syntax) : null;
            if (kind.Type == BpfMapType.LpmTrie)
            {
                var problem = CheckLpmKey(named.TypeArguments[0], key, layout);
                if (problem is not null)
                {
                    Invalid(problem);
                    continue;
                }

                flags |= NoPrealloc;
            }
            else if (kind.Type == BpfMapType.RingBuf && (entries % PageSize != 0 || (entries & (entries - 1)) != 0))
            {
                Invalid($"a ring buffer's maxEntries is its size in bytes, a power of 2 and a multiple of {PageSize} (the page size), not {entries}", sizeAt);
                continue;
            }

            var initial = EquatableArray<string>.Empty;
            if (kind.Type == BpfMapType.ProgArray && creation?.Initializer is { } initializer)
            {
                if (ReadInitialPrograms(initializer, owner, entries, Invalid) is not { } programs)
                    continue;
                initial = programs;
            }
            else if (creation?.Initializer is { } other)
            {
                Invalid("only a ProgramArray takes an initializer (its initial programs)", Locations.Of(other.Syntax));
                continue;
            }

            var keyName = kind.Key == Part.FirstTypeArgument ? named.TypeArguments[0].ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat) : "uint";
            var valueName = kind.Value switch
            {
                Part.FirstTypeArgument => named.TypeArguments[0].ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat),
                Part.SecondTypeArgument => named.TypeArguments[1].ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat),
                _ => "uint",
            };
            var view = MapViews.For(kind.Type, keyName, valueName);
            maps.Add(new MapSpec(field.Name, kind.Type, key.Size, value.Size, entries, key, value, view)
            {
                Flags = flags,
                Pinning = pinning,
                InitialPrograms = initial,
            });
        }

        return maps;
    }

    private static TypeDescription? Describe(Part part, INamedTypeSymbol map, TypeLayout layout, bool withPrograms)
    {
        var u32 = new IntTypeDescription("unsigned int", 4, Signed: false);
        switch (part)
        {
            case Part.FirstTypeArgument:
            case Part.SecondTypeArgument:
                var type = map.TypeArguments[part == Part.FirstTypeArgument ? 0 : 1];
                return layout.SizeOf(type) is null ? null : layout.Describe(type);
            case Part.UInt32:
                return u32;
            case Part.DevMapValue when !withPrograms:
                return u32;
            case Part.DevMapValue:
                return new StructTypeDescription("bpf_devmap_val", 8, new[]
                {
                    new FieldDescription("ifindex", 0, u32),
                    new FieldDescription("bpf_prog", 4, new IntTypeDescription("int", 4, Signed: true)),
                }.ToEquatableArray());
            case Part.CpuMapValue:
                return new StructTypeDescription("bpf_cpumap_val", 8, new[]
                {
                    new FieldDescription("qsize", 0, u32),
                    new FieldDescription("bpf_prog", 4, new IntTypeDescription("int", 4, Signed: true)),
                }.ToEquatableArray());
            default:
                return new IntTypeDescription("", 0, Signed: false);
        }
    }

    /// <summary>The kernel's rules for an LPM trie key: a struct, a u32 prefix length first, 1 to 256 bytes of data.</summary>
    private static string? CheckLpmKey(ITypeSymbol type, TypeDescription key, TypeLayout layout)
    {
        if (key is not StructTypeDescription structure)
            return $"an LpmTrie key must be a struct whose first field is the 'uint' prefix length, not '{type.ToDisplayString()}'";
        var first = structure.Fields.FirstOrDefault();
        if (first is null || first.Offset != 0 || first.Type is not IntTypeDescription { Size: 4, Signed: false })
            return $"the first field of the LpmTrie key '{type.ToDisplayString()}' must be the 'uint' prefix length at offset 0";
        var data = structure.Size - 4;
        if (data < 1 || data > LpmMaxData)
            return $"the LpmTrie key '{type.ToDisplayString()}' has {data} bytes of data after the prefix length; the kernel takes 1 to {LpmMaxData}";
        return null;
    }

    /// <summary>
    /// A program array's initializer, <c>{ [0] = Method, [3] = Other }</c>: each slot a constant index below maxEntries,
    /// each value an [XdpProgram] method of the same class. Returns the ELF symbol per slot, or null after a diagnostic.
    /// </summary>
    private static EquatableArray<string>? ReadInitialPrograms(IObjectOrCollectionInitializerOperation initializer, INamedTypeSymbol owner, uint maxEntries,
        Action<string, SourceSpan?> invalid)
    {
        var slots = new SortedDictionary<uint, string>();
        foreach (var element in initializer.Initializers)
        {
            var at = Locations.Of(element.Syntax);
            if (element is not ISimpleAssignmentOperation { Target: IPropertyReferenceOperation { Property.IsIndexer: true } indexer } assignment
                || indexer.Arguments.Length != 1)
            {
                invalid("a ProgramArray initializer sets slots: '{ [0] = Program, [1] = Other }'", at);
                return null;
            }

            if (indexer.Arguments[0].Value.ConstantValue is not { HasValue: true, Value: { } indexValue } || System.Convert.ToInt64(indexValue) < 0)
            {
                invalid("the slot must be a constant", Locations.Of(indexer.Arguments[0].Syntax));
                return null;
            }

            var index = System.Convert.ToUInt32(indexValue);
            if (index >= maxEntries)
            {
                invalid($"slot {index} is outside the {maxEntries} entries", Locations.Of(indexer.Arguments[0].Syntax));
                return null;
            }

            var value = assignment.Value;
            while (value is IConversionOperation conversion)
                value = conversion.Operand;
            if (value is IDelegateCreationOperation creation)
                value = creation.Target;
            var method = (value as IMethodReferenceOperation)?.Method;
            var program = method?.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == ProgramAttribute);
            if (method is null || program is null || !SymbolEqualityComparer.Default.Equals(method.ContainingType, owner))
            {
                invalid("a slot holds an [XdpProgram] method of the same class (a method group, e.g. '[0] = ParseIpv4')", Locations.Of(assignment.Value.Syntax));
                return null;
            }

            if (slots.ContainsKey(index))
            {
                invalid($"slot {index} is set twice", at);
                return null;
            }

            slots[index] = program.ConstructorArguments.FirstOrDefault().Value as string ?? method.Name;
        }

        if (slots.Count == 0)
            return EquatableArray<string>.Empty;
        var result = new string[slots.Keys.Max() + 1];
        for (var i = 0; i < result.Length; i++)
            result[i] = slots.TryGetValue((uint)i, out var name) ? name : "";
        return result.ToEquatableArray();
    }

    private static IObjectCreationOperation? ReadCreation(IFieldSymbol field, Compilation compilation, CancellationToken cancellationToken)
    {
        foreach (var reference in field.DeclaringSyntaxReferences)
        {
            if (reference.GetSyntax(cancellationToken) is not VariableDeclaratorSyntax { Initializer: { } initializer })
                continue;
            var model = compilation.GetSemanticModel(initializer.SyntaxTree);
            var operation = model.GetOperation(initializer.Value, cancellationToken);
            while (operation is IConversionOperation conversion)
                operation = conversion.Operand;
            if (operation is IObjectCreationOperation creation)
                return creation;
        }

        return null;
    }

    private static object? ConstantArgument(IObjectCreationOperation? creation, string parameter) =>
        creation?.Arguments.FirstOrDefault(a => a.Parameter?.Name == parameter) is { } argument &&
        argument.Value.ConstantValue is { HasValue: true, Value: { } value }
            ? value
            : null;
}

internal static class Locations
{
    public static SourceSpan? Of(ISymbol symbol) => Of(symbol.Locations.FirstOrDefault());

    public static SourceSpan? Of(SyntaxNode node) => Of(node.GetLocation());

    public static SourceSpan? Of(Location? location)
    {
        if (location is null || !location.IsInSource)
            return null;
        var lines = location.GetLineSpan();
        return new SourceSpan(lines.Path ?? "", location.SourceSpan.Start, location.SourceSpan.Length,
            lines.StartLinePosition.Line, lines.StartLinePosition.Character,
            lines.EndLinePosition.Line, lines.EndLinePosition.Character);
    }
}
