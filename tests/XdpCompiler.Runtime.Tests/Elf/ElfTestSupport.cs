using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using XdpCompiler.Core.Bpf;
using XdpCompiler.Core.Btf;
using XdpCompiler.Core.Objects;
using XdpCompiler.TestKit;
using Xunit;

namespace XdpCompiler.Runtime.Tests.Elf;

/// <summary>Hand-built objects in the shape the backend will produce (the same as the Core ELF writer tests use).</summary>
internal static class SampleObjects
{
    /// <summary>
    /// Counts packets in a per-CPU array and passes them:
    /// <c>key = 0; v = lookup(&amp;counters, &amp;key); if (v) lock *v += 1; return XDP_PASS;</c>
    /// </summary>
    public static BpfObject Counter()
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
            ImmutableArray.Create(
                new BpfLineInfo(0, "Counter.cs", 10, 9, "uint key = 0;"),
                new BpfLineInfo(3, "Counter.cs", 11, 9, "ulong* value = Counters.Lookup(key);"),
                new BpfLineInfo(6, "Counter.cs", 12, 9, "if (value != null) Interlocked.Increment(ref *value);"),
                new BpfLineInfo(9, "Counter.cs", 13, 9, "return XdpAction.Pass;")));
        var map = new BpfMap("counters", BpfMapType.PerCpuArray, KeySize: 4, ValueSize: 8, MaxEntries: 4);
        return new BpfObject("counter", "GPL", ImmutableArray.Create(program), ImmutableArray.Create(map), new BtfTypeTable([]));
    }

    /// <summary>"r0 = XDP_PASS; exit" with a line at its start.</summary>
    public static BpfProgram Pass(string name, string section = "xdp") => new(
        name, section, ImmutableArray.Create(Instruction.Mov64(Reg.R0, 2), Instruction.Exit()),
        ImmutableArray<BpfRelocation>.Empty, ImmutableArray.Create(new BpfLineInfo(0, "Pass.cs", 1, 1, "return XdpAction.Pass;")));
}

/// <summary>
/// A fact that needs command-line tools; skipped, naming them, when one is not on PATH. Combine with the kernel rule
/// by using <see cref="KernelToolFactAttribute"/>.
/// </summary>
public sealed class ToolFactAttribute : FactAttribute
{
    // In CI (XDP_REQUIRE_KERNEL=1) nothing may skip: a missing tool fails the test instead.
    public ToolFactAttribute(params string[] tools) => Skip = Kernel.Required ? null : Tools.MissingReason(tools);
}

/// <summary>A <see cref="KernelFactAttribute"/> that also needs command-line tools.</summary>
public sealed class KernelToolFactAttribute : FactAttribute
{
    public KernelToolFactAttribute(params string[] tools)
    {
        if (Kernel.Required)
            return;
        Skip = Kernel.MissingReason ?? Tools.MissingReason(tools);
    }
}

/// <summary>A theory that needs command-line tools.</summary>
public sealed class ToolTheoryAttribute : TheoryAttribute
{
    public ToolTheoryAttribute(params string[] tools) => Skip = Kernel.Required ? null : Tools.MissingReason(tools);
}

internal static class Tools
{
    public static string? Find(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Concat(["/usr/sbin", "/sbin"])
            .Select(dir => Path.Combine(dir, tool))
            .FirstOrDefault(File.Exists);

    public static string? MissingReason(string[] tools)
    {
        var missing = tools.Where(t => Find(t) is null).ToList();
        return missing.Count == 0 ? null : $"needs {string.Join(", ", missing)} on PATH (clang-19 for TestData/*.c; bpftool, xdp-tools, iproute2 for loading)";
    }

    /// <summary>Runs a tool and fails the test, with its output, when it exits non-zero.</summary>
    public static CommandResult Run(string tool, params string[] args)
    {
        var result = Netns.TryRun(Find(tool) ?? tool, args);
        Assert.True(result.ExitCode == 0, $"`{result.CommandLine}` exited with {result.ExitCode}:\n{result.Error}\n{result.Output}");
        return result;
    }
}

/// <summary>Compiles the C sources in <c>TestData/</c> with clang-19, the way its README says.</summary>
internal static class Clang
{
    public const string Tool = "clang-19";

    public static string TestData([CallerFilePath] string source = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(source)!, "..", "TestData"));

    /// <summary>Compiles <c>TestData/<paramref name="name"/>.c</c> into <paramref name="directory"/> and returns the object's path.</summary>
    public static string Compile(string name, string directory)
    {
        var output = Path.Combine(directory, name + ".o");
        // linux/bpf.h includes asm/types.h, which lives under the host's multiarch directory.
        var multiarch = Directory.GetDirectories("/usr/include", "*-linux-gnu").Where(d => Directory.Exists(Path.Combine(d, "asm")));
        Tools.Run(Tool, ["-O2", "-g", "-target", "bpf", "-mcpu=v3", .. multiarch.Select(d => "-I" + d), "-c", Path.Combine(TestData(), name + ".c"), "-o", output]);
        return output;
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

/// <summary>
/// A directory on a BPF filesystem for pins: a fresh directory under /sys/fs/bpf when a bpffs is mounted there,
/// otherwise a private bpffs instance mounted on a temporary directory (each bpffs mount is its own instance, so this
/// touches nothing outside the test). Dispose removes the pins and, for a private instance, unmounts it.
/// </summary>
internal sealed class BpfFsDirectory : IDisposable
{
    private const string SystemBpfFs = "/sys/fs/bpf";
    private static int s_counter;
    private readonly bool _mounted;

    public BpfFsDirectory()
    {
        // No dots: libbpf rewrites '.' in pin paths to '_'.
        var name = $"xdpc_elf_{Environment.ProcessId}_{Interlocked.Increment(ref s_counter)}";
        if (IsBpfFs(SystemBpfFs))
        {
            Path = System.IO.Path.Combine(SystemBpfFs, name);
            Directory.CreateDirectory(Path);
            return;
        }
        Path = System.IO.Path.Combine("/tmp", name);
        Directory.CreateDirectory(Path);
        try
        {
            Netns.Run("mount", "-t", "bpf", "bpf", Path);
            _mounted = true;
        }
        catch
        {
            Directory.Delete(Path);
            throw;
        }
    }

    public string Path { get; }

    public string Combine(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        if (_mounted)
        {
            Netns.TryRun("umount", Path);
            Directory.Delete(Path, recursive: true);
        }
        else if (Directory.Exists(Path))
        {
            Directory.Delete(Path, recursive: true); // unlinking a pin drops the kernel's reference
        }
    }

    private static bool IsBpfFs(string path) =>
        File.ReadLines("/proc/self/mounts").Select(l => l.Split(' ')).Any(f => f.Length > 2 && f[1] == path && f[2] == "bpf");
}
