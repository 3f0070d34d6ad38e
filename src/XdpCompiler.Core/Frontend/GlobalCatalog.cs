using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using XdpCompiler.Core.Diagnostics;
using XdpCompiler.Core.Model;

namespace XdpCompiler.Core.Frontend;

/// <summary>A static field that lives in a global-data section, as plain data.</summary>
public sealed record GlobalSpec(string Name, string Section, int Offset, int Size, EquatableArray<byte> Initial, TypeDescription Type);

/// <summary>
/// Finds the static fields of an object class that become global variables: mutable ones go to <c>.data</c> (with a
/// non-zero initializer) or <c>.bss</c>, [Config] readonly ones to <c>.rodata</c>. Plain <c>static readonly</c> and
/// <c>const</c> fields are compiled into the code instead; maps live in <c>.maps</c>.
/// </summary>
internal static class GlobalCatalog
{
    public const string ConfigAttribute = "XdpCompiler.ConfigAttribute";

    public static bool IsConfig(IFieldSymbol field) =>
        field.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == ConfigAttribute);

    /// <summary>True for a static field the program reaches through its data section.</summary>
    public static bool IsGlobal(IFieldSymbol field) =>
        field.IsStatic && !field.IsConst && !MapCatalog.IsMapType(field.Type) &&
        (!field.IsReadOnly || IsConfig(field)) &&
        !field.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == MapCatalog.MapAttribute);

    public static IReadOnlyList<GlobalSpec> Collect(INamedTypeSymbol owner, Compilation compilation, TypeLayout layout,
        List<XdpDiagnostic> diagnostics, CancellationToken cancellationToken)
    {
        var result = new List<GlobalSpec>();
        var sizes = new Dictionary<string, int>();
        foreach (var field in owner.GetMembers().OfType<IFieldSymbol>().Where(IsGlobal))
        {
            if (field.IsImplicitlyDeclared)
                continue;
            // Fields eBPF cannot hold (strings, objects) may serve the .NET side; a program touching one is reported there.
            var size = layout.SizeOf(field.Type);
            var description = layout.Describe(field.Type);
            if (size is null || description is null)
                continue;

            if (field.IsReadOnly && !IsConfig(field))
                continue;
            var initial = InitialBytes(field, size.Value, compilation, diagnostics, cancellationToken);
            if (initial is null)
                continue;
            var section = IsConfig(field) ? ".rodata" : initial.All(b => b == 0) ? ".bss" : ".data";
            var alignment = Math.Min(layout.AlignmentOf(field.Type), 8);
            var offset = sizes.TryGetValue(section, out var used) ? (used + alignment - 1) / alignment * alignment : 0;
            sizes[section] = offset + size.Value;
            result.Add(new GlobalSpec(field.Name, section, offset, size.Value, initial.ToEquatableArray(), description));
        }

        return result;
    }

    /// <summary>The field's initial bytes (little-endian), zero without an initializer; null (reported) when not constant.</summary>
    private static byte[]? InitialBytes(IFieldSymbol field, int size, Compilation compilation, List<XdpDiagnostic> diagnostics,
        CancellationToken cancellationToken)
    {
        var bytes = new byte[size];
        foreach (var reference in field.DeclaringSyntaxReferences)
        {
            if (reference.GetSyntax(cancellationToken) is not VariableDeclaratorSyntax { Initializer: { } initializer })
                continue;
            var model = compilation.GetSemanticModel(initializer.SyntaxTree);
            var operation = model.GetOperation(initializer.Value, cancellationToken);
            if (model.GetConstantValue(initializer.Value, cancellationToken) is { HasValue: true } constant && TypeLayout.TryGetScalar(field.Type, out _))
            {
                var value = constant.Value switch
                {
                    null => 0L,
                    bool b => b ? 1L : 0L,
                    char c => c,
                    ulong u => unchecked((long)u),
                    IConvertible convertible => convertible.ToInt64(null),
                    _ => 0L,
                };
                for (var i = 0; i < size; i++)
                    bytes[i] = (byte)(value >> (8 * i));
            }
            else if (operation is not (Microsoft.CodeAnalysis.Operations.IDefaultValueOperation or
                     Microsoft.CodeAnalysis.Operations.IConversionOperation { Operand: Microsoft.CodeAnalysis.Operations.IDefaultValueOperation }))
            {
                diagnostics.Add(XdpDiagnostic.Create(DiagnosticCatalog.UnsupportedConstruct, Locations.Of(initializer.Value),
                    $"The initializer of '{field.Name}'", "a global variable's initial value must be a constant (or default)"));
                return null;
            }
        }

        return bytes;
    }
}
