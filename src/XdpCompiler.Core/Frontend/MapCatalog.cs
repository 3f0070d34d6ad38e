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
    string View = "");

/// <summary>How the generated skeleton reaches a map: the runtime view's C# type and the LoadedMap call that makes it.</summary>
public static class MapViews
{
    public static string For(BpfMapType type, string key, string value) => type switch
    {
        BpfMapType.PerCpuArray => $"PerCpuArrayMap<{value}>|AsPerCpuArray<{value}>()",
        BpfMapType.Array => $"ArrayMapView<{value}>|AsArray<{value}>()",
        BpfMapType.Hash => $"HashMapView<{key}, {value}>|AsHash<{key}, {value}>()",
        BpfMapType.PerCpuHash => $"PerCpuHashMapView<{key}, {value}>|AsPerCpuHash<{key}, {value}>()",
        _ => "",
    };
}

/// <summary>Finds and validates the [Map] fields of an object class.</summary>
internal static class MapCatalog
{
    public const string MapAttribute = "XdpCompiler.MapAttribute";

    private static readonly Dictionary<string, BpfMapType> MapTypes = new()
    {
        ["XdpCompiler.PerCpuArray<T>"] = BpfMapType.PerCpuArray,
        ["XdpCompiler.ArrayMap<T>"] = BpfMapType.Array,
        ["XdpCompiler.HashMap<TKey, TValue>"] = BpfMapType.Hash,
        ["XdpCompiler.PerCpuHashMap<TKey, TValue>"] = BpfMapType.PerCpuHash,
        ["XdpCompiler.DevMap"] = BpfMapType.DevMap,
    };

    public static bool IsMapType(ITypeSymbol type) =>
        type is INamedTypeSymbol named && MapTypes.ContainsKey(named.OriginalDefinition.ToDisplayString());

    public static IReadOnlyList<MapSpec> Collect(INamedTypeSymbol owner, Compilation compilation, TypeLayout layout,
        List<XdpDiagnostic> diagnostics, CancellationToken cancellationToken)
    {
        var maps = new List<MapSpec>();
        foreach (var field in owner.GetMembers().OfType<IFieldSymbol>())
        {
            var marked = field.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == MapAttribute);
            if (!marked && !IsMapType(field.Type))
                continue;
            var location = Locations.Of(field);
            if (!IsMapType(field.Type))
            {
                diagnostics.Add(XdpDiagnostic.Create(DiagnosticCatalog.InvalidMap, location, field.Name,
                    $"type '{field.Type.ToDisplayString()}' is not a map type (supported: {string.Join(", ", MapTypes.Keys.Select(k => k.Substring(12)))})"));
                continue;
            }

            if (!field.IsStatic || !field.IsReadOnly)
            {
                diagnostics.Add(XdpDiagnostic.Create(DiagnosticCatalog.InvalidMap, location, field.Name,
                    "a map must be a 'static readonly' field"));
                continue;
            }

            var named = (INamedTypeSymbol)field.Type;
            var mapType = MapTypes[named.OriginalDefinition.ToDisplayString()];
            var isHash = mapType is BpfMapType.Hash or BpfMapType.PerCpuHash;
            // A devmap's value is an interface index (u32); the API type has no type parameter for it.
            var valueType = mapType == BpfMapType.DevMap ? compilation.GetSpecialType(SpecialType.System_UInt32) : named.TypeArguments[isHash ? 1 : 0];
            var value = layout.Describe(valueType);
            var valueSize = layout.SizeOf(valueType);
            if (value is null || valueSize is null)
            {
                diagnostics.Add(XdpDiagnostic.Create(DiagnosticCatalog.InvalidMap, location, field.Name,
                    $"value type '{valueType.ToDisplayString()}' has no fixed unmanaged layout"));
                continue;
            }

            var maxEntries = ReadMaxEntries(field, compilation, cancellationToken);
            if (maxEntries is not { } entries || entries == 0)
            {
                diagnostics.Add(XdpDiagnostic.Create(DiagnosticCatalog.InvalidMap, location, field.Name,
                    "initialise it with 'new(maxEntries: N)' where N is a constant greater than 0"));
                continue;
            }

            TypeDescription? key = new IntTypeDescription("uint", 4, Signed: false);
            var keySize = 4;
            if (isHash)
            {
                key = layout.Describe(named.TypeArguments[0]);
                if (key is null || layout.SizeOf(named.TypeArguments[0]) is not { } size)
                {
                    diagnostics.Add(XdpDiagnostic.Create(DiagnosticCatalog.InvalidMap, location, field.Name,
                        $"key type '{named.TypeArguments[0].ToDisplayString()}' has no fixed unmanaged layout"));
                    continue;
                }

                keySize = size;
            }

            var keyName = isHash ? named.TypeArguments[0].ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat) : "uint";
            var view = MapViews.For(mapType, keyName, valueType.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat));
            maps.Add(new MapSpec(field.Name, mapType, keySize, valueSize.Value, entries, key, value, view));
        }

        return maps;
    }

    private static uint? ReadMaxEntries(IFieldSymbol field, Compilation compilation, CancellationToken cancellationToken)
    {
        foreach (var reference in field.DeclaringSyntaxReferences)
        {
            if (reference.GetSyntax(cancellationToken) is not VariableDeclaratorSyntax { Initializer: { } initializer })
                continue;
            var model = compilation.GetSemanticModel(initializer.SyntaxTree);
            var operation = model.GetOperation(initializer.Value, cancellationToken);
            while (operation is IConversionOperation conversion)
                operation = conversion.Operand;
            if (operation is IObjectCreationOperation creation &&
                creation.Arguments.FirstOrDefault(a => a.Parameter?.Name == "maxEntries") is { } argument &&
                argument.Value.ConstantValue is { HasValue: true, Value: { } value })
            {
                return Convert.ToUInt32(value);
            }
        }

        return null;
    }
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
