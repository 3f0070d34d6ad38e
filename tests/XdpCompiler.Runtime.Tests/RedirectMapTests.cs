using System.Diagnostics;
using System.Net;
using System.Runtime.CompilerServices;
using XdpCompiler.Core.Objects;
using XdpCompiler.Runtime.Interop;
using XdpCompiler.Runtime.Tests.Elf;
using XdpCompiler.TestKit;
using Xunit;
using static XdpCompiler.Runtime.Tests.TestPrograms;

namespace XdpCompiler.Runtime.Tests;

/// <summary>
/// Program arrays, devmaps, cpumaps and xskmaps filled from C# (TestData/redirect.c), checked by what the kernel does
/// with them: tail calls taken, frames leaving another veth, cpumap programs run, frames reaching an AF_XDP socket.
/// </summary>
public sealed class RedirectMapTests
{
    private const uint Redirect = 4;

    private static LoadedBpfObject Load()
    {
        var obj = BpfObjectLoader.Load(Clang.Object("redirect"), "redirect");
        Assert.True(obj.Warnings.IsEmpty, string.Join("\n", obj.Warnings));
        return obj;
    }

    [KernelToolFact(Clang.Tool)]
    public void ProgramArray_TailCallGoesWhereCSharpPointsIt()
    {
        using var obj = Load();
        var jumps = obj.Map("jumps").AsProgramArray();
        var entry = obj.Program("xdp_entry");
        var target = obj.Program("xdp_tail_drop");

        Assert.Equal(XdpAction.Pass, entry.TestRun(Ipv4Frame()).Action); // empty slot: the tail call falls through
        Assert.False(jumps.TryGetProgramId(0, out _));

        jumps.Set(0, target);
        Assert.Equal(XdpAction.Drop, entry.TestRun(Ipv4Frame(), repeat: 3).Action);
        Assert.Equal(3ul, obj.Global<ulong>("tail_runs").Value);
        Assert.True(jumps.TryGetProgramId(0, out var id));
        Assert.Equal(target.Id, id);

        Assert.True(jumps.Delete(0));
        Assert.False(jumps.Delete(0));
        Assert.Equal(XdpAction.Pass, entry.TestRun(Ipv4Frame()).Action);

        Assert.Throws<ArgumentOutOfRangeException>(() => jumps.Set(4, target));
        var devmapProgram = Assert.Throws<InvalidOperationException>(() => jumps.Set(1, obj.Program("xdp_on_port")));
        Assert.Contains("DevMap program", devmapProgram.Message);
        Assert.Throws<InvalidOperationException>(() => obj.Map("ports").AsProgramArray());
    }

    [KernelToolFact(Clang.Tool)]
    public void DevMap_RedirectsPacketsFromOneVethPairToAnother_WithAndWithoutADevmapProgram()
    {
        using var obj = Load();
        using var from = Netns.Create();
        using var to = Netns.Create();
        Quiet(from);
        Quiet(to);
        var ports = obj.Map("ports").AsDevMap();
        Assert.True(ports.CanHoldPrograms);
        using var link = obj.Program("xdp_to_port").Attach(from.HostInterface, XdpMode.Generic);

        Assert.Equal(0ul, Delivered(from, to, 20)); // no entry: the redirect falls back to XDP_PASS

        ports.Set(0, to.HostInterface);
        Assert.True(ports.TryGet(0, out var entry));
        Assert.Equal(new DevMapEntry(NetworkInterfaces.IndexOf(to.HostInterface), 0), entry);
        Assert.Equal(20ul, Delivered(from, to, 20));

        var onPort = obj.Program("xdp_on_port");
        ports.Set(0, to.HostInterface, onPort);
        Assert.True(ports.TryGet(0, out entry));
        Assert.Equal(onPort.Id, entry.ProgramId);
        Assert.Equal(20ul, Delivered(from, to, 20));
        Assert.Equal(20ul, obj.Global<ulong>("devmap_runs").Value);
        Assert.Equal([0u], ports.Keys);

        Assert.True(ports.Delete(0));
        Assert.Equal(0ul, Delivered(from, to, 5));
        Assert.Empty(ports.Keys);
    }

    [KernelToolFact(Clang.Tool)]
    public void DevMap_Errors_NameTheCause()
    {
        using var obj = Load();
        var ports = obj.Map("ports").AsDevMap();
        var noInterface = Assert.Throws<BpfException>(() => ports.Set(1, 999_999));
        Assert.Equal("EINVAL", noInterface.ErrnoName);
        Assert.Contains("no interface with index 999999", noInterface.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => ports.Set(4, 1));
        var wrongProgram = Assert.Throws<InvalidOperationException>(() => ports.Set(1, 1, obj.Program("xdp_on_cpu")));
        Assert.Contains("'xdp/devmap' section", wrongProgram.Message);
        var noRoom = Assert.Throws<InvalidOperationException>(() => obj.Map("ports_by_id").AsDevMap().Set(7, 1, obj.Program("xdp_on_port")));
        Assert.Contains("4-byte values", noRoom.Message);
        var attach = Assert.Throws<InvalidOperationException>(() => obj.Program("xdp_on_port").Attach("lo"));
        Assert.Contains("devmap program (section xdp/devmap) and cannot be attached to lo", attach.Message);
    }

    [KernelToolFact(Clang.Tool)]
    public void DevMapHash_TakesAnyKey()
    {
        using var obj = Load();
        var byId = obj.Map("ports_by_id").AsDevMap();
        var program = obj.Program("xdp_to_port_by_id");
        Assert.Equal(XdpAction.Pass, program.TestRun(Ipv4Frame()).Action);

        byId.Set(7, "lo");
        Assert.Equal(Redirect, program.TestRun(Ipv4Frame()).ReturnValue);
        Assert.True(byId.TryGet(7, out var entry));
        Assert.Equal(new DevMapEntry(1, 0), entry);
        Assert.Equal([7u], byId.Keys);
        Assert.True(byId.Delete(7));
        Assert.Equal(XdpAction.Pass, program.TestRun(Ipv4Frame()).Action);
    }

    [KernelToolFact(Clang.Tool)]
    public void CpuMap_QueueAndProgram_RunOnRealTraffic()
    {
        using var obj = Load();
        using var ns = Netns.Create();
        Quiet(ns);
        var cpus = obj.Map("cpus").AsCpuMap();
        var toCpu = obj.Program("xdp_to_cpu");
        Assert.Equal(XdpAction.Pass, toCpu.TestRun(Ipv4Frame()).Action);

        cpus.Set(0, 192);
        Assert.True(cpus.TryGet(0, out var entry));
        Assert.Equal(new CpuMapEntry(192, 0), entry);
        Assert.Equal(Redirect, toCpu.TestRun(Ipv4Frame()).ReturnValue);

        var onCpu = obj.Program("xdp_on_cpu");
        cpus.Set(0, 256, onCpu);
        Assert.True(cpus.TryGet(0, out entry));
        Assert.Equal(new CpuMapEntry(256, onCpu.Id), entry);
        using (toCpu.Attach(ns.HostInterface, XdpMode.Generic))
        {
            Send(ns, 20);
            WaitFor(() => obj.Global<ulong>("cpumap_runs").Value >= 20);
        }
        Assert.Equal(20ul, obj.Global<ulong>("cpumap_runs").Value);

        Assert.True(cpus.Delete(0));
        Assert.False(cpus.TryGet(0, out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => cpus.Set(1, 192));
        Assert.Throws<ArgumentOutOfRangeException>(() => cpus.Set(0, 0));
        var tooBig = Assert.Throws<BpfException>(() => cpus.Set(0, 1 << 20));
        Assert.Equal("EOVERFLOW", tooBig.ErrnoName);
        var wrongProgram = Assert.Throws<InvalidOperationException>(() => cpus.Set(0, 192, obj.Program("xdp_on_port")));
        Assert.Contains("'xdp/cpumap' section", wrongProgram.Message);
    }

    [KernelToolFact(Clang.Tool)]
    public void XskMap_AcceptsABoundAfXdpSocket_AndFramesReachIt()
    {
        using var obj = Load();
        using var ns = Netns.Create();
        Quiet(ns);
        var sockets = obj.Map("sockets").AsXskMap();
        var toSocket = obj.Program("xdp_to_socket");

        using (var udp = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp))
        {
            var e = Assert.Throws<BpfException>(() => sockets.Set(0, udp.SafeHandle));
            Assert.Equal("EOPNOTSUPP", e.ErrnoName);
            Assert.Contains("not an AF_XDP socket", e.Message);
        }
        using (var notASocket = File.OpenHandle("/proc/self/status"))
        {
            var e = Assert.Throws<BpfException>(() => sockets.Set(0, notASocket));
            Assert.Equal("ENOTSOCK", e.ErrnoName);
        }

        using var socket = AfXdpSocket.Bind(NetworkInterfaces.IndexOf(ns.HostInterface));
        sockets.Set(0, socket);
        Assert.Equal(Redirect, toSocket.TestRun(Ipv4Frame()).ReturnValue);
        using (toSocket.Attach(ns.HostInterface, XdpMode.Generic))
        {
            Send(ns, 10);
            WaitFor(() => socket.DroppedForLackOfBuffers() >= 10);
        }
        Assert.Equal(10ul, socket.DroppedForLackOfBuffers());

        sockets.Delete(0);
        Assert.Equal(XdpAction.Pass, toSocket.TestRun(Ipv4Frame()).Action);
        Assert.Throws<ArgumentOutOfRangeException>(() => sockets.Set(4, socket));
    }

    [KernelFact]
    public void LpmTrie_FindsTheLongestPrefix()
    {
        using var raw = LoadedMap.Create(new BpfMap("Routes", BpfMapType.LpmTrie, 8, 8, 16, Flags: 1 /* BPF_F_NO_PREALLOC */));
        var routes = raw.AsLpmTrie<uint, ulong>();
        static uint Address(string text) => BitConverter.ToUInt32(IPAddress.Parse(text).GetAddressBytes());

        routes.Update(new LpmKey<uint>(8, Address("10.0.0.0")), 1);
        routes.Update(new LpmKey<uint>(16, Address("10.1.0.0")), 2);
        routes.Update(LpmKey<uint>.Exact(Address("10.1.2.3")), 3);

        Assert.True(routes.TryMatch(Address("10.1.2.3"), out var value));
        Assert.Equal(3ul, value);
        Assert.True(routes.TryMatch(Address("10.1.9.9"), out value));
        Assert.Equal(2ul, value);
        Assert.True(routes.TryMatch(Address("10.200.0.1"), out value));
        Assert.Equal(1ul, value);
        Assert.False(routes.TryMatch(Address("11.0.0.1"), out _));
        Assert.True(routes.TryMatch(new LpmKey<uint>(12, Address("10.1.0.0")), out value)); // a /12 query sees only the /8
        Assert.Equal(1ul, value);

        Assert.Equal(3, routes.Count());
        Assert.Contains(new KeyValuePair<LpmKey<uint>, ulong>(new LpmKey<uint>(16, Address("10.1.0.0")), 2), routes);
        var exists = Assert.Throws<BpfException>(() => routes.Update(new LpmKey<uint>(8, Address("10.0.0.0")), 9, MapUpdateFlags.NoExist));
        Assert.Equal("EEXIST", exists.ErrnoName);
        Assert.True(routes.Delete(new LpmKey<uint>(16, Address("10.1.0.0"))));
        Assert.True(routes.TryMatch(Address("10.1.9.9"), out value));
        Assert.Equal(1ul, value);
        Assert.Throws<ArgumentOutOfRangeException>(() => new LpmKey<uint>(33, 0));
        Assert.Equal(12, Unsafe.SizeOf<LpmKey<ulong>>()); // no padding between the prefix length and 8-byte data
        Assert.Throws<InvalidOperationException>(() => raw.AsLpmTrie<ulong, ulong>());
    }

    [KernelFact]
    public void FragsSection_LoadsWithHasFrags_SoNativeXdpTakesAJumboMtu()
    {
        using var frags = LoadedProgram.Load("xdp_frags", ReturnPass().Instructions, section: "xdp.frags");
        using var plain = LoadedProgram.Load("xdp_plain", ReturnPass().Instructions);
        Assert.True(frags.HasFragments);
        Assert.False(plain.HasFragments);
        using var ns = Netns.Create();
        // veth refuses native XDP above a page-sized MTU unless the program handles multi-buffer frames.
        ns.Exec("ip", "link", "set", ns.PeerInterface, "mtu", "9000");
        Netns.Run("ip", "link", "set", ns.HostInterface, "mtu", "9000");

        var e = Assert.Throws<BpfException>(() => plain.Attach(ns.HostInterface, XdpMode.Native));
        Assert.Equal("ERANGE", e.ErrnoName);
        Assert.Contains("xdp.frags", e.Message);

        using var link = frags.Attach(ns.HostInterface, XdpMode.Native);
        Assert.Equal(XdpAttachedMode.Native, link.Query().Mode);
    }

    [Fact]
    public void KernelRequirement_NamesTheFeatureAndRelease()
    {
        Assert.Equal(new Version(5, 15), KernelRelease.Parse("5.15.0-91-generic"));
        Assert.Equal(new Version(6, 18), KernelRelease.Parse("6.18.44-fc-v669"));
        Assert.Null(KernelRelease.Parse("garbage"));
        Assert.Equal((XdpAttachPoint.DevMap, true), (ProgramKind.FromSection("xdp.frags/devmap").AttachPoint, ProgramKind.FromSection("xdp.frags/devmap").Fragments));
        Assert.Equal(XdpAttachPoint.CpuMap, ProgramKind.FromSection("xdp/cpumap").AttachPoint);
        Assert.Equal(XdpAttachPoint.Interface, ProgramKind.FromSection("xdp/other").AttachPoint);
        Assert.Equal(ProgramKind.XdpHasFragsFlag, ProgramKind.FromSection("xdp.frags").Flags);
        // On this (new) kernel nothing is missing, so a bare EINVAL gets no version guess.
        if (KernelRelease.Current is { } running && running >= new Version(5, 18))
            Assert.Null(LoadedProgram.KernelRequirement(ProgramKind.FromSection("xdp.frags"), "xdp.frags", Errno.EINVAL));
        Assert.Null(LoadedProgram.KernelRequirement(ProgramKind.FromSection("xdp"), "xdp", Errno.EINVAL));
    }

    /// <summary>
    /// Silences both ends' own traffic (IPv6 neighbour discovery and MLD), so counters move only with the test's
    /// datagrams, and gives the sender a permanent neighbour entry so they leave at once, without ARP.
    /// </summary>
    private static void Quiet(Netns ns)
    {
        Netns.Run("sysctl", "-q", "-w", $"net.ipv6.conf.{ns.HostInterface}.disable_ipv6=1");
        ns.Exec("sysctl", "-q", "-w", $"net.ipv6.conf.{ns.PeerInterface}.disable_ipv6=1");
        ns.Exec("ip", "neigh", "replace", ns.HostAddress, "lladdr", "02:00:00:00:00:01", "dev", ns.PeerInterface, "nud", "permanent");
    }

    /// <summary>Sends <paramref name="count"/> UDP datagrams from <paramref name="from"/>'s namespace toward its host side.</summary>
    private static void Send(Netns from, int count) =>
        from.Exec("bash", "-c", $"for i in $(seq {count}); do echo x > /dev/udp/{from.HostAddress}/9; done");

    /// <summary>How many frames <paramref name="to"/>'s namespace end received while <paramref name="count"/> datagrams were sent.</summary>
    private static ulong Delivered(Netns from, Netns to, int count)
    {
        ulong Received() => ulong.Parse(to.Exec("cat", $"/sys/class/net/{to.PeerInterface}/statistics/rx_packets").Trim());
        var before = Received();
        Send(from, count);
        // Generic XDP redirects in the sender's softirq; give the last frames a moment to land.
        var deadline = Stopwatch.StartNew();
        while (Received() - before < (ulong)count && deadline.ElapsedMilliseconds < 1000)
            Thread.Sleep(10);
        Thread.Sleep(50);
        return Received() - before;
    }

    private static void WaitFor(Func<bool> condition)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition() && deadline.Elapsed < TimeSpan.FromSeconds(5))
            Thread.Sleep(10);
    }
}
