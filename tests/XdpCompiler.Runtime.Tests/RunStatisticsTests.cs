using Xunit;
using XdpCompiler.Runtime.Interop;
using XdpCompiler.TestKit;
using static XdpCompiler.Runtime.Tests.TestPrograms;

namespace XdpCompiler.Runtime.Tests;

// Counts the process's BPF descriptors: alone, so no other test opens or closes one meanwhile.
[Collection(SequentialCollection.Name)]
public sealed class RunStatisticsTests
{
    [KernelFact]
    public void EnabledScope_CountsEveryTestRun_AndStopsWhenClosed()
    {
        using var program = LoadedProgram.Load("xdp_pass", ReturnPass().Instructions);
        var globallyOn = File.ReadAllText("/proc/sys/kernel/bpf_stats_enabled").Trim() != "0";

        ProgramRunStatistics counted;
        using (RunTimeStatistics.Enable())
        {
            var before = program.RunStatistics;
            program.TestRun(Ipv4Frame(), repeat: 1000);
            counted = program.RunStatistics.Since(before);
        }

        Assert.Equal(1000ul, counted.RunCount);
        Assert.True(counted.RunTimeNanoseconds > 0, "the kernel timed 1000 runs as 0 ns");
        Assert.InRange(counted.AverageNanoseconds, 0.001, 100_000);
        Assert.Equal(0ul, counted.RecursionMisses);

        if (!globallyOn)
        {
            var after = program.RunStatistics;
            program.TestRun(Ipv4Frame(), repeat: 100);
            Assert.Equal(after, program.RunStatistics);
        }
    }

    [Fact]
    public void NothingRan_AverageIsNaN() => Assert.True(double.IsNaN(new ProgramRunStatistics(0, 0, 0).AverageNanoseconds));

    [Fact]
    public unsafe void Refused_SaysWhichCapability_AndLeavesNoDescriptor()
    {
        var before = FileDescriptors.CountBpf();
        using (BpfSyscall.Intercept(static (command, attr, size) => command == BpfCommand.EnableStats ? -Errno.EPERM : BpfSyscall.Raw(command, attr, size)))
        {
            var e = Assert.Throws<BpfException>(() => RunTimeStatistics.Enable());
            Assert.Equal(BpfOperationKind.Statistics, e.Kind);
            Assert.Contains("CAP_SYS_ADMIN", e.Message);
            Assert.Contains("kernel.bpf_stats_enabled", e.Message);
        }
        Assert.Equal(before, FileDescriptors.CountBpf());
    }
}
