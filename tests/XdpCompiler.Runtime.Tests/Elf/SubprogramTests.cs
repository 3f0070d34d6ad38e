using System.Collections.Immutable;
using XdpCompiler.Core.Bpf;
using XdpCompiler.Core.Btf;
using XdpCompiler.Core.Elf;
using XdpCompiler.Core.Objects;
using XdpCompiler.Runtime.Elf;
using XdpCompiler.TestKit;
using Xunit;

namespace XdpCompiler.Runtime.Tests.Elf;

/// <summary>
/// BPF-to-BPF calls into <c>.text</c>: read from clang's objects (all three ways clang encodes a call) and from ours,
/// linked by the loader (callees appended once, map references inside them relocated, func and line info for each
/// function) and judged by the kernel, with bpftool loading the same objects for comparison.
/// </summary>
public sealed class SubprogramTests
{
    private const uint XdpAborted = 0, XdpDrop = 1, XdpPass = 2;

    [ToolFact(Clang.Tool)]
    public void Reads_clang_text_functions_and_every_kind_of_call()
    {
        using var dir = new TempDirectory();

        var read = ElfObjectReader.Read(Clang.Compile("subprograms", dir.Path));

        Assert.Equal(
            [("count", ".text"), ("classify", ".text"), ("xdp_subprograms", "xdp"), ("xdp_classify_only", "xdp")],
            read.Programs.Select(p => (p.Name, p.Section)).ToArray());
        Assert.Equal([false, false, true, true], read.Programs.Select(p => p.IsXdp).ToArray());
        var count = read.Programs[0];
        var calls = read.Programs.SelectMany(p => p.Relocations.Where(r => r.Kind == BpfRelocationKind.Call).Select(r => (p.Name, r.Symbol))).ToArray();
        // Against the .text section symbol with the target in imm (both programs) and pc-relative inside .text (count).
        Assert.Equal([("count", "classify"), ("xdp_subprograms", "count"), ("xdp_classify_only", "classify")], calls);
        foreach (var program in read.Programs)
        {
            foreach (var call in program.Relocations.Where(r => r.Kind == BpfRelocationKind.Call))
            {
                var instruction = program.Instructions[call.InstructionIndex];
                Assert.True(instruction.IsCall && instruction.Src == 1, $"{program.Name}: {instruction}");
                Assert.Equal(-1, instruction.Imm);
            }
        }
        var map = Assert.Single(count.Relocations, r => r.Kind == BpfRelocationKind.Map);
        Assert.Equal("verdicts", map.Symbol);
        Assert.True(count.Instructions[map.InstructionIndex].IsLoadImm64);

        // .BTF.ext line info reaches the .text functions too, rebased to each function's start.
        foreach (var program in read.Programs)
            Assert.Equal(0, program.Lines[0].InstructionIndex);
        Assert.Contains(count.Lines, l => l.LineText.Contains("int verdict = classify(length);"));
        Assert.Contains(read.Programs[1].Lines, l => l.LineText.Contains("length >= 100 ? XDP_DROP : XDP_PASS"));
        Assert.Contains(read.Types.Types, t => t is BtfFunc { Name: "classify", Linkage: BtfFuncLinkage.Static });
    }

    [KernelToolFact(Clang.Tool)]
    public void Clang_subprograms_load_and_run_with_their_map_effects_and_lines()
    {
        using var dir = new TempDirectory();
        var path = Clang.Compile("subprograms", dir.Path);

        using var loaded = BpfObjectLoader.LoadFile(path);

        Assert.True(loaded.Warnings.IsEmpty, string.Join("\n", loaded.Warnings));
        Assert.Equal(["xdp_classify_only", "xdp_subprograms"], loaded.Programs.Keys.Order().ToArray());
        var program = loaded.Program("xdp_subprograms");
        Assert.Equal(XdpPass, program.TestRun(TestPrograms.Ipv4Frame(64), repeat: 3).ReturnValue);
        Assert.Equal(XdpDrop, program.TestRun(TestPrograms.Ipv4Frame(128)).ReturnValue);
        var verdicts = loaded.Map("verdicts").AsArray<ulong>();
        Assert.Equal((1ul, 3ul), (verdicts[0], verdicts[1]));
        Assert.Equal(XdpAborted, loaded.Program("xdp_classify_only").TestRun(TestPrograms.Ipv4Frame(128)).ReturnValue);
        Assert.Equal(XdpPass, loaded.Program("xdp_classify_only").TestRun(TestPrograms.Ipv4Frame(64)).ReturnValue);
        Assert.Equal((1ul, 3ul), (verdicts[0], verdicts[1]));

        // func_info for each function and line info inside the callees reached the kernel.
        var xlated = Netns.Run("bpftool", "prog", "dump", "xlated", "id", program.Id.ToString(), "linum");
        Assert.Contains("int xdp_subprograms(struct xdp_md * ctx):", xlated);
        Assert.Contains("int count(__u32 length):", xlated);
        Assert.Contains("int classify(__u32 length):", xlated);
        Assert.Contains("int verdict = classify(length);", xlated);
    }

    [KernelToolFact("bpftool", Clang.Tool)]
    public void Bpftool_loads_the_clang_subprograms_object_with_the_same_verdicts()
    {
        using var dir = new TempDirectory();
        using var pins = new BpfFsDirectory();
        var path = Clang.Compile("subprograms", dir.Path);
        var read = ElfObjectReader.Read(path);
        using var loaded = BpfObjectLoader.Load(read);

        Tools.Run("bpftool", "prog", "loadall", path, pins.Combine("progs"), "pinmaps", pins.Combine("maps"));

        // libbpf loads the entry programs only, as we do; .text functions are linked into them.
        Assert.Equal(read.Programs.Where(p => p.IsXdp).Select(p => p.Name).Order(), Directory.GetFiles(pins.Combine("progs")).Select(Path.GetFileName).Order());
        foreach (var length in new[] { 64, 128 })
        {
            var packet = dir.File($"packet{length}.bin");
            File.WriteAllBytes(packet, TestPrograms.Ipv4Frame(length));
            foreach (var name in loaded.Programs.Keys)
            {
                var run = Tools.Run("bpftool", "prog", "run", "pinned", pins.Combine("progs/" + name), "data_in", packet, "repeat", "1");
                var ours = loaded.Program(name).TestRun(TestPrograms.Ipv4Frame(length)).ReturnValue;
                Assert.Contains($"Return value: {ours}", run.Output + run.Error);
            }
        }
        // The same linking makes the same instruction count: libbpf appends callees after the entry, as we do.
        var ourLength = ProgramLength(loaded.Program("xdp_subprograms").Id.ToString(), "id");
        Assert.True(ourLength > 20, $"{ourLength} instructions: the callees were not linked in");
        Assert.Equal(ProgramLength(pins.Combine("progs/xdp_subprograms"), "pinned"), ourLength);
    }

    [Fact]
    public void Round_trip_of_text_functions_through_our_writer_gives_the_same_model()
    {
        var original = HandBuilt();

        var read = ElfObjectReader.Read(ElfObjectWriter.Write(original), "calls");

        Assert.Equal(original.Programs.Length, read.Programs.Length);
        for (var i = 0; i < original.Programs.Length; i++)
        {
            var (expected, actual) = (original.Programs[i], read.Programs[i]);
            Assert.Equal((expected.Name, expected.Section), (actual.Name, actual.Section));
            Assert.Equal(expected.Instructions.ToArray(), actual.Instructions.ToArray());
            Assert.Equal(expected.Relocations.ToArray(), actual.Relocations.ToArray());
            Assert.Equal(expected.Lines.ToArray(), actual.Lines.ToArray());
        }
        Assert.Contains(read.Types.Types, t => t is BtfFunc { Name: "add_one", Linkage: BtfFuncLinkage.Static });
        Assert.Contains(read.Types.Types, t => t is BtfFunc { Name: "xdp_calls", Linkage: BtfFuncLinkage.Global });
    }

    [KernelFact]
    public void Our_text_functions_load_and_run_through_the_reader_and_the_loader()
    {
        using var loaded = BpfObjectLoader.Load(ElfObjectWriter.Write(HandBuilt()), "calls");

        Assert.True(loaded.Warnings.IsEmpty, string.Join("\n", loaded.Warnings));
        Assert.Equal(["xdp_calls"], loaded.Programs.Keys.ToArray());
        Assert.Equal(XdpPass, loaded.Program("xdp_calls").TestRun(TestPrograms.Ipv4Frame(), repeat: 2).ReturnValue);
        Assert.Equal(2ul, loaded.Map("hits").AsArray<ulong>()[0]);
        var xlated = Netns.Run("bpftool", "prog", "dump", "xlated", "id", loaded.Program("xdp_calls").Id.ToString(), "linum");
        Assert.Contains("; Hits.Increment(0); [file:Calls.cs line_num:20", xlated);
        Assert.Contains("; return value + 1; [file:Calls.cs line_num:30", xlated);
    }

    [KernelFact]
    public void A_callee_without_line_info_still_loads_with_func_and_line_info()
    {
        // The kernel refuses line info that misses a subprogram's first instruction; the linker supplies one.
        var read = ElfObjectReader.Read(ElfObjectWriter.Write(HandBuilt()), "calls");
        var obj = read with { Programs = read.Programs.Select(p => p.Name == "add_one" ? p with { Lines = [] } : p).ToImmutableArray() };

        using var loaded = BpfObjectLoader.Load(obj);

        Assert.True(loaded.Warnings.IsEmpty, string.Join("\n", loaded.Warnings));
        Assert.Null(loaded.Program("xdp_calls").DebugInfoWarning);
        Assert.Equal(XdpPass, loaded.Program("xdp_calls").TestRun(TestPrograms.Ipv4Frame()).ReturnValue);
        var xlated = Netns.Run("bpftool", "prog", "dump", "xlated", "id", loaded.Program("xdp_calls").Id.ToString(), "linum");
        Assert.Contains("int add_one(void * ctx):", xlated);
        Assert.Contains("; add_one", xlated);
    }

    [KernelToolFact("bpftool")]
    public void Bpftool_loads_our_text_functions_and_runs_them()
    {
        using var dir = new TempDirectory();
        using var pins = new BpfFsDirectory();
        var path = dir.File("calls.bpf.o");
        File.WriteAllBytes(path, ElfObjectWriter.Write(HandBuilt()));

        var load = Tools.Run("bpftool", "prog", "loadall", path, pins.Combine("progs"), "pinmaps", pins.Combine("maps"));

        Assert.DoesNotContain("libbpf:", load.Error);
        Assert.Equal(["xdp_calls"], Directory.GetFiles(pins.Combine("progs")).Select(f => Path.GetFileName(f)!).ToArray());
        var packet = dir.File("packet.bin");
        File.WriteAllBytes(packet, TestPrograms.Ipv4Frame());
        var run = Tools.Run("bpftool", "prog", "run", "pinned", pins.Combine("progs/xdp_calls"), "data_in", packet, "repeat", "1");
        Assert.Contains($"Return value: {XdpPass}", run.Output + run.Error);
        var xlated = Tools.Run("bpftool", "prog", "dump", "xlated", "pinned", pins.Combine("progs/xdp_calls"), "linum").Output;
        Assert.Contains("; return value + 1; [file:Calls.cs line_num:30", xlated);
    }

    [Fact]
    public void Calls_into_the_middle_of_a_function_are_refused_with_the_offset()
    {
        var obj = HandBuilt();
        var bytes = ElfObjectWriter.Write(obj);
        // xdp_calls calls bump through bump's own symbol with imm -1; imm 1 would start the callee 2 instructions in.
        var code = bytes.AsSpan().IndexOf(Instruction.Encode([obj.Programs[2].Instructions[0], Instruction.CallLocal(-1)]));
        Assert.True(code >= 0);
        bytes.AsSpan(code + 8 + 4, 4).Clear();
        bytes[code + 8 + 4] = 1;

        var e = Assert.Throws<BpfObjectFormatException>(() => ElfObjectReader.Read(bytes, "calls"));
        Assert.Contains("not the start of a function", e.Message);
        Assert.Equal("xdp", e.Section);
    }

    private static int ProgramLength(string target, string how)
    {
        var xlated = Tools.Run("bpftool", "prog", "dump", "xlated", how, target).Output;
        return xlated.Split('\n').Count(l => l.Length > 0 && char.IsDigit(l.TrimStart()[0]) && l.Contains(':'));
    }

    /// <summary>
    /// <c>xdp_calls</c> calls <c>bump(1)</c>; <c>bump</c> counts in <c>hits[0]</c> and returns <c>add_one(value)</c>,
    /// so the program returns XDP_PASS. Both callees are static functions in <c>.text</c>.
    /// </summary>
    internal static BpfObject HandBuilt()
    {
        var (load, loadHigh) = Instruction.LoadImm64(Reg.R1, 0);
        var bump = new BpfProgram("bump", ".text",
            [
                Instruction.Mov64Reg(Reg.R6, Reg.R1),                     // 0: r6 = value
                Instruction.StoreImm(MemSize.W, Reg.R10, -4, 0),          // 1: key = 0
                Instruction.Mov64Reg(Reg.R2, Reg.R10),                    // 2: r2 = r10
                Instruction.Alu64(AluOp.Add, Reg.R2, -4),                 // 3: r2 += -4
                load, loadHigh,                                           // 4-5: r1 = hits ll
                Instruction.CallHelper(1),                                // 6: call bpf_map_lookup_elem
                Instruction.Jump(JmpOp.Jeq, Reg.R0, 0, 2),                // 7: if r0 == 0 goto +2
                Instruction.Mov64(Reg.R1, 1),                             // 8: r1 = 1
                Instruction.Atomic(MemSize.DW, AtomicOp.Add, Reg.R0, 0, Reg.R1), // 9: lock *(u64 *)(r0 + 0) += r1
                Instruction.Mov64Reg(Reg.R1, Reg.R6),                     // 10: r1 = value
                Instruction.CallLocal(-1),                                // 11: call add_one
                Instruction.Exit(),                                       // 12: exit
            ],
            [new BpfRelocation(4, "hits", BpfRelocationKind.Map), new BpfRelocation(11, "add_one", BpfRelocationKind.Call)],
            [new BpfLineInfo(0, "Calls.cs", 20, 9, "Hits.Increment(0);"), new BpfLineInfo(10, "Calls.cs", 21, 9, "return AddOne(value);")]);
        var addOne = new BpfProgram("add_one", ".text",
            [Instruction.Mov64Reg(Reg.R0, Reg.R1), Instruction.Alu64(AluOp.Add, Reg.R0, 1), Instruction.Exit()],
            [],
            [new BpfLineInfo(0, "Calls.cs", 30, 9, "return value + 1;")]);
        var entry = new BpfProgram("xdp_calls", "xdp",
            [Instruction.Mov64(Reg.R1, 1), Instruction.CallLocal(-1), Instruction.Exit()],
            [new BpfRelocation(1, "bump", BpfRelocationKind.Call)],
            [new BpfLineInfo(0, "Calls.cs", 10, 9, "return (XdpAction)Bump(1);")]);
        var map = new BpfMap("hits", BpfMapType.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1);
        return new BpfObject("calls", "GPL", [bump, addOne, entry], [map], SampleObjects.Empty);
    }
}
