using XdpCompiler.TestKit;
using Xunit;
using static XdpCompiler.Runtime.Tests.TestPrograms;

namespace XdpCompiler.Runtime.Tests;

/// <summary>Netlink (IFLA_XDP) attachment in each mode, with its flags, on veth pairs in private namespaces.</summary>
public sealed class NetlinkAttachTests
{
    [KernelTheory]
    [InlineData(XdpMode.Generic, XdpAttachedMode.Generic, " xdpgeneric ")]
    [InlineData(XdpMode.Native, XdpAttachedMode.Native, " xdp ")]
    [InlineData(XdpMode.Auto, XdpAttachedMode.Native, " xdp ")]
    public void Attach_IsVisibleToIpLink_AndOutlivesTheProgramsDescriptor_UntilDetached(XdpMode mode, XdpAttachedMode expected, string ipLinkMode)
    {
        using var ns = Netns.Create();
        uint id;
        using (var obj = BpfObjectLoader.Load(Object("nl", ReturnPass())))
        {
            var program = obj.Program("xdp_pass");
            id = program.Id;
            var attached = XdpNetlink.Attach(ns.HostInterface, program, mode);
            Assert.Equal((expected, id), (attached.Mode, attached.ProgramId));
        }

        // Unlike a bpf_link, the interface holds the program after every descriptor is closed.
        var ipLink = Netns.Run("ip", "link", "show", "dev", ns.HostInterface);
        Assert.Contains($"prog/xdp id {id}", ipLink);
        Assert.Contains(ipLinkMode, ipLink);

        XdpNetlink.Detach(ns.HostInterface, mode);
        Assert.False(XdpQuery.Get(ns.HostInterface).IsAttached);
        XdpNetlink.Detach(ns.HostInterface, mode); // nothing attached: not an error
    }

    [KernelFact]
    public void Offload_OnVeth_SaysTheDriverCannot()
    {
        using var ns = Netns.Create();
        using var obj = BpfObjectLoader.Load(Object("off", ReturnPass()));

        var e = Assert.Throws<BpfException>(() => XdpNetlink.Attach(ns.HostInterface, obj.Program("xdp_pass"), XdpMode.Offload));

        Assert.Equal(BpfOperationKind.Attach, e.Kind);
        Assert.Contains(e.ErrnoName, new[] { "EINVAL", "EOPNOTSUPP" });
        Assert.Contains($"attach program xdp_pass to {ns.HostInterface} by netlink (offload mode)", e.Message);
        Assert.Contains($"The driver of {ns.HostInterface} cannot run XDP in hardware", e.Message);
        Assert.False(XdpQuery.Get(ns.HostInterface).IsAttached);
    }

    [KernelFact]
    public void Native_OnABridge_SaysUseGeneric()
    {
        var name = $"xn{Environment.ProcessId:x}b";
        Netns.Run("ip", "link", "add", name, "type", "bridge");
        try
        {
            using var obj = BpfObjectLoader.Load(Object("nlbr", ReturnPass()));
            var e = Assert.Throws<BpfException>(() => XdpNetlink.Attach(name, obj.Program("xdp_pass"), XdpMode.Native));
            Assert.Equal("EOPNOTSUPP", e.ErrnoName);
            Assert.Contains("does not support native XDP", e.Message);
        }
        finally
        {
            Netns.TryRun("ip", "link", "delete", name);
        }
    }

    [KernelFact]
    public void UpdateIfNoExist_RefusesToReplace_WhilePlainAttachReplaces()
    {
        using var ns = Netns.Create();
        using var obj = BpfObjectLoader.Load(Object("nlflags", [ReturnPass(), ReturnDrop()], [], new Core.Btf.BtfTypeTable([])));
        var pass = obj.Program("xdp_pass");
        var drop = obj.Program("xdp_drop");
        try
        {
            XdpNetlink.Attach(ns.HostInterface, pass, XdpMode.Generic, XdpAttachFlags.UpdateIfNoExist);

            var e = Assert.Throws<BpfException>(() => XdpNetlink.Attach(ns.HostInterface, drop, XdpMode.Generic, XdpAttachFlags.UpdateIfNoExist));
            Assert.Equal("EBUSY", e.ErrnoName);
            Assert.Contains("already has an XDP program in this mode and UpdateIfNoExist forbids replacing it", e.Message);
            Assert.Equal(pass.Id, XdpQuery.Get(ns.HostInterface).ProgramId);

            Assert.Equal(drop.Id, XdpNetlink.Attach(ns.HostInterface, drop, XdpMode.Generic).ProgramId);

            var other = Assert.Throws<BpfException>(() => XdpNetlink.Attach(ns.HostInterface, pass, XdpMode.Native));
            Assert.Equal("EEXIST", other.ErrnoName);
            Assert.Contains("native or generic XDP, not both", other.Message);
        }
        finally
        {
            XdpNetlink.Detach(ns.HostInterface);
        }
        Assert.False(XdpQuery.Get(ns.HostInterface).IsAttached);
    }

    [KernelFact]
    public void Replace_SwapsOnlyTheExpectedProgram()
    {
        using var ns = Netns.Create();
        using var obj = BpfObjectLoader.Load(Object("nlrepl", [ReturnPass(), ReturnDrop(), MarkAndTx()], [], new Core.Btf.BtfTypeTable([])));
        var (pass, drop, mark) = (obj.Program("xdp_pass"), obj.Program("xdp_drop"), obj.Program("xdp_mark"));
        try
        {
            XdpNetlink.Attach(ns.HostInterface, pass, XdpMode.Native);

            var e = Assert.Throws<BpfException>(() => XdpNetlink.Attach(ns.HostInterface, mark, XdpMode.Native, replacing: drop));
            Assert.Equal("EEXIST", e.ErrnoName);
            Assert.Contains("is not xdp_drop", e.Message);
            Assert.Equal(pass.Id, XdpQuery.Get(ns.HostInterface).ProgramId);

            Assert.Equal(mark.Id, XdpNetlink.Attach(ns.HostInterface, mark, XdpMode.Native, replacing: pass).ProgramId);

            var wrongDetach = Assert.Throws<BpfException>(() => XdpNetlink.Detach(ns.HostInterface, XdpMode.Native, expected: pass));
            Assert.Equal("EEXIST", wrongDetach.ErrnoName);
            XdpNetlink.Detach(ns.HostInterface, XdpMode.Native, expected: mark);
            Assert.False(XdpQuery.Get(ns.HostInterface).IsAttached);
        }
        finally
        {
            XdpNetlink.Detach(ns.HostInterface);
        }
    }

    [KernelFact]
    public void ALinkHeldInterface_CannotBeTakenOverByNetlink()
    {
        using var ns = Netns.Create();
        using var obj = BpfObjectLoader.Load(Object("nllink", [ReturnPass(), ReturnDrop()], [], new Core.Btf.BtfTypeTable([])));
        using var link = obj.Program("xdp_pass").Attach(ns.HostInterface, XdpMode.Generic);

        var attach = Assert.Throws<BpfException>(() => XdpNetlink.Attach(ns.HostInterface, obj.Program("xdp_drop"), XdpMode.Generic));
        var detach = Assert.Throws<BpfException>(() => XdpNetlink.Detach(ns.HostInterface));

        Assert.Equal(("EBUSY", "EBUSY"), (attach.ErrnoName, detach.ErrnoName));
        Assert.Contains("A bpf_link holds the XDP program", attach.Message);
        Assert.Contains("The kernel says: \"Can't replace active BPF XDP link\"", attach.Message);
        Assert.Equal(obj.Program("xdp_pass").Id, XdpQuery.Get(ns.HostInterface).ProgramId);
    }

    [KernelFact]
    public void UnknownInterface_AndContradictoryFlags_AreClearErrors()
    {
        using var obj = BpfObjectLoader.Load(Object("nlbad", [ReturnPass(), ReturnDrop()], [], new Core.Btf.BtfTypeTable([])));
        var name = $"nope{Environment.ProcessId % 100000}";
        var e = Assert.Throws<BpfException>(() => XdpNetlink.Attach(name, obj.Program("xdp_pass")));
        Assert.Contains($"no network interface named '{name}'", e.Message);
        Assert.Throws<ArgumentException>(() => XdpNetlink.Attach("lo", obj.Program("xdp_pass"), XdpMode.Generic, XdpAttachFlags.UpdateIfNoExist, obj.Program("xdp_drop")));
        Assert.Throws<ArgumentOutOfRangeException>(() => obj.Program("xdp_pass").Attach("lo", XdpMode.Offload));
    }
}
