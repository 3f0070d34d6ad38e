using XdpCompiler.Core.Objects;
using XdpCompiler.TestKit;
using Xunit;
using static XdpCompiler.Runtime.Tests.TestPrograms;

namespace XdpCompiler.Runtime.Tests;

/// <summary>Opening maps, programs and links that another owner pinned, as a tool like xdpc meets them.</summary>
public sealed class OpenPinnedTests
{
    [KernelFact]
    public void Map_OpensWithTheKernelsDefinition()
    {
        using var bpffs = new BpfFsDirectory();
        var pin = bpffs.Combine("flows");
        using (var map = LoadedMap.Create(new BpfMap("flows", BpfMapType.Hash, 4, 8, 16, Flags: 1)))
        {
            map.AsHash<uint, ulong>()[7] = 42;
            map.Pin(pin);
        }

        using var opened = LoadedMap.OpenPinned(pin);

        Assert.Equal(new BpfMap("flows", BpfMapType.Hash, 4, 8, 16, Flags: 1), opened.Definition);
        Assert.Equal(pin, opened.PinnedPath);
        Assert.Equal(42ul, opened.AsHash<uint, ulong>()[7]);
    }

    [KernelFact]
    public void Program_OpensByPinAndById()
    {
        using var bpffs = new BpfFsDirectory();
        var pin = bpffs.Combine("prog");
        uint id;
        using (var program = LoadedProgram.Load("xdp_drop", ReturnDrop().Instructions))
        {
            program.Pin(pin);
            id = program.Id;
        }

        using var opened = LoadedProgram.OpenPinned(pin);
        Assert.Equal(("xdp_drop", id), (opened.Name, opened.Id));
        Assert.Equal(XdpAction.Drop, opened.TestRun(Ipv4Frame()).Action);
        using var byId = LoadedProgram.TryOpenById(id);
        Assert.Equal("xdp_drop", byId?.Name);
        Assert.Null(LoadedProgram.TryOpenById(uint.MaxValue));
    }

    [KernelFact]
    public void Link_OpensByPin_IsListed_AndDetaches()
    {
        using var ns = Netns.Create();
        using var bpffs = new BpfFsDirectory();
        var pin = bpffs.Combine("link");
        using var obj = BpfObjectLoader.Load(Object("pinned", ReturnPass()));
        uint linkId;
        using (var link = obj.Program("xdp_pass").Attach(ns.HostInterface, XdpMode.Generic))
        {
            link.Pin(pin);
            linkId = link.Id;
        }

        using (var opened = XdpLink.OpenPinned(pin))
        {
            Assert.Equal((linkId, obj.Program("xdp_pass").Id), (opened.Id, opened.ProgramId));
            Assert.Equal(("xdp_pass", ns.HostInterface, NetworkInterfaces.IndexOf(ns.HostInterface)), (opened.ProgramName, opened.InterfaceName, opened.InterfaceIndex));
            Assert.Equal(XdpAttachedMode.Generic, opened.Query().Mode);

            var all = XdpLink.OpenAll();
            try
            {
                Assert.Contains(all, l => l.Id == linkId && l.InterfaceName == ns.HostInterface);
            }
            finally
            {
                foreach (var link in all)
                    link.Dispose();
            }

            opened.Detach();
        }
        Assert.False(XdpQuery.Get(ns.HostInterface).IsAttached);
    }

    [KernelFact]
    public void WrongKindOrNothing_AtThePin_IsAClearError()
    {
        using var bpffs = new BpfFsDirectory();
        var pin = bpffs.Combine("map");
        using (var map = LoadedMap.Create(new BpfMap("m", BpfMapType.Array, 4, 4, 1)))
            map.Pin(pin);

        var link = Assert.Throws<InvalidOperationException>(() => XdpLink.OpenPinned(pin));
        Assert.Equal($"{pin} is not a pinned XDP link: it is a map.", link.Message);
        var program = Assert.Throws<InvalidOperationException>(() => LoadedProgram.OpenPinned(pin));
        Assert.Contains("is not a pinned program: it is a map", program.Message);
        var missing = Assert.Throws<BpfException>(() => LoadedMap.OpenPinned(bpffs.Combine("nothing")));
        Assert.Equal("ENOENT", missing.ErrnoName);
        Assert.Contains("Nothing is pinned at", missing.Message);
        var notBpf = Assert.Throws<BpfException>(() => LoadedMap.OpenPinned("/proc/self/status"));
        Assert.Contains("not on a bpffs mount", notBpf.Message);
    }
}
