using System.Collections.Immutable;
using XdpCompiler.Core.Bpf;
using XdpCompiler.Core.Btf;
using XdpCompiler.Core.Objects;
using XdpCompiler.TestKit;
using Xunit;

namespace XdpCompiler.Core.Tests.Elf;

/// <summary>Hand-built objects in the shape the backend will produce.</summary>
internal static class SampleObjects
{
    /// <summary>
    /// An XDP program that counts packets in a per-CPU array and passes them:
    /// <c>key = 0; v = lookup(&amp;counters, &amp;key); if (v) lock *v += 1; return XDP_PASS;</c>
    /// </summary>
    public static BpfObject Counter(ImmutableArray<BpfLineInfo>? lines = null)
    {
        var (load, loadHigh) = Instruction.LoadImm64(Reg.R1, 0);
        var instructions = ImmutableArray.Create(
            Instruction.StoreImm(MemSize.W, Reg.R10, -4, 0),         // 0: *(u32 *)(r10 - 4) = 0
            Instruction.Mov64Reg(Reg.R2, Reg.R10),                    // 1: r2 = r10
            Instruction.Alu64(AluOp.Add, Reg.R2, -4),                 // 2: r2 += -4
            load, loadHigh,                                           // 3-4: r1 = counters ll
            Instruction.CallHelper(1),                                // 5: call bpf_map_lookup_elem
            Instruction.Jump(JmpOp.Jeq, Reg.R0, 0, 2),                // 6: if r0 == 0 goto +2
            Instruction.Mov64(Reg.R1, 1),                             // 7: r1 = 1
            Instruction.Atomic(MemSize.DW, AtomicOp.Add, Reg.R0, 0, Reg.R1), // 8: lock *(u64 *)(r0 + 0) += r1
            Instruction.Mov64(Reg.R0, 2),                             // 9: r0 = XDP_PASS
            Instruction.Exit());                                      // 10: exit
        var program = new BpfProgram(
            "xdp_count", "xdp", instructions,
            ImmutableArray.Create(new BpfRelocation(3, "counters", BpfRelocationKind.Map)),
            lines ?? ImmutableArray.Create(
                new BpfLineInfo(0, "Counter.cs", 10, 9, "uint key = 0;"),
                new BpfLineInfo(3, "Counter.cs", 11, 9, "ulong* value = Counters.Lookup(key);"),
                new BpfLineInfo(6, "Counter.cs", 12, 9, "if (value != null) Interlocked.Increment(ref *value);"),
                new BpfLineInfo(9, "Counter.cs", 13, 9, "return XdpAction.Pass;")));
        var map = new BpfMap("counters", BpfMapType.PerCpuArray, KeySize: 4, ValueSize: 8, MaxEntries: 4);
        return new BpfObject("counter", "GPL", ImmutableArray.Create(program), ImmutableArray.Create(map), Empty);
    }

    public static BtfTypeTable Empty { get; } = new(ImmutableArray<BtfType>.Empty);

    /// <summary>"r0 = XDP_PASS; exit" under the given name and section.</summary>
    public static BpfProgram Pass(string name, string section = "xdp") => new(
        name, section, ImmutableArray.Create(Instruction.Mov64(Reg.R0, 2), Instruction.Exit()),
        ImmutableArray<BpfRelocation>.Empty, ImmutableArray<BpfLineInfo>.Empty);

    public static BpfObject WithPrograms(params BpfProgram[] programs) =>
        new("test", "GPL", programs.ToImmutableArray(), ImmutableArray<BpfMap>.Empty, Empty);
}

/// <summary>
/// A fact that needs command-line tools (or, for absolute paths, files such as the kernel's BTF); skipped, naming
/// what is missing, when one is not there.
/// </summary>
public sealed class ToolFactAttribute : FactAttribute
{
    public ToolFactAttribute(params string[] tools)
    {
        var missing = tools.Where(t => Path.IsPathRooted(t) ? !File.Exists(t) : Tools.Find(t) is null).ToList();
        // In CI (XDP_REQUIRE_KERNEL=1) nothing may skip: a missing tool fails the test instead.
        if (missing.Count > 0 && !Kernel.Required)
            Skip = $"needs {string.Join(", ", missing)} (install LLVM 19 and bpftool, or run on a kernel with BTF)";
    }
}

internal static class Tools
{
    public static string? Find(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Concat(["/usr/sbin", "/sbin"])
            .Select(dir => Path.Combine(dir, tool))
            .FirstOrDefault(File.Exists);

    /// <summary>Runs a tool and fails the test, with its output, when it exits non-zero.</summary>
    public static CommandResult Run(string tool, params string[] args)
    {
        var result = Netns.TryRun(Find(tool) ?? tool, args);
        Assert.True(result.ExitCode == 0, $"`{result.CommandLine}` exited with {result.ExitCode}:\n{result.Error}\n{result.Output}");
        return result;
    }
}

/// <summary>A temporary directory removed on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"xdpc-elf-{Environment.ProcessId}-{Guid.NewGuid():N}");

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose() => Directory.Delete(Path, recursive: true);
}

/// <summary>BTF as text, one type per line and one member per indented line, in the style of <c>bpftool btf dump</c>.</summary>
internal static class BtfText
{
    public static string Format(BtfTypeTable table)
    {
        var text = new System.Text.StringBuilder();
        for (var i = 0; i < table.Types.Length; i++)
        {
            var type = table.Types[i];
            text.Append($"[{i + 1}] {type.Kind.ToString().ToUpperInvariant()} '{type.Name}'");
            switch (type)
            {
                case BtfInt t:
                    text.Append($" size={t.Size} bits={t.Bits} offset={t.BitOffset} encoding={t.Encoding}\n");
                    break;
                case BtfReference t:
                    text.Append($" type={t.Type}\n");
                    break;
                case BtfArray t:
                    text.Append($" element={t.ElementType} index={t.IndexType} count={t.Count}\n");
                    break;
                case BtfComposite t:
                    text.Append($" size={t.Size}\n");
                    foreach (var m in t.Members)
                        text.Append($"    '{m.Name}' type={m.Type} bit_offset={m.BitOffset}{(m.BitfieldSize != 0 ? $" bitfield={m.BitfieldSize}" : "")}\n");
                    break;
                case BtfEnum t:
                    text.Append($" size={t.Size} signed={t.IsSigned}\n");
                    foreach (var v in t.Values)
                        text.Append($"    '{v.Name}' = {v.Value}\n");
                    break;
                case BtfFunc t:
                    text.Append($" proto={t.Proto} linkage={t.Linkage}\n");
                    break;
                case BtfFuncProto t:
                    text.Append($" return={t.ReturnType}\n");
                    foreach (var p in t.Params)
                        text.Append($"    '{p.Name}' type={p.Type}\n");
                    break;
                case BtfVar t:
                    text.Append($" type={t.Type} linkage={t.Linkage}\n");
                    break;
                case BtfDataSec t:
                    text.Append($" size={t.Size}\n");
                    foreach (var v in t.Vars)
                        text.Append($"    type={v.Type} offset={v.Offset} size={v.Size}\n");
                    break;
                case BtfFloat t:
                    text.Append($" size={t.Size}\n");
                    break;
                case BtfDeclTag t:
                    text.Append($" type={t.Type} component={t.ComponentIndex}\n");
                    break;
                default:
                    text.Append('\n');
                    break;
            }
        }
        return text.ToString();
    }
}
