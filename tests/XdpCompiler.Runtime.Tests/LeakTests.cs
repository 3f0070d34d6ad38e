using Xunit;
using XdpCompiler.Runtime.Interop;
using XdpCompiler.TestKit;
using static XdpCompiler.Runtime.Tests.TestPrograms;

namespace XdpCompiler.Runtime.Tests;

/// <summary>Every descriptor the runtime opens is closed by Dispose — on success and on every failure path.</summary>
[Collection(SequentialCollection.Name)]
public sealed class LeakTests
{
    [KernelFact]
    public void LoadAttachDispose_200Times_LeavesNoDescriptor()
    {
        using var ns = Netns.Create();
        var obj = Object("cycle", CountAndReturn("Counter", XdpPass), PerCpuCounter());
        Cycle(ns, obj, XdpMode.Generic); // warm up: JIT, lazily opened runtime descriptors
        var finalizedBefore = BpfFd.FinalizedWithoutDispose;
        var allBefore = FileDescriptors.CountAll();
        var describeBefore = FileDescriptors.Describe();
        var bpfBefore = FileDescriptors.CountBpf();

        for (var i = 0; i < 200; i++)
            Cycle(ns, obj, i % 2 == 0 ? XdpMode.Generic : XdpMode.Native);

        Assert.Equal(bpfBefore, FileDescriptors.CountBpf());
        Assert.True(allBefore == FileDescriptors.CountAll(), $"descriptors before:\n{describeBefore}\nnow:\n{FileDescriptors.Describe()}");
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.Equal(finalizedBefore, BpfFd.FinalizedWithoutDispose);
    }

    private static void Cycle(Netns ns, Core.Objects.BpfObject obj, XdpMode mode)
    {
        using var loaded = BpfObjectLoader.Load(obj);
        using var link = loaded.Program("xdp_count").Attach(ns.HostInterface, mode);
        Assert.Equal(XdpAction.Pass, loaded.Program("xdp_count").TestRun(Ipv4Frame()).Action);
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
