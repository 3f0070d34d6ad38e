using XdpCompiler.Runtime;
using XdpCompiler.Samples.DdosFilter;
using XdpCompiler.TestKit;
using Xunit;

namespace XdpCompiler.Samples.Tests;

/// <summary>
/// The filter's packet table, in the kernel (BPF_PROG_TEST_RUN on the object the generator embedded) and as ordinary
/// C# (<see cref="Filter.DropUdp"/> on an <see cref="XdpContext"/>). The tests that touch the in-memory
/// <see cref="Filter.Counters"/> live in this one class, which xunit runs sequentially.
/// </summary>
public sealed unsafe class FilterTableTests
{
    [KernelTheory]
    [MemberData(nameof(DdosFilterPackets.Names), MemberType = typeof(DdosFilterPackets))]
    public void Kernel_gives_the_expected_action_and_counts_it(string name)
    {
        var row = DdosFilterPackets.Get(name);
        using var filter = FilterLoader.Load();

        var run = filter.Program(FilterLoader.ProgramName).TestRun(row.Frame);

        Assert.Equal(row.Expected, run.Action);
        Assert.Equal(row.Frame, run.Packet); // the filter only reads
        var counters = FilterLoader.ReadCounters(filter);
        Assert.Equal(row.Expected == XdpAction.Drop ? new FilterCounters(1, 0) : new FilterCounters(0, 1), counters);
    }

    [KernelFact]
    public void Kernel_counters_sum_to_the_tables_drops_and_passes()
    {
        using var filter = FilterLoader.Load();
        var program = filter.Program(FilterLoader.ProgramName);

        var wrong = DdosFilterPackets.All
            .Select(row => (row, actual: program.TestRun(row.Frame).Action))
            .Where(r => r.actual != r.row.Expected)
            .Select(r => $"{r.row.Name}: {r.actual}, expected {r.row.Expected}")
            .ToList();

        Assert.Empty(wrong);
        var perCpu = filter.Map(FilterLoader.CountersMapName).AsPerCpuArray<ulong>();
        Assert.Equal((ulong)DdosFilterPackets.ExpectedDrops, perCpu.Sum(Filter.DroppedSlot));
        Assert.Equal((ulong)DdosFilterPackets.ExpectedPasses, perCpu.Sum(Filter.PassedSlot));
    }

    [KernelFact]
    public void Kernel_counts_every_repeated_run()
    {
        using var filter = FilterLoader.Load();
        var program = filter.Program(FilterLoader.ProgramName);

        Assert.Equal(XdpAction.Drop, program.TestRun(DdosFilterPackets.Get("IPv4 UDP").Frame, repeat: 1000).Action);
        Assert.Equal(XdpAction.Pass, program.TestRun(DdosFilterPackets.Get("IPv4 TCP SYN").Frame, repeat: 250).Action);

        Assert.Equal(new FilterCounters(1000, 250), FilterLoader.ReadCounters(filter));
    }

    /// <summary>
    /// The kernel's test-run needs at least an Ethernet header (bpf_test_init refuses fewer than ETH_HLEN bytes with
    /// EINVAL), so frames shorter than 14 bytes cannot reach the program there; in .NET they can, and pass.
    /// </summary>
    [KernelTheory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(13)]
    public void Kernel_test_run_refuses_frames_shorter_than_an_Ethernet_header(int length)
    {
        using var filter = FilterLoader.Load();
        var frame = DdosFilterPackets.Get("IPv4 UDP").Frame.Truncate(length);

        var error = Assert.Throws<BpfException>(() => filter.Program(FilterLoader.ProgramName).TestRun(frame));

        Assert.Equal(BpfOperationKind.TestRun, error.Kind);
        Assert.Equal("EINVAL", error.ErrnoName);
        Assert.Equal(new FilterCounters(0, 0), FilterLoader.ReadCounters(filter));
    }

    [Theory]
    [MemberData(nameof(DdosFilterPackets.Names), MemberType = typeof(DdosFilterPackets))]
    public void Managed_filter_gives_the_expected_action_and_counts_it(string name)
    {
        var row = DdosFilterPackets.Get(name);
        Filter.Counters.Clear();

        var action = RunManaged(row.Frame, out var after);

        Assert.Equal(row.Expected, action);
        Assert.Equal(row.Frame, after);
        Assert.Equal(row.Expected == XdpAction.Drop ? new FilterCounters(1, 0) : new FilterCounters(0, 1), ManagedCounters());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(13)]
    public void Managed_filter_passes_frames_shorter_than_an_Ethernet_header(int length)
    {
        Filter.Counters.Clear();

        Assert.Equal(XdpAction.Pass, RunManaged(DdosFilterPackets.Get("IPv4 UDP").Frame.Truncate(length), out _));
        Assert.Equal(new FilterCounters(0, 1), ManagedCounters());
    }

    [KernelFact]
    public void Managed_filter_agrees_with_the_kernel_on_every_row_and_in_the_counters()
    {
        using var filter = FilterLoader.Load();
        var program = filter.Program(FilterLoader.ProgramName);
        var kernel = DdosFilterPackets.All.Select(row => program.TestRun(row.Frame).Action).ToList();
        var kernelCounters = FilterLoader.ReadCounters(filter);

        Filter.Counters.Clear();
        var managed = DdosFilterPackets.All.Select(row => RunManaged(row.Frame, out _)).ToList();

        var disagreements = DdosFilterPackets.All
            .Select((row, i) => (row.Name, Kernel: kernel[i], Managed: managed[i]))
            .Where(r => r.Kernel != r.Managed)
            .Select(r => $"{r.Name}: kernel {r.Kernel}, .NET {r.Managed}")
            .ToList();
        Assert.Empty(disagreements);
        Assert.Equal(kernelCounters, ManagedCounters());
    }

    private static XdpAction RunManaged(byte[] frame, out byte[] after)
    {
        using var context = XdpContext.FromPacket(frame);
        var action = Filter.DropUdp(context);
        after = context.GetPacket();
        return action;
    }

    private static FilterCounters ManagedCounters() =>
        new(*Filter.Counters.Lookup(Filter.DroppedSlot), *Filter.Counters.Lookup(Filter.PassedSlot));
}
