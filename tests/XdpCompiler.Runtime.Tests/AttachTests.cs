using Xunit;
using XdpCompiler.TestKit;
using static XdpCompiler.Runtime.Tests.TestPrograms;

namespace XdpCompiler.Runtime.Tests;

public sealed class AttachTests
{
    [KernelTheory]
    [InlineData(XdpMode.Generic, XdpAttachedMode.Generic, "generic")]
    [InlineData(XdpMode.Native, XdpAttachedMode.Native, "driver")]
    public void Attach_IsVisibleToTools_UntilDisposed(XdpMode mode, XdpAttachedMode expected, string bpftoolMode)
    {
        using var ns = Netns.Create();
        using var obj = BpfObjectLoader.Load(Object("attach", ReturnPass()));
        var program = obj.Program("xdp_pass");
        var id = program.Id;

        using (var link = program.Attach(ns.HostInterface, mode))
        {
            Assert.Equal(id, link.ProgramId);
            Assert.NotEqual(0u, link.Id);
            var attached = link.Query();
            Assert.Equal(expected, attached.Mode);
            Assert.Equal(id, attached.ProgramId);

            var net = Netns.Run("bpftool", "net", "show", "dev", ns.HostInterface);
            Assert.Contains($"{bpftoolMode} id {id}", net);
            var ipLink = Netns.Run("ip", "link", "show", "dev", ns.HostInterface);
            Assert.Contains($"prog/xdp id {id} name xdp_pass", ipLink);
            Assert.Contains(mode == XdpMode.Generic ? " xdpgeneric qdisc " : " xdp qdisc ", ipLink);
        }

        Assert.False(XdpQuery.Get(ns.HostInterface).IsAttached);
        Assert.DoesNotContain($"id {id}", Netns.Run("bpftool", "net", "show", "dev", ns.HostInterface));
        var after = Netns.Run("ip", "link", "show", "dev", ns.HostInterface);
        Assert.DoesNotContain("prog/xdp", after);
        Assert.DoesNotContain(" xdp qdisc ", after);
        Assert.DoesNotContain(" xdpgeneric qdisc ", after);
    }

    [KernelFact]
    public void Auto_LetsTheKernelChoose()
    {
        using var ns = Netns.Create();
        using var obj = BpfObjectLoader.Load(Object("auto", ReturnPass()));
        using var link = obj.Program("xdp_pass").Attach(ns.HostInterface);
        var attached = link.Query();
        Assert.True(attached.IsAttached);
        Assert.Equal(XdpAttachedMode.Native, attached.Mode); // veth has native XDP
    }

    [KernelFact]
    public void AttachedProgram_SeesTrafficFromTheNamespace()
    {
        using var ns = Netns.Create();
        using var obj = BpfObjectLoader.Load(Object("count", CountAndReturn("Counter", XdpDrop), PerCpuCounter()));
        var counter = obj.Map("Counter").AsPerCpuArray<ulong>();

        using (obj.Program("xdp_count").Attach(ns.HostInterface, XdpMode.Generic))
        {
            // The datagram cannot leave until ARP resolves, and the program drops the ARP requests: each is counted.
            ns.Exec("bash", "-c", $"echo hello > /dev/udp/{ns.HostAddress}/9");
            var deadline = DateTime.UtcNow.AddSeconds(5);
            while (counter.Sum(0) == 0 && DateTime.UtcNow < deadline)
                Thread.Sleep(20);
            Assert.True(counter.Sum(0) > 0, "the program saw no packet from the namespace");
        }
        Assert.Equal(0, ns.TryExec("true").ExitCode);
    }

    [KernelFact]
    public void SecondAttach_InTheSameMode_SaysWhatHoldsTheInterface()
    {
        using var ns = Netns.Create();
        using var obj = BpfObjectLoader.Load(Object("twice", ReturnPass()));
        using var first = obj.Program("xdp_pass").Attach(ns.HostInterface, XdpMode.Generic);

        var e = Assert.Throws<BpfException>(() => obj.Program("xdp_pass").Attach(ns.HostInterface, XdpMode.Generic));

        Assert.Equal(BpfOperationKind.Attach, e.Kind);
        Assert.Equal(ns.HostInterface, e.ObjectName);
        Assert.Contains("already attached", e.Message);
        Assert.Contains($"attach program xdp_pass to {ns.HostInterface} (generic mode)", e.Message);
    }

    [KernelFact]
    public void Detach_DetachesAPinnedLink()
    {
        using var ns = Netns.Create();
        using var obj = BpfObjectLoader.Load(Object("pinlink", ReturnPass()));
        var pin = $"/sys/fs/bpf/xdpc-link-{Environment.ProcessId}-{Guid.NewGuid():N}";
        try
        {
            var link = obj.Program("xdp_pass").Attach(ns.HostInterface, XdpMode.Generic);
            link.Pin(pin);
            link.Dispose();
            Assert.True(XdpQuery.Get(ns.HostInterface).IsAttached); // the pin holds it

            File.Delete(pin);
            // Once the last reference is gone the kernel detaches; closing is asynchronous, so allow a moment.
            var deadline = DateTime.UtcNow.AddSeconds(5);
            while (XdpQuery.Get(ns.HostInterface).IsAttached && DateTime.UtcNow < deadline)
                Thread.Sleep(20);
            Assert.False(XdpQuery.Get(ns.HostInterface).IsAttached);

            using var again = obj.Program("xdp_pass").Attach(ns.HostInterface, XdpMode.Generic);
            again.Detach();
            Assert.False(XdpQuery.Get(ns.HostInterface).IsAttached);
            Assert.True(again.Fd.IsClosed);
        }
        finally
        {
            File.Delete(pin);
        }
    }

    [KernelFact]
    public void Native_OnADriverWithoutIt_SaysUseGeneric()
    {
        // A bridge without ports (down, no addresses, no traffic) has no native XDP. (Not ifb: loading that module
        // would create ifb0 and ifb1 as a side effect.)
        var name = $"xd{Environment.ProcessId:x}n";
        Netns.Run("ip", "link", "add", name, "type", "bridge");
        try
        {
            using var obj = BpfObjectLoader.Load(Object("native", ReturnPass()));
            var e = Assert.Throws<BpfException>(() => obj.Program("xdp_pass").Attach(name, XdpMode.Native));
            Assert.Equal("EOPNOTSUPP", e.ErrnoName);
            Assert.Contains("does not support native XDP", e.Message);
            Assert.Contains("XdpMode.Generic", e.Message);

            using var generic = obj.Program("xdp_pass").Attach(name, XdpMode.Generic);
            Assert.Equal(XdpAttachedMode.Generic, generic.Query().Mode);
        }
        finally
        {
            Netns.TryRun("ip", "link", "delete", name);
        }
    }

    [KernelFact]
    public void Link_OutlivesItsInterface()
    {
        using var obj = BpfObjectLoader.Load(Object("gone", ReturnPass()));
        XdpLink link;
        using (var ns = Netns.Create())
            link = obj.Program("xdp_pass").Attach(ns.HostInterface, XdpMode.Native);
        // The veth is gone; the link is defunct but still ours to close, without error.
        link.Detach();
        link.Dispose();
    }

    [KernelFact]
    public void UnknownInterface_IsAClearError()
    {
        using var obj = BpfObjectLoader.Load(Object("nowhere", ReturnPass()));
        var name = $"nope{Environment.ProcessId % 100000}";

        var e = Assert.Throws<BpfException>(() => obj.Program("xdp_pass").Attach(name, XdpMode.Native));

        Assert.Equal(BpfOperationKind.Attach, e.Kind);
        Assert.Equal(name, e.ObjectName);
        Assert.Contains($"no network interface named '{name}'", e.Message);
        Assert.Contains($"attach program xdp_pass to {name}", e.Message);
        Assert.Throws<BpfException>(() => XdpQuery.Get(name));
    }

    [KernelFact]
    public void Query_OfAnInterfaceWithoutXdp()
    {
        var lo = XdpQuery.Get("lo");
        Assert.Equal(1, lo.InterfaceIndex);
        Assert.False(lo.IsAttached);
        Assert.Equal(0u, lo.ProgramId);
    }
}
