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
            // A function that shares its section (.text functions, programs in one section) starts where the ones before
            // it end, and llvm-objdump counts from the section's start.
            var llvmLines = InstructionLines(llvm);
            var alone = obj.Programs.Count(p => p.Section == program.Section) == 1;
            foreach (var line in ourLines)
            {
                if (alone)
                    Assert.Contains(line, llvmLines);
                else
                    Assert.Contains(WithoutIndex(line), llvmLines.Select(WithoutIndex));
            }
        }
    }

    /// <summary>llvm-readelf-19 -a and GNU readelf -a (binutils) find nothing wrong with any object.</summary>
    [ToolTheory("llvm-readelf-19", "readelf")]
    [MemberData(nameof(TestPrograms.All), MemberType = typeof(TestPrograms))]
    public void ReadelfReportsNoProblems(string name)
    {
        using var directory = new TempDirectory();
        var path = directory.File(name + ".o");
        File.WriteAllBytes(path, GeneratorHarness.Run(($"/src/{name}.cs", GeneratorHarness.ProgramSource(name))).Objects[name]);
        foreach (var readelf in new[] { "llvm-readelf-19", "readelf" })
        {
            var result = Tools.Run(readelf, "-a", path);
            Assert.DoesNotContain("warning", result.Output + result.Error, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("error", result.Output + result.Error, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("Symbol table '.symtab'", result.Output, StringComparison.Ordinal);
        }
    }

    /// <summary>libbpf (through bpftool) loads every generated object: its maps, global data and programs.</summary>
    [KernelToolTheory("bpftool")]
    [MemberData(nameof(TestPrograms.All), MemberType = typeof(TestPrograms))]
    public void BpftoolLoadsEveryObject(string name)
    {
        using var directory = new TempDirectory();
        using var pins = new BpfFsDirectory();
        var path = directory.File(name + ".o");
        File.WriteAllBytes(path, GeneratorHarness.Run(($"/src/{name}.cs", GeneratorHarness.ProgramSource(name))).Objects[name]);
        var obj = ElfObjectReader.Read(path);

        Tools.Run("bpftool", "prog", "loadall", path, pins.Combine("progs"), "pinmaps", pins.Combine("maps"));

        Assert.Equal(obj.Programs.Where(p => p.IsXdp).Select(p => p.Name).Order(),
            Directory.GetFiles(pins.Combine("progs")).Select(f => Path.GetFileName(f)!).Order());
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

    /// <summary>
    /// The kernel's JIT line table (what <c>bpftool prog dump jited linum</c> prints beside the machine code) maps the
    /// JIT output of a generated program to its C# lines. Debian's bpftool is built without a disassembler, so a small
    /// libbpf program reads the same bpf_prog_info fields bpftool does.
    /// </summary>
    [KernelToolFact("bpftool", "gcc")]
    public void TheJitLineTablePointsAtCSharp()
    {
        using var directory = new TempDirectory();
        using var pins = new BpfFsDirectory();
        File.WriteAllText(directory.File("jited_lines.c"), JitedLinesSource);
        Tools.Run("gcc", "-O2", "-Wall", "-Werror", "-o", directory.File("jited_lines"), directory.File("jited_lines.c"), "-lbpf");
        var path = directory.File("DropUdpAtomic.o");
        File.WriteAllBytes(path, GeneratorHarness.Run(("/src/DropUdpAtomic.cs", GeneratorHarness.ProgramSource("DropUdpAtomic"))).Objects["DropUdpAtomic"]);
        Tools.Run("bpftool", "prog", "loadall", path, pins.Combine("progs"));

        var table = Tools.Run(directory.File("jited_lines"), Path.Combine(pins.Combine("progs"), "xdp_drop_udp")).Output;

        var rows = table.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).ToList();
        Assert.True(rows.Count > 3, table);
        Assert.All(rows, row => Assert.Contains(" /src/DropUdpAtomic.cs:", row, StringComparison.Ordinal));
        Assert.Contains(rows, row => row.EndsWith("Interlocked.Increment(ref *count);", StringComparison.Ordinal));
        // Machine-code offsets grow with the line records: each C# line owns a stretch of the JIT output.
        var offsets = rows.Select(r => Convert.ToInt64(r[3..r.IndexOf(' ')], 16)).ToList();
        Assert.Equal(offsets.Order(), offsets);
    }

    private const string JitedLinesSource = """
        // Prints the kernel's JIT line table of a pinned program: one "offset file:line text" per jited line, from
        // bpf_prog_info's jited_line_info (machine-code addresses) and line_info (BTF strings), the data behind
        // `bpftool prog dump jited linum`.
        #include <bpf/bpf.h>
        #include <bpf/btf.h>
        #include <linux/bpf.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>

        int main(int argc, char **argv)
        {
            if (argc != 2) { fprintf(stderr, "usage: jited_lines PIN\n"); return 2; }
            int fd = bpf_obj_get(argv[1]);
            if (fd < 0) { perror("bpf_obj_get"); return 1; }
            struct bpf_prog_info info = {0};
            __u32 len = sizeof(info);
            if (bpf_obj_get_info_by_fd(fd, &info, &len)) { perror("info"); return 1; }
            __u32 lines = info.nr_line_info, jited = info.nr_jited_line_info, rec = info.line_info_rec_size, jrec = info.jited_line_info_rec_size;
            __u32 btf_id = info.btf_id, jited_len = info.jited_prog_len;
            if (!lines || !jited || !btf_id) { fprintf(stderr, "no line info: %u lines, %u jited lines, btf %u\n", lines, jited, btf_id); return 1; }
            struct bpf_line_info *li = calloc(lines, rec);
            __u64 *addrs = calloc(jited, jrec);
            memset(&info, 0, sizeof(info));
            info.nr_line_info = lines; info.line_info_rec_size = rec; info.line_info = (__u64)(unsigned long)li;
            info.nr_jited_line_info = jited; info.jited_line_info_rec_size = jrec; info.jited_line_info = (__u64)(unsigned long)addrs;
            len = sizeof(info);
            if (bpf_obj_get_info_by_fd(fd, &info, &len)) { perror("info 2"); return 1; }
            struct btf *btf = btf__load_from_kernel_by_id(btf_id);
            if (!btf) { perror("btf"); return 1; }
            __u64 start = addrs[0];
            printf("jited %u bytes, %u line records\n", jited_len, jited);
            for (__u32 i = 0; i < jited; i++) {
                struct bpf_line_info *l = (struct bpf_line_info *)((char *)li + i * rec);
                printf("+0x%llx %s:%u %s\n", (unsigned long long)(addrs[i] - start), btf__name_by_offset(btf, l->file_name_off),
                       BPF_LINE_INFO_LINE_NUM(l->line_col), btf__name_by_offset(btf, l->line_off));
            }
            return 0;
        }
        """;

    /// <summary>bpftool prints a generated map's struct values with the C# field names, from the object's BTF.</summary>
    [KernelToolFact("bpftool")]
    public void BpftoolMapDumpShowsCSharpFieldNames()
    {
        using var directory = new TempDirectory();
        using var pins = new BpfFsDirectory();
        var path = directory.File("StructParameters.o");
        File.WriteAllBytes(path, GeneratorHarness.Run(("/src/StructParameters.cs", GeneratorHarness.ProgramSource("StructParameters"))).Objects["StructParameters"]);
        Tools.Run("bpftool", "prog", "loadall", path, pins.Combine("progs"), "pinmaps", pins.Combine("maps"));

        var dump = Tools.Run("bpftool", "map", "dump", "pinned", Path.Combine(pins.Combine("maps"), "Windows")).Output;

        Assert.Contains("\"Low\": 0", dump, StringComparison.Ordinal);
        Assert.Contains("\"High\": 0", dump, StringComparison.Ordinal);
        Assert.Contains("\"Hits\": 0", dump, StringComparison.Ordinal);
        var btf = Tools.Run("bpftool", "btf", "dump", "file", path).Output;
        Assert.Contains("STRUCT 'Window' size=12 vlen=3", btf, StringComparison.Ordinal);
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

        // The trace buffer is shared: the differential tests run this program on 10,000 packets meanwhile, and their
        // lines can push ours out before it is read. A few tries see it.
        var seen = false;
        for (var attempt = 0; attempt < 5 && !seen; attempt++)
        {
            loaded.Program("xdp_tracing").TestRun(packet);
            seen = File.ReadAllText(trace).Contains("xdp_tracing: len 137 first ab", StringComparison.Ordinal);
            if (!seen)
                Thread.Sleep(200);
        }

        Assert.True(seen, "the kernel's trace buffer never showed the program's line");

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

    private static string WithoutIndex(string line) => line[(line.IndexOf(' ') + 1)..];
}
