using Xunit;
using XdpCompiler.Runtime.Interop;
using XdpCompiler.TestKit;
using static XdpCompiler.Runtime.Tests.TestPrograms;

namespace XdpCompiler.Runtime.Tests;

/// <summary>Every descriptor the runtime opens is closed by Dispose — on success and on every failure path.</summary>
[Collection(SequentialCollection.Name)]
public sealed class LeakTests
{
    /// <summary>How many load/test-run/dispose cycles the loop runs (XDP_LEAK_CYCLES, default 10,000).</summary>
    private static int LeakCycles => Setting("XDP_LEAK_CYCLES", 10_000);

    /// <summary>
    /// Which cycles also attach and detach (XDP_LEAK_ATTACH_EVERY, default every 20th). Each XDP attach or detach
    /// waits for the kernel's RCU grace periods under the RTNL lock, about 28 ms a cycle on a test VM and not
    /// parallelisable, so attaching in all 10,000 cycles costs about 5 minutes: set XDP_LEAK_ATTACH_EVERY=1 for that.
    /// </summary>
    private static int AttachEvery => Setting("XDP_LEAK_ATTACH_EVERY", 20);

    private static int Setting(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), out var value) && value > 0 ? value : fallback;

    [KernelToolFact("bpftool")]
    public void LoadAttachDetachDispose_ManyTimes_LeavesNoDescriptorAndNoKernelObject()
    {
        using var ns = Netns.Create();
        var obj = Object("cycle", CountAndReturn("Counter", XdpPass), PerCpuCounter());
        Cycle(ns, obj, XdpMode.Generic, null); // warm up: JIT, lazily opened runtime descriptors
        // Let the pipes of the processes that set up the namespace be finalized first: they are not ours to count.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var finalizedBefore = BpfFd.FinalizedWithoutDispose;
        var allBefore = FileDescriptors.CountAll();
        var describeBefore = FileDescriptors.Describe();
        var bpfBefore = FileDescriptors.CountBpf();
        var created = new KernelIds();

        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        var attached = 0;
        for (var i = 0; i < LeakCycles; i++)
        {
            var attach = i % AttachEvery == 0;
            Cycle(ns, obj, attach ? (attached++ % 2 == 0 ? XdpMode.Generic : XdpMode.Native) : null, i % 100 == 0 ? created : null);
        }
        stopwatch.Stop();

        Assert.Equal(bpfBefore, FileDescriptors.CountBpf());
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.Equal(finalizedBefore, BpfFd.FinalizedWithoutDispose);
        Assert.True(allBefore == FileDescriptors.CountAll(), $"descriptors before:\n{describeBefore}\nnow:\n{FileDescriptors.Describe()}");
        Assert.False(XdpQuery.Get(ns.HostInterface).IsAttached);
        // The kernel frees programs, maps and links after an RCU grace period: allow it a moment.
        var left = created.StillListed();
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        while (left.Length > 0 && deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            Thread.Sleep(100);
            left = created.StillListed();
        }
        Assert.True(left.Length == 0, $"bpftool still lists objects of the loop: {string.Join(", ", left)}");
        Assert.True(created.Count >= 2 * (LeakCycles / 100), $"only {created.Count} ids were sampled");
        Console.WriteLine($"{LeakCycles} load/test-run/dispose cycles, {attached} of them with attach/detach, took {stopwatch.Elapsed.TotalSeconds:F1} s");
    }

    /// <summary>Ids of programs, maps and links the loop created, checked against bpftool's lists afterwards.</summary>
    private sealed class KernelIds
    {
        private readonly HashSet<uint> _programs = [], _maps = [], _links = [];

        public int Count => _programs.Count + _maps.Count + _links.Count;

        public void Add(LoadedBpfObject loaded, XdpLink? link)
        {
            _programs.Add(loaded.Program("xdp_count").Id);
            _maps.Add(loaded.Map("Counter").Id);
            if (link is not null)
                _links.Add(link.Id);
        }

        public string[] StillListed() =>
            Listed("prog", _programs).Select(id => $"prog {id}")
                .Concat(Listed("map", _maps).Select(id => $"map {id}"))
                .Concat(Listed("link", _links).Select(id => $"link {id}"))
                .ToArray();

        private static IEnumerable<uint> Listed(string kind, HashSet<uint> ours)
        {
            using var list = System.Text.Json.JsonDocument.Parse(Tools.Run("bpftool", "-j", kind, "list").Output);
            return list.RootElement.EnumerateArray().Select(o => o.GetProperty("id").GetUInt32()).Where(ours.Contains).ToList();
        }
    }

    private static void Cycle(Netns ns, Core.Objects.BpfObject obj, XdpMode? mode, KernelIds? sample)
    {
        using var loaded = BpfObjectLoader.Load(obj);
        Assert.Equal(XdpAction.Pass, loaded.Program("xdp_count").TestRun(Ipv4Frame()).Action);
        if (mode is not { } attachMode)
        {
            sample?.Add(loaded, null);
            return;
        }
        var link = loaded.Program("xdp_count").Attach(ns.HostInterface, attachMode);
        try
        {
            sample?.Add(loaded, link);
            // Half the attaching cycles detach explicitly, half leave it to Dispose.
            if (attachMode == XdpMode.Native)
                link.Detach();
        }
        finally
        {
            link.Dispose();
        }
    }

    [KernelFact]
    public void FailedLoads_LeaveNoDescriptor()
    {
        var rejected = Object("rejected", [PerCpuCounterUser(), UncheckedPacketRead()], [PerCpuCounter(), PerCpuCounter("Other")], BtfSamples.IntAndLong());
        var badMap = Object("badmap", [ReturnDrop()], [PerCpuCounter(), new("Bad", Core.Objects.BpfMapType.Array, 8, 8, 1)], BtfSamples.IntAndLong());
        Assert.Throws<BpfVerifierException>(() => Attempt(rejected)); // warm up
        var finalizedBefore = BpfFd.FinalizedWithoutDispose;
        var bpfBefore = FileDescriptors.CountBpf();
        var allBefore = FileDescriptors.CountAll();

        for (var i = 0; i < 50; i++)
        {
            Assert.Throws<BpfVerifierException>(() => Attempt(rejected));
            Assert.Throws<BpfException>(() => Attempt(badMap));
            Assert.Throws<BpfVerifierException>(() => LoadedProgram.Load("xdp_x", UncheckedPacketRead().Instructions));
        }

        Assert.Equal(bpfBefore, FileDescriptors.CountBpf());
        Assert.True(allBefore == FileDescriptors.CountAll(), "descriptors now:\n" + FileDescriptors.Describe());
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.Equal(finalizedBefore, BpfFd.FinalizedWithoutDispose);
    }

    /// <summary>
    /// Fails the 1st, 2nd, … bpf() call of a full object load (BTF, maps, programs) with each errno in turn — once, or
    /// from that call on — and checks that every outcome leaves the descriptor count where it was.
    /// </summary>
    [KernelFact]
    public unsafe void InjectedFailure_AtEveryStep_LeavesNoDescriptor()
    {
        var obj = Object("inject", [CountAndReturn("Counter", XdpPass), DropIfByte12Is8()],
            [new("Counter", Core.Objects.BpfMapType.PerCpuArray, 4, 8, 1, KeyType: 1, ValueType: 2), new("Flows", Core.Objects.BpfMapType.Hash, 4, 8, 16, KeyType: 1, ValueType: 2)],
            BtfSamples.IntAndLong());
        using (BpfObjectLoader.Load(obj))
        {
        }
        var finalizedBefore = BpfFd.FinalizedWithoutDispose;
        var bpfBefore = FileDescriptors.CountBpf();

        var failures = 0;
        var absorbed = 0;
        foreach (var persistent in new[] { false, true })
        {
            foreach (var errno in new[] { Errno.EPERM, Errno.EINVAL, Errno.ENOMEM })
            {
                for (var failAt = 1; ; failAt++)
                {
                    var injector = new Injector(failAt, errno, persistent);
                    using (BpfSyscall.Intercept(injector.Call))
                    {
                        try
                        {
                            // Some failures are absorbed: refused BTF (a warning), a first program load whose
                            // retry with a log succeeds. Either way nothing may leak.
                            using var loaded = BpfObjectLoader.Load(obj);
                            if (injector.Injected)
                                absorbed++;
                        }
                        catch (BpfException e)
                        {
                            Assert.Equal(errno, e.Errno);
                            failures++;
                        }
                    }
                    Assert.True(bpfBefore == FileDescriptors.CountBpf(), $"failing call {failAt} with {Errno.Name(errno)} (persistent: {persistent}) leaked:\n{FileDescriptors.Describe()}");
                    if (!injector.Injected)
                        break; // the load needed fewer calls than failAt: every step has been failed
                }
            }
        }

        Assert.True(failures >= 20, $"only {failures} injected failures surfaced ({absorbed} absorbed)");
        Assert.True(absorbed >= 5, $"only {absorbed} injected failures were absorbed ({failures} surfaced)");
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.Equal(finalizedBefore, BpfFd.FinalizedWithoutDispose);
    }

    private sealed class Injector(int failAt, int errno, bool persistent)
    {
        private int _calls;

        public bool Injected { get; private set; }

        public unsafe int Call(BpfCommand command, void* attr, uint size)
        {
            _calls++;
            if (_calls == failAt || (persistent && _calls > failAt))
            {
                Injected = true;
                return -errno;
            }
            return BpfSyscall.Raw(command, attr, size);
        }
    }

    private static Core.Objects.BpfProgram PerCpuCounterUser() => CountAndReturn("Counter", XdpPass, "xdp_counter_user");

    private static void Attempt(Core.Objects.BpfObject obj)
    {
        using var loaded = BpfObjectLoader.Load(obj);
    }
}
