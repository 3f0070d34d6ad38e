using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace XdpCompiler.Generator.Tests.IntegerSemantics;

/// <summary>A probe whose result type is known: what the program stores, and how many bytes.</summary>
internal sealed record TypedProbe(Probe Probe, string StoreType)
{
    public int StoreSize => StoreType == "bool" ? 1 : IntType.Named(StoreType).Size;
}

/// <summary>Where one probe's result lands in the output packet, and on which source line the probe is.</summary>
internal sealed record Slot(TypedProbe Item, int Offset, int Line)
{
    public int Size => Item.StoreSize;

    public string Code => Item.Probe.Code;
}

/// <summary>
/// The C# source of one test program: read the operands from fixed packet offsets after one bounds check, compute
/// every probe, store each result's bytes at its own slot, return a verdict. Every probe sits on its own line, so a
/// diagnostic's line names the probe.
/// </summary>
internal sealed class SemanticsProgram
{
    public const int AOffset = 0;
    public const int BOffset = 8;
    public const int COffset = 16;
    public const int ResultsOffset = 24;

    private SemanticsProgram(string className, string programName, string source, IReadOnlyList<Slot> slots, int packetSize)
    {
        ClassName = className;
        ProgramName = programName;
        Source = source;
        Slots = slots;
        PacketSize = packetSize;
    }

    public string ClassName { get; }

    public string ProgramName { get; }

    public string Source { get; }

    public IReadOnlyList<Slot> Slots { get; }

    /// <summary>The packet length the program requires (shorter packets get XDP_PASS and no writes).</summary>
    public int PacketSize { get; }

    public string Path => $"/src/{ClassName}.cs";

    public static SemanticsProgram Build(IntType t, Category category, IReadOnlyList<TypedProbe> items, string suffix = "")
    {
        var className = $"IntSem_{t.Name}_{category}{suffix}";
        var programName = $"is_{t.Name}_{category.ToString().ToLowerInvariant()}{suffix.ToLowerInvariant()}";
        var offset = ResultsOffset;
        var placed = new List<(TypedProbe Item, int Offset)>();
        foreach (var item in items)
        {
            var size = item.StoreSize;
            offset = (offset + size - 1) / size * size;
            placed.Add((item, offset));
            offset += size;
        }

        var packetSize = (offset + 7) / 8 * 8;
        var lines = new List<string>
        {
            "using XdpCompiler;",
            "",
            $"public static unsafe partial class {className}",
            "{",
            "    " + ProbeCatalog.Fields(t),
            $"    [XdpProgram(\"{programName}\")]",
            "    public static XdpAction Run(XdpContext ctx)",
            "    {",
            "        byte* data = ctx.Data;",
            $"        if (data + {packetSize} > ctx.DataEnd)",
            "            return XdpAction.Pass;",
            $"        {t.Name} a = *({t.Name}*)(data + {AOffset});",
            $"        {t.Name} b = *({t.Name}*)(data + {BOffset});",
            $"        int c = *(int*)(data + {COffset});",
        };
        foreach (var u in IntType.All.Where(u => u != t && items.Any(i => i.Probe.Code.Contains("b_" + u.Name, StringComparison.Ordinal))))
            lines.Add($"        {u.Name} b_{u.Name} = *({u.Name}*)(data + {BOffset});");

        var slots = new List<Slot>();
        foreach (var (item, at) in placed)
        {
            slots.Add(new Slot(item, at, lines.Count));
            lines.Add("        " + Statement(item, $"(data + {at})"));
        }

        lines.Add($"        return {ProbeCatalog.Verdict(category)};");
        lines.Add("    }");
        lines.Add("}");
        return new SemanticsProgram(className, programName, string.Join("\n", lines) + "\n", slots, packetSize);
    }

    /// <summary>
    /// The probes C# accepts, with the type of each result as Roslyn binds it, and the rejected ones with the reason.
    /// </summary>
    public static (List<TypedProbe> Valid, List<(Probe Probe, string Error)> Invalid) Resolve(IntType t, IReadOnlyList<Probe> probes)
    {
        var source = new StringBuilder();
        source.Append("public static unsafe class IntSemProbe\n{\n");
        source.Append("    ").Append(ProbeCatalog.Fields(t)).Append('\n');
        source.Append($"    static void M(byte* data, {t.Name} a, {t.Name} b, int c");
        foreach (var u in IntType.All.Where(u => u != t))
            source.Append($", {u.Name} b_{u.Name}");
        source.Append(")\n    {\n");
        const int firstLine = 5;
        for (var i = 0; i < probes.Count; i++)
        {
            var probe = probes[i];
            source.Append("        ")
                .Append(probe.IsStatement ? Statement(new TypedProbe(probe, probe.StoreType!), "data") : $"var probe_r{i} = {probe.Code};")
                .Append('\n');
        }

        source.Append("    }\n}\n");
        var compilation = GeneratorHarness.CreateCompilation(("/probe.cs", source.ToString()));
        var tree = compilation.SyntaxTrees.Single();
        var model = compilation.GetSemanticModel(tree);
        var errors = compilation.GetDiagnostics()
            .Where(d => d.Severity == DiagnosticSeverity.Error)
            .ToLookup(d => d.Location.GetLineSpan().StartLinePosition.Line - firstLine, d => d.GetMessage());
        var declared = tree.GetRoot().DescendantNodes().OfType<VariableDeclaratorSyntax>()
            .Where(v => v.Identifier.Text.StartsWith("probe_r", StringComparison.Ordinal))
            .ToDictionary(v => v.Identifier.Text, v => ((ILocalSymbol)model.GetDeclaredSymbol(v)!).Type);

        var valid = new List<TypedProbe>();
        var invalid = new List<(Probe, string)>();
        for (var i = 0; i < probes.Count; i++)
        {
            var probe = probes[i];
            if (errors[i].Any())
            {
                invalid.Add((probe, string.Join("; ", errors[i])));
                continue;
            }

            var storeType = probe.IsStatement ? probe.StoreType! : TypeName(declared[$"probe_r{i}"]);
            if (storeType is null)
                invalid.Add((probe, $"its type {declared[$"probe_r{i}"].ToDisplayString()} is not an integer type or bool"));
            else
                valid.Add(new TypedProbe(probe, storeType));
        }

        return (valid, invalid);
    }

    private static string Statement(TypedProbe item, string address)
    {
        var target = $"*({item.StoreType}*){address}";
        return item.Probe.IsStatement
            ? item.Probe.Code.Replace("@OUT", target, StringComparison.Ordinal).Replace("@P", address, StringComparison.Ordinal)
            : $"{target} = {item.Probe.Code};";
    }

    private static string? TypeName(ITypeSymbol type) => type.SpecialType switch
    {
        SpecialType.System_Boolean => "bool",
        SpecialType.System_SByte => "sbyte",
        SpecialType.System_Byte => "byte",
        SpecialType.System_Int16 => "short",
        SpecialType.System_UInt16 => "ushort",
        SpecialType.System_Int32 => "int",
        SpecialType.System_UInt32 => "uint",
        SpecialType.System_Int64 => "long",
        SpecialType.System_UInt64 => "ulong",
        SpecialType.System_Char => "char",
        SpecialType.System_IntPtr => "nint",
        SpecialType.System_UIntPtr => "nuint",
        _ => null,
    };
}
