using Xunit;
using XdpCompiler.Core.Bpf;
using XdpCompiler.Core.Objects;
using XdpCompiler.TestKit;
using static XdpCompiler.Runtime.Tests.TestPrograms;

namespace XdpCompiler.Runtime.Tests;

public sealed class ProgramTests
{
    [KernelFact]
    public void ReturnDrop_TestRun_DropsAndLeavesThePacket()
    {
        using var obj = BpfObjectLoader.Load(Object("drop", ReturnDrop()));
        var packet = Ipv4Frame();

        var result = obj.Program("xdp_drop").TestRun(packet);

        Assert.Equal(XdpAction.Drop, result.Action);
        Assert.Equal(packet, result.Packet);
        Assert.Empty(obj.Warnings);
        Assert.NotEqual(0u, obj.Program("xdp_drop").Id);
        Assert.Equal(16, obj.Program("xdp_drop").Tag.Length);
    }

    [KernelFact]
    public void StandaloneLoad_WithoutObject()
    {
        using var program = LoadedProgram.Load("xdp_pass", ReturnPass().Instructions);
        Assert.Equal(XdpAction.Pass, program.TestRun(Ipv4Frame()).Action);
    }

    [KernelFact]
    public void Counter_CountsEveryRun_AndSumsOverCpus()
    {
        using var obj = BpfObjectLoader.Load(Object("count", CountAndReturn("Counter", XdpPass), PerCpuCounter()));
        var program = obj.Program("xdp_count");
        var counter = obj.Map("Counter").AsPerCpuArray<ulong>();

        var first = program.TestRun(Ipv4Frame());
        var repeated = program.TestRun(Ipv4Frame(), repeat: 10);

        Assert.Equal(XdpAction.Pass, first.Action);
        Assert.Equal(XdpAction.Pass, repeated.Action);
        Assert.Equal(10u, repeated.Repeat);
        Assert.Equal(11ul, counter.Sum(0));
        var perCpu = counter.Lookup(0);
        Assert.Equal(SystemCpus.PossibleCount, perCpu.Length);
        Assert.Equal(11ul, perCpu.Aggregate(0ul, (a, b) => a + b));
        // The relocated ld_imm64 carries the map's fd with src = BPF_PSEUDO_MAP_FD.
        Assert.Equal((byte)PseudoLoad.MapFd, program.Instructions[3].Src);
        Assert.Equal(obj.Map("Counter").Fd.Value, program.Instructions[3].Imm);
    }

    [KernelFact]
    public void BoundsCheckedRead_DropsOnlyWhenByte12Is8()
    {
        using var obj = BpfObjectLoader.Load(Object("eth8", DropIfByte12Is8()));
        var program = obj.Program("xdp_eth8");

        Assert.Equal(XdpAction.Drop, program.TestRun(Ipv4Frame()).Action);
        Assert.Equal(XdpAction.Pass, program.TestRun(Ipv6Frame()).Action);
    }

    [KernelFact]
    public void TestRun_ReturnsRewrittenPacket()
    {
        using var obj = BpfObjectLoader.Load(Object("mark", MarkAndTx()));
        var packet = Ipv4Frame(100);

        var result = obj.Program("xdp_mark").TestRun(packet);

        Assert.Equal(XdpAction.Tx, result.Action);
        Assert.Equal(0xAA, result.Packet[0]);
        Assert.Equal(packet.AsSpan(1).ToArray(), result.Packet.AsSpan(1).ToArray());
    }

    [KernelFact]
    public void TestRun_ReturnsShrunkPacket()
    {
        using var obj = BpfObjectLoader.Load(Object("strip", StripEthernet()));
        var packet = Ipv4Frame(80);

        var result = obj.Program("xdp_strip").TestRun(packet);

        Assert.Equal(XdpAction.Pass, result.Action);
        Assert.Equal(packet.AsSpan(14).ToArray(), result.Packet);
    }

    [KernelFact]
    public void TestRun_TooShortPacket_SaysWhatTheKernelNeeds()
    {
        using var obj = BpfObjectLoader.Load(Object("drop", ReturnDrop()));
        var e = Assert.Throws<BpfException>(() => obj.Program("xdp_drop").TestRun(new byte[4]));
        Assert.Equal(BpfOperationKind.TestRun, e.Kind);
        Assert.Equal("EINVAL", e.ErrnoName);
        Assert.Contains("14 bytes", e.Message);
    }

    [KernelFact]
    public void UncheckedPacketRead_IsRejected_WithLogAndInstruction()
    {
        var e = Assert.Throws<BpfVerifierException>(() => BpfObjectLoader.Load(Object("bad", UncheckedPacketRead())));

        Assert.Equal(1, e.InstructionIndex);
        Assert.Equal("xdp_unchecked", e.ObjectName);
        Assert.Equal("load program xdp_unchecked", e.Operation);
        Assert.Equal("EACCES", e.ErrnoName);
        Assert.Contains("invalid access to packet", e.Log);
        Assert.Contains("invalid access to packet", e.VerifierMessage);
        Assert.Contains("r0 = *(u8 *)(r2 +12)", e.InstructionText);
        Assert.Contains("at instruction 1", e.Message);
        Assert.Contains("0: (61) r2 = *(u32 *)(r1 +0)", e.Log);
    }

    [KernelFact]
    public void LongVerifierLog_IsCapturedWhole()
    {
        const int padding = 6000; // ~20 bytes of log per instruction: well past the first 64 KiB buffer
        var e = Assert.Throws<BpfVerifierException>(() => BpfObjectLoader.Load(Object("long", LongThenUnchecked(padding))));

        Assert.True(e.Log.Length > 2 * 64 * 1024, $"log is {e.Log.Length} bytes");
        Assert.Matches(@"(?m)^0: \(b7\) r0 = 0\b", e.Log);         // the beginning survived
        Assert.Contains($"{padding + 1}: (71) r0 = *(u8 *)(r2 +12)", e.Log);
        Assert.Contains("invalid access to packet", e.Log);       // and so did the end
        Assert.Equal(padding + 1, e.InstructionIndex);
    }

    [KernelFact]
    public void JumpOutOfRange_NamesTheInstruction()
    {
        var program = new Asm().Add(Instruction.Goto(5), Instruction.Mov64(Reg.R0, 2), Instruction.Exit()).Program("xdp_jump");
        var e = Assert.Throws<BpfVerifierException>(() => BpfObjectLoader.Load(Object("jump", program)));
        Assert.Equal(0, e.InstructionIndex);
        Assert.Contains("jump out of range", e.Log);
    }

    [KernelFact]
    public void LongName_IsCutForTheKernel_ButKeptInErrors()
    {
        using var obj = BpfObjectLoader.Load(Object("names", ReturnDrop("xdp_a_rather_long-program.name")));
        var program = obj.Program("xdp_a_rather_long-program.name");
        var show = Netns.Run("bpftool", "prog", "show", "id", program.Id.ToString());
        Assert.Contains("name xdp_a_rather_l", show);
    }

    [KernelFact]
    public void MissingMap_IsAClearError()
    {
        var e = Assert.Throws<InvalidOperationException>(() => BpfObjectLoader.Load(Object("nomap", CountAndReturn("Nope", XdpPass), PerCpuCounter())));
        Assert.Contains("map 'Nope'", e.Message);
        Assert.Contains("instruction 3", e.Message);
    }

    [KernelFact]
    public void MapRelocationNotOnLdImm64_IsAClearError()
    {
        var bad = ReturnDrop() with { Relocations = [new BpfRelocation(0, "Counter", BpfRelocationKind.Map)] };
        var e = Assert.Throws<InvalidOperationException>(() => BpfObjectLoader.Load(Object("bad", bad, PerCpuCounter())));
        Assert.Contains("not on an ld_imm64", e.Message);
    }

    [KernelFact]
    public void BpfToBpfCall_AppendsTheCallee()
    {
        // main: call helper_fn; r0 += 0; exit   helper_fn (in .text): r0 = XDP_DROP; exit
        var main = new BpfProgram("xdp_main", "xdp",
            [Instruction.CallLocal(-1), Instruction.Exit()],
            [new BpfRelocation(0, "helper_fn", BpfRelocationKind.Call)], []);
        var callee = new BpfProgram("helper_fn", ".text", [Instruction.Mov64(Reg.R0, XdpDrop), Instruction.Exit()], [], []);

        using var obj = BpfObjectLoader.Load(Object("calls", [main, callee], [], new([])));

        Assert.Single(obj.Programs);
        Assert.Equal(4, obj.Program("xdp_main").Instructions.Length);
        Assert.Equal(1, obj.Program("xdp_main").Instructions[0].Imm);
        Assert.Equal(XdpAction.Drop, obj.Program("xdp_main").TestRun(Ipv4Frame()).Action);
    }

    [KernelFact]
    public void NonXdpProgram_IsSkippedWithAWarning()
    {
        var tc = ReturnDrop("tc_thing") with { Section = "tc" };
        using var obj = BpfObjectLoader.Load(Object("mixed", [ReturnDrop(), tc], [], new([])));
        Assert.Single(obj.Programs);
        Assert.Contains(obj.Warnings, w => w.Contains("tc_thing") && w.Contains("not XDP"));
        var e = Assert.Throws<KeyNotFoundException>(() => obj.Program("tc_thing"));
        Assert.Contains("xdp_drop", e.Message);
    }
}
