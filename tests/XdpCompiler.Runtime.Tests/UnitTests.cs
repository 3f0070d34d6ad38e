using Xunit;
using System.Runtime.InteropServices;
using XdpCompiler.Runtime.Interop;

namespace XdpCompiler.Runtime.Tests;

/// <summary>Tests that need no kernel.</summary>
public sealed class UnitTests
{
    // Offsets of union bpf_attr members, from clang-19 offsetof on linux/bpf.h (6.1 headers; log_true_size and
    // btf_log_true_size from 6.4's). Regenerate with a C file printing offsetof for each field if a struct changes.
    [Theory]
    [InlineData(typeof(MapCreateAttr), nameof(MapCreateAttr.MapName), 28)]
    [InlineData(typeof(MapCreateAttr), nameof(MapCreateAttr.MapIfindex), 44)]
    [InlineData(typeof(MapCreateAttr), nameof(MapCreateAttr.BtfFd), 48)]
    [InlineData(typeof(MapCreateAttr), nameof(MapCreateAttr.BtfValueTypeId), 56)]
    [InlineData(typeof(MapCreateAttr), nameof(MapCreateAttr.MapExtra), 64)]
    [InlineData(typeof(MapElemAttr), nameof(MapElemAttr.Key), 8)]
    [InlineData(typeof(MapElemAttr), nameof(MapElemAttr.Value), 16)]
    [InlineData(typeof(MapElemAttr), nameof(MapElemAttr.Flags), 24)]
    [InlineData(typeof(MapBatchAttr), nameof(MapBatchAttr.Keys), 16)]
    [InlineData(typeof(MapBatchAttr), nameof(MapBatchAttr.Values), 24)]
    [InlineData(typeof(MapBatchAttr), nameof(MapBatchAttr.Count), 32)]
    [InlineData(typeof(MapBatchAttr), nameof(MapBatchAttr.MapFd), 36)]
    [InlineData(typeof(MapBatchAttr), nameof(MapBatchAttr.ElemFlags), 40)]
    [InlineData(typeof(MapBatchAttr), nameof(MapBatchAttr.Flags), 48)]
    [InlineData(typeof(ProgLoadAttr), nameof(ProgLoadAttr.LogBuf), 32)]
    [InlineData(typeof(ProgLoadAttr), nameof(ProgLoadAttr.ProgName), 48)]
    [InlineData(typeof(ProgLoadAttr), nameof(ProgLoadAttr.ExpectedAttachType), 68)]
    [InlineData(typeof(ProgLoadAttr), nameof(ProgLoadAttr.ProgBtfFd), 72)]
    [InlineData(typeof(ProgLoadAttr), nameof(ProgLoadAttr.FuncInfo), 80)]
    [InlineData(typeof(ProgLoadAttr), nameof(ProgLoadAttr.LineInfo), 96)]
    [InlineData(typeof(ProgLoadAttr), nameof(ProgLoadAttr.LineInfoCount), 104)]
    [InlineData(typeof(ProgLoadAttr), nameof(ProgLoadAttr.FdArray), 120)]
    [InlineData(typeof(ProgLoadAttr), nameof(ProgLoadAttr.CoreReloRecSize), 136)]
    [InlineData(typeof(ProgLoadAttr), nameof(ProgLoadAttr.LogTrueSize), 140)]
    [InlineData(typeof(BtfLoadAttr), nameof(BtfLoadAttr.BtfSize), 16)]
    [InlineData(typeof(BtfLoadAttr), nameof(BtfLoadAttr.BtfLogLevel), 24)]
    [InlineData(typeof(BtfLoadAttr), nameof(BtfLoadAttr.BtfLogTrueSize), 28)]
    [InlineData(typeof(TestRunAttr), nameof(TestRunAttr.DataIn), 16)]
    [InlineData(typeof(TestRunAttr), nameof(TestRunAttr.Repeat), 32)]
    [InlineData(typeof(TestRunAttr), nameof(TestRunAttr.Duration), 36)]
    [InlineData(typeof(TestRunAttr), nameof(TestRunAttr.CtxIn), 48)]
    [InlineData(typeof(TestRunAttr), nameof(TestRunAttr.BatchSize), 72)]
    [InlineData(typeof(ObjInfoAttr), nameof(ObjInfoAttr.Info), 8)]
    [InlineData(typeof(LinkCreateAttr), nameof(LinkCreateAttr.AttachType), 8)]
    [InlineData(typeof(LinkCreateAttr), nameof(LinkCreateAttr.Flags), 12)]
    [InlineData(typeof(ProgInfo), nameof(ProgInfo.Tag), 8)]
    [InlineData(typeof(ProgInfo), nameof(ProgInfo.Name), 64)]
    [InlineData(typeof(ProgInfo), nameof(ProgInfo.Ifindex), 80)]
    [InlineData(typeof(ProgInfo), nameof(ProgInfo.RunTimeNs), 192)]
    [InlineData(typeof(ProgInfo), nameof(ProgInfo.RunCount), 200)]
    [InlineData(typeof(ProgInfo), nameof(ProgInfo.RecursionMisses), 208)]
    [InlineData(typeof(MapInfo), nameof(MapInfo.MapFlags), 20)]
    [InlineData(typeof(MapInfo), nameof(MapInfo.Name), 24)]
    [InlineData(typeof(LinkInfo), nameof(LinkInfo.ProgId), 8)]
    [InlineData(typeof(LinkInfo), nameof(LinkInfo.XdpIfindex), 16)]
    public void AttrLayout_MatchesTheKernelHeader(Type type, string field, int offset) =>
        Assert.Equal(offset, (int)Marshal.OffsetOf(type, field));

    [Theory]
    [InlineData(typeof(MapCreateAttr), 72)]
    [InlineData(typeof(MapElemAttr), 32)]
    [InlineData(typeof(MapBatchAttr), 56)]
    [InlineData(typeof(ProgLoadAttr), 144)]
    [InlineData(typeof(BtfLoadAttr), 32)]
    [InlineData(typeof(TestRunAttr), 80)]
    [InlineData(typeof(EnableStatsAttr), 4)]
    [InlineData(typeof(FuncInfoRecord), 8)]
    [InlineData(typeof(LineInfoRecord), 16)]
    public void AttrSize_MatchesTheKernelHeader(Type type, int size) => Assert.Equal(size, Marshal.SizeOf(type));

    [Theory]
    [InlineData("0", 1)]
    [InlineData("0-1\n", 2)]
    [InlineData("0-3,8-11", 8)]
    [InlineData("0,2,4-5", 4)]
    public void CpuList_IsCounted(string text, int count) => Assert.Equal(count, SystemCpus.ParseCpuList(text));

    [Theory]
    [InlineData("")]
    [InlineData("0-")]
    [InlineData("3-1")]
    [InlineData("a")]
    public void CpuList_Garbage_IsAClearError(string text)
    {
        var e = Assert.Throws<FormatException>(() => SystemCpus.ParseCpuList(text, "/sys/devices/system/cpu/possible"));
        Assert.Contains("/sys/devices/system/cpu/possible", e.Message);
    }

    [Fact]
    public void VerifierLog_LastInstructionAndReason()
    {
        const string log = """
            func#0 @0
            0: R1=ctx() R10=fp0
            0: (61) r2 = *(u32 *)(r1 +0)          ; R1=ctx() R2_w=pkt(r=0)
            1: (71) r0 = *(u8 *)(r2 +12)
            invalid access to packet, off=12 size=1, R2(id=0,off=12,r=0)
            R2 offset is outside of the packet
            processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0

            """;
        var summary = VerifierLog.Parse(log);
        Assert.Equal(1, summary.InstructionIndex);
        Assert.Equal("r0 = *(u8 *)(r2 +12)", summary.InstructionText);
        Assert.Equal("invalid access to packet, off=12 size=1, R2(id=0,off=12,r=0) R2 offset is outside of the packet", summary.Message);
    }

    [Fact]
    public void VerifierLog_RegisterReasonIsNotMistakenForState()
    {
        var summary = VerifierLog.Parse("0: (b7) r0 = 0\n1: (79) r1 = *(u64 *)(r0 +0)\nR0 invalid mem access 'scalar'\nprocessed 2 insns\n");
        Assert.Equal(1, summary.InstructionIndex);
        Assert.Equal("R0 invalid mem access 'scalar'", summary.Message);
    }

    [Fact]
    public void VerifierLog_CfgErrorNamesTheInstruction()
    {
        var summary = VerifierLog.Parse("jump out of range from insn 0 to 6\nprocessed 0 insns (limit 1000000)\n");
        Assert.Equal(0, summary.InstructionIndex);
        Assert.Null(summary.InstructionText);
        Assert.Equal("jump out of range from insn 0 to 6", summary.Message);
    }

    [Fact]
    public void VerifierLog_Empty()
    {
        var summary = VerifierLog.Parse("");
        Assert.Null(summary.InstructionIndex);
        Assert.Null(summary.Message);
    }

    [Fact]
    public void BtfFixups_LayOutUnfilledDataSections()
    {
        var table = new Core.Btf.BtfTypeTable([
            new Core.Btf.BtfInt("int", 4, Core.Btf.BtfIntEncoding.Signed, 32),
            new Core.Btf.BtfArray(1, 1, 3),
            new Core.Btf.BtfVar("a", 1, Core.Btf.BtfVarLinkage.GlobalAllocated),
            new Core.Btf.BtfVar("b", 2, Core.Btf.BtfVarLinkage.GlobalAllocated),
            new Core.Btf.BtfDataSec(".maps", 0, [new(3, 0, 0), new(4, 0, 0)]),
        ]);

        var fixedTable = BtfFixups.FillDataSections(table);

        var section = Assert.IsType<Core.Btf.BtfDataSec>(fixedTable[5]);
        Assert.Equal(20u, section.Size);
        Assert.Equal([new(3, 0, 4), new(4, 8, 12)], section.Vars.ToArray());
        Assert.Same(fixedTable, BtfFixups.FillDataSections(fixedTable));
    }

    [Theory]
    [InlineData("Name:\tx\nCapEff:\t000001ffffffffff\n", "has CAP_BPF and CAP_NET_ADMIN")]
    [InlineData("CapEff:\t0000000000000000\n", "lacks CAP_BPF and CAP_NET_ADMIN")]
    [InlineData("CapEff:\t0000008000000000\n", "lacks CAP_NET_ADMIN (needed")] // CAP_BPF only
    [InlineData("CapEff:\t0000000000200000\n", "has CAP_BPF and CAP_NET_ADMIN")] // CAP_SYS_ADMIN covers both
    [InlineData("nothing here", "needs CAP_BPF and CAP_NET_ADMIN (or CAP_SYS_ADMIN)")]
    public void Eperm_NamesTheMissingCapability(string status, string expected) =>
        Assert.Contains(expected, Capabilities.Explain(Capabilities.ParseEffective(status), Capabilities.Bpf, Capabilities.NetAdmin));

    [Fact]
    public void Errno_NamesAndHints()
    {
        Assert.Equal("EPERM", Errno.Name(1));
        Assert.Equal("errno 4095", Errno.Name(4095));
        var e = new BpfException(BpfOperationKind.MapCreate, "create map Drops", Errno.EPERM, "Drops", "Run as root.");
        Assert.Equal("create map Drops failed: EPERM (Operation not permitted). Run as root.", e.Message);
    }

    private static int s_denied;

    [Fact]
    public unsafe void Intercept_RoutesCallsOnlyInThisFlow()
    {
        var before = s_denied;
        using (BpfSyscall.Intercept(DenyAll))
        {
            var e = Assert.Throws<BpfException>(() => LoadedMap.Create(new("M", Core.Objects.BpfMapType.Array, 4, 4, 1)));
            Assert.Equal("EPERM", e.ErrnoName);
            Assert.Contains("CAP_BPF", e.Message);

            // A thread started without this flow's execution context stands for another test: it reaches the kernel.
            var other = 0;
            var thread = new Thread(() => other = InvokeEmpty());
            thread.UnsafeStart();
            thread.Join();
            Assert.NotEqual(-Errno.EPERM, other);
        }
        Assert.Equal(before + 1, s_denied);
    }

    private static unsafe int DenyAll(BpfCommand command, void* attr, uint size)
    {
        Interlocked.Increment(ref s_denied);
        return -Errno.EPERM;
    }

    private static unsafe int InvokeEmpty() => BpfSyscall.Invoke(BpfCommand.MapCreate, null, 0);
}

public sealed class VerifierExplanationTests
{
    [Theory]
    [InlineData("invalid access to packet, off=12 size=2, R2(id=0,off=12,r=0)", "ctx.DataEnd")]
    [InlineData("R1 invalid mem access 'map_value_or_null'", "null check")]
    [InlineData("back-edge from insn 12 to 4", "constant bound")]
    [InlineData("infinite loop detected at insn 7", "constant bound")]
    [InlineData("combined stack size of 2 calls is 544. Too large", "512 bytes")]
    [InlineData("BPF program is too large. Processed 1000001 insn", "complexity limit")]
    [InlineData("cannot call GPL-restricted function from non-GPL compatible program", "GPL")]
    [InlineData("R2 type=pkt expected=fp, pkt, pkt_meta, map_key, map_value", "wrong kind")]
    [InlineData("misaligned stack access off 0+0+-35 size 8", "aligned offset")]
    public void CommonRejectionsAreExplained(string message, string expected)
    {
        Assert.Contains(expected, XdpCompiler.Runtime.VerifierLog.Explain(message), StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownReasonsGetNoGuess() => Assert.Null(XdpCompiler.Runtime.VerifierLog.Explain("something new the kernel says"));
}
