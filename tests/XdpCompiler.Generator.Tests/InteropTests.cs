using XdpCompiler.Core.Bpf;
using XdpCompiler.Runtime.Elf;
using XdpCompiler.TestKit;
using Xunit;

namespace XdpCompiler.Generator.Tests;

/// <summary>The objects the generator writes, read by the ecosystem's own tools.</summary>
public sealed class InteropTests
{
    /// <summary>llvm-objdump-19 -dr and our disassembler print the same listing for every program of every object.</summary>
    [ToolTheory("llvm-objdump-19")]
    [MemberData(nameof(TestPrograms.All), MemberType = typeof(TestPrograms))]
    public void LlvmObjdumpAgreesWithOurDisassembler(string name)
    {
        using var directory = new TempDirectory();
        var path = directory.File(name + ".o");
        File.WriteAllBytes(path, GeneratorHarness.Run(($"/src/{name}.cs", GeneratorHarness.ProgramSource(name))).Objects[name]);
        var obj = ElfObjectReader.Read(path);

        var llvm = Tools.Run("llvm-objdump-19", "-d", "-r", "--no-show-raw-insn", path).Output;
        foreach (var program in obj.Programs)
        {
            var ours = Disassembler.Disassemble(program.Instructions, DisassemblyOptions.ForProgram(program) with
            {
                ShowRawBytes = false,
                SourceLine = null,
            });
            // llvm-objdump numbers instructions from the start of the section, which may hold earlier programs.
            var start = obj.Programs.TakeWhile(p => p != program).Where(p => p.Section == program.Section).Sum(p => p.Instructions.Length);
            var ourLines = InstructionLines(ours, start);
            Assert.Equal(program.Instructions.Length - program.Instructions.Count(i => i.IsLoadImm64), ourLines.Count);
            foreach (var line in ourLines)
                Assert.Contains(line, InstructionLines(llvm));
        }
    }

    /// <summary>llvm-readelf-19 -a finds nothing wrong with any object.</summary>
    [ToolTheory("llvm-readelf-19")]
    [MemberData(nameof(TestPrograms.All), MemberType = typeof(TestPrograms))]
    public void ReadelfReportsNoProblems(string name)
    {
        using var directory = new TempDirectory();
        var path = directory.File(name + ".o");
        File.WriteAllBytes(path, GeneratorHarness.Run(($"/src/{name}.cs", GeneratorHarness.ProgramSource(name))).Objects[name]);
        var result = Tools.Run("llvm-readelf-19", "-a", path);
        Assert.DoesNotContain("warning", result.Output + result.Error, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("error", result.Output + result.Error, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>bpftool loads a generated object and prints its verified code with the C# lines it came from.</summary>
    [KernelToolFact("bpftool")]
    public void BpftoolShowsCSharpLines()
    {
        using var directory = new TempDirectory();
        using var pins = new BpfFsDirectory();
        var path = directory.File("DropUdpAtomic.o");
        File.WriteAllBytes(path, GeneratorHarness.Run(("/src/DropUdpAtomic.cs", GeneratorHarness.ProgramSource("DropUdpAtomic"))).Objects["DropUdpAtomic"]);
        Tools.Run("bpftool", "prog", "loadall", path, pins.Combine("progs"));
        var dump = Tools.Run("bpftool", "prog", "dump", "xlated", "pinned", Path.Combine(pins.Combine("progs"), "xdp_drop_udp"), "linum").Output;
        Assert.Contains("[file:/src/DropUdpAtomic.cs line_num:", dump, StringComparison.Ordinal);
        Assert.Contains("Interlocked.Increment(ref *count);", dump, StringComparison.Ordinal);
    }

    /// <summary>iproute2 and xdp-loader (both libbpf underneath) attach a generated object to an interface.</summary>
    [KernelToolFact("ip", "xdp-loader")]
    public void Iproute2AndXdpLoaderAttachAGeneratedObject()
    {
        using var directory = new TempDirectory();
        var path = directory.File("DropUdpAtomic.o");
        File.WriteAllBytes(path, GeneratorHarness.Run(("/src/DropUdpAtomic.cs", GeneratorHarness.ProgramSource("DropUdpAtomic"))).Objects["DropUdpAtomic"]);
        using var ns = Netns.Create();

        Tools.Run("ip", "-n", ns.Name, "link", "set", "dev", ns.PeerInterface, "xdpgeneric", "obj", path, "sec", "xdp");
        Assert.Contains("name xdp_drop_udp", Tools.Run("ip", "-n", ns.Name, "link", "show", ns.PeerInterface).Output);
        Tools.Run("ip", "-n", ns.Name, "link", "set", "dev", ns.PeerInterface, "xdpgeneric", "off");

        var load = ns.TryExec("xdp-loader", "load", "-m", "skb", ns.PeerInterface, path);
        Assert.True(load.ExitCode == 0, $"xdp-loader load failed:\n{load.Error}\n{load.Output}");
        Assert.Contains("xdp_drop_udp", ns.Exec("xdp-loader", "status", ns.PeerInterface));
        ns.Exec("xdp-loader", "unload", "--all", ns.PeerInterface);
    }

    /// <summary>bpf_trace_printk writes the same line to the kernel's trace buffer as the .NET run writes to TraceWriter.</summary>
    [KernelFact]
    public void TracePrintkWritesTheFormattedLine()
    {
        const string trace = "/sys/kernel/tracing/trace";
        if (!File.Exists(trace))
            Tools.Run("mount", "-t", "tracefs", "tracefs", "/sys/kernel/tracing");
        var run = GeneratorHarness.Run(("/src/Tracing.cs", GeneratorHarness.ProgramSource("Tracing")));
        using var loaded = Runtime.BpfObjectLoader.Load(run.Objects["Tracing"], "Tracing");
        var packet = new byte[137];
        packet[0] = 0xAB;
        packet[14] = 0x45;

        loaded.Program("xdp_tracing").TestRun(packet);
        Assert.Contains("xdp_tracing: len 137 first ab", File.ReadAllText(trace), StringComparison.Ordinal);

        var written = new StringWriter();
        Bpf.TraceWriter = written;
        try
        {
            using var context = XdpContext.FromPacket(packet);
            using var stream = new MemoryStream();
            Assert.True(run.Output.Emit(stream).Success);
            var method = System.Reflection.Assembly.Load(stream.ToArray()).GetType("Tracing")!.GetMethod("Run")!;
            method.Invoke(null, new object[] { context });
        }
        finally
        {
            Bpf.TraceWriter = TextWriter.Null;
        }

        Assert.Equal("xdp_tracing: len 137 first ab\n", written.ToString());
    }

    /// <summary>The instruction texts of a listing ("r0 = 0x2"), without indices, labels and relocation lines.</summary>
    private static List<string> InstructionLines(string listing, int start = 0) => listing.Split('\n')
        .Select(l => l.Split('\t'))
        .Where(parts => parts.Length >= 2 && parts[0].TrimEnd().EndsWith(':') && int.TryParse(parts[0].Trim().TrimEnd(':'), out _))
        .Select(parts => $"{int.Parse(parts[0].Trim().TrimEnd(':'), System.Globalization.CultureInfo.InvariantCulture) + start}: {parts[^1].Trim()}")
        .ToList();
}
