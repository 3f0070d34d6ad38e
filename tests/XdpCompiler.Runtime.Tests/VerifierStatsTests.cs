using System.Collections.Immutable;
using XdpCompiler.Core.Bpf;
using XdpCompiler.Core.Btf;
using XdpCompiler.Core.Objects;
using XdpCompiler.TestKit;
using Xunit;

namespace XdpCompiler.Runtime.Tests;

/// <summary>The verifier's statistics on request (BpfObjectLoadOptions.CollectVerifierStats), and nothing without it.</summary>
public sealed class VerifierStatsTests
{
    [KernelFact]
    public void CollectVerifierStats_ReportsTheKernelsCounts()
    {
        // "return data + 14 > data_end ? XDP_PASS : XDP_DROP": 8 instructions, two paths that join at the exit.
        var program = new BpfProgram("xdp_stats", "xdp", ImmutableArray.Create(
            Instruction.Load(MemSize.W, Reg.R2, Reg.R1, 0),
            Instruction.Load(MemSize.W, Reg.R3, Reg.R1, 4),
            Instruction.Mov64(Reg.R0, 2),
            Instruction.Mov64Reg(Reg.R4, Reg.R2),
            Instruction.Alu64(AluOp.Add, Reg.R4, 14),
            Instruction.JumpReg(JmpOp.Jgt, Reg.R4, Reg.R3, 1),
            Instruction.Mov64(Reg.R0, 1),
            Instruction.Exit()), [], []);
        var obj = new BpfObject($"stats{Environment.ProcessId}", "GPL", [program], [], new BtfTypeTable([]));

        using var withStats = BpfObjectLoader.Load(obj, new BpfObjectLoadOptions { CollectVerifierStats = true });
        using var without = BpfObjectLoader.Load(obj);

        var stats = withStats.Program("xdp_stats").VerifierStats;
        Assert.NotNull(stats);
        // At least the longer path once; at most every instruction on both paths.
        Assert.InRange(stats.ProcessedInstructions, 8, 16);
        Assert.True(stats.PeakStates <= stats.TotalStates + 1, stats.ToString());
        Assert.NotNull(stats.VerificationTime);
        Assert.Null(without.Program("xdp_stats").VerifierStats);
        // The log buffer must not change what runs.
        Assert.Equal(XdpAction.Drop, withStats.Program("xdp_stats").TestRun(new byte[64]).Action);
    }

    [Fact]
    public void Parse_ReadsTheStatisticsLines()
    {
        const string log = "0: R1=ctx() R10=fp0\n0: (b7) r0 = 2\n1: (95) exit\nverification time 37 usec\nstack depth 8+0\n" +
            "processed 13 insns (limit 1000000) max_states_per_insn 1 total_states 2 peak_states 3 mark_read 0\n";

        Assert.Equal(new VerifierStats(13, 2, 3, 1, TimeSpan.FromMicroseconds(37)), VerifierStats.Parse(log));
        Assert.Null(VerifierStats.Parse("0: (b7) r0 = 2\n"));
    }
}
